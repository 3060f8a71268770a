# Shared by the load scripts in bench/: the load generator, the binaries, ports, wrk's figures
# and a server started on a fresh store. Sourced, not run.

# wrk from the distribution, installed once (idempotent: an existing wrk is used as it is).
ensure_wrk() {
  command -v wrk >/dev/null && return 0
  echo "==> installing wrk (apt)" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  $sudo apt-get install -y -qq wrk >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq wrk >/dev/null; } \
    || { echo "cannot install wrk: install it (apt-get install wrk) and rerun" >&2; exit 1; }
}

# The release binary: $LANYARD_BIN when given (nothing is built), else one release build into
# $CARGO_TARGET_DIR (or target/).
lanyard_bin() {
  if [ -n "${LANYARD_BIN:-}" ]; then
    [ -x "$LANYARD_BIN" ] || { echo "LANYARD_BIN=$LANYARD_BIN is not an executable" >&2; exit 1; }
    echo "$LANYARD_BIN"; return
  fi
  echo "==> building the release binary (set LANYARD_BIN to use a prebuilt one)" >&2
  cargo build --release -p lanyard --locked -q >&2
  echo "${CARGO_TARGET_DIR:-$PWD/target}/release/lanyard"
}

port_free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

to_ms() { # wrk prints 1.23ms / 850.00us / 1.02s
  python3 -c 'import sys,re; v=sys.argv[1]; m=re.match(r"([\d.]+)(us|ms|s)$",v); n=float(m.group(1)); print(round(n/1000 if m.group(2)=="us" else n*1000 if m.group(2)=="s" else n,3))' "$1"
}

# wrk's summary of a GET → "requests/s p99_ms"; any non-2xx answer fails the run.
# Uses $threads, $conns and $duration.
measure_get() {
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$@")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "non-2xx responses:" >&2; echo "$out" >&2; exit 1
  fi
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}

# A PostgreSQL URL with its own fresh schema: "<url> <schema>" (drop it with pg_drop_schema).
pg_schema_url() {
  local url=$1 schema="lanyard_bench_$$_$RANDOM"
  psql "$url" -qc "CREATE SCHEMA $schema" >/dev/null
  local sep='?'; case "$url" in *\?*) sep='&';; esac
  echo "${url}${sep}options=-c%20search_path%3D${schema} $schema"
}
pg_drop_schema() {
  PGOPTIONS="-c client_min_messages=warning" psql "$1" -qc "DROP SCHEMA $2 CASCADE" >/dev/null
}

# start_server NAME PORT ARGS… : `lanyard serve` on a fresh data dir under $work; sets
# server_pid, base, admin_pw and api_key.
start_server() {
  local name=$1 port=$2; shift 2
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  for _ in $(seq 1 150); do grep -q "Stop with Ctrl-C" "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  admin_pw=$(awk '/Password:/ {print $2}' "$work/$name.out")
  api_key=$(awk '/API key:/ {print $3}' "$work/$name.out")
  [ -n "$admin_pw" ] || { echo "server did not start:" >&2; cat "$work/$name.err" >&2; exit 1; }
  base="http://127.0.0.1:$port"
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

# CPU time (user + system, in clock ticks) the process $1 has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure_cpu PID ARGS… : like measure_get, plus the server's CPU time per request in µs:
# "requests/s p99_ms cpu_us_per_request". CPU per request does not depend on how much of the
# machine the server got during the run, so it compares paths even on a busy machine.
measure_cpu() {
  local pid=$1; shift
  local before after out rps p99 reqs
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$@")
  after=$(cpu_ticks "$pid")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "non-2xx responses:" >&2; echo "$out" >&2; exit 1
  fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$rps $p99 $(python3 -c "import os,sys; t=os.sysconf('SC_CLK_TCK'); print(round((int(sys.argv[2])-int(sys.argv[1]))/t*1e6/max(int(sys.argv[3]),1),1))" "$before" "$after" "$reqs")"
}

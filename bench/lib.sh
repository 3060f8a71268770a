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

# How many times a server's output file shows the ready banner (0 when there is no file yet).
banners() {
  if [ -f "$1" ]; then awk '/Stop with Ctrl-C/ {n++} END {print n + 0}' "$1"; else echo 0; fi
}

# launch_server NAME PORT DATA_DIR ARGS… : `lanyard serve` on DATA_DIR (kept as it is: a restart
# or a second node on a store that already exists), output in $work/NAME.out/.err (appended, so a
# restart keeps the first start's banner); waits for the banner. Sets server_pid and base.
launch_server() {
  local name=$1 port=$2 dir=$3; shift 3
  local mark
  mark=$(banners "$work/$name.out")
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$dir" "$@" >>"$work/$name.out" 2>>"$work/$name.err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    [ "$(banners "$work/$name.out")" -gt "$mark" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$(banners "$work/$name.out")" -gt "$mark" ] \
    || { echo "server $name did not start:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
  base="http://127.0.0.1:$port"
}

# start_server NAME PORT ARGS… : `lanyard serve` on a fresh data dir under $work (the first start
# on its store, which prints the demo credentials); sets server_pid, base, admin_pw and api_key.
start_server() {
  local name=$1 port=$2; shift 2
  launch_server "$name" "$port" "$work/$name" "$@"
  admin_pw=$(awk '/Password:/ {print $2}' "$work/$name.out")
  api_key=$(awk '/API key:/ {print $3}' "$work/$name.out")
  [ -n "$admin_pw" ] || { echo "server $name printed no credentials (not a fresh store?):" >&2; cat "$work/$name.err" >&2; exit 1; }
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

# CPU time (user + system, in clock ticks) the process $1 has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# postgres_ticks: user + system ticks of every `postgres` process on this machine (the local
# server's backends and its background writers; 0 when none runs). Read before and after a
# run, the difference is what the database spent on it (and on anything else it served).
postgres_ticks() {
  local t=0 f c
  for f in /proc/[0-9]*/stat; do
    read -r c <"$f" 2>/dev/null || continue
    case $c in *"(postgres)"*) t=$((t + $(awk '{print $14 + $15}' <<<"$c"))) ;; esac
  done
  echo "$t"
}

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

# mint_bin [EXAMPLE] : a load tool, an example of lanyard-saml (its release build is light:
# aws-lc-rs): mint_responses (the default), mint_jwts or bench_op. The response minter is
# $LANYARD_MINT_BIN when given, and the other two are taken from its directory when they are there
# (one prebuilt set, one variable); else one release build of the example.
mint_bin() {
  local example=${1:-mint_responses} built
  if [ -n "${LANYARD_MINT_BIN:-}" ]; then
    [ -x "$LANYARD_MINT_BIN" ] || { echo "LANYARD_MINT_BIN=$LANYARD_MINT_BIN is not an executable" >&2; exit 1; }
    if [ "$example" = mint_responses ]; then echo "$LANYARD_MINT_BIN"; return; fi
    built="$(dirname "$LANYARD_MINT_BIN")/$example"
    if [ -x "$built" ]; then echo "$built"; return; fi
  fi
  echo "==> building the $example example" >&2
  cargo build --release -p lanyard-saml --example "$example" --locked -q >&2
  built="${CARGO_TARGET_DIR:-$PWD/target}/release/examples/$example"
  [ -x "$built" ] || { echo "$example was not built at $built" >&2; exit 1; }
  echo "$built"
}

# bench_connection BASE API_KEY IDP_ENTITY_ID : creates the `bench` SAML connection of tenant
# demo that the minted responses are for (the committed test IdP certificate, IdP-initiated
# sign-in on, JIT on). Uses $work.
bench_connection() {
  local base=$1 key=$2 idp=$3 code
  python3 - "$idp" "$(cat crates/lanyard-saml/tests/fixtures/keys/idp.crt)" >"$work/conn.json" <<'PY'
import json, sys
print(json.dumps({"slug": "bench", "name": "Load bench IdP", "idp_entity_id": sys.argv[1],
  "sso_url": "https://idp.bench.example/sso", "certificates": [sys.argv[2]],
  "allow_idp_initiated": True, "jit": True, "email_attribute": "email",
  "display_name_attribute": "displayName"}))
PY
  code=$(curl -s -o "$work/conn.out" -w '%{http_code}' -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data @"$work/conn.json" "$base/api/v1/tenants/demo/connections")
  [ "$code" = 201 ] || [ "$code" = 200 ] || { echo "creating the connection: $code $(cat "$work/conn.out")" >&2; exit 1; }
}

# wrk_until_done LUA URL OUT SECS [NAME=VALUE…] : wrk -t$threads -c$conns with a sign-in script
# (acs.lua, oidc.lua) and those settings in its environment, until every thread has left its mark
# in SIGNIN_DONE_DIR (its share is used up; wrk's main thread would otherwise sleep for all of
# -d) or SECS have passed; wrk's output in OUT. wrk is a direct child of the caller's shell (`env`
# execs it), so a caller that runs this in the background can find and pause it.
wrk_until_done() {
  local lua=$1 url=$2 out=$3 secs=$4 done_dir wrk_pid
  shift 4
  done_dir=$(mktemp -d -p "$work")
  env "$@" SIGNIN_THREADS="$threads" SIGNIN_DONE_DIR="$done_dir" \
    wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$lua" "$url" >"$out" &
  wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null && [ "$(ls "$done_dir" | wc -l)" -lt "$threads" ]; do sleep 0.05; done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
}

# signin_wrk BASE BODIES OUT [DURATION_S] : acs.lua posting each body of BODIES once to BASE's ACS
# ($acs_path), through wrk_until_done (DURATION_S default 600). Extra acs.lua settings
# (SIGNIN_LOG_DIR, SIGNIN_RATE) come from the environment. Runs in the foreground; `signin_wrk … &`
# to act during the run.
signin_wrk() {
  local base=$1 bodies=$2 out=$3 secs=${4:-600}
  wrk_until_done bench/signin-load/acs.lua "$base$acs_path" "$out" "$secs" \
    SIGNIN_BODIES="$bodies" SIGNIN_PATH="$acs_path"
}

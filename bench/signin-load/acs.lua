-- wrk script for bench/signin-load: sends each pre-minted answer exactly once — a SAML response
-- POSTed to the ACS, or (SIGNIN_METHOD=GET) a JWT as the query of the JWT verify URL — (this
-- thread's share of the file: line i goes to thread i mod SIGNIN_THREADS), and counts as a
-- sign-in only a 303 that sets a session cookie. A thread whose share is used up stops; while it
-- drains, its connections send GET /healthz every 10 ms (counted apart, never as sign-ins). Each
-- thread reads the file as it goes (not all at start): a 10-minute soak needs gigabytes of
-- bodies, more than a LuaJIT state may hold.
-- Environment: SIGNIN_BODIES (file, one form body or query a line), SIGNIN_THREADS, SIGNIN_PATH
-- (ACS or verify path), SIGNIN_METHOD (POST, the default, or GET).
-- Optional, for bench/signin-load/reliability:
--   SIGNIN_LOG_DIR  record every exchange in DIR/<thread>.log, so the checks after a kill -9 know
--                   what each body got: "S <line>" when the request is handed to wrk, and
--                   "R <line> <status> <error code or -> <session cookie or ->" for its answer.
--                   Each sign-in request carries X-Request-Id: b<line> (line = 1-based line of
--                   the file), which the server echoes, so an answer is matched to its body even
--                   though wrk's response() does not say which request it answers.
--   SIGNIN_RATE     a paced run (the soak) instead of a storm: sign-ins per second of the whole
--                   run; each thread sends its k-th request no earlier than k / (RATE / threads)
--                   seconds after its first (wrk's delay(), with LuaJIT's FFI for a ms clock), so
--                   the rate does not drift with the server's latency.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("SIGNIN_THREADS"))
  nthreads = n
  file = io.open(os.getenv("SIGNIN_BODIES"), "r")
  line_no = 0
  exhausted = false
  sent = 0
  local dir = os.getenv("SIGNIN_LOG_DIR")
  if dir and dir ~= "" then
    log = io.open(dir .. "/" .. id .. ".log", "w")
  end
  local rate = tonumber(os.getenv("SIGNIN_RATE") or "")
  if rate then
    interval_ms = 1000 * n / rate
    scheduled = 0
  end
  -- wrk calls thread 0's request() once before any connection opens, only to check the request
  -- (script_verify_request: it counts pipelined requests); that call must not use up a body: it
  -- peeks, and the body is sent by the next call.
  verify_call = (id == 0)
  answered = 0
  ok = 0
  refused = 0
  filler = 0
  statuses = ""
  post_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  path = os.getenv("SIGNIN_PATH")
  method = os.getenv("SIGNIN_METHOD") or "POST"
  filler_request = wrk.format("GET", "/healthz")
end

-- This thread's next body and its 1-based line in the file (line i + 1 goes to thread i mod n),
-- or nil at the end of the file. A body read ahead (by delay() or wrk's check call) is kept in
-- `peeked` and handed out first.
local function next_body()
  if peeked ~= nil then
    local body, line = peeked, peeked_line
    peeked = nil
    return body, line
  end
  while not exhausted do
    local line = file:read("*l")
    if line == nil then
      exhausted = true
      file:close()
    elseif line ~= "" then
      line_no = line_no + 1
      if (line_no - 1) % nthreads == id then return line, line_no end
    end
  end
  return nil
end

-- The next body without using it up (nil when this thread's share is all sent).
local function peek_body()
  if peeked == nil then peeked, peeked_line = next_body() end
  return peeked
end

-- The sign-in request for BODY: a form POST, or a GET with BODY as the query; tagged with the
-- line (X-Request-Id) when exchanges are logged.
local function signin_request(body, line)
  local headers = nil
  if log then headers = { ["X-Request-Id"] = "b" .. line } end
  if method == "GET" then
    return wrk.format("GET", path .. "?" .. body, headers)
  end
  if headers then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  else
    headers = post_headers
  end
  return wrk.format("POST", path, headers, body)
end

function request()
  if verify_call then
    verify_call = false
    local body = peek_body()
    if body ~= nil then return signin_request(body, peeked_line) end
  end
  local body, line = next_body()
  if body == nil then
    return filler_request
  end
  sent = sent + 1
  if log then
    log:write("S ", line, "\n")
    log:flush()
  end
  return signin_request(body, line)
end

-- wrk asks delay() after each answer how long the connection waits before its next request.
-- Paced (SIGNIN_RATE): until that request's slot. Otherwise no wait while this thread has bodies
-- left, and 10 ms once its share is sent: the filler then hardly enters wrk's latency figures (a
-- delay is not part of a request's latency), which otherwise a thread drained early would fill
-- with /healthz answers.
if os.getenv("SIGNIN_RATE") then
  local ffi = require("ffi")
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_usec; } lanyard_timeval;
    int gettimeofday(lanyard_timeval *tv, void *tz);
  ]])
  local tv = ffi.new("lanyard_timeval")
  local function now_ms()
    ffi.C.gettimeofday(tv, nil)
    return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
  end

  function delay()
    local now = now_ms()
    if start_ms == nil then start_ms = now end
    local due = start_ms + scheduled * interval_ms
    scheduled = scheduled + 1
    if due > now then return math.floor(due - now) end
    return 0
  end
else
  function delay()
    if peek_body() == nil then return 10 end
    return 0
  end
end

-- The error code of a refusal: the HTML error page's first <code>, or a JSON "code".
local function error_code(body)
  if body == nil then return "-" end
  return string.match(body, "<code>([^<]+)</code>")
    or string.match(body, '"code"%s*:%s*"([^"]+)"')
    or "-"
end

-- The session cookie (NAME=VALUE) among the Set-Cookie headers wrk hands over.
local function session_cookie(headers)
  for k, v in pairs(headers) do
    if string.lower(k) == "set-cookie" then
      local c = string.match(v, "([^%s;,]*lanyard_session_[^=]*=[^;]+)")
      if c then return c end
    end
  end
  return "-"
end

function response(status, headers, body)
  -- The ACS and the verify URL never answer 200 (a sign-in is a 303, a refusal a 4xx page): a
  -- 200 is filler.
  if status == 200 then
    filler = filler + 1
  else
    if log then
      local rid = headers["x-request-id"] or headers["X-Request-Id"] or ""
      local line = string.match(rid, "^b(%d+)$") or "?"
      local code = "-"
      if status ~= 303 then code = error_code(body) end
      log:write("R ", line, " ", status, " ", code, " ", session_cookie(headers), "\n")
      log:flush()
    end
    answered = answered + 1
    local cookie = headers["Set-Cookie"] or headers["set-cookie"] or ""
    if status == 303 and string.find(cookie, "lanyard_session_", 1, true) then
      ok = ok + 1
    else
      refused = refused + 1
      if refused <= 5 then statuses = statuses .. " " .. status end
    end
  end
  -- Done when every sign-in request is answered; one that never got an answer (a socket error
  -- or a timeout, which wrk reports itself) must not keep the thread on filler for the whole -d.
  if ((exhausted and peeked == nil and answered >= sent) or filler > 5000) and not finished then
    -- wrk's main thread sleeps for -d whatever the threads do: leave a mark, and the harness
    -- interrupts wrk (SIGINT) once every thread has one; the summary then ends there.
    finished = true
    local f = io.open(os.getenv("SIGNIN_DONE_DIR") .. "/" .. id, "w")
    if f then f:close() end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local ok_all, refused_all, filler_all, sent, first = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok_all = ok_all + t:get("ok")
    refused_all = refused_all + t:get("refused")
    filler_all = filler_all + t:get("filler")
    sent = sent + t:get("answered")
    first = first .. t:get("statuses")
  end
  io.write(string.format("signin_ok %d\n", ok_all))
  io.write(string.format("signin_refused %d\n", refused_all))
  io.write(string.format("signin_answered %d\n", sent))
  io.write(string.format("filler %d\n", filler_all))
  io.write(string.format("duration_us %d\n", summary.duration))
  io.write(string.format("p50_us %d\n", latency:percentile(50)))
  io.write(string.format("p99_us %d\n", latency:percentile(99)))
  io.write(string.format("first_refusals%s\n", first))
end

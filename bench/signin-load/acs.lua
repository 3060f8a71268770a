-- wrk script for bench/signin-load: sends each pre-minted answer exactly once — a SAML response
-- POSTed to the ACS, or (SIGNIN_METHOD=GET) a JWT as the query of the JWT verify URL — (this
-- thread's share of the file: line i goes to thread i mod SIGNIN_THREADS), and counts as a
-- sign-in only a 303 that sets a session cookie. A thread whose share is used up stops; while it
-- drains, its connections send GET /healthz every 10 ms (counted apart, never as sign-ins).
-- Environment: SIGNIN_BODIES (file, one form body or query a line), SIGNIN_THREADS, SIGNIN_PATH
-- (ACS or verify path), SIGNIN_METHOD (POST, the default, or GET).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("SIGNIN_THREADS"))
  bodies = {}
  local i = 0
  for line in io.lines(os.getenv("SIGNIN_BODIES")) do
    if line ~= "" then
      if i % n == id then table.insert(bodies, line) end
      i = i + 1
    end
  end
  idx = 0
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

-- Once this thread's share is sent, each connection waits 10 ms before its next (filler)
-- request: the filler then hardly enters wrk's latency figures (a delay is not part of a
-- request's latency), which otherwise a thread drained early would fill with /healthz answers.
function delay()
  if idx >= #bodies then return 10 end
  return 0
end

function request()
  -- wrk (4.1) calls request() once per thread before connecting and throws the answer away:
  -- that first call gets the filler, so no answer is lost (a lost one kept the thread waiting
  -- until its filler cap, and that tail counted in the run's duration).
  if not primed then
    primed = true
    return filler_request
  end
  idx = idx + 1
  local body = bodies[idx]
  if body == nil then
    return filler_request
  end
  if method == "GET" then
    return wrk.format("GET", path .. "?" .. body)
  end
  return wrk.format("POST", path, post_headers, body)
end

function response(status, headers, body)
  -- The ACS and the verify URL never answer 200 (a sign-in is a 303, a refusal a 4xx page): a
  -- 200 is filler.
  if status == 200 then
    filler = filler + 1
  else
    answered = answered + 1
    local cookie = headers["Set-Cookie"] or headers["set-cookie"] or ""
    if status == 303 and string.find(cookie, "lanyard_session_", 1, true) then
      ok = ok + 1
    else
      refused = refused + 1
      if refused <= 5 then statuses = statuses .. " " .. status end
    end
  end
  -- Done when every POST is answered; a POST that never got an answer (a socket error or a
  -- timeout, which wrk reports itself) must not keep the thread on filler for the whole -d.
  if (answered >= #bodies or filler > 5000) and not finished then
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

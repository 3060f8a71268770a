-- wrk script for bench/signin-load's OIDC runs: each sign-in is two requests a browser would
-- make, both from here. (1) GET Lanyard's start URL; Lanyard stores the single-use state and
-- answers 302 to the OP's authorization endpoint with `state` and `nonce`. (2) Instead of the
-- OP's page, this script makes the authorization code the bench OP (bench_op) understands,
-- `<subject>.<nonce>`, and GETs Lanyard's callback with `code` and `state` (and any cookie the
-- start set: the browser binding exists only over https). Lanyard then redeems the code at the
-- OP's token endpoint (its back-channel), verifies the ES256 ID token with the cached JWKS,
-- provisions and opens the session. Only a callback answered 303 with a session cookie counts.
--
-- Requests are not tied to connections: a thread keeps a queue of callbacks made from the start
-- answers it got and sends them before any new start, so about -c sign-ins are in flight. Once
-- this thread's share of starts is sent and its queue is empty, its connections send GET /healthz
-- every 10 ms (filler, counted apart) until the last callbacks are answered.
--
-- wrk's latency figures cover every request of the run: starts and callbacks (and the little
-- filler), not whole sign-ins.
--
-- Environment: SIGNIN_COUNT (sign-ins in all), SIGNIN_THREADS, OIDC_START, OIDC_CALLBACK (paths),
-- SIGNIN_USERS (returning people, default 300), SIGNIN_NEW_EVERY (a new person every n-th,
-- default 20), SIGNIN_DONE_DIR.
-- OIDC_STARTS_OUT=prefix: only the starts. Each start answered 302 counts, and its callback's
-- query (`code=…&state=…`) is written to prefix.<thread> instead of being sent, for a later run
-- of acs.lua that sends only callbacks (the "OIDC callback" kind of the harness). A start that
-- sets a cookie fails this mode (acs.lua could not send it back).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("SIGNIN_THREADS"))
  local count = tonumber(os.getenv("SIGNIN_COUNT"))
  nthreads = n
  -- This thread's share: sign-ins i with i mod n == id.
  share = math.floor(count / n) + ((id < count % n) and 1 or 0)
  users = tonumber(os.getenv("SIGNIN_USERS") or "300")
  new_every = tonumber(os.getenv("SIGNIN_NEW_EVERY") or "20")
  start_path = os.getenv("OIDC_START")
  callback_path = os.getenv("OIDC_CALLBACK")
  starts_sent = 0
  started = 0
  queue = {}
  qhead = 1
  qtail = 0
  ok = 0
  refused = 0
  answered = 0
  filler = 0
  statuses = ""
  start_request = wrk.format("GET", start_path)
  local out = os.getenv("OIDC_STARTS_OUT")
  if out and out ~= "" then
    starts_out = io.open(out .. "." .. id, "w")
  end
  filler_request = wrk.format("GET", "/healthz")
end

-- The subject of this thread's k-th started sign-in (global index id + n*k): a new person every
-- new_every-th, else one of `users` spread out (as the SAML and JWT minters pick).
local function subject(k)
  local i = id + nthreads * k
  if new_every > 0 and i % new_every == 0 then
    return "new" .. i
  end
  return "user" .. ((i * 7919) % users)
end

-- Once this thread's starts are all sent and no callback waits, a connection waits 10 ms
-- before its next request (a filler, or a callback queued meanwhile): the filler then hardly
-- enters wrk's latency figures (a delay is not part of a request's latency).
function delay()
  if starts_sent >= share and qhead > qtail then return 10 end
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
  if qhead <= qtail then
    local r = queue[qhead]
    queue[qhead] = nil
    qhead = qhead + 1
    return r
  end
  if starts_sent < share then
    starts_sent = starts_sent + 1
    return start_request
  end
  return filler_request
end

local function refuse(status)
  refused = refused + 1
  answered = answered + 1
  if refused <= 5 then statuses = statuses .. " " .. status end
end

function response(status, headers, body)
  if status == 200 then
    filler = filler + 1
  elseif status == 302 then
    -- A start: Lanyard sends the browser to the OP with state and nonce.
    local loc = headers["Location"] or headers["location"] or ""
    local state = string.match(loc, "[?&]state=([^&]+)")
    local nonce = string.match(loc, "[?&]nonce=([^&]+)")
    if state == nil or nonce == nil then
      refuse(status)
    else
      local code = subject(started) .. "." .. nonce
      started = started + 1
      local h = {}
      local cookie = headers["Set-Cookie"] or headers["set-cookie"]
      if cookie then h["Cookie"] = string.match(cookie, "^[^;]*") end
      local query = "code=" .. code .. "&state=" .. state
      if starts_out then
        if cookie then
          refuse("302+cookie")
        else
          starts_out:write(query, "\n")
          ok = ok + 1
          answered = answered + 1
        end
      else
        qtail = qtail + 1
        queue[qtail] = wrk.format("GET", callback_path .. "?" .. query, h)
      end
    end
  else
    -- A callback (or a refused start).
    local cookie = headers["Set-Cookie"] or headers["set-cookie"] or ""
    if status == 303 and string.find(cookie, "lanyard_session_", 1, true) then
      ok = ok + 1
      answered = answered + 1
    else
      refuse(status)
    end
  end
  if (answered >= share or filler > 5000) and not finished then
    -- As in acs.lua: leave a mark; the harness interrupts wrk once every thread has one.
    finished = true
    if starts_out then starts_out:close() end
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

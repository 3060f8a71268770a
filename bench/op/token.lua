-- wrk script for bench/op-load: POST /oauth2/token (authorization_code), each request with the
-- next pre-minted code of this thread's share (codes are single-use). An exhausted share sends
-- "exhausted", which the provider refuses (non-2xx), and bench/op-load then fails loudly.
-- Environment: OP_CODES (file, one code a line), OP_THREADS, OP_AUTH (Authorization header),
-- OP_REDIRECT (urlencoded redirect URI), OP_VERIFIER (PKCE verifier).
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local n = tonumber(os.getenv("OP_THREADS"))
  codes = {}
  local i = 0
  for line in io.lines(os.getenv("OP_CODES")) do
    if line ~= "" then
      if i % n == id then table.insert(codes, line) end
      i = i + 1
    end
  end
  idx = 0
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = os.getenv("OP_AUTH"),
  }
  rest = "&grant_type=authorization_code&redirect_uri=" .. os.getenv("OP_REDIRECT")
    .. "&code_verifier=" .. os.getenv("OP_VERIFIER")
end

function request()
  idx = idx + 1
  local code = codes[idx] or "exhausted"
  return wrk.format("POST", "/oauth2/token", headers, "code=" .. code .. rest)
end

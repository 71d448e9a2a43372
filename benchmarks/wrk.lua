-- wrk script for `make bench` (benchmarks/http.py).
--   wrk ... -s wrk.lua URL -- get PATH        GET PATH, unauthenticated
--   wrk ... -s wrk.lua URL -- auth FILE       GET; FILE holds lines "<bearer token> <path>"
--   wrk ... -s wrk.lua URL -- transfers FILE  POST /api/v1/transactions; FILE holds lines
--                                             "<bearer token> <recipient id>"
-- Prints one line "RESULT <requests> <duration us> <non-2xx> <socket errors> <p50 us> <p99 us>".

local mode = "get"
local path = "/"
local lines = {}

function init(args)
  mode = args[1] or "get"
  if mode == "get" then
    path = args[2] or "/"
  else
    for line in io.lines(args[2]) do
      local token, value = line:match("(%S+) (%S+)")
      lines[#lines + 1] = { token = token, value = value }
    end
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
  if mode == "get" then
    return wrk.format("GET", path)
  end
  local pick = lines[math.random(#lines)]
  local headers = { ["Authorization"] = "Bearer " .. pick.token }
  if mode == "auth" then
    return wrk.format("GET", pick.value, headers)
  end
  headers["Content-Type"] = "application/json"
  local body = '{"transaction":{"kind":"transfer","amount":"0.01","currency":"EUR",'
    .. '"recipient_id":' .. pick.value .. '}}'
  return wrk.format("POST", "/api/v1/transactions", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

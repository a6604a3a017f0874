dofile("bench/wrk/report.lua")

-- POST /api/v1/sessions with a slot no other request of the run takes: one-minute sessions
-- in the evening, outside working hours (an admin books them so), on days after the generated
-- calendar, spread over the therapists. Each wrk thread takes every n-th slot.
-- `index` is set in each thread's own state by setup(): a global, not a local.
local threads, counter = 0, 0

setup = function(thread)
  thread:set("index", threads)
  threads = threads + 1
end

init = function(args)
  -- The headers given here replace wrk's own (-H), so they are copied in.
  headers = { ["Content-Type"] = "application/json" }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  first_day = os.time({ year = tonumber(args[1]), month = tonumber(args[2]), day = tonumber(args[3]), hour = 12 })
  therapists = tonumber(args[4])
  stride = tonumber(args[5])
end

request = function()
  local n = counter * stride + index
  counter = counter + 1
  local therapist = 1 + n % therapists
  local minute = math.floor(n / therapists) % 240
  local day = math.floor(n / (therapists * 240))
  local date = os.date("!%Y-%m-%d", first_day + day * 86400)
  local start = string.format("%02d:%02d", 19 + math.floor(minute / 60), minute % 60)
  local finish = string.format("%02d:%02d", 19 + math.floor((minute + 1) / 60), (minute + 1) % 60)
  local body = string.format(
    '{"date":"%s","startTime":"%s","endTime":"%s","therapistIds":[%d],"outsideWorkingHours":true}',
    date, start, finish, therapist)
  return wrk.format("POST", "/api/v1/sessions", headers, body)
end

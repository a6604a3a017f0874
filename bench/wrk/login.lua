dofile("bench/wrk/report.lua")

-- POST /api/v1/auth/login with the right password: bounded by Argon2 by design.
init = function(args)
  -- The headers given here replace wrk's own (-H), so they are copied in.
  headers = { ["Content-Type"] = "application/json" }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  body = string.format('{"username":"%s","password":"%s"}', args[1], args[2])
end

request = function()
  return wrk.format("POST", "/api/v1/auth/login", headers, body)
end

-- wrk script: POST AssumeRoleWithSAML forms, each with the next assertion of ASSERTIONS_FILE
-- (one base64 response per line, e.g. from `idbroker dev saml-assertion`; every assertion is
-- single-use, so the run must not need more requests than the file has lines). Use one wrk
-- thread (-t1). Prints error counts and latency percentiles at the end.
-- The requests are built once, in init (before the run starts): percent-encoding 9 KB per
-- request in Lua would cost wrk, which shares the cores with the server, a good part of a core.
local lines = {}
local role = os.getenv("ROLE_ARN") or "arn:aws:iam::123456789012:role/demo/SamlDeveloper"
local provider = os.getenv("PRINCIPAL_ARN") or "arn:aws:iam::123456789012:saml-provider/DemoIdP"
local function enc(s) return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end)) end
local prefix = "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=" .. enc(role) ..
  "&PrincipalArn=" .. enc(provider) .. "&SAMLAssertion="
local exhausted
init = function(args)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  for l in io.lines(os.getenv("ASSERTIONS_FILE") or "assertions.txt") do
    lines[#lines + 1] = wrk.format("POST", "/", headers, prefix .. enc(l))
  end
  exhausted = wrk.format("POST", "/", headers, prefix .. "exhausted")
end
local i = 0
request = function()
  i = i + 1
  return lines[i] or exhausted
end
done = function(summary, latency, requests)
  -- (done runs in wrk's setup state, not the threads' own: the threads' tables are not here.)
  io.write(string.format("REQS %d\n", summary.requests))
  io.write(string.format("ERRS non2xx=%d connect=%d read=%d write=%d timeout=%d\n", summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("LAT p50=%.3fms p99=%.3fms max=%.3fms\n", latency:percentile(50)/1000,
    latency:percentile(99)/1000, latency.max/1000))
end

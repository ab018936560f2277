-- Cycle through pre-signed webhook bodies (one "signature<TAB>body" per line) and report p99.
local bodies = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t")
    bodies[#bodies + 1] = {line:sub(1, tab - 1), line:sub(tab + 1)}
  end
  -- each run starts where it is told, so warm-up and measured runs never resend a body
  i = tonumber(args[2] or "0") % #bodies
end

function request()
  i = i % #bodies + 1
  local b = bodies[i]
  return wrk.format("POST", "/webhooks/meta",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = b[1]}, b[2])
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end

-- wrk script: requests come from a file (BENCH_REQUESTS), one a line, tab-separated:
-- method, path, header name, header value, body.
-- Without BENCH_ONCE every thread cycles through all lines; BENCH_ONCE=1 splits the lines between
-- threads and sends each once (distinct changes to approve), stopping the thread when none are left.
-- done() prints one line "BENCH_RESULT {json}" with latency percentiles in microseconds.

local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  once = os.getenv("BENCH_ONCE") == "1"
  reqs = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    -- Distinct requests are split between threads; repeated ones are shared by all.
    if (not once) or (i % nthreads) == tid then
      local method, path, name, value, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
      -- What the TLS-terminating proxy in front of production adds.
      local headers = {["X-Forwarded-Proto"] = "https"}
      headers[name] = value
      if body ~= nil and body ~= "" then
        headers["Content-Type"] = "application/json"
      else
        body = nil
      end
      table.insert(reqs, wrk.format(method, path, headers, body))
      spare = wrk.format("GET", "/bench/floor/", headers, nil)
    end
    i = i + 1
  end
  -- Threads start at different lines, so they do not all ask for the same thing at once.
  sent = once and 0 or (tid % #reqs)
  answered = 0
end

function request()
  sent = sent + 1
  if once and sent > #reqs then
    -- Nothing left to send while other connections still wait for answers: a floor request,
    -- never a second decision on the same change.
    return spare
  end
  return reqs[((sent - 1) % #reqs) + 1]
end

function response(status, headers, body)
  answered = answered + 1
  if once and answered >= #reqs then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end

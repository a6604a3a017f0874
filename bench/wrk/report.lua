-- Prints one machine-readable line after the run: requests/s, p50 and p99 in ms, requests,
-- answers that were not 2xx/3xx or timed out, and connections wrk itself cut (at the run's end).
done = function(summary, latency, requests)
  local failed = summary.errors.status + summary.errors.timeout
  local cut = summary.errors.connect + summary.errors.read + summary.errors.write
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, failed, cut))
end

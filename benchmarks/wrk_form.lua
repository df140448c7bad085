-- Like wrk_report.lua, for a form POST (OAuth's token endpoint reads
-- application/x-www-form-urlencoded, not JSON).
local body = os.getenv("WRK_BODY")
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local non2xx = (summary.errors.status or 0)
  io.write(string.format(
    "RESULT rps=%.1f p50=%.2f p95=%.2f p99=%.2f requests=%d errors=%d non2xx=%d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests,
    (summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout),
    non2xx))
end

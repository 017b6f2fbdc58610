-- wrk script with opsdeck-loadtest's HTTP mix (src/core/perf/loadtestcomponents.cpp): GET 70 %
-- over ticker/price, depth (limit 5), time and one 1m kline, POST 30 % /api/v3/order/test,
-- symbols BTCUSDT, ETHUSDT, SOLUSDT. Used by scripts/loadtest-vs-wrk.sh.
local symbols = { "BTCUSDT", "ETHUSDT", "SOLUSDT" }
local body = "&side=BUY&type=MARKET&quoteOrderQty=100"
math.randomseed(42)

request = function()
  local symbol = symbols[math.random(3)]
  if math.random() < 0.70 then
    local v = math.random(4)
    if v == 1 then
      return wrk.format("GET", "/api/v3/ticker/price?symbol=" .. symbol)
    elseif v == 2 then
      return wrk.format("GET", "/api/v3/depth?symbol=" .. symbol .. "&limit=5")
    elseif v == 3 then
      return wrk.format("GET", "/api/v3/time")
    end
    return wrk.format("GET", "/api/v3/klines?symbol=" .. symbol .. "&interval=1m&limit=1")
  end
  return wrk.format("POST", "/api/v3/order/test",
                    { ["Content-Type"] = "application/x-www-form-urlencoded" },
                    "symbol=" .. symbol .. body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
                 + summary.errors.write + summary.errors.timeout
  io.write(string.format("wrk-mix: %d requests, %d errors, p99 %.2f ms\n",
                         summary.requests, errors, latency:percentile(99) / 1000))
end

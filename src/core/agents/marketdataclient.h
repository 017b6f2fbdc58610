// MarketDataClient: the agents' one way to the market. Fetches order books, recent trades,
// klines, ticker prices and symbol rules through CacheManager::getOrLoad (with the guide's TTLs)
// and the HttpPool (one api name per market, the exchange's request weights, a weight-per-minute
// limit, the caller's priority), and parses the Binance spot v3 JSON into typed values. The only
// order endpoint it knows is POST /api/v3/order/test (validation only: no order is ever placed,
// whatever the base URL).
//
//     MarketDataClient client(MarketDataSettings::forBaseUrl(url), &cache, &pool);
//     auto book = client.orderBook(u"BTCUSDT"_s, 100, CallOptions::from(ctx, priority, counters));
//
// The cache remembers each key's loader (refresh-ahead): a loader holds the pool pointer, so the
// pool must outlive the cache's last refresh (the Runtime stops the cache before the pool).
// The calls block until the answer (task bodies only: agent cycles on the engine's threads, never
// the GUI thread). Thread-safe: it holds no mutable state besides the counters it is handed.
// The cache may be null (every call is then an HTTP request); the pool must outlive the client.
#pragma once

#include "core/agents/marketdata.h"
#include "core/exec/agent.h"
#include "core/runtime/runtimeconfig.h"
#include "core/support/result.h"
#include "core/support/taskpriority.h"

#include <QtCore/QJsonObject>
#include <QtCore/QUrl>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace opsdeck::cache {
class CacheManager;
}
namespace opsdeck::http {
class HttpPool;
struct HttpRequest;
} // namespace opsdeck::http

namespace opsdeck::agents {

// Everything the client is built with. TTLs are seconds (the cache's meaning: 0 = no expiry).
struct MarketDataSettings
{
    QUrl baseUrl;    // http://127.0.0.1:PORT (the simulator) or https://api.binance.com
    QString apiName; // empty: "market:<host>:<port>"
    double weightLimitPerMinute = 6000; // the exchange's REQUEST_WEIGHT per minute; <= 0: none
    double weightBurst = 0;             // <= 0: max(limit / 12, the heaviest request's weight)
    double orderBookTtl = 30;           // the guide: order book 30 s
    double recentTradesTtl = 300;       // the guide: recent trades 300 s
    double klinesTtl = 3600;            // the guide: historical data 3600 s (closed candles)
    double tickerTtl = 2; // not in the guide: marks and stop-loss checks want fresh prices
    double exchangeInfoTtl = 3600;
    std::chrono::milliseconds defaultDeadline{15'000}; // per call, when the caller gives none

    static MarketDataSettings forBaseUrl(const QUrl &baseUrl);
    // From [market]: market_base_url when set (then the real exchange's 6000 per minute), else
    // the embedded simulator's URL with its weight_limit per weight_window as the limit.
    static MarketDataSettings fromConfig(const MarketConfig &config, const QUrl &simulatorUrl);
    QString effectiveApiName() const;

    // The exchange's weights (GET /api/v3/depth by limit: 1-100 → 5, 101-500 → 25,
    // 501-1000 → 50, 1001-5000 → 250).
    static int depthWeight(int limit);
    static constexpr int kTradesWeight = 25;
    static constexpr int kKlinesWeight = 2;
    static constexpr int kTickerOneWeight = 2;
    static constexpr int kTickerAllWeight = 4;
    static constexpr int kExchangeInfoWeight = 20;
    static constexpr int kTimeWeight = 1;
    static constexpr int kOrderTestWeight = 1;
};

// Per-agent counters: api_calls are HTTP requests this caller made; cache_hits are calls answered
// without one (a value in the cache, or another caller's load in flight).
struct RequestCounters
{
    std::atomic<quint64> apiCalls{0};
    std::atomic<quint64> cacheHits{0};
    std::atomic<quint64> errors{0}; // calls that ended in an error (HTTP, parse, deadline, ...)

    QJsonObject toJson() const; // {"api_calls","cache_hits","request_errors"}
};

// How one call is made.
struct CallOptions
{
    TaskPriority priority = TaskPriority::Normal;
    std::optional<std::chrono::milliseconds> deadline; // unset: settings.defaultDeadline
    // Shared, because the cache keeps a key's loader for refresh-ahead: a later refresh still
    // counts for the agent and never touches freed counters. May be null.
    std::shared_ptr<RequestCounters> counters;
    std::optional<exec::CancellationToken> token; // a fired token fails the call before it starts

    // Deadline = what is left of the cycle's (at least 1 ms), the cycle's token.
    static CallOptions from(const exec::CycleContext &context,
                            TaskPriority priority,
                            std::shared_ptr<RequestCounters> counters);
};

// A paper order to validate with POST /api/v3/order/test. Quantity and price are already rounded
// to the symbol's rules (SymbolRules::roundQuantity / roundPrice).
struct OrderTestRequest
{
    QString symbol;
    Side side = Side::Buy;
    bool limit = true; // LIMIT GTC at `price`; false: MARKET
    double quantity = 0;
    double price = 0;
    SymbolRules rules; // formats the numbers
};

class MarketDataClient
{
public:
    MarketDataClient(MarketDataSettings settings, cache::CacheManager *cache, http::HttpPool *pool);
    Q_DISABLE_COPY_MOVE(MarketDataClient)

    const MarketDataSettings &settings() const { return m_settings; }
    QString apiName() const { return m_apiName; }

    Result<OrderBook> orderBook(const QString &symbol, int limit, const CallOptions &options) const;
    Result<QList<Trade>>
    recentTrades(const QString &symbol, int limit, const CallOptions &options) const;
    // The `limit` most recent candles that closed before nowMs. The window (endTime) is aligned
    // to the interval, so every caller within one interval shares one cache entry, and a closed
    // candle never changes: the klines TTL only bounds how long old windows stay.
    Result<QList<Kline>> closedKlines(const QString &symbol,
                                      const QString &interval,
                                      int limit,
                                      qint64 nowMs,
                                      const CallOptions &options) const;
    Result<TickerPrice> tickerPrice(const QString &symbol, const CallOptions &options) const;
    Result<QList<TickerPrice>> allTickerPrices(const CallOptions &options) const;
    Result<SymbolRules> symbolRules(const QString &symbol, const CallOptions &options) const;
    Result<qint64> serverTime(const CallOptions &options) const; // never cached
    // POST /api/v3/order/test: ok when the exchange accepts the order's parameters. Never cached.
    Status testOrder(const OrderTestRequest &order, const CallOptions &options) const;

    // Told about every HTTP request before it is sent (from the calling thread): for tests and
    // tracing. Set it before the client is shared between threads.
    using RequestObserver = std::function<void(const http::HttpRequest &)>;
    void setRequestObserver(RequestObserver observer) { m_observer = std::move(observer); }

    // "1m" → 60000 ms ... "1M"; nullopt for an unknown interval.
    static std::optional<qint64> intervalMs(const QString &interval);

private:
    http::HttpRequest makeGet(const QString &path,
                              const QList<std::pair<QString, QString>> &query,
                              int weight,
                              const CallOptions &options) const;
    // Through the cache (when there is one and ttl is set) or straight to the pool.
    Result<QByteArray> fetch(const QByteArray &key,
                             std::optional<double> ttl,
                             const http::HttpRequest &request,
                             const CallOptions &options) const;
    Result<QByteArray> send(const http::HttpRequest &request, const CallOptions &options) const;
    template<typename T> Result<T> counted(Result<T> result, const CallOptions &options) const;

    const MarketDataSettings m_settings;
    const QString m_apiName;
    const double m_burst;
    cache::CacheManager *const m_cache;
    http::HttpPool *const m_pool;
    RequestObserver m_observer;
};

} // namespace opsdeck::agents

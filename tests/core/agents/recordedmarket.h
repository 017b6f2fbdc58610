// RecordedMarket: a FaultServer on loopback serving the recorded market data on the exchange's
// paths, with a memory-only CacheManager on a ManualClock (so TTLs move only when told) and an
// HttpPool (real time, as it must). Test-only; construct and destroy in the test thread.
#pragma once

#include "agenttestdata.h"
#include "support/faultserver.h"
#include "support/testutil.h"

#include "core/agents/marketdataclient.h"
#include "core/cache/cachemanager.h"
#include "core/http/httppool.h"
#include "core/http/httprequest.h"

#include <QtCore/QMutex>
#include <QtCore/QUrlQuery>

#include <memory>

namespace opsdeck::test {

struct SeenRequest
{
    QString path;
    QUrlQuery query;
    QByteArray method;
    double weight = 0;
    std::optional<double> rateLimit;
    TaskPriority priority = TaskPriority::Normal;
    QString apiName;
};

class RecordedMarket
{
public:
    // retryCount: the pool's http_retry_count (0: every answer is final).
    explicit RecordedMarket(int retryCount = 0)
        : cache(cacheSettings(), clock)
        , pool(poolSettings(retryCount))
    {
        port = server.start();
        (void)cache.open();
        server.setDefaultRule(FaultRule::status(404).withBody(
            R"({"code":-1000,"msg":"not recorded"})", "application/json"));
    }

    // Serves a fixture on a path (any query), replacing what was served there before.
    void serve(const QByteArray &path, const char *fixtureName)
    {
        serveBytes(path, fixture(fixtureName));
    }
    void serveBytes(const QByteArray &path, const QByteArray &body, int status = 200)
    {
        m_routes.insert(path, {status, body});
        server.clearRules();
        for (auto it = m_routes.constBegin(); it != m_routes.constEnd(); ++it) {
            server.addRule(FaultRule::status(it->first).onPath(it.key()).withBody(
                it->second, "application/json"));
        }
    }
    void serveDefaults()
    {
        serve("/api/v3/exchangeInfo", "exchangeinfo.json");
        serve("/api/v3/depth", "depth_btcusdt.json");
        serve("/api/v3/trades", "trades_btcusdt.json");
        serve("/api/v3/klines", "klines_ethusdt_bullish.json");
        serve("/api/v3/ticker/price", "ticker_btcusdt_dip.json");
        serve("/api/v3/time", "time.json");
        serveBytes("/api/v3/order/test", "{}");
    }

    agents::MarketDataSettings settings() const
    {
        return agents::MarketDataSettings::forBaseUrl(server.baseUrl());
    }

    std::unique_ptr<agents::MarketDataClient> makeClient(agents::MarketDataSettings s,
                                                         bool withCache = true)
    {
        auto client
            = std::make_unique<agents::MarketDataClient>(s, withCache ? &cache : nullptr, &pool);
        client->setRequestObserver([this](const http::HttpRequest &r) {
            QMutexLocker lock(&m_seenMutex);
            m_seen.append(SeenRequest{r.url.path(), r.query, r.normalizedMethod(), r.weight,
                                      r.rateLimit, r.priority, r.effectiveApiName()});
        });
        return client;
    }
    std::unique_ptr<agents::MarketDataClient> makeClient() { return makeClient(settings()); }

    QList<SeenRequest> seen() const
    {
        QMutexLocker lock(&m_seenMutex);
        return m_seen;
    }
    void clearSeen()
    {
        QMutexLocker lock(&m_seenMutex);
        m_seen.clear();
    }

    ManualClock clock;
    FaultServer server;
    quint16 port = 0;
    cache::CacheManager cache;
    http::HttpPool pool;

private:
    static cache::CacheSettings cacheSettings()
    {
        cache::CacheSettings s;
        s.diskEnabled = false;
        return s;
    }
    static http::HttpPoolSettings poolSettings(int retryCount)
    {
        http::HttpPoolSettings s;
        s.poolSize = 4;
        s.timeout = std::chrono::milliseconds(scaledMs(10'000));
        s.retry.retryCount = retryCount;
        s.retry.baseDelay = std::chrono::milliseconds(1);
        s.breaker.failureThreshold = 0;
        s.useSystemProxy = false;
        return s;
    }

    QMap<QByteArray, std::pair<int, QByteArray>> m_routes;
    mutable QMutex m_seenMutex;
    QList<SeenRequest> m_seen;
};

} // namespace opsdeck::test

// The three real load-test components (REFERENCE.md "Load tester"):
// - CacheLoadComponent: get 60 % / set 30 % / delete 5 % / invalidate (by tag) 5 % on a real
//   tiered CacheManager whose cache.db lives in a fresh temporary directory (removed at finish);
//   1000 keys `loadtest:key:<i>` prefilled, 1 KiB values, 100 tags. Synchronous.
// - HttpLoadComponent: GET 70 % (equally ticker/price, depth limit 5, time, one 1m kline; symbols
//   BTCUSDT, ETHUSDT, SOLUSDT) / POST 30 %
//   (/api/v3/order/test, a validation-only order) through LoadHttpClient (one keep-alive
//   connection per worker: measures the server) or, with `throughPool`, a real HttpPool (pool
//   size = concurrency, no retries, breaker off: measures OpsDeck's client too). Every failure is
//   counted as it happens. Against the embedded market simulator started in-process (weight limit
//   lifted: we measure the server, not the exchange's limiter) or `targetUrl`. Asynchronous.
// - ExecutionLoadComponent: tasks NORMAL 60 % / HIGH 30 % / LOW 10 % on a real ExecutionEngine
//   (max_concurrent_tasks 10 by default), each a few microseconds of CPU; latency is submit to
//   result. Asynchronous.
// makeLoadComponents() builds the configured ones.
#pragma once

#include "core/perf/loadhttpclient.h"
#include "core/perf/loadtestcomponent.h"
#include "core/perf/loadtestconfig.h"
#include "core/runtime/runtimeconfig.h"

#include <QtCore/QTemporaryDir>
#include <QtCore/QUrl>

#include <memory>
#include <vector>

namespace opsdeck::cache {
class CacheManager;
}
namespace opsdeck::http {
class HttpPool;
}
namespace opsdeck::exec {
class ExecutionEngine;
}
namespace opsdeck::market {
class MarketService;
struct FaultSettings;
} // namespace opsdeck::market

namespace opsdeck::perf {

class CacheLoadComponent final : public LoadComponent
{
public:
    static constexpr int kKeyCount = 1000;
    static constexpr int kTagCount = 100;
    static constexpr int kValueBytes = 1024;

    CacheLoadComponent();
    ~CacheLoadComponent() override;

    LoadComponentKind kind() const override { return LoadComponentKind::Cache; }
    bool isAsync() const override { return false; }
    QStringList operationNames() const override;
    Status prepare() override;
    void start(const OpTicket &ticket, Completion done) override;
    void finish() override;
    QJsonObject extraResults() const override;

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<cache::CacheManager> m_cache;
    QByteArray m_value;
    QJsonObject m_finalStats;
};

class HttpLoadComponent final : public LoadComponent
{
public:
    // targetUrl empty: starts the embedded simulator in prepare().
    HttpLoadComponent(QUrl targetUrl, int connections, int timeoutMs, bool throughPool = false);
    ~HttpLoadComponent() override;

    LoadComponentKind kind() const override { return LoadComponentKind::Http; }
    bool isAsync() const override { return true; }
    QStringList operationNames() const override;
    Status prepare() override;
    void start(const OpTicket &ticket, Completion done) override;
    void finish() override;
    QJsonObject extraResults() const override;

    // The base URL requests go to (after prepare()).
    QUrl baseUrl() const { return m_base; }
    // The embedded simulator (null with a target URL): the self-check injects stalls through it.
    market::MarketService *simulator() const { return m_market.get(); }

private:
    void startThroughPool(const QString &symbol, int variant, bool isGet, Completion done);

    QUrl m_target;
    int m_poolSize;
    int m_timeoutMs;
    bool m_throughPool;
    QUrl m_base;
    QString m_apiName;
    std::unique_ptr<market::MarketService> m_market;
    std::unique_ptr<http::HttpPool> m_pool;
    std::unique_ptr<LoadHttpClient> m_client;
    QByteArray m_getTargets[4][3]; // [variant][symbol], origin-form, for m_client
    QByteArray m_postTarget;
    QByteArray m_postBodies[3];
    QJsonObject m_finalStats;
};

class ExecutionLoadComponent final : public LoadComponent
{
public:
    explicit ExecutionLoadComponent(ExecConfig config = ExecConfig());
    ~ExecutionLoadComponent() override;

    LoadComponentKind kind() const override { return LoadComponentKind::Execution; }
    bool isAsync() const override { return true; }
    QStringList operationNames() const override; // "NORMAL", "HIGH", "LOW"
    Status prepare() override;
    void start(const OpTicket &ticket, Completion done) override;
    void finish() override;
    QJsonObject extraResults() const override;

private:
    ExecConfig m_config;
    std::unique_ptr<exec::ExecutionEngine> m_engine;
    QJsonObject m_finalStats;
};

std::vector<std::unique_ptr<LoadComponent>> makeLoadComponents(const LoadTestConfig &config);

} // namespace opsdeck::perf

// HttpPoolSettings: everything HttpPool is built with, as a plain value. fromConfig() maps the
// [http] section of RuntimeConfig (http_pool_size, http_timeout, http_retry_count,
// http_retry_delay); the rest are OpsDeck's own defaults, there for tests and tuning.
#pragma once

#include "core/http/circuitbreaker.h"
#include "core/http/retrybudget.h"
#include "core/http/retrypolicy.h"
#include "core/runtime/runtimeconfig.h"

#include <QtCore/QByteArray>

#include <chrono>

namespace opsdeck::http {

struct HttpPoolSettings
{
    int poolSize = 20;                         // requests in flight at once, >= 1
    std::chrono::milliseconds timeout{30'000}; // total deadline per attempt
    RetryPolicy::Settings retry;               // retryCount, baseDelay, maxBackoff, maxRetryAfter
    CircuitBreaker::Settings breaker;          // per api
    RetryBudget::Settings retryBudget;         // per api
    bool useSystemProxy = true; // false: connect directly (loopback never goes through a proxy)
    QByteArray userAgent = QByteArrayLiteral("OpsDeck/" OPSDECK_VERSION_STRING);
    RetryPolicy::Random random; // jitter source, uniform in [0, 1); empty: QRandomGenerator

    static HttpPoolSettings fromConfig(const HttpConfig &config);
    // Copies the config-backed fields into these settings (the rest stay).
    void apply(const HttpConfig &config);

    // Qt 6.4 opens at most this many connections per host per QNAM.
    static constexpr int kConnectionsPerQnam = 6;
    // W = max(2, ceil(poolSize / kConnectionsPerQnam)).
    static int workerCountFor(int poolSize);
};

} // namespace opsdeck::http

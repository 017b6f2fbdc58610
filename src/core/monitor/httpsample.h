// HttpSample: one typed sample of the "http" metrics category (the HttpPool), as the
// PerformanceMonitor takes it each tick. A plain value; copy freely. Counters are cumulative
// since the pool started; `interval` holds what changed since the previous sample, with latency
// percentiles from the pool's per-interval (delta) histograms.
#pragma once

#include <QtCore/QStringList>
#include <QtCore/QtGlobal>

#include <optional>

namespace opsdeck {

struct HttpInterval
{
    double seconds = 0;    // monotonic time between the two samples
    quint64 requests = 0;  // requests that finished (have a result)
    quint64 errors = 0;    // ... that finally failed
    quint64 attempts = 0;
    quint64 retries = 0;
    // Request latency (request() to result) of the requests finished in the interval, all apis
    // merged; milliseconds; nullopt when the pool's latency deltas were not available or
    // held no request.
    std::optional<double> latencyP50Ms;
    std::optional<double> latencyP90Ms;
    std::optional<double> latencyP99Ms;
    std::optional<double> latencyMaxMs;

    double requestsPerSecond() const { return seconds > 0 ? double(requests) / seconds : 0.0; }
    double errorRate() const { return requests ? double(errors) / double(requests) : 0.0; }
};

struct HttpSample
{
    qint64 timestampMs = 0; // wall time, epoch milliseconds

    int clients = 0;       // distinct api names seen
    int workers = 0;
    int poolSize = 0;
    quint64 requests = 0;  // logical requests submitted
    quint64 completed = 0; // ... that have a result
    quint64 attempts = 0;
    quint64 retries = 0;
    quint64 errors = 0;      // requests that finally failed
    double errorRate = 0;    // errors / requests, 0..1
    int inFlight = 0;
    int queued = 0;
    int waitingRetry = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    QStringList rateLimitedApis; // throttled right now

    std::optional<HttpInterval> interval; // nullopt on the first sample after a gap
};

} // namespace opsdeck

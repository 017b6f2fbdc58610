#include "core/http/httpstatsrecorder.h"

#include <algorithm>

namespace opsdeck::http {

HttpStatsRecorder::HttpStatsRecorder(const Clock &clock)
    : m_clock(clock)
{}

HttpStatsRecorder::~HttpStatsRecorder() = default;

HttpStatsRecorder::ApiCounters &HttpStatsRecorder::apiLocked(const QString &api)
{
    return m_apis.try_emplace(api).first->second;
}

void HttpStatsRecorder::requestSubmitted(const QString &api)
{
    const QMutexLocker lock(&m_mutex);
    ++m_requests;
    ++apiLocked(api).requests;
}

void HttpStatsRecorder::attemptStarted(const QString &api, qint64 bytesOut)
{
    const QMutexLocker lock(&m_mutex);
    ++m_attempts;
    m_bytesOut += quint64(std::max<qint64>(0, bytesOut));
    ++apiLocked(api).attempts;
}

void HttpStatsRecorder::attemptFinished(const QString &api, int status, qint64 bytesIn)
{
    Q_UNUSED(api)
    const QMutexLocker lock(&m_mutex);
    m_bytesIn += quint64(std::max<qint64>(0, bytesIn));
    const int statusClass = status >= 100 && status < 600 ? status / 100 : 0;
    ++m_statusClasses[size_t(statusClass)];
}

void HttpStatsRecorder::retryScheduled(const QString &api)
{
    const QMutexLocker lock(&m_mutex);
    ++m_retries;
    ++apiLocked(api).retries;
}

void HttpStatsRecorder::retryDenied(const QString &api)
{
    Q_UNUSED(api)
    const QMutexLocker lock(&m_mutex);
    ++m_retriesDenied;
}

void HttpStatsRecorder::requestFinished(const QString &api,
                                        bool failed,
                                        HttpErrorKind kind,
                                        std::chrono::nanoseconds latency)
{
    const QMutexLocker lock(&m_mutex);
    ++m_completed;
    ApiCounters &counters = apiLocked(api);
    if (failed) {
        ++m_errors;
        ++counters.errors;
        ++m_errorKinds[size_t(kind)];
    }
    counters.latency->recordDuration(latency);
}

void HttpStatsRecorder::publishGauges(Gauges gauges)
{
    const QMutexLocker lock(&m_mutex);
    m_gauges = std::move(gauges);
}

HttpPoolStats HttpStatsRecorder::snapshot() const
{
    const qint64 now = m_clock.monotonic().count();
    const QMutexLocker lock(&m_mutex);
    HttpPoolStats stats;
    stats.clients = int(m_apis.size());
    stats.workers = m_gauges.workers;
    stats.poolSize = m_gauges.poolSize;
    stats.requests = m_requests;
    stats.completed = m_completed;
    stats.attempts = m_attempts;
    stats.retries = m_retries;
    stats.retriesDenied = m_retriesDenied;
    stats.errors = m_errors;
    // errors <= completed <= requests, so the rate never exceeds 1.
    stats.errorRate = m_requests == 0 ? 0.0 : std::min(1.0, double(m_errors) / double(m_requests));
    static constexpr const char *kClassNames[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (size_t i = 0; i < m_statusClasses.size(); ++i) {
        if (m_statusClasses[i] != 0)
            stats.statusClasses.insert(QString::fromLatin1(kClassNames[i]), m_statusClasses[i]);
    }
    for (size_t i = 0; i < m_errorKinds.size(); ++i) {
        if (m_errorKinds[i] != 0)
            stats.errorKinds.insert(toString(HttpErrorKind(i)), m_errorKinds[i]);
    }
    stats.inFlight = m_gauges.inFlight;
    stats.queued = m_gauges.queued;
    stats.waitingRetry = m_gauges.waitingRetry;
    stats.bytesIn = m_bytesIn;
    stats.bytesOut = m_bytesOut;

    for (const auto &[name, counters] : m_apis) {
        HttpApiStats api;
        api.name = name;
        api.requests = counters.requests;
        api.errors = counters.errors;
        api.attempts = counters.attempts;
        api.retries = counters.retries;
        api.latency = counters.latency->snapshot();
        for (const ApiGauge &gauge : m_gauges.apis) {
            if (gauge.name != api.name)
                continue;
            api.inFlight = gauge.inFlight;
            api.queued = gauge.queued;
            api.breakerState = !gauge.breakerOpen               ? QStringLiteral("closed")
                               : now < gauge.breakerOpenUntilNs ? QStringLiteral("open")
                                                                : QStringLiteral("half_open");
            api.waitingOnLimiter = gauge.waitingOnLimiter;
            api.pausedForMs
                = std::max<qint64>(0, (gauge.pausedUntilNs - now + 999'999) / 1'000'000);
            api.rateLimitPerMinute = gauge.rateLimitPerMinute;
        }
        stats.apis.append(std::move(api));
    }
    for (const HttpApiStats &api : std::as_const(stats.apis)) {
        if (api.isRateLimited())
            stats.rateLimitedApis.append(api.name);
    }
    return stats;
}

QHash<QString, HistogramSnapshot> HttpStatsRecorder::latencyDeltas()
{
    const QMutexLocker lock(&m_mutex);
    QHash<QString, HistogramSnapshot> deltas;
    for (auto &[name, counters] : m_apis)
        deltas.insert(name, counters.latency->deltaSnapshot());
    return deltas;
}

} // namespace opsdeck::http

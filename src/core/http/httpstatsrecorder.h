// HttpStatsRecorder: the HTTP pool's counters, gauges and per-api latency histograms. Written
// under the pool's dispatcher mutex (gauges only when HttpPool::stats() asks), read by anyone: every member function is thread-safe (one short
// mutex; histograms record lock-free). snapshot() makes an HttpPoolStats; latencyDeltas() is for
// one consumer (the monitor), as LatencyHistogram::deltaSnapshot() is.
// It decides nothing: what counts as an error is the dispatcher's call.
#pragma once

#include "core/http/httppoolstats.h"
#include "core/http/httpresponse.h"
#include "core/support/clock.h"
#include "core/support/latencyhistogram.h"

#include <QtCore/QHash>
#include <QtCore/QList>
#include <QtCore/QMutex>

#include <array>
#include <chrono>
#include <map>
#include <memory>

namespace opsdeck::http {

class HttpStatsRecorder final
{
public:
    struct ApiGauge
    {
        QString name;
        int inFlight = 0;
        int queued = 0;
        bool breakerOpen = false;      // open or half-open
        qint64 breakerOpenUntilNs = 0; // open before this, half-open after
        bool waitingOnLimiter = false;
        qint64 pausedUntilNs = 0; // monotonic; in the past = not paused
        double rateLimitPerMinute = 0;
    };
    struct Gauges
    {
        int workers = 0;
        int poolSize = 0;
        int inFlight = 0;
        int queued = 0;
        int waitingRetry = 0;
        QList<ApiGauge> apis;
    };

    explicit HttpStatsRecorder(const Clock &clock = Clock::system());
    Q_DISABLE_COPY_MOVE(HttpStatsRecorder)
    ~HttpStatsRecorder();

    void requestSubmitted(const QString &api);
    void attemptStarted(const QString &api, qint64 bytesOut);
    void attemptFinished(const QString &api, int status, qint64 bytesIn);
    void retryScheduled(const QString &api);
    void retryDenied(const QString &api);
    // failed: an error result, or a final status >= 400 (kind HttpStatus).
    void requestFinished(const QString &api,
                         bool failed,
                         HttpErrorKind kind,
                         std::chrono::nanoseconds latency);
    void publishGauges(Gauges gauges);

    HttpPoolStats snapshot() const;
    // Per-api latency recorded since the previous call (ns).
    QHash<QString, HistogramSnapshot> latencyDeltas();

private:
    struct ApiCounters
    {
        quint64 requests = 0;
        quint64 errors = 0;
        quint64 attempts = 0;
        quint64 retries = 0;
        std::unique_ptr<LatencyHistogram> latency = std::make_unique<LatencyHistogram>();
    };
    ApiCounters &apiLocked(const QString &api);

    const Clock &m_clock;
    mutable QMutex m_mutex;
    std::map<QString, ApiCounters> m_apis; // by name
    quint64 m_requests = 0;
    quint64 m_completed = 0;
    quint64 m_attempts = 0;
    quint64 m_retries = 0;
    quint64 m_retriesDenied = 0;
    quint64 m_errors = 0;
    quint64 m_bytesIn = 0;
    quint64 m_bytesOut = 0;
    std::array<quint64, 6> m_statusClasses{}; // 0: no status; 1..5: 1xx..5xx
    std::array<quint64, kHttpErrorKindCount> m_errorKinds{};
    Gauges m_gauges;
};

} // namespace opsdeck::http

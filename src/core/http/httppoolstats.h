// HttpPoolStats: one consistent copy of the HTTP pool's counters, made by HttpPool::stats().
// A plain value (copy it to any thread); toJson() is the shape the monitor and the API serve.
// Counts are since the pool started; latency histograms are cumulative here (the monitor takes
// per-interval deltas with HttpPool::latencyDeltas()).
#pragma once

#include "core/support/latencyhistogram.h"

#include <QtCore/QJsonObject>
#include <QtCore/QMap>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace opsdeck::http {

struct HttpApiStats
{
    QString name;
    quint64 requests = 0;
    quint64 errors = 0; // requests that finally failed
    quint64 attempts = 0;
    quint64 retries = 0;
    int inFlight = 0;
    int queued = 0;
    QString breakerState = QStringLiteral("closed"); // closed, open, half_open
    bool waitingOnLimiter = false; // requests are queued behind its rate limit right now
    qint64 pausedForMs = 0;        // a 429 (or usage header) pauses it this much longer
    double rateLimitPerMinute = 0; // 0: unlimited
    HistogramSnapshot latency;     // request latency in ns (request() to result), cumulative

    bool isRateLimited() const { return waitingOnLimiter || pausedForMs > 0; }
};

struct HttpPoolStats
{
    int clients = 0;       // http_clients: distinct api names seen
    int workers = 0;       // http_workers: worker threads (QNAMs) taking new requests
    int poolSize = 0;      // http_pool_size
    quint64 requests = 0;  // http_requests: logical requests submitted
    quint64 completed = 0; // ... that have a result
    quint64 attempts = 0;  // http_attempts: sent on the wire (a retry is one more)
    quint64 retries = 0;
    quint64 retriesDenied = 0; // retries the per-api retry budget refused
    quint64 errors = 0;        // http_errors: requests that finally failed (error or status >= 400)
    double errorRate = 0.0;    // errors / requests, 0..1
    QMap<QString, quint64> statusClasses; // "2xx" -> attempts answered with such a status
    QMap<QString, quint64> errorKinds;    // "timeout" -> requests that finally failed so
    int inFlight = 0;
    int queued = 0;              // waiting for a pool slot, the limiter, a pause or an open breaker
    int waitingRetry = 0;        // in a backoff between attempts
    quint64 bytesIn = 0;         // response body bytes
    quint64 bytesOut = 0;        // request body bytes
    QList<HttpApiStats> apis;    // by name
    QStringList rateLimitedApis; // throttled right now: waiting on the limiter or paused

    QJsonObject toJson() const;
};

} // namespace opsdeck::http

// HttpPool: the one way OpsDeck talks HTTP. request() is thread-safe and returns a future that
// resolves (from the pool's worker threads, or the caller's when it fails at once) with the
// response or a typed error; continue with `future.then(context, ...)` so a dead receiver is never
// touched.
//
//     HttpRequest req = HttpRequest::get(url, u"binance"_s);
//     req.rateLimit = 1200; // per minute
//     pool.request(req).then(this, [this](const Result<HttpResponse> &r) { ... });
//     pool.request(req, [](const Result<HttpResponse> &r) { ... }); // in the completing thread
//
// It owns the scheduling state (queue, priority lanes, limiters, retries, breakers, deadlines;
// behind one mutex, run by the threads that submit and complete requests), a "http-dispatch"
// thread for its wake timer, and W = max(2, ceil(poolSize / 6)) worker threads ("http-1".."http-W"),
// each with its own QNetworkAccessManager, behind a global limit of exactly poolSize attempts in
// flight. The pool size changes live (workers are added or retired). The object itself may live
// in any thread; construct and destroy it in the same one (destruction fails every pending
// request with `shutdown` and joins the threads). Timers run on real time, so the Clock must
// follow it (Clock::system(); ManualClock is for the pure parts: RateLimiter, RetryBudget, ...).
// It is not a cache and not a singleton: the Runtime owns one and passes it down.
#pragma once

#include "core/http/httppoolsettings.h"
#include "core/http/httppoolstats.h"
#include "core/http/httprequest.h"
#include "core/http/httpresponse.h"
#include "core/http/ratelimiter.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QFuture>
#include <QtCore/QHash>

#include <functional>
#include <memory>
#include <optional>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace opsdeck::http {

class HttpDispatcher;
class HttpStatsRecorder;

class HttpPool final
{
public:
    explicit HttpPool(HttpPoolSettings settings = {}, const Clock &clock = Clock::system());
    Q_DISABLE_COPY_MOVE(HttpPool)
    ~HttpPool();

    // Thread-safe. Never waits for the network (only for the pool's mutex, held for
    // microseconds); the future is already finished for an invalid request.
    QFuture<Result<HttpResponse>> request(HttpRequest request);
    // The same, and `onFinished` is called once with the final result in the thread that
    // completes the request (a worker, or the caller's for an at-once failure), just before the
    // future finishes. Use it instead of future.then(QtFuture::Launch::Sync, ...): Qt 6.4 crashes
    // when a Sync continuation is attached while the future finishes in another thread.
    using ResponseCallback = std::function<void(const Result<HttpResponse> &)>;
    QFuture<Result<HttpResponse>> request(HttpRequest request, ResponseCallback onFinished);

    // Thread-safe; in effect for every request submitted after the call returns.
    void setPoolSize(int size);
    // Live: pool size, timeout, retry count and delay (http_* keys of RuntimeConfig).
    void applyConfig(const HttpConfig &config);
    // Fails every pending request with `shutdown` and joins the threads; requests after it fail
    // at once with `shutdown`. Idempotent; the destructor calls it. Owner's thread.
    void shutdown();
    // Sets (or with nullopt removes) an api's rate limit, as HttpRequest::rateLimit does.
    void setApiLimit(const QString &api, std::optional<RateLimiter::Limits> limits);

    // Thread-safe snapshot.
    HttpPoolStats stats() const;
    // Per-api request latency (ns) since the previous call: for one consumer, the monitor.
    QHash<QString, HistogramSnapshot> latencyDeltas();

private:
    const Clock &m_clock;
    std::unique_ptr<HttpStatsRecorder> m_stats;
    std::unique_ptr<QThread> m_thread;
    HttpDispatcher *m_dispatcher = nullptr; // its QObject lives in m_thread; deleted there
    bool m_shutDown = false;
};

} // namespace opsdeck::http

#include "core/http/httppool.h"

#include "core/http/httpdispatcher.h"
#include "core/http/httpstatsrecorder.h"

#include <QtCore/QThread>

namespace opsdeck::http {

HttpPool::HttpPool(HttpPoolSettings settings, const Clock &clock)
    : m_clock(clock)
    , m_stats(std::make_unique<HttpStatsRecorder>(clock))
    , m_thread(std::make_unique<QThread>())
{
    m_thread->setObjectName(QStringLiteral("http-dispatch"));
    m_dispatcher = new HttpDispatcher(std::move(settings), m_clock, *m_stats);
    m_dispatcher->moveToThread(m_thread.get());
    m_thread->start();
    // Blocking, so the workers exist (and stats() shows them) once the constructor returns.
    HttpDispatcher *dispatcher = m_dispatcher;
    QMetaObject::invokeMethod(
        dispatcher, [dispatcher] { dispatcher->start(); }, Qt::BlockingQueuedConnection);
}

HttpPool::~HttpPool()
{
    shutdown();
    HttpDispatcher *dispatcher = m_dispatcher;
    QMetaObject::invokeMethod(
        dispatcher,
        [dispatcher] {
            dispatcher->deleteLater(); // deleted in its thread as that thread finishes
        },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
}

void HttpPool::shutdown()
{
    if (m_shutDown)
        return;
    m_shutDown = true;
    HttpDispatcher *dispatcher = m_dispatcher;
    QMetaObject::invokeMethod(
        dispatcher, [dispatcher] { dispatcher->shutdown(); }, Qt::BlockingQueuedConnection);
}

QFuture<Result<HttpResponse>> HttpPool::request(HttpRequest request)
{
    return this->request(std::move(request), {});
}

QFuture<Result<HttpResponse>> HttpPool::request(HttpRequest request, ResponseCallback onFinished)
{
    auto pending = std::make_shared<HttpDispatcher::Pending>();
    pending->request = std::move(request);
    pending->onFinished = std::move(onFinished);
    pending->createdNs = m_clock.monotonic().count();
    pending->promise.start();
    QFuture<Result<HttpResponse>> future = pending->promise.future();
    m_dispatcher->submit(std::move(pending)); // thread-safe: taken in right here
    return future;
}

void HttpPool::setPoolSize(int size)
{
    m_dispatcher->setPoolSize(size);
}

void HttpPool::applyConfig(const HttpConfig &config)
{
    m_dispatcher->applyConfig(config);
}

void HttpPool::setApiLimit(const QString &api, std::optional<RateLimiter::Limits> limits)
{
    m_dispatcher->setApiLimit(api, limits);
}

HttpPoolStats HttpPool::stats() const
{
    m_stats->publishGauges(m_dispatcher->gauges());
    return m_stats->snapshot();
}

QHash<QString, HistogramSnapshot> HttpPool::latencyDeltas()
{
    return m_stats->latencyDeltas();
}

} // namespace opsdeck::http

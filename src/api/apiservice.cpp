#include "api/apiservice.h"

#include <QtCore/QMetaObject>

namespace opsdeck::api {

ApiService::ApiService(ApiServer::Settings settings,
                       const PerformanceMonitor &monitor,
                       const Clock &clock)
    : m_server(std::make_unique<ApiServer>(std::move(settings), monitor, clock))
{
    m_thread.setObjectName(QStringLiteral("api"));
}

ApiService::~ApiService()
{
    stop();
}

Result<quint16> ApiService::start()
{
    if (m_running)
        return m_server->port();
    m_server->moveToThread(&m_thread);
    m_thread.start();
    Result<quint16> result = fail(QStringLiteral("listen_failed"), QStringLiteral("Not started."));
    QMetaObject::invokeMethod(
        m_server.get(), [&] { result = m_server->listen(); }, Qt::BlockingQueuedConnection);
    if (!result) {
        QThread *owner = QThread::currentThread();
        QMetaObject::invokeMethod(
            m_server.get(),
            [this, owner] {
                m_server->shutdown();
                m_server->moveToThread(owner);
            },
            Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
        return result;
    }
    m_running = true;
    return result;
}

void ApiService::stop()
{
    if (!m_running)
        return;
    m_running = false;
    QThread *owner = QThread::currentThread();
    QMetaObject::invokeMethod(
        m_server.get(),
        [this, owner] {
            m_server->shutdown();
            // Back to the owning thread, so the server can be destroyed there.
            m_server->moveToThread(owner);
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

QString ApiService::baseUrl() const
{
    return m_server->baseUrl();
}

quint16 ApiService::port() const
{
    return m_server->port();
}

} // namespace opsdeck::api

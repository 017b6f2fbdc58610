#include "market/marketservice.h"

#include <QtCore/QMetaObject>

namespace opsdeck::market {

MarketService::MarketService(MarketServer::Settings settings, const Clock &clock)
    : m_server(std::make_unique<MarketServer>(std::move(settings), clock))
{
    m_thread.setObjectName(QStringLiteral("market"));
}

MarketService::~MarketService()
{
    stop();
}

Result<quint16> MarketService::start()
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

bool MarketService::stop(int timeoutMs)
{
    if (!m_running)
        return true;
    m_running = false;
    QThread *owner = QThread::currentThread();
    // Handlers are synchronous and short (the largest, 1000 one-minute klines, takes about
    // 90 ms in RelWithDebInfo), so the blocking call waits at most for one request in progress.
    QMetaObject::invokeMethod(
        m_server.get(),
        [this, owner] {
            m_server->shutdown();
            m_server->moveToThread(owner); // destroyed in the owning thread
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    return m_thread.wait(QDeadlineTimer(timeoutMs));
}

quint16 MarketService::port() const
{
    return m_server->port();
}

QString MarketService::baseUrl() const
{
    return m_server->baseUrl();
}

Status MarketService::setFaults(const FaultSettings &faults)
{
    return m_server->setFaults(faults);
}

FaultSettings MarketService::faults() const
{
    return m_server->faults();
}

MarketServer::Stats MarketService::stats() const
{
    return m_server->stats();
}

const MarketSimulator &MarketService::simulator() const
{
    return m_server->simulator();
}

} // namespace opsdeck::market

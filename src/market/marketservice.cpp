#include "market/marketservice.h"

#include "api/serverthread.h"

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
    Result<quint16> result = api::listenInThread(*m_server, m_thread);
    m_running = result.has_value();
    return result;
}

bool MarketService::stop(int timeoutMs)
{
    if (!m_running)
        return true;
    m_running = false;
    // Handlers are synchronous and short (the largest, 1000 one-minute klines, takes about
    // 90 ms in RelWithDebInfo), so the blocking call waits at most for one request in progress.
    return api::shutdownInThread(*m_server, m_thread, QDeadlineTimer(timeoutMs));
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

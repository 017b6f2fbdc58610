#include "api/apiservice.h"

#include "api/serverthread.h"

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
    Result<quint16> result = listenInThread(*m_server, m_thread);
    m_running = result.has_value();
    return result;
}

void ApiService::stop()
{
    if (!m_running)
        return;
    m_running = false;
    shutdownInThread(*m_server, m_thread);
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

// ApiServer: the embedded REST API. Owns the guarded TCP front, the QHttpServer 6.4 machinery
// (our QAbstractHttpServer subclass) and the route table, and serves prepared bytes from the
// monitor's latest snapshot. Lives in the "api" thread: construct it, move it there, then call
// listen() and shutdown() in that thread (the Runtime does this with blocking invocations).
#pragma once

#include "api/guardedtcpserver.h"
#include "api/routetable.h"
#include "core/monitor/metricssnapshot.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QObject>
#include <QtCore/QStringList>
#include <QtNetwork/QHostAddress>

#include <functional>
#include <memory>

namespace opsdeck {
class PerformanceMonitor;
}

namespace opsdeck::api {

class HttpFront;

// What the API may do with the trading agents. Every function is called in the api thread and
// must be thread-safe; an empty one answers 503. list()/find() give nullopt until the agents
// exist (start-up); find/start/stop fail with "unknown_agent" for an id nobody has.
struct AgentControl
{
    std::function<std::optional<QJsonArray>()> list;
    std::function<std::optional<QJsonObject>(const QString &id)> find;
    std::function<Status(const QString &id)> start;
    std::function<Status(const QString &id)> stop;
};

class ApiServer final : public QObject
{
    Q_OBJECT

public:
    struct Settings
    {
        QHostAddress bindAddress = QHostAddress::LocalHost;
        quint16 port = 8765;
        GuardLimits limits;
        QStringList allowedHosts; // extra Host names besides 127.0.0.1, localhost, [::1]
        AgentControl agents;      // GET /agents, POST /agents/{id}/start|stop
    };

    // The parts the API reports on. The monitor outlives the server.
    ApiServer(Settings settings,
              const PerformanceMonitor &monitor,
              const Clock &clock = Clock::system(),
              QObject *parent = nullptr);
    ~ApiServer() override;

    // In the api thread. Fails with "port_in_use" (exit 4) or "listen_failed".
    Result<quint16> listen();
    // In the api thread: closes the listener and every connection.
    void shutdown();

    quint16 port() const { return m_port; }
    QString baseUrl() const;
    RouteTable &routes() { return m_routes; }

    // The whole answer for one parsed request (Host check, routing, auth). Public for tests.
    HttpReply handle(const ApiRequest &request) const;

private:
    void registerRoutes();
    bool hostAllowed(const QByteArray &host) const;
    HttpReply health() const;
    HttpReply metrics(const ApiRequest &request) const;
    HttpReply listAgents(const ApiRequest &request) const;
    HttpReply changeAgent(const ApiRequest &request, const QString &id, bool start) const;

    Settings m_settings;
    const PerformanceMonitor &m_monitor;
    const Clock &m_clock;
    RouteTable m_routes;
    HttpFront *m_front = nullptr;
    quint16 m_port = 0;

    // Prepared bytes per (snapshot, category, limit): repeated polls serialize nothing.
    mutable quint64 m_preparedSequence = 0;
    mutable QHash<QString, QByteArray> m_prepared;
};

} // namespace opsdeck::api

// ApiServer: the embedded REST API. Owns the guarded TCP front, the QHttpServer 6.4 machinery
// (our QAbstractHttpServer subclass) and the route table, and serves prepared bytes from the
// monitor's latest snapshot. Lives in the "api" thread: construct it, move it there, then call
// listen() and shutdown() in that thread (the Runtime does this with blocking invocations).
#pragma once

#include "api/apiauth.h"
#include "api/apicontrols.h"
#include "api/endpoint.h"
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

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace opsdeck {
class PerformanceMonitor;
class EventLog;
class SystemProbe;
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
        SecuritySettings security; // API key, TLS, CORS, failure delays (apiauth.h)
        // Endpoints (issue 7). Empty controls answer 503 "<part>_unavailable".
        QString exportsDir;            // the only directory POST /monitoring/save writes to
        MonitorControl monitorControl; // alerts, rules, history ranges
        ConfigControl config;          // GET/PUT /config
        CacheControl cache;            // /cache/stats, /cache/keys, /cache/invalidate
        TaskControl tasks;             // /tasks, /tasks/{id}/cancel
        PrometheusControl prometheus;  // histograms on GET /metrics
        EventLog *events = nullptr;    // GET /events; outlives the server
        int maxEventWaitSeconds = 60;  // largest accepted GET /events timeout
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
    // handle() for a request from `client`, with how long to hold the answer back (failed auth).
    ApiAnswer answer(const ApiRequest &request, const QHostAddress &client) const;

    // Every endpoint with its documentation, in registration order (the route table's order).
    const QList<Endpoint> &endpoints() const { return m_endpoints; }
    // The OpenAPI 3.0 document of endpoints().
    QJsonObject openApiDocument() const;
    // Long-polls of GET /events now held open (any thread).
    int parkedPolls() const { return m_parkedPolls.load(); }

private:
    friend class HttpFront;

    void registerRoutes();
    void addEndpoint(Endpoint endpoint);
    QList<Endpoint> monitoringEndpoints();
    QList<Endpoint> operationsEndpoints();
    QList<Endpoint> metaEndpoints();

    // monitoringroutes.cpp
    std::optional<HttpReply> monitorNotReady() const;
    HttpReply monitoringMetrics(const Params &params) const;
    HttpReply monitoringAlerts(const Params &params) const;
    HttpReply saveMonitoring(const Params &params) const;
    HttpReply clearAlerts() const;
    HttpReply acknowledgeAlert(qint64 id) const;
    HttpReply getRules() const;
    HttpReply putRules(const ApiRequest &request) const;
    // opsroutes.cpp
    HttpReply getConfig() const;
    HttpReply putConfig(const ApiRequest &request) const;
    HttpReply cacheStats() const;
    HttpReply cacheKeys(const Params &params) const;
    HttpReply cacheInvalidate(const Params &params) const;
    HttpReply listTasks() const;
    HttpReply cancelTask(const QString &id) const;
    HttpReply events(const Params &params) const;
    // prometheus.cpp
    HttpReply prometheusMetrics() const;

    bool hostAllowed(const QByteArray &host) const;
    HttpReply health() const;
    HttpReply listAgents(const ApiRequest &request) const;
    HttpReply changeAgent(const ApiRequest &request, const QString &id, bool start) const;

    Settings m_settings;
    const PerformanceMonitor &m_monitor;
    const Clock &m_clock;
    RouteTable m_routes;
    HttpFront *m_front = nullptr;
    std::unique_ptr<ApiAuth> m_auth; // key check, failure delays, CORS (used from const handle())
    quint16 m_port = 0;

    // Prepared bytes per (snapshot, category, limit): repeated polls serialize nothing.
    mutable quint64 m_preparedSequence = 0;
    mutable QHash<QString, QByteArray> m_prepared;

    QList<Endpoint> m_endpoints;
    mutable std::unique_ptr<SystemProbe> m_processProbe; // /proc/self for GET /metrics
    // Long-poll hand-off to the socket front (api thread only): the front allows parking around
    // one handle() call; GET /events then asks to be held for m_parkRequestMs instead.
    mutable bool m_parkingAllowed = false;
    mutable std::optional<int> m_parkRequestMs;
    mutable std::atomic<int> m_parkedPolls{0};
};

} // namespace opsdeck::api

#include "api/apiserver.h"

#include "api/longpoll.h"
#include "api/guardedsslserver.h"
#include "api/replysender.h"
#include "api/serverrequest.h"
#include "core/monitor/eventlog.h"
#include "core/monitor/metricsjson.h"
#include "core/monitor/performancemonitor.h"
#include "core/monitor/systemprobe.h"
#include "core/support/logging.h"

#include <QtCore/QJsonDocument>
#include <QtHttpServer/QAbstractHttpServer>
#include <QtHttpServer/QHttpServerRequest>
#include <QtNetwork/QTcpSocket>

namespace opsdeck::api {

namespace {

// Checks the parameters of one request against the names a route accepts.
std::optional<HttpReply> unknownParameter(const ApiRequest &request, const QStringList &allowed)
{
    QStringList seen;
    for (const auto &[key, value] : request.query) {
        Q_UNUSED(value)
        if (!allowed.contains(key)) {
            return HttpReply::error(
                400, QStringLiteral("unknown_parameter"),
                QStringLiteral("Unknown query parameter \"%1\"; allowed: %2.")
                    .arg(key, allowed.isEmpty() ? QStringLiteral("none")
                                                : allowed.join(QStringLiteral(", "))),
                {{QStringLiteral("parameter"), key},
                 {QStringLiteral("allowed"), QJsonArray::fromStringList(allowed)}});
        }
        if (seen.contains(key)) {
            return HttpReply::error(400, QStringLiteral("duplicate_parameter"),
                                    QStringLiteral("Query parameter \"%1\" is given twice.").arg(key),
                                    {{QStringLiteral("parameter"), key}});
        }
        seen.append(key);
    }
    return std::nullopt;
}

} // namespace

// Our QAbstractHttpServer: QHttpServer 6.4's parser, our own routing and response bytes.
class HttpFront final : public QAbstractHttpServer
{
public:
    HttpFront(const ApiServer &api, QObject *parent)
        : QAbstractHttpServer(parent)
        , m_api(api)
        , m_polls(new LongPollHub([&api](const ApiRequest &r) { return api.handle(r); },
                                  api.m_parkedPolls, this))
    {
        if (api.m_settings.events) {
            // Always queued: appends happen in any thread, the api thread's own included (an
            // ack inside a request must not re-enter the API).
            connect(api.m_settings.events, &EventLog::appended, m_polls, &LongPollHub::wakeAll,
                    Qt::QueuedConnection);
        }
    }

protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override
    {
        const ApiRequest apiRequest = toApiRequest(request);
        m_polls->answerNow(socket); // a request pipelined behind a parked poll: keep the order
        // Behind an answer held back (auth delay) nothing parks, so answers keep request order.
        m_api.m_parkingAllowed = !hasHeldReplies(socket);
        const ApiAnswer answer = m_api.answer(apiRequest, socket->peerAddress());
        const HttpReply &reply = answer.reply;
        m_api.m_parkingAllowed = false;
        const QByteArray connection = apiRequest.header("connection").toLower();
        // HTTP/1.1 keeps the connection unless told otherwise; QHttpServer 6.4 ignores
        // "Connection: close", so honour it here.
        const bool keepAlive = !connection.contains("close");
        if (const std::optional<int> waitMs = std::exchange(m_api.m_parkRequestMs, std::nullopt)) {
            m_polls->park(socket, apiRequest, *waitMs, keepAlive); // answered later
            return true;
        }
        if (answer.delay.count() > 0 || hasHeldReplies(socket)) {
            sendReplyAfter(socket, reply.serialize(apiRequest.method != "HEAD", keepAlive),
                           keepAlive, answer.delay);
            return true;
        }
        sendReply(socket, reply, apiRequest.method != "HEAD", keepAlive);
        return true;
    }

    void missingHandler(const QHttpServerRequest &request, QTcpSocket *socket) override
    {
        Q_UNUSED(request)
        socket->disconnectFromHost(); // never reached: handleRequest answers everything
    }

private:
    const ApiServer &m_api;
    LongPollHub *m_polls;
};

ApiServer::ApiServer(Settings settings,
                     const PerformanceMonitor &monitor,
                     const Clock &clock,
                     QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_monitor(monitor)
    , m_clock(clock)
{
    SystemProbe::Options probe;
    probe.diskPath.clear(); // the process only: GET /metrics reads /proc/self
    m_processProbe = std::make_unique<SystemProbe>(probe, m_clock);
    registerRoutes();
}

ApiServer::~ApiServer() = default;

Result<quint16> ApiServer::listen()
{
    const SecuritySettings &security = m_settings.security;
    if (const Status exposure = approveExposure(m_settings.bindAddress, security); !exposure)
        return tl::unexpected(exposure.error());
    QTcpServer *tcp = nullptr;
    if (security.useTls())
        tcp = new GuardedSslServer(m_settings.limits, security.tls);
    else
        tcp = new GuardedTcpServer(m_settings.limits);
    if (!tcp->listen(m_settings.bindAddress, m_settings.port)) {
        const bool inUse = tcp->serverError() == QAbstractSocket::AddressInUseError;
        const QString message = QStringLiteral("Cannot listen on %1:%2: %3.")
                                    .arg(m_settings.bindAddress.toString())
                                    .arg(m_settings.port)
                                    .arg(tcp->errorString());
        delete tcp;
        return fail(inUse ? QStringLiteral("port_in_use") : QStringLiteral("listen_failed"),
                    message);
    }
    m_port = tcp->serverPort();
    m_front = new HttpFront(*this, this);
    m_front->bind(tcp); // re-parents the TCP server to the front
    qCInfo(lcApi, "API listening on %s", qUtf8Printable(baseUrl()));
    return m_port;
}

void ApiServer::shutdown()
{
    delete m_front; // closes the listener and its connections
    m_front = nullptr;
}

QString ApiServer::baseUrl() const
{
    const QHostAddress &address = m_settings.bindAddress;
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? u'[' + address.toString() + u']'
                             : address.toString();
    const QString scheme = m_settings.security.useTls() ? QStringLiteral("https") : QStringLiteral("http");
    return QStringLiteral("%1://%2:%3").arg(scheme, host).arg(m_port);
}

bool ApiServer::hostAllowed(const QByteArray &hostHeader) const
{
    QString host = QString::fromLatin1(hostHeader).trimmed().toLower();
    if (host.isEmpty())
        return false;
    // Strip a port, which must be ours when present.
    const qsizetype colon = host.lastIndexOf(u':');
    if (colon > 0 && !host.endsWith(u']')) {
        bool ok = false;
        const uint port = host.mid(colon + 1).toUInt(&ok);
        if (!ok || port != m_port)
            return false;
        host.truncate(colon);
    }
    static const QStringList loopback{QStringLiteral("127.0.0.1"), QStringLiteral("localhost"),
                                      QStringLiteral("[::1]")};
    if (loopback.contains(host))
        return true;
    for (const QString &name : m_settings.allowedHosts) {
        if (name.compare(host, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

HttpReply ApiServer::handle(const ApiRequest &request) const
{
    return answer(request, QHostAddress(QHostAddress::LocalHost)).reply;
}

ApiAnswer ApiServer::answer(const ApiRequest &request, const QHostAddress &client) const
{
    if (!hostAllowed(request.header("host"))) {
        // DNS-rebinding defence: a page on another origin must not reach the loopback API.
        return {HttpReply::error(
            421, QStringLiteral("host_not_allowed"),
            QStringLiteral("The Host header \"%1\" is not an allowed name for this server.")
                .arg(QString::fromLatin1(request.header("host"))))};
    }
    if (std::optional<HttpReply> refused = m_auth->refuseOrigin(request))
        return {*refused};
    m_auth->beginRequest(client);
    ApiAnswer out{m_routes.dispatch(request)};
    out.delay = m_auth->endRequest();
    m_auth->addCorsHeaders(request, out.reply);
    return out;
}

void ApiServer::addEndpoint(Endpoint endpoint)
{
    auto spec = std::make_shared<const Endpoint>(endpoint);
    m_routes.add(
        endpoint.method, endpoint.pattern,
        [spec](const ApiRequest &request, const RouteMatch &match) -> HttpReply {
            std::variant<Params, HttpReply> checked = validateParams(*spec, request, match);
            if (const HttpReply *refused = std::get_if<HttpReply>(&checked))
                return *refused;
            return spec->handler(request, match, std::get<Params>(checked));
        },
        endpoint.summary, endpoint.isPublic);
    m_endpoints.append(std::move(endpoint));
}

QList<Endpoint> ApiServer::metaEndpoints()
{
    QList<Endpoint> out;
    Endpoint health;
    health.method = "GET";
    health.pattern = QStringLiteral("/health");
    health.summary = QStringLiteral("Liveness and component status (no authentication)");
    health.description = QStringLiteral(
        "{status, version, timestamp, components {monitor {status starting|running|stopped, "
        "last_sample, collection_interval}, api {status, url}}}.");
    health.isPublic = true;
    health.tag = QStringLiteral("meta");
    health.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return this->health();
    };
    out.append(health);

    Endpoint prometheus;
    prometheus.method = "GET";
    prometheus.pattern = QStringLiteral("/metrics");
    prometheus.summary = QStringLiteral("Prometheus text exposition (format 0.0.4)");
    prometheus.description = QStringLiteral(
        "process_* metrics from /proc/self, opsdeck_* gauges and _total counters from the "
        "latest snapshot in base units (seconds, bytes, ratios 0..1), and latency histograms "
        "with the fixed le list 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 "
        "10 +Inf seconds.");
    prometheus.tag = QStringLiteral("meta");
    prometheus.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return prometheusMetrics();
    };
    out.append(prometheus);

    Endpoint openapi;
    openapi.method = "GET";
    openapi.pattern = QStringLiteral("/openapi.json");
    openapi.summary = QStringLiteral("This API as an OpenAPI 3.0 document");
    openapi.description = QStringLiteral("Generated from the route table: every route, its "
                                         "parameters and answers.");
    openapi.tag = QStringLiteral("meta");
    openapi.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return HttpReply::json(openApiDocument());
    };
    out.append(openapi);

    Endpoint agents;
    agents.method = "GET";
    agents.pattern = QStringLiteral("/agents");
    agents.summary = QStringLiteral("Every trading agent with its status and metrics");
    agents.description = QStringLiteral("{agents: [...], count, timestamp}.");
    agents.errorStatuses = {503};
    agents.tag = QStringLiteral("agents");
    agents.handler = [this](const ApiRequest &request, const RouteMatch &, const Params &) {
        return listAgents(request);
    };
    out.append(agents);

    const ParamSpec agentId = ParamSpec::string(QStringLiteral("id"), QStringLiteral("Agent id"), 128);
    for (const bool start : {true, false}) {
        Endpoint change;
        change.method = "POST";
        change.pattern = start ? QStringLiteral("/agents/{id}/start")
                               : QStringLiteral("/agents/{id}/stop");
        change.summary = start
                             ? QStringLiteral("Start an agent: its cycles run at its interval until stopped")
                             : QStringLiteral("Stop an agent: no further cycles; the running one is cancelled");
        change.description = QStringLiteral("{agent: {...}}. Unknown id: 404 unknown_agent; the "
                                            "agent refusing: 409.");
        change.pathParams = {agentId};
        change.errorStatuses = {404, 409, 503};
        change.tag = QStringLiteral("agents");
        change.handler = [this, start](const ApiRequest &request, const RouteMatch &,
                                       const Params &params) {
            return changeAgent(request, params.text(QStringLiteral("id")), start);
        };
        out.append(change);
    }
    return out;
}

void ApiServer::registerRoutes()
{
    QList<Endpoint> all = metaEndpoints();
    all += monitoringEndpoints();
    all += operationsEndpoints();
    for (Endpoint &endpoint : all)
        addEndpoint(std::move(endpoint));
    // Every route but the public ones (/health) needs the API key (apiauth.h).
    m_auth = std::make_unique<ApiAuth>(m_settings.security, m_clock);
    m_routes.setAuthHook([this](const ApiRequest &request, const Route &) {
        return m_auth->check(request);
    });
}

HttpReply ApiServer::health() const
{
    const SnapshotPtr snapshot = m_monitor.latestSnapshot();
    QJsonObject monitor{{QStringLiteral("status"), !snapshot ? QStringLiteral("starting")
                                                   : m_monitor.isRunning()
                                                       ? QStringLiteral("running")
                                                       : QStringLiteral("stopped")}};
    if (snapshot) {
        monitor.insert(QStringLiteral("last_sample"), metricsjson::isoTimestamp(snapshot->timestampMs));
        monitor.insert(QStringLiteral("collection_interval"), snapshot->collectionIntervalSeconds);
    }
    const QJsonObject components{{QStringLiteral("monitor"), monitor},
                                 {QStringLiteral("api"),
                                  QJsonObject{{QStringLiteral("status"), QStringLiteral("running")},
                                              {QStringLiteral("url"), baseUrl()}}}};
    return HttpReply::json({{QStringLiteral("status"), QStringLiteral("ok")},
                            {QStringLiteral("version"), QStringLiteral(OPSDECK_VERSION_STRING)},
                            {QStringLiteral("timestamp"),
                             metricsjson::isoTimestamp(m_clock.wallMsecs())},
                            {QStringLiteral("components"), components}});
}

HttpReply ApiServer::listAgents(const ApiRequest &request) const
{
    if (auto bad = unknownParameter(request, {}))
        return *bad;
    const std::optional<QJsonArray> agents
        = m_settings.agents.list ? m_settings.agents.list() : std::nullopt;
    if (!agents) {
        return HttpReply::error(503, QStringLiteral("agents_unavailable"),
                                QStringLiteral("The agents are not running yet."));
    }
    return HttpReply::json(QJsonObject{{QStringLiteral("agents"), *agents},
                                       {QStringLiteral("count"), agents->size()},
                                       {QStringLiteral("timestamp"),
                                        metricsjson::isoTimestamp(m_clock.wallMsecs())}});
}

HttpReply ApiServer::changeAgent(const ApiRequest &request, const QString &id, bool start) const
{
    if (auto bad = unknownParameter(request, {}))
        return *bad;
    const AgentControl &control = m_settings.agents;
    const auto &change = start ? control.start : control.stop;
    if (!change || !control.find) {
        return HttpReply::error(503, QStringLiteral("agents_unavailable"),
                                QStringLiteral("The agents are not running yet."));
    }
    if (const Status done = change(id); !done) {
        const int status = done.error().code == u"unknown_agent" ? 404 : 409;
        return HttpReply::fromError(status, done.error());
    }
    const std::optional<QJsonObject> agent = control.find(id);
    if (!agent) {
        return HttpReply::error(404, QStringLiteral("unknown_agent"),
                                QStringLiteral("No agent \"%1\".").arg(id));
    }
    return HttpReply::json(QJsonObject{{QStringLiteral("agent"), *agent}});
}

} // namespace opsdeck::api

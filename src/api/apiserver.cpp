#include "api/apiserver.h"

#include "api/serverrequest.h"
#include "core/monitor/metricsjson.h"
#include "core/monitor/performancemonitor.h"
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
    {}

protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override
    {
        const ApiRequest apiRequest = toApiRequest(request);
        const HttpReply reply = m_api.handle(apiRequest);
        const QByteArray connection = apiRequest.header("connection").toLower();
        // HTTP/1.1 keeps the connection unless told otherwise; QHttpServer 6.4 ignores
        // "Connection: close", so honour it here.
        const bool keepAlive = !connection.contains("close");
        socket->write(reply.serialize(apiRequest.method != "HEAD", keepAlive));
        GuardedTcpServer::markResponded(socket);
        if (!keepAlive)
            socket->disconnectFromHost();
        return true;
    }

    void missingHandler(const QHttpServerRequest &request, QTcpSocket *socket) override
    {
        Q_UNUSED(request)
        socket->disconnectFromHost(); // never reached: handleRequest answers everything
    }

private:
    const ApiServer &m_api;
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
    registerRoutes();
}

ApiServer::~ApiServer() = default;

Result<quint16> ApiServer::listen()
{
    auto *tcp = new GuardedTcpServer(m_settings.limits);
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
    return QStringLiteral("http://%1:%2").arg(host).arg(m_port);
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
    if (!hostAllowed(request.header("host"))) {
        // DNS-rebinding defence: a page on another origin must not reach the loopback API.
        return HttpReply::error(
            421, QStringLiteral("host_not_allowed"),
            QStringLiteral("The Host header \"%1\" is not an allowed name for this server.")
                .arg(QString::fromLatin1(request.header("host"))));
    }
    return m_routes.dispatch(request);
}

void ApiServer::registerRoutes()
{
    m_routes.add(
        "GET", QStringLiteral("/health"),
        [this](const ApiRequest &request, const RouteMatch &) {
            if (auto bad = unknownParameter(request, {}))
                return *bad;
            return health();
        },
        QStringLiteral("Liveness and component status (no authentication)"), true);
    m_routes.add(
        "GET", QStringLiteral("/monitoring/metrics"),
        [this](const ApiRequest &request, const RouteMatch &) { return metrics(request); },
        QStringLiteral("Recent samples per metric category, oldest first"));
    m_routes.add(
        "GET", QStringLiteral("/agents"),
        [this](const ApiRequest &request, const RouteMatch &) { return listAgents(request); },
        QStringLiteral("Every trading agent with its status and metrics"));
    m_routes.add(
        "POST", QStringLiteral("/agents/{id}/start"),
        [this](const ApiRequest &request, const RouteMatch &match) {
            return changeAgent(request, match.params.value(QStringLiteral("id")), true);
        },
        QStringLiteral("Start an agent: its cycles run at its interval until stopped"));
    m_routes.add(
        "POST", QStringLiteral("/agents/{id}/stop"),
        [this](const ApiRequest &request, const RouteMatch &match) {
            return changeAgent(request, match.params.value(QStringLiteral("id")), false);
        },
        QStringLiteral("Stop an agent: no further cycles; the running one is cancelled"));
    // The auth hook is open until the API has state-changing routes (the monitoring issue adds
    // the key check here, in one place).
    m_routes.setAuthHook([](const ApiRequest &, const Route &) -> std::optional<HttpReply> {
        return std::nullopt;
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

HttpReply ApiServer::metrics(const ApiRequest &request) const
{
    if (auto bad = unknownParameter(request, {QStringLiteral("category"), QStringLiteral("limit")}))
        return *bad;
    const QString category = request.queryValue(QStringLiteral("category")).value_or(QString());
    if (!category.isEmpty() && !metricsjson::categories().contains(category)) {
        return HttpReply::error(
            400, QStringLiteral("invalid_parameter"),
            QStringLiteral("Unknown category \"%1\"; allowed: %2.")
                .arg(category, metricsjson::categories().join(QStringLiteral(", "))),
            {{QStringLiteral("parameter"), QStringLiteral("category")},
             {QStringLiteral("value"), category},
             {QStringLiteral("allowed"), QJsonArray::fromStringList(metricsjson::categories())}});
    }
    int limit = 10;
    if (const auto text = request.queryValue(QStringLiteral("limit"))) {
        bool ok = false;
        limit = text->trimmed().toInt(&ok);
        if (!ok || limit < 1 || limit > MetricsSnapshot::kMaxSamplesPerCategory) {
            return HttpReply::error(
                400, QStringLiteral("invalid_parameter"),
                QStringLiteral("limit must be an integer from 1 to %1, not \"%2\".")
                    .arg(MetricsSnapshot::kMaxSamplesPerCategory)
                    .arg(*text),
                {{QStringLiteral("parameter"), QStringLiteral("limit")},
                 {QStringLiteral("value"), *text},
                 {QStringLiteral("min"), 1},
                 {QStringLiteral("max"), MetricsSnapshot::kMaxSamplesPerCategory}});
        }
    }
    const SnapshotPtr snapshot = m_monitor.latestSnapshot();
    if (!snapshot || !snapshot->monitorRunning) {
        HttpReply reply = HttpReply::error(503, QStringLiteral("monitor_not_running"),
                                           snapshot ? QStringLiteral("The monitor is stopped.")
                                                    : QStringLiteral("The monitor has not "
                                                                     "taken its first sample yet."));
        reply.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("1")});
        return reply;
    }
    if (m_preparedSequence != snapshot->sequence) {
        m_prepared.clear();
        m_preparedSequence = snapshot->sequence;
    }
    const QString key = category + u'|' + QString::number(limit);
    auto it = m_prepared.constFind(key);
    if (it == m_prepared.constEnd()) {
        const QJsonObject document =
            metricsjson::metricsDocument(*snapshot, category, limit, snapshot->timestampMs);
        if (m_prepared.size() > 64)
            m_prepared.clear();
        it = m_prepared.insert(key, QJsonDocument(document).toJson(QJsonDocument::Compact));
    }
    return HttpReply::jsonBytes(*it);
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

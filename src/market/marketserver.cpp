#include "market/marketserver.h"

#include "api/serverrequest.h"
#include "core/support/logging.h"
#include "market/counterrng.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QTimer>
#include <QtHttpServer/QAbstractHttpServer>
#include <QtHttpServer/QHttpServerRequest>
#include <QtNetwork/QTcpSocket>

namespace opsdeck::market {

using api::ApiRequest;
using api::HttpReply;
using api::toApiRequest;
using SteadyClock = std::chrono::steady_clock;

namespace {

const QString kQueueName = QStringLiteral("opsdeck-market-reply-queue");

// The answers of one connection that wait for their time, in request order. A child of the
// socket: it dies with the connection, and its timer with it.
class ReplyQueue final : public QObject
{
public:
    explicit ReplyQueue(QTcpSocket *socket)
        : QObject(socket)
        , m_socket(socket)
    {
        setObjectName(kQueueName);
        m_timer.setSingleShot(true);
        m_timer.setTimerType(Qt::PreciseTimer);
        connect(&m_timer, &QTimer::timeout, this, &ReplyQueue::flush);
    }

    static ReplyQueue *of(QTcpSocket *socket, bool create)
    {
        auto *queue = socket->findChild<ReplyQueue *>(kQueueName, Qt::FindDirectChildrenOnly);
        if (!queue && create)
            queue = new ReplyQueue(socket);
        return queue;
    }

    bool isEmpty() const { return m_pending.isEmpty(); }

    void push(SteadyClock::time_point due, QByteArray bytes, bool keepAlive)
    {
        if (!m_pending.isEmpty() && due < m_pending.last().due)
            due = m_pending.last().due; // never overtake an earlier answer
        m_pending.append({due, std::move(bytes), keepAlive});
        flush();
    }

private:
    struct Pending
    {
        SteadyClock::time_point due;
        QByteArray bytes;
        bool keepAlive = true;
    };

    void flush()
    {
        const auto now = SteadyClock::now();
        while (!m_pending.isEmpty() && m_pending.first().due <= now) {
            const Pending p = m_pending.takeFirst();
            if (m_socket->state() != QAbstractSocket::ConnectedState) {
                m_pending.clear();
                return;
            }
            m_socket->write(p.bytes);
            api::GuardedTcpServer::markResponded(m_socket);
            if (!p.keepAlive) {
                m_pending.clear();
                m_socket->disconnectFromHost();
                return;
            }
        }
        if (!m_pending.isEmpty()) {
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(m_pending.first().due - now);
            m_timer.start(int(std::max<qint64>(1, wait.count())));
        }
    }

    QTcpSocket *m_socket;
    QList<Pending> m_pending;
    QTimer m_timer;
};

bool isLoopbackHostHeader(const QByteArray &hostHeader)
{
    QByteArray host = hostHeader.trimmed().toLower();
    if (host.isEmpty())
        return true; // HTTP/1.0 clients send none; the peer check still applies
    if (host.startsWith('[')) {
        const qsizetype close = host.indexOf(']');
        return close > 0 && host.left(close + 1) == "[::1]";
    }
    const qsizetype colon = host.indexOf(':');
    if (colon >= 0)
        host.truncate(colon);
    return host == "127.0.0.1" || host == "localhost";
}

} // namespace

// Our QAbstractHttpServer: QHttpServer 6.4's parser, our routing, and answers written when
// the faults allow (never from a QFuture, never by sleeping).
class MarketFront final : public QAbstractHttpServer
{
public:
    MarketFront(MarketServer &server, QObject *parent)
        : QAbstractHttpServer(parent)
        , m_server(server)
    {}

protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override
    {
        const ApiRequest apiRequest = toApiRequest(request);
        int holdMs = 0;
        const HttpReply reply = m_server.handle(apiRequest, socket->peerAddress(), &holdMs);
        const bool keepAlive = !apiRequest.header("connection").toLower().contains("close");
        QByteArray bytes = reply.serialize(apiRequest.method != "HEAD", keepAlive);
        ReplyQueue *queue = ReplyQueue::of(socket, holdMs > 0);
        if (!queue || (queue->isEmpty() && holdMs <= 0)) {
            socket->write(bytes);
            api::GuardedTcpServer::markResponded(socket);
            if (!keepAlive)
                socket->disconnectFromHost();
            return true;
        }
        queue->push(SteadyClock::now() + std::chrono::milliseconds(holdMs), std::move(bytes),
                    keepAlive);
        return true;
    }

    void missingHandler(const QHttpServerRequest &request, QTcpSocket *socket) override
    {
        Q_UNUSED(request)
        socket->disconnectFromHost(); // never reached: handleRequest answers everything
    }

private:
    MarketServer &m_server;
};

api::GuardLimits MarketServer::Settings::defaultLimits()
{
    api::GuardLimits limits;
    limits.maxConnections = 512; // the load tester opens many; the API's 64 is for people
    limits.maxBodyBytes = 64 * 1024;
    return limits;
}

MarketServer::MarketServer(Settings settings, const Clock &clock, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_initialFaults(m_settings.faults)
    , m_simulator(m_settings.market, clock)
    , m_weights(clock)
    , m_api(m_simulator, m_weights)
    , m_faults(m_settings.faults)
    , m_stallOrigin(SteadyClock::now())
{}

MarketServer::~MarketServer() = default;

Result<quint16> MarketServer::listen()
{
    auto *tcp = new api::GuardedTcpServer(m_settings.limits);
    if (!tcp->listen(m_settings.bindAddress, m_settings.port)) {
        const bool inUse = tcp->serverError() == QAbstractSocket::AddressInUseError;
        const QString message = QStringLiteral("Cannot listen on %1:%2: %3.")
                                    .arg(m_settings.bindAddress.toString())
                                    .arg(m_settings.port)
                                    .arg(tcp->errorString());
        delete tcp;
        return fail(inUse ? QStringLiteral("port_in_use") : QStringLiteral("listen_failed"), message);
    }
    m_port = tcp->serverPort();
    m_front = new MarketFront(*this, this);
    m_front->bind(tcp); // re-parents the TCP server to the front
    qCInfo(lcMarket, "Market simulator listening on %s", qUtf8Printable(baseUrl()));
    return m_port;
}

void MarketServer::shutdown()
{
    delete m_front; // closes the listener, its connections and their queued answers
    m_front = nullptr;
}

QString MarketServer::baseUrl() const
{
    const QHostAddress &address = m_settings.bindAddress;
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? u'[' + address.toString() + u']'
                             : address.toString();
    return QStringLiteral("http://%1:%2").arg(host).arg(m_port);
}

FaultSettings MarketServer::faults() const
{
    QMutexLocker lock(&m_faultMutex);
    return m_faults;
}

Status MarketServer::setFaults(const FaultSettings &faults)
{
    if (Status valid = faults.validate(); !valid)
        return valid;
    QMutexLocker lock(&m_faultMutex);
    if (faults.stallMs != m_faults.stallMs || faults.stallEverySeconds != m_faults.stallEverySeconds)
        m_stallOrigin = SteadyClock::now(); // the first stall ends one period from now
    m_faults = faults;
    return ok();
}

MarketServer::Stats MarketServer::stats() const
{
    Stats s;
    s.requests = m_requests.load();
    s.rateLimited = m_rateLimited.load();
    s.injectedErrors = m_injectedErrors.load();
    s.delayed = m_delayed.load();
    return s;
}

int MarketServer::holdFor(const FaultSettings &faults, quint64 requestIndex) const
{
    qint64 holdMs = faults.latencyMs;
    if (faults.jitterMs > 0) {
        const double u = rng::uniform(rng::key(m_simulator.seed(), 0xfa17, requestIndex, 2));
        holdMs += qint64(u * double(faults.jitterMs + 1));
    }
    if (faults.stallMs > 0 && faults.stallEverySeconds > 0) {
        // The server pauses for the last stallMs of every period: an answer due then waits
        // for the period's end.
        std::chrono::steady_clock::time_point origin;
        {
            QMutexLocker lock(&m_faultMutex);
            origin = m_stallOrigin;
        }
        const qint64 period = qint64(std::llround(faults.stallEverySeconds * 1000));
        const qint64 due = std::chrono::duration_cast<std::chrono::milliseconds>(
                               SteadyClock::now() - origin)
                               .count()
                           + holdMs;
        const qint64 phase = due % period;
        if (phase >= period - faults.stallMs)
            holdMs += period - phase;
    }
    return int(holdMs);
}

HttpReply MarketServer::handle(const ApiRequest &request, const QHostAddress &peer, int *holdMs)
{
    const quint64 index = m_requests.fetch_add(1);
    const FaultSettings faults = this->faults();
    if (holdMs)
        *holdMs = 0;
    HttpReply reply;
    if (request.path == u"/control" || request.path.startsWith(u"/control/")) {
        reply = control(request, peer); // no faults, no weight: tests must always reach it
    } else {
        reply = m_api.handle(request, faults);
        if (reply.status == 429) {
            m_rateLimited.fetch_add(1);
        } else if (faults.errorRate > 0
                   && rng::uniform(rng::key(m_simulator.seed(), 0xfa17, index, 1)) < faults.errorRate) {
            m_injectedErrors.fetch_add(1);
            int status = faults.errorStatus;
            if (status == 0)
                status = (rng::mix(rng::key(m_simulator.seed(), 0xfa17, index, 3)) & 1) ? 503 : 500;
            reply = status == 503
                        ? exchangeError(503, -1001,
                                        QStringLiteral("Internal error; unable to process your "
                                                       "request. Please try again."))
                        : exchangeError(500, -1000,
                                        QStringLiteral("An unknown error occurred while "
                                                       "processing the request."));
        }
        if (holdMs) {
            *holdMs = holdFor(faults, index);
            if (*holdMs > 0)
                m_delayed.fetch_add(1);
        }
    }
    reply.headers.append({QByteArray(MarketApi::kUsedWeightHeader),
                          QByteArray::number(m_weights.usedWeight(faults.weightWindowMs))});
    return reply;
}

HttpReply MarketServer::control(const ApiRequest &request, const QHostAddress &peer)
{
    if (!peer.isLoopback() || !isLoopbackHostHeader(request.header("host"))) {
        return HttpReply::error(403, QStringLiteral("forbidden"),
                                QStringLiteral("The control endpoint answers loopback clients only."));
    }
    const bool faultsPath = request.path == u"/control/faults";
    const bool statsPath = request.path == u"/control/stats";
    if (!faultsPath && !statsPath) {
        return HttpReply::error(404, QStringLiteral("not_found"),
                                QStringLiteral("No such endpoint: %1.").arg(request.path));
    }
    const QByteArray allow = faultsPath ? QByteArrayLiteral("GET, HEAD, PUT, DELETE")
                                        : QByteArrayLiteral("GET, HEAD");
    const QByteArray method = request.method == "HEAD" ? QByteArrayLiteral("GET") : request.method;
    if (statsPath && method == "GET") {
        const Stats s = stats();
        const FaultSettings f = faults();
        return HttpReply::json({{QStringLiteral("requests"), qint64(s.requests)},
                                {QStringLiteral("rate_limited"), qint64(s.rateLimited)},
                                {QStringLiteral("injected_errors"), qint64(s.injectedErrors)},
                                {QStringLiteral("delayed"), qint64(s.delayed)},
                                {QStringLiteral("used_weight"),
                                 m_weights.usedWeight(f.weightWindowMs)}});
    }
    if (faultsPath && method == "GET")
        return HttpReply::json(faults().toJson());
    if (faultsPath && method == "DELETE") {
        (void)setFaults(m_initialFaults);
        return HttpReply::json(faults().toJson());
    }
    if (faultsPath && method == "PUT") {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(request.body, &parseError);
        if (parseError.error != QJsonParseError::NoError || !doc.isObject()) {
            return HttpReply::error(400, QStringLiteral("invalid_json"),
                                    QStringLiteral("The body must be a JSON object of fault "
                                                   "settings."));
        }
        Result<FaultSettings> next = FaultSettings::fromJson(doc.object(), faults());
        if (!next)
            return HttpReply::fromError(400, next.error());
        if (Status s = setFaults(*next); !s)
            return HttpReply::fromError(400, s.error());
        qCInfo(lcMarket, "Faults set: %s",
               QJsonDocument(next->toJson()).toJson(QJsonDocument::Compact).constData());
        return HttpReply::json(faults().toJson());
    }
    HttpReply reply = HttpReply::error(
        405, QStringLiteral("method_not_allowed"),
        QStringLiteral("%1 is not allowed on %2; allowed: %3.")
            .arg(QString::fromLatin1(request.method), request.path, QString::fromLatin1(allow)));
    reply.headers.append({QByteArrayLiteral("Allow"), allow});
    return reply;
}

} // namespace opsdeck::market

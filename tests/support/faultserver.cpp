#include "support/faultserver.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMetaObject>
#include <QtCore/QMutex>
#include <QtCore/QMutexLocker>
#include <QtCore/QSet>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtCore/QWaitCondition>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <algorithm>
#include <chrono>
#include <deque>

namespace opsdeck::test {

namespace {

constexpr qsizetype kMaxHeadBytes = 64 * 1024;
constexpr qint64 kMaxBodyBytes = 256LL * 1024 * 1024;
constexpr int kHangMs = 24 * 60 * 60 * 1000;

qint64 steadyNowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 100:
        return QByteArrayLiteral("Continue");
    case 200:
        return QByteArrayLiteral("OK");
    case 201:
        return QByteArrayLiteral("Created");
    case 202:
        return QByteArrayLiteral("Accepted");
    case 204:
        return QByteArrayLiteral("No Content");
    case 301:
        return QByteArrayLiteral("Moved Permanently");
    case 302:
        return QByteArrayLiteral("Found");
    case 304:
        return QByteArrayLiteral("Not Modified");
    case 400:
        return QByteArrayLiteral("Bad Request");
    case 401:
        return QByteArrayLiteral("Unauthorized");
    case 403:
        return QByteArrayLiteral("Forbidden");
    case 404:
        return QByteArrayLiteral("Not Found");
    case 405:
        return QByteArrayLiteral("Method Not Allowed");
    case 408:
        return QByteArrayLiteral("Request Timeout");
    case 409:
        return QByteArrayLiteral("Conflict");
    case 413:
        return QByteArrayLiteral("Content Too Large");
    case 422:
        return QByteArrayLiteral("Unprocessable Content");
    case 429:
        return QByteArrayLiteral("Too Many Requests");
    case 431:
        return QByteArrayLiteral("Request Header Fields Too Large");
    case 500:
        return QByteArrayLiteral("Internal Server Error");
    case 501:
        return QByteArrayLiteral("Not Implemented");
    case 502:
        return QByteArrayLiteral("Bad Gateway");
    case 503:
        return QByteArrayLiteral("Service Unavailable");
    case 504:
        return QByteArrayLiteral("Gateway Timeout");
    default:
        return QByteArrayLiteral("Status");
    }
}

bool statusAllowsBody(int status)
{
    return !(status >= 100 && status < 200) && status != 204 && status != 304;
}

QByteArray findHeader(const HeaderList &headers, QByteArrayView name)
{
    for (const auto &[key, value] : headers) {
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

bool containsHeader(const HeaderList &headers, QByteArrayView name)
{
    return std::any_of(headers.cbegin(), headers.cend(), [name](const auto &field) {
        return field.first.compare(name, Qt::CaseInsensitive) == 0;
    });
}

// True if a comma-separated header value such as "keep-alive, Upgrade" lists `token`.
bool hasToken(const QByteArray &value, QByteArrayView token)
{
    const QList<QByteArray> parts = value.split(',');
    return std::any_of(parts.cbegin(), parts.cend(), [token](const QByteArray &part) {
        return part.trimmed().compare(token, Qt::CaseInsensitive) == 0;
    });
}

bool isEchoPath(const QByteArray &path)
{
    return path == "/echo" || path.startsWith("/echo/");
}

bool ruleMatches(const FaultRule &rule, const RecordedRequest &request)
{
    if (!rule.method.isEmpty() && rule.method != request.method)
        return false;
    if (rule.path.isEmpty())
        return true;
    const QByteArray subject
        = rule.path.contains('?') ? request.path + '?' + request.query : request.path;
    return rule.pathMatch == FaultRule::PathMatch::Prefix ? subject.startsWith(rule.path)
                                                          : subject == rule.path;
}

QByteArray echoBody(const RecordedRequest &request)
{
    QJsonObject headers;
    for (const auto &[name, value] : request.headers) {
        const QString key = QString::fromLatin1(name);
        const QString text = QString::fromLatin1(value);
        headers.insert(key, headers.contains(key)
                                ? QString(headers.value(key).toString() % u", " % text)
                                : text);
    }
    const QJsonObject object{
        {QStringLiteral("method"), QString::fromLatin1(request.method)},
        {QStringLiteral("path"), QString::fromUtf8(request.path)},
        {QStringLiteral("query"), QString::fromUtf8(request.query)},
        {QStringLiteral("headers"), headers},
        {QStringLiteral("body"), QString::fromUtf8(request.body)},
        {QStringLiteral("bodySize"), static_cast<qint64>(request.body.size())},
        {QStringLiteral("connectionId"), request.connectionId},
    };
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

QByteArray defaultBody(const RecordedRequest &request)
{
    const QJsonObject object{{QStringLiteral("ok"), true},
                             {QStringLiteral("path"), QString::fromUtf8(request.path)}};
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// Parses a chunked body starting at `pos`. Returns 1 when complete (body and end filled), 0 when
// more bytes are needed, -1 when malformed.
int parseChunked(const QByteArray &buffer, qsizetype pos, QByteArray *body, qsizetype *end)
{
    QByteArray out;
    for (;;) {
        const qsizetype lineEnd = buffer.indexOf("\r\n", pos);
        if (lineEnd < 0)
            return buffer.size() - pos > 1024 ? -1 : 0;
        QByteArray sizeText = buffer.mid(pos, lineEnd - pos);
        if (const qsizetype semicolon = sizeText.indexOf(';'); semicolon >= 0)
            sizeText.truncate(semicolon);
        bool ok = false;
        const qint64 size = sizeText.trimmed().toLongLong(&ok, 16);
        if (!ok || size < 0 || out.size() + size > kMaxBodyBytes)
            return -1;
        pos = lineEnd + 2;
        if (size == 0) {
            // Trailer fields, then an empty line.
            for (;;) {
                const qsizetype trailerEnd = buffer.indexOf("\r\n", pos);
                if (trailerEnd < 0)
                    return buffer.size() - pos > kMaxHeadBytes ? -1 : 0;
                const bool emptyLine = trailerEnd == pos;
                pos = trailerEnd + 2;
                if (emptyLine) {
                    *body = out;
                    *end = pos;
                    return 1;
                }
            }
        }
        if (buffer.size() < pos + size + 2)
            return 0;
        if (buffer.at(pos + size) != '\r' || buffer.at(pos + size + 1) != '\n')
            return -1;
        out += buffer.mid(pos, size);
        pos += size + 2;
    }
}

} // namespace

// --- FaultRule ---

FaultRule FaultRule::status(int code)
{
    FaultRule rule;
    rule.statusCode = code;
    return rule;
}

FaultRule FaultRule::tooManyRequests(QByteArray retryAfter)
{
    FaultRule rule = status(429);
    rule.retryAfter = std::move(retryAfter);
    return rule;
}

FaultRule FaultRule::delay(int ms)
{
    FaultRule rule;
    rule.delayMs = ms;
    return rule;
}

FaultRule FaultRule::trickle(QByteArray body, int chunkBytes, int intervalMs)
{
    FaultRule rule;
    rule.body = std::move(body);
    rule.trickleBytes = std::max(1, chunkBytes);
    rule.trickleIntervalMs = std::max(0, intervalMs);
    return rule;
}

FaultRule FaultRule::close()
{
    FaultRule rule;
    rule.closeWithoutResponse = true;
    return rule;
}

FaultRule FaultRule::closeMidBody()
{
    FaultRule rule;
    rule.closeAfterHeaders = true;
    return rule;
}

FaultRule FaultRule::echo()
{
    FaultRule rule;
    rule.echoRequest = true;
    return rule;
}

FaultRule FaultRule::hang()
{
    return delay(kHangMs);
}

FaultRule FaultRule::onPath(QByteArray exactPath) const
{
    FaultRule rule = *this;
    rule.path = std::move(exactPath);
    rule.pathMatch = PathMatch::Exact;
    return rule;
}

FaultRule FaultRule::onPrefix(QByteArray pathPrefix) const
{
    FaultRule rule = *this;
    rule.path = std::move(pathPrefix);
    rule.pathMatch = PathMatch::Prefix;
    return rule;
}

FaultRule FaultRule::onMethod(QByteArray httpMethod) const
{
    FaultRule rule = *this;
    rule.method = std::move(httpMethod);
    return rule;
}

FaultRule FaultRule::forNext(int n) const
{
    FaultRule rule = *this;
    rule.times = n;
    return rule;
}

FaultRule FaultRule::withStatus(int code) const
{
    FaultRule rule = *this;
    rule.statusCode = code;
    return rule;
}

FaultRule FaultRule::withHeader(QByteArray name, QByteArray value) const
{
    FaultRule rule = *this;
    rule.headers.append({std::move(name), std::move(value)});
    return rule;
}

FaultRule FaultRule::withBody(QByteArray responseBody, QByteArray contentType) const
{
    FaultRule rule = *this;
    rule.body = std::move(responseBody);
    if (!contentType.isEmpty())
        rule.headers.append({QByteArrayLiteral("Content-Type"), std::move(contentType)});
    return rule;
}

FaultRule FaultRule::withDelay(int ms) const
{
    FaultRule rule = *this;
    rule.delayMs = ms;
    return rule;
}

FaultRule FaultRule::withRetryAfter(QByteArray value) const
{
    FaultRule rule = *this;
    rule.retryAfter = std::move(value);
    return rule;
}

// --- RecordedRequest ---

QByteArray RecordedRequest::header(QByteArrayView name) const
{
    return findHeader(headers, name);
}

bool RecordedRequest::hasHeader(QByteArrayView name) const
{
    return containsHeader(headers, name);
}

namespace detail {

// Everything both threads touch, behind one mutex.
struct FaultServerState
{
    mutable QMutex mutex;
    mutable QWaitCondition requestArrived;
    QList<FaultRule> rules;
    FaultRule defaultRule;
    bool record = true;
    QList<RecordedRequest> requests;
    int requestCount = 0;
    int connectionCount = 0;
    int openConnections = 0;
    int activeRequests = 0;
    int maxActiveRequests = 0;
    quint16 port = 0;

    void releaseRequests(int n)
    {
        if (n <= 0)
            return;
        const QMutexLocker locker(&mutex);
        activeRequests = std::max(0, activeRequests - n);
    }
};

class FaultServerConnection;

// Lives in the server thread: owns the listener and the connections.
class FaultServerWorker final : public QObject
{
public:
    FaultServerWorker(FaultServerState *state, FaultServer *owner)
        : m_state(state)
        , m_owner(owner)
    {}

    quint16 listen(quint16 port);
    void shutdown();

    FaultServerState *state() const { return m_state; }
    // Records a parsed request, picks its rule and tells the owner.
    FaultRule admit(const RecordedRequest &request);
    void forget(FaultServerConnection *connection) { m_connections.remove(connection); }

private:
    void acceptPending();

    FaultServerState *m_state;
    FaultServer *m_owner;
    QTcpServer *m_server = nullptr;
    QSet<FaultServerConnection *> m_connections;
    int m_nextConnectionId = 0;
};

// One accepted socket: parses requests, answers them one at a time in order.
class FaultServerConnection final : public QObject
{
public:
    FaultServerConnection(QTcpSocket *socket, int id, FaultServerWorker *worker);

    // Drops the socket without a word; used by shutdown, which then deletes this object.
    void abortForShutdown();

private:
    struct Pending
    {
        RecordedRequest request;
        FaultRule rule;
        bool keepAlive = true;
    };
    enum class Parse { Incomplete, Complete, Error };

    void onReadyRead();
    Parse parseOne(RecordedRequest *request, bool *keepAlive, int *errorStatus);
    void startNext();
    void respond();
    void sendTrickleChunk();
    void completeCurrent();
    void sendErrorAndClose(int status);
    void closeNow();
    void finalize();

    FaultServerWorker *m_worker;
    QTcpSocket *m_socket;
    const int m_id;
    QTimer m_delayTimer;
    QTimer m_trickleTimer;
    QByteArray m_buffer;
    QByteArray m_trickleRemaining;
    std::deque<Pending> m_queue;
    std::optional<Pending> m_current;
    int m_errorStatus = 0; // a malformed request arrived: answer it with this, then close
    bool m_continueSent = false;
    bool m_readingDone = false; // a request asked to close (or was malformed): read no more
    bool m_closing = false;
    bool m_finalized = false;
};

quint16 FaultServerWorker::listen(quint16 port)
{
    m_server = new QTcpServer(this);
    m_server->setMaxPendingConnections(1024);
    m_server->setListenBacklogSize(1024);
    connect(m_server, &QTcpServer::newConnection, this, &FaultServerWorker::acceptPending);
    if (!m_server->listen(QHostAddress(QHostAddress::LocalHost), port)) {
        qWarning("FaultServer: cannot listen on 127.0.0.1:%u: %s", unsigned(port),
                 qPrintable(m_server->errorString()));
        delete m_server;
        m_server = nullptr;
        return 0;
    }
    return m_server->serverPort();
}

void FaultServerWorker::shutdown()
{
    if (m_server) {
        m_server->close();
        delete m_server;
        m_server = nullptr;
    }
    const QSet<FaultServerConnection *> connections = std::exchange(m_connections, {});
    for (FaultServerConnection *connection : connections) {
        connection->abortForShutdown();
        delete connection;
    }
    const QMutexLocker locker(&m_state->mutex);
    m_state->openConnections = 0;
    m_state->activeRequests = 0;
}

void FaultServerWorker::acceptPending()
{
    while (m_server && m_server->hasPendingConnections()) {
        QTcpSocket *socket = m_server->nextPendingConnection();
        if (!socket)
            break;
        {
            const QMutexLocker locker(&m_state->mutex);
            ++m_state->connectionCount;
            ++m_state->openConnections;
        }
        m_connections.insert(new FaultServerConnection(socket, ++m_nextConnectionId, this));
    }
}

FaultRule FaultServerWorker::admit(const RecordedRequest &request)
{
    FaultRule chosen;
    int count = 0;
    {
        const QMutexLocker locker(&m_state->mutex);
        bool matched = false;
        for (qsizetype i = 0; i < m_state->rules.size(); ++i) {
            FaultRule &rule = m_state->rules[i];
            if (rule.times == 0 || !ruleMatches(rule, request))
                continue;
            chosen = rule;
            matched = true;
            if (rule.times > 0 && --rule.times == 0)
                m_state->rules.removeAt(i);
            break;
        }
        if (!matched)
            chosen = isEchoPath(request.path) ? FaultRule::echo() : m_state->defaultRule;
        if (m_state->record)
            m_state->requests.append(request);
        count = ++m_state->requestCount;
        ++m_state->activeRequests;
        m_state->maxActiveRequests = std::max(m_state->maxActiveRequests, m_state->activeRequests);
        m_state->requestArrived.wakeAll();
    }
    if (!chosen.body && isEchoPath(request.path))
        chosen.echoRequest = true;
    FaultServer *owner = m_owner;
    QMetaObject::invokeMethod(
        owner, [owner, count] { Q_EMIT owner->requestReceived(count); }, Qt::QueuedConnection);
    return chosen;
}

FaultServerConnection::FaultServerConnection(QTcpSocket *socket, int id, FaultServerWorker *worker)
    : QObject(worker)
    , m_worker(worker)
    , m_socket(socket)
    , m_id(id)
{
    m_socket->setParent(this);
    m_delayTimer.setSingleShot(true);
    m_delayTimer.setTimerType(Qt::PreciseTimer);
    m_trickleTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_delayTimer, &QTimer::timeout, this, &FaultServerConnection::respond);
    connect(&m_trickleTimer, &QTimer::timeout, this, &FaultServerConnection::sendTrickleChunk);
    connect(m_socket, &QTcpSocket::readyRead, this, &FaultServerConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, &FaultServerConnection::finalize);
    connect(m_socket, &QTcpSocket::errorOccurred, this, &FaultServerConnection::finalize);
    if (m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &FaultServerConnection::onReadyRead, Qt::QueuedConnection);
}

void FaultServerConnection::abortForShutdown()
{
    m_finalized = true;
    m_delayTimer.stop();
    m_trickleTimer.stop();
    m_socket->disconnect(this);
    m_socket->abort();
}

void FaultServerConnection::onReadyRead()
{
    if (m_finalized)
        return;
    const QByteArray incoming = m_socket->readAll();
    if (m_readingDone || m_closing)
        return; // whatever follows a "Connection: close" request is ignored
    m_buffer += incoming;
    while (!m_readingDone) {
        RecordedRequest request;
        bool keepAlive = true;
        int errorStatus = 0;
        const Parse result = parseOne(&request, &keepAlive, &errorStatus);
        if (result == Parse::Incomplete)
            break;
        if (result == Parse::Error) {
            // Answered once the requests before it are (startNext()).
            m_readingDone = true;
            m_buffer.clear();
            m_errorStatus = errorStatus;
            break;
        }
        request.connectionId = m_id;
        request.receivedMonoNs = steadyNowNs();
        m_continueSent = false;
        if (!keepAlive)
            m_readingDone = true;
        FaultRule rule = m_worker->admit(request);
        m_queue.push_back({std::move(request), std::move(rule), keepAlive});
    }
    startNext();
}

FaultServerConnection::Parse
FaultServerConnection::parseOne(RecordedRequest *request, bool *keepAlive, int *errorStatus)
{
    // Empty lines before a request line are allowed (RFC 9112, 2.2).
    while (m_buffer.startsWith("\r\n"))
        m_buffer.remove(0, 2);
    const qsizetype headEnd = m_buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) {
        if (m_buffer.size() > kMaxHeadBytes) {
            *errorStatus = 431;
            return Parse::Error;
        }
        return Parse::Incomplete;
    }
    if (headEnd > kMaxHeadBytes) {
        *errorStatus = 431;
        return Parse::Error;
    }
    *errorStatus = 400;
    const QList<QByteArray> lines = m_buffer.left(headEnd).split('\n');
    const QList<QByteArray> requestLine = lines.first().trimmed().split(' ');
    if (requestLine.size() != 3 || requestLine.at(0).isEmpty()
        || !requestLine.at(2).startsWith("HTTP/1.")) {
        return Parse::Error;
    }
    request->method = requestLine.at(0);
    request->version = requestLine.at(2);
    QByteArray target = requestLine.at(1);
    if (target.startsWith("http://") || target.startsWith("https://")) {
        const qsizetype slash = target.indexOf('/', target.indexOf("//") + 2);
        target = slash < 0 ? QByteArrayLiteral("/") : target.mid(slash);
    }
    if (const qsizetype question = target.indexOf('?'); question >= 0) {
        request->path = target.left(question);
        request->query = target.mid(question + 1);
    } else {
        request->path = target;
    }
    if (request->path.isEmpty())
        return Parse::Error;

    for (qsizetype i = 1; i < lines.size(); ++i) {
        QByteArray line = lines.at(i);
        if (line.endsWith('\r'))
            line.chop(1);
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0 || line.at(0) == ' ' || line.at(0) == '\t')
            return Parse::Error; // includes obsolete line folding
        const QByteArray name = line.left(colon);
        if (name.contains(' ') || name.contains('\t'))
            return Parse::Error;
        request->headers.append({name, line.mid(colon + 1).trimmed()});
    }

    const auto incomplete = [&] {
        if (!m_continueSent && !m_current && m_queue.empty()
            && hasToken(request->header("Expect"), "100-continue")) {
            m_socket->write(QByteArrayLiteral("HTTP/1.1 100 Continue\r\n\r\n"));
            m_continueSent = true;
        }
        return Parse::Incomplete;
    };
    const qsizetype bodyStart = headEnd + 4;
    const QByteArray transferEncoding = request->header("Transfer-Encoding");
    qsizetype end = bodyStart;
    if (!transferEncoding.isEmpty()) {
        if (!transferEncoding.trimmed().toLower().endsWith("chunked")) {
            *errorStatus = 501;
            return Parse::Error;
        }
        const int chunked = parseChunked(m_buffer, bodyStart, &request->body, &end);
        if (chunked < 0)
            return Parse::Error;
        if (chunked == 0)
            return incomplete();
    } else if (request->hasHeader("Content-Length")) {
        bool ok = false;
        const QByteArray lengthText = request->header("Content-Length");
        const qint64 length = lengthText.toLongLong(&ok);
        if (!ok || length < 0 || lengthText.startsWith('+') || lengthText.startsWith('-'))
            return Parse::Error;
        for (const auto &[name, value] : request->headers) {
            if (name.compare("Content-Length", Qt::CaseInsensitive) == 0 && value != lengthText)
                return Parse::Error;
        }
        if (length > kMaxBodyBytes) {
            *errorStatus = 413;
            return Parse::Error;
        }
        if (m_buffer.size() - bodyStart < length)
            return incomplete();
        request->body = m_buffer.mid(bodyStart, length);
        end = bodyStart + length;
    }

    const QByteArray connection = request->header("Connection");
    if (request->version == "HTTP/1.0")
        *keepAlive = hasToken(connection, "keep-alive");
    else
        *keepAlive = !hasToken(connection, "close");
    m_buffer.remove(0, end);
    return Parse::Complete;
}

void FaultServerConnection::startNext()
{
    if (m_current || m_closing || m_finalized)
        return;
    if (m_queue.empty()) {
        if (m_errorStatus != 0)
            sendErrorAndClose(m_errorStatus);
        return;
    }
    m_current = std::move(m_queue.front());
    m_queue.pop_front();
    if (m_current->rule.delayMs > 0)
        m_delayTimer.start(m_current->rule.delayMs);
    else
        respond();
}

void FaultServerConnection::respond()
{
    if (!m_current || m_closing || m_finalized)
        return;
    const FaultRule &rule = m_current->rule;
    const RecordedRequest &request = m_current->request;
    if (rule.closeWithoutResponse) {
        closeNow();
        return;
    }

    const bool usesGeneratedBody = !rule.body || rule.echoRequest;
    QByteArray body;
    if (rule.echoRequest)
        body = echoBody(request);
    else
        body = rule.body ? *rule.body : defaultBody(request);
    const bool bodyAllowed = statusAllowsBody(rule.statusCode);
    if (!bodyAllowed)
        body.clear();
    const bool closeAfter
        = !m_current->keepAlive || rule.closeAfterResponse || rule.closeAfterHeaders;

    QByteArray head = "HTTP/1.1 " + QByteArray::number(rule.statusCode) + ' '
                      + reasonPhrase(rule.statusCode) + "\r\n";
    for (const auto &[name, value] : rule.headers)
        head += name + ": " + value + "\r\n";
    if (usesGeneratedBody && bodyAllowed && !containsHeader(rule.headers, "Content-Type"))
        head += "Content-Type: application/json\r\n";
    if (!rule.retryAfter.isEmpty())
        head += "Retry-After: " + rule.retryAfter + "\r\n";
    qsizetype announced = body.size();
    if (rule.closeAfterHeaders && announced == 0)
        announced = 64; // promise something so that closing is visibly mid-body
    if (bodyAllowed && !containsHeader(rule.headers, "Content-Length"))
        head += "Content-Length: " + QByteArray::number(announced) + "\r\n";
    if (closeAfter)
        head += "Connection: close\r\n";
    else if (request.version == "HTTP/1.0")
        head += "Connection: keep-alive\r\n";
    head += "\r\n";

    if (request.method == "HEAD")
        body.clear();

    if (rule.closeAfterHeaders) {
        m_socket->write(head + body.left(body.size() / 2));
        closeNow();
        return;
    }
    if (rule.trickleBytes > 0 && body.size() > rule.trickleBytes) {
        m_socket->write(head + body.left(rule.trickleBytes));
        m_trickleRemaining = body.mid(rule.trickleBytes);
        m_trickleTimer.start(rule.trickleIntervalMs);
        return;
    }
    m_socket->write(head + body);
    completeCurrent();
}

void FaultServerConnection::sendTrickleChunk()
{
    if (!m_current || m_closing || m_finalized) {
        m_trickleTimer.stop();
        return;
    }
    const qsizetype n = std::max(1, m_current->rule.trickleBytes);
    m_socket->write(m_trickleRemaining.left(n));
    m_trickleRemaining.remove(0, std::min(n, m_trickleRemaining.size()));
    if (m_trickleRemaining.isEmpty()) {
        m_trickleTimer.stop();
        completeCurrent();
    }
}

void FaultServerConnection::completeCurrent()
{
    if (!m_current)
        return;
    const bool closeAfter = !m_current->keepAlive || m_current->rule.closeAfterResponse;
    m_current.reset();
    m_worker->state()->releaseRequests(1);
    if (closeAfter)
        closeNow();
    else
        startNext();
}

void FaultServerConnection::sendErrorAndClose(int status)
{
    const QByteArray body = reasonPhrase(status) + '\n';
    m_socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status)
                    + "\r\nContent-Type: text/plain\r\nContent-Length: "
                    + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    closeNow();
}

void FaultServerConnection::closeNow()
{
    if (m_closing)
        return;
    m_closing = true;
    m_delayTimer.stop();
    m_trickleTimer.stop();
    const int dropped = (m_current ? 1 : 0) + static_cast<int>(m_queue.size());
    m_current.reset();
    m_queue.clear();
    m_worker->state()->releaseRequests(dropped);
    // Flushes what was written, then closes; may emit disconnected() (finalize) right here.
    m_socket->disconnectFromHost();
}

void FaultServerConnection::finalize()
{
    if (m_finalized)
        return;
    m_finalized = true;
    m_delayTimer.stop();
    m_trickleTimer.stop();
    const int dropped = (m_current ? 1 : 0) + static_cast<int>(m_queue.size());
    m_current.reset();
    m_queue.clear();
    FaultServerState *state = m_worker->state();
    state->releaseRequests(dropped);
    {
        const QMutexLocker locker(&state->mutex);
        state->openConnections = std::max(0, state->openConnections - 1);
    }
    m_worker->forget(this);
    if (m_socket->state() != QAbstractSocket::UnconnectedState)
        m_socket->abort();
    deleteLater();
}

} // namespace detail

// --- FaultServer ---

FaultServer::FaultServer(QObject *parent)
    : QObject(parent)
    , m_state(std::make_unique<detail::FaultServerState>())
{}

FaultServer::~FaultServer()
{
    stop();
}

quint16 FaultServer::start(quint16 port)
{
    if (m_worker)
        return this->port();
    m_thread = std::make_unique<QThread>();
    m_thread->setObjectName(QStringLiteral("FaultServer"));
    m_worker = new detail::FaultServerWorker(m_state.get(), this);
    m_worker->moveToThread(m_thread.get());
    connect(m_thread.get(), &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread->start();

    quint16 bound = 0;
    detail::FaultServerWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        worker, [worker, port, &bound] { bound = worker->listen(port); },
        Qt::BlockingQueuedConnection);
    if (bound == 0) {
        stop();
        return 0;
    }
    const QMutexLocker locker(&m_state->mutex);
    m_state->port = bound;
    return bound;
}

void FaultServer::stop()
{
    if (!m_worker)
        return;
    detail::FaultServerWorker *worker = std::exchange(m_worker, nullptr);
    QMetaObject::invokeMethod(
        worker, [worker] { worker->shutdown(); }, Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    m_thread.reset(); // the worker was deleted as the thread finished
    const QMutexLocker locker(&m_state->mutex);
    m_state->port = 0;
}

bool FaultServer::isRunning() const
{
    return port() != 0;
}

quint16 FaultServer::port() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->port;
}

QUrl FaultServer::baseUrl() const
{
    return QUrl(QStringLiteral("http://127.0.0.1:") + QString::number(port()));
}

QUrl FaultServer::url(QStringView pathAndQuery) const
{
    return QUrl(QStringLiteral("http://127.0.0.1:") + QString::number(port())
                + pathAndQuery.toString());
}

void FaultServer::addRule(const FaultRule &rule)
{
    const QMutexLocker locker(&m_state->mutex);
    m_state->rules.append(rule);
}

void FaultServer::clearRules()
{
    const QMutexLocker locker(&m_state->mutex);
    m_state->rules.clear();
}

int FaultServer::ruleCount() const
{
    const QMutexLocker locker(&m_state->mutex);
    return static_cast<int>(m_state->rules.size());
}

void FaultServer::setDefaultRule(const FaultRule &rule)
{
    const QMutexLocker locker(&m_state->mutex);
    m_state->defaultRule = rule;
}

FaultRule FaultServer::defaultRule() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->defaultRule;
}

void FaultServer::setRecordRequests(bool record)
{
    const QMutexLocker locker(&m_state->mutex);
    m_state->record = record;
}

int FaultServer::requestCount() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->requestCount;
}

QList<RecordedRequest> FaultServer::requests() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->requests;
}

RecordedRequest FaultServer::lastRequest() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->requests.isEmpty() ? RecordedRequest{} : m_state->requests.constLast();
}

int FaultServer::connectionCount() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->connectionCount;
}

int FaultServer::openConnections() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->openConnections;
}

int FaultServer::activeRequests() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->activeRequests;
}

int FaultServer::maxConcurrentRequests() const
{
    const QMutexLocker locker(&m_state->mutex);
    return m_state->maxActiveRequests;
}

void FaultServer::resetCounters()
{
    const QMutexLocker locker(&m_state->mutex);
    m_state->requests.clear();
    m_state->requestCount = 0;
    m_state->connectionCount = 0;
    m_state->maxActiveRequests = m_state->activeRequests;
}

bool FaultServer::waitForRequests(int n, int timeoutMs) const
{
    const QDeadlineTimer deadline(std::max(0, timeoutMs), Qt::PreciseTimer);
    QMutexLocker locker(&m_state->mutex);
    while (m_state->requestCount < n) {
        if (!m_state->requestArrived.wait(&m_state->mutex, deadline))
            return m_state->requestCount >= n;
    }
    return true;
}

} // namespace opsdeck::test

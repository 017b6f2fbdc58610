#include "core/perf/loadhttpclient.h"

#include "core/support/logging.h"

#include <QtCore/QMetaObject>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpSocket>

#include <algorithm>
#include <deque>
#include <mutex>

namespace opsdeck::perf {

namespace {

constexpr qsizetype kMaxLine = 64 * 1024;      // one status, header or chunk-size line
constexpr qsizetype kMaxHeaderBytes = 1 << 20; // all headers of one answer

// Takes one CRLF-terminated line off the front of `data` (without the CRLF); false if incomplete.
bool takeLine(QByteArray &data, QByteArray &line)
{
    const qsizetype end = data.indexOf("\r\n");
    if (end < 0)
        return false;
    line = data.left(end);
    data.remove(0, end + 2);
    return true;
}

} // namespace

// ---- Parser -----------------------------------------------------------------------------------

void LoadHttpClient::Parser::reset(bool headRequest)
{
    m_phase = Phase::StatusLine;
    m_status = 0;
    m_keepAlive = true;
    m_chunked = false;
    m_head = headRequest;
    m_remaining = -1;
    m_error.clear();
    m_headerBytes = 0;
}

LoadHttpClient::Parser::State LoadHttpClient::Parser::fail(const QString &why)
{
    m_error = why;
    return State::Error;
}

LoadHttpClient::Parser::State LoadHttpClient::Parser::feed(QByteArray &data)
{
    QByteArray line;
    for (;;) {
        switch (m_phase) {
        case Phase::StatusLine:
        case Phase::Headers:
        case Phase::Trailers: {
            if (!takeLine(data, line)) {
                if (data.size() > kMaxLine)
                    return fail(QStringLiteral("an answer line is longer than 64 KiB"));
                return State::NeedMore;
            }
            m_headerBytes += line.size() + 2;
            if (m_headerBytes > kMaxHeaderBytes)
                return fail(QStringLiteral("the answer's headers exceed 1 MiB"));
            if (m_phase == Phase::Trailers) {
                if (line.isEmpty())
                    return State::Done;
                continue;
            }
            if (m_phase == Phase::StatusLine) {
                // "HTTP/1.1 200 OK"
                if (!line.startsWith("HTTP/1.") || line.size() < 12 || line[8] != ' ')
                    return fail(QStringLiteral("not an HTTP/1.x status line"));
                bool ok = false;
                m_status = line.mid(9, 3).toInt(&ok);
                if (!ok || m_status < 100 || m_status > 999)
                    return fail(QStringLiteral("a bad status code"));
                m_keepAlive = line[7] == '1'; // HTTP/1.0 closes unless it says keep-alive
                m_phase = Phase::Headers;
                continue;
            }
            if (!line.isEmpty()) {
                const qsizetype colon = line.indexOf(':');
                if (colon <= 0)
                    return fail(QStringLiteral("a header line without a name"));
                const QByteArray name = line.left(colon).trimmed().toLower();
                const QByteArray value = line.mid(colon + 1).trimmed();
                if (name == "content-length") {
                    bool ok = false;
                    const qint64 length = value.toLongLong(&ok);
                    if (!ok || length < 0)
                        return fail(QStringLiteral("a bad Content-Length"));
                    m_remaining = length;
                } else if (name == "transfer-encoding") {
                    m_chunked = value.toLower().contains("chunked");
                } else if (name == "connection") {
                    const QByteArray v = value.toLower();
                    if (v.contains("close"))
                        m_keepAlive = false;
                    else if (v.contains("keep-alive"))
                        m_keepAlive = true;
                }
                continue;
            }
            // The end of the headers.
            if (m_status >= 100 && m_status < 200 && m_status != 101) {
                reset(m_head); // an interim answer (100 Continue): the real one follows
                continue;
            }
            if (m_head || m_status == 204 || m_status == 304 || (m_status >= 100 && m_status < 200))
                return State::Done;
            if (m_chunked) {
                m_phase = Phase::ChunkSize;
                continue;
            }
            if (m_remaining < 0)
                m_keepAlive = false; // the body ends when the server closes
            m_phase = Phase::Body;
            if (m_remaining == 0)
                return State::Done;
            continue;
        }
        case Phase::Body: {
            if (m_remaining < 0) {
                data.clear();
                return State::NeedMore; // until the connection closes (see closedComplete())
            }
            const qint64 take = std::min<qint64>(m_remaining, data.size());
            data.remove(0, take);
            m_remaining -= take;
            return m_remaining == 0 ? State::Done : State::NeedMore;
        }
        case Phase::ChunkSize: {
            if (!takeLine(data, line)) {
                if (data.size() > kMaxLine)
                    return fail(QStringLiteral("a chunk-size line is longer than 64 KiB"));
                return State::NeedMore;
            }
            const qsizetype semicolon = line.indexOf(';');
            bool ok = false;
            const qint64 size = (semicolon < 0 ? line : line.left(semicolon)).trimmed().toLongLong(&ok, 16);
            if (!ok || size < 0)
                return fail(QStringLiteral("a bad chunk size"));
            if (size == 0) {
                m_phase = Phase::Trailers;
                continue;
            }
            m_remaining = size;
            m_phase = Phase::ChunkData;
            continue;
        }
        case Phase::ChunkData: {
            const qint64 take = std::min<qint64>(m_remaining, data.size());
            data.remove(0, take);
            m_remaining -= take;
            if (m_remaining > 0)
                return State::NeedMore;
            m_phase = Phase::ChunkCrlf;
            continue;
        }
        case Phase::ChunkCrlf: {
            if (data.size() < 2)
                return State::NeedMore;
            if (!data.startsWith("\r\n"))
                return fail(QStringLiteral("a chunk not followed by CRLF"));
            data.remove(0, 2);
            m_phase = Phase::ChunkSize;
            continue;
        }
        }
    }
}

bool LoadHttpClient::Parser::closedComplete() const
{
    return m_phase == Phase::Body && m_remaining < 0;
}

// ---- Worker -----------------------------------------------------------------------------------

class LoadHttpClient::Worker final : public QObject
{
public:
    struct Job
    {
        Request request;
        Callback callback;
    };

    Worker(const Settings &settings, int connections, Counters &counters)
        : m_settings(settings)
        , m_counters(counters)
        , m_connectionCount(connections)
        , m_tls(settings.base.scheme().compare(u"https", Qt::CaseInsensitive) == 0)
        , m_host(settings.base.host())
        , m_port(quint16(settings.base.port(m_tls ? 443 : 80)))
    {
        // "Host: 127.0.0.1:8080", an IPv6 literal in brackets.
        m_hostHeader = m_host.toUtf8();
        if (m_host.contains(u':'))
            m_hostHeader = QByteArray("[" + m_hostHeader + "]");
        m_hostHeader += ':' + QByteArray::number(m_port);
    }

    ~Worker() override { failAll(QStringLiteral("shutdown")); }

    // Any thread.
    void push(Job job)
    {
        bool wake = false;
        {
            std::lock_guard lock(m_inboxMutex);
            wake = m_inbox.empty();
            m_inbox.push_back(std::move(job));
        }
        ++m_outstanding;
        if (wake)
            QMetaObject::invokeMethod(this, [this] { drain(); }, Qt::QueuedConnection);
    }
    int outstanding() const { return m_outstanding.load(std::memory_order_relaxed); }

    // The worker's thread: fails the queued and in-flight jobs, closes the connections.
    void failAll(const QString &why)
    {
        drainInbox();
        std::deque<Job> queued;
        queued.swap(m_queue);
        for (auto &c : m_connections) {
            if (c->busy) {
                abortQuietly(*c);
                finish(*c, Response{0, LoadErrorKind::Other, why}, false);
            }
        }
        for (Job &job : queued)
            complete(job.callback, Response{0, LoadErrorKind::Other, why});
        for (auto &c : m_connections) {
            // No signal may reach a lambda holding this Connection once it is gone.
            QObject::disconnect(c->socket, nullptr, this, nullptr);
            QObject::disconnect(c->deadline, nullptr, this, nullptr);
            c->socket->abort();
            delete c->socket;
            delete c->deadline;
        }
        m_connections.clear();
    }

private:
    struct Connection
    {
        QTcpSocket *socket = nullptr; // a QSslSocket for https; child of the worker
        QTimer *deadline = nullptr;
        bool busy = false;
        bool reused = false;     // an answer already came over this TCP connection
        bool retried = false;    // the job was resent once after a stale keep-alive close
        bool abandoning = false; // our own abort(): its signals are not failures
        bool timedOut = false;
        qint64 answerBytes = 0;
        QByteArray wire;
        QByteArray buffer;
        Parser parser;
        Job job;
    };

    // Our own abort(): the signals it emits are not failures.
    static void abortQuietly(Connection &c)
    {
        c.abandoning = true;
        c.socket->abort();
        c.abandoning = false;
    }

    static Response answerOf(int status)
    {
        return Response{status, loadErrorOfStatus(status), loadErrorDetailOfStatus(status)};
    }

    void ensureConnections()
    {
        if (!m_connections.empty() || m_connectionCount == 0)
            return;
        for (int i = 0; i < m_connectionCount; ++i) {
            auto c = std::make_unique<Connection>();
            Connection *raw = c.get();
            c->socket = m_tls ? new QSslSocket(this) : new QTcpSocket(this);
            c->socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
            if (m_tls)
                connect(static_cast<QSslSocket *>(c->socket), &QSslSocket::encrypted, this,
                        [this, raw] { onConnected(*raw); });
            else
                connect(c->socket, &QTcpSocket::connected, this, [this, raw] { onConnected(*raw); });
            connect(c->socket, &QTcpSocket::readyRead, this, [this, raw] { onReadyRead(*raw); });
            connect(c->socket, &QTcpSocket::errorOccurred, this,
                    [this, raw](QAbstractSocket::SocketError e) { onSocketEnd(*raw, e); });
            connect(c->socket, &QTcpSocket::disconnected, this,
                    [this, raw] { onSocketEnd(*raw, QAbstractSocket::RemoteHostClosedError); });
            c->deadline = new QTimer(this);
            c->deadline->setSingleShot(true);
            c->deadline->setTimerType(Qt::PreciseTimer);
            connect(c->deadline, &QTimer::timeout, this, [this, raw] { onTimeout(*raw); });
            m_connections.push_back(std::move(c));
        }
    }

    void drainInbox()
    {
        std::deque<Job> jobs;
        {
            std::lock_guard lock(m_inboxMutex);
            jobs.swap(m_inbox);
        }
        for (Job &job : jobs)
            m_queue.push_back(std::move(job));
    }

    void drain()
    {
        drainInbox();
        ensureConnections();
        for (auto &c : m_connections) {
            if (m_queue.empty())
                break;
            if (!c->busy)
                begin(*c);
        }
    }

    // Takes the next queued job onto an idle connection.
    void begin(Connection &c)
    {
        c.job = std::move(m_queue.front());
        m_queue.pop_front();
        c.busy = true;
        c.retried = false;
        send(c);
    }

    void send(Connection &c)
    {
        const Request &r = c.job.request;
        c.wire.clear();
        c.wire.reserve(128 + r.target.size() + r.body.size());
        c.wire += r.method;
        c.wire += ' ';
        c.wire += r.target.isEmpty() ? QByteArrayLiteral("/") : r.target;
        c.wire += " HTTP/1.1\r\nHost: ";
        c.wire += m_hostHeader;
        c.wire += "\r\nUser-Agent: opsdeck-loadtest\r\nAccept: */*\r\n";
        if (!r.body.isEmpty() || r.method == "POST" || r.method == "PUT") {
            if (!r.contentType.isEmpty()) {
                c.wire += "Content-Type: ";
                c.wire += r.contentType;
                c.wire += "\r\n";
            }
            c.wire += "Content-Length: ";
            c.wire += QByteArray::number(r.body.size());
            c.wire += "\r\n";
        }
        c.wire += "\r\n";
        c.wire += r.body;
        c.parser.reset(r.method == "HEAD");
        c.buffer.clear();
        c.answerBytes = 0;
        c.timedOut = false;
        c.deadline->start(std::max(1, m_settings.timeoutMs));
        if (c.socket->state() == QAbstractSocket::ConnectedState
            && (!c.socket->inherits("QSslSocket")
                || static_cast<QSslSocket *>(c.socket)->isEncrypted())) {
            c.socket->write(c.wire);
            return;
        }
        if (c.socket->state() != QAbstractSocket::UnconnectedState)
            abortQuietly(c);
        c.reused = false;
        m_counters.connectionsOpened.fetch_add(1, std::memory_order_relaxed);
        if (auto *ssl = qobject_cast<QSslSocket *>(c.socket))
            ssl->connectToHostEncrypted(m_host, m_port);
        else
            c.socket->connectToHost(m_host, m_port);
    }

    void onConnected(Connection &c)
    {
        if (c.busy && !c.wire.isEmpty())
            c.socket->write(c.wire);
    }

    void onReadyRead(Connection &c)
    {
        const QByteArray bytes = c.socket->readAll();
        m_counters.bytesReceived.fetch_add(quint64(bytes.size()), std::memory_order_relaxed);
        if (!c.busy)
            return; // nothing asked for it: dropped (the connection is reset on the next send)
        c.answerBytes += bytes.size();
        if (c.buffer.isEmpty())
            c.buffer = bytes;
        else
            c.buffer += bytes;
        switch (c.parser.feed(c.buffer)) {
        case Parser::State::NeedMore:
            return;
        case Parser::State::Error: {
            const QString why = QStringLiteral("bad answer: %1").arg(c.parser.error());
            abortQuietly(c);
            finish(c, Response{0, LoadErrorKind::Other, why}, false);
            return;
        }
        case Parser::State::Done: {
            const int status = c.parser.status();
            const bool keep = c.parser.keepAlive();
            if (!keep)
                abortQuietly(c);
            finish(c, answerOf(status), keep);
            return;
        }
        }
    }

    void onSocketEnd(Connection &c, QAbstractSocket::SocketError error)
    {
        if (c.abandoning || !c.busy || c.timedOut)
            return;
        if (c.socket->bytesAvailable() > 0)
            onReadyRead(c);
        if (!c.busy)
            return;
        if (c.parser.closedComplete()) { // a body delimited by the close
            finish(c, answerOf(c.parser.status()), false);
            return;
        }
        // A keep-alive connection the server closed while idle: resend once on a new one.
        if (c.reused && c.answerBytes == 0 && !c.retried
            && error == QAbstractSocket::RemoteHostClosedError) {
            c.retried = true;
            abortQuietly(c);
            // Queued: we are inside the socket's own disconnected/error signal, and a connect
            // started there can be closed by the socket's remaining teardown.
            Connection *raw = &c;
            QMetaObject::invokeMethod(
                this,
                [this, raw] {
                    for (auto &conn : m_connections) {
                        if (conn.get() == raw && conn->busy)
                            send(*conn);
                    }
                },
                Qt::QueuedConnection);
            return;
        }
        const QString why = c.socket->errorString();
        abortQuietly(c);
        finish(c, Response{0, LoadErrorKind::Connect, why}, false);
    }

    void onTimeout(Connection &c)
    {
        if (!c.busy)
            return;
        c.timedOut = true;
        abortQuietly(c);
        finish(c,
               Response{0, LoadErrorKind::Timeout,
                        QStringLiteral("no complete answer within %1 ms").arg(m_settings.timeoutMs)},
               false);
    }

    void finish(Connection &c, const Response &response, bool keepAlive)
    {
        c.deadline->stop();
        c.busy = false;
        c.reused = keepAlive;
        Callback callback = std::move(c.job.callback);
        c.job = Job{};
        complete(callback, response);
        if (!m_queue.empty() && !c.busy)
            begin(c);
    }

    void complete(Callback &callback, const Response &response)
    {
        --m_outstanding;
        m_counters.requests.fetch_add(1, std::memory_order_relaxed);
        if (callback)
            callback(response);
    }

    const Settings m_settings;
    Counters &m_counters;
    const int m_connectionCount;
    const bool m_tls;
    const QString m_host;
    const quint16 m_port;
    QByteArray m_hostHeader;
    std::vector<std::unique_ptr<Connection>> m_connections;
    std::deque<Job> m_queue; // waiting for a free connection (the worker's thread)
    std::mutex m_inboxMutex;
    std::deque<Job> m_inbox; // from submit()
    std::atomic<int> m_outstanding{0};
};

// ---- LoadHttpClient ---------------------------------------------------------------------------

LoadHttpClient::LoadHttpClient(Settings settings)
    : m_settings(std::move(settings))
{
    const int connections = std::max(1, m_settings.connections);
    int threads = m_settings.threads;
    if (threads <= 0)
        threads = std::max(1, QThread::idealThreadCount() / 2);
    threads = std::clamp(threads, 1, connections);
    for (int i = 0; i < threads; ++i) {
        const int share = connections / threads + (i < connections % threads ? 1 : 0);
        auto thread = std::make_unique<QThread>();
        thread->setObjectName(QStringLiteral("loadhttp-%1").arg(i + 1));
        auto *worker = new Worker(m_settings, share, m_counters);
        worker->moveToThread(thread.get());
        QObject::connect(thread.get(), &QThread::finished, worker, &QObject::deleteLater);
        thread->start();
        m_workers.push_back(worker);
        m_threads.push_back(std::move(thread));
    }
}

LoadHttpClient::~LoadHttpClient()
{
    shutdown();
}

void LoadHttpClient::submit(Request request, Callback callback)
{
    if (m_shutDown.load(std::memory_order_acquire) || m_workers.empty()) {
        m_counters.requests.fetch_add(1, std::memory_order_relaxed);
        if (callback)
            callback(Response{0, LoadErrorKind::Other, QStringLiteral("shutdown")});
        return;
    }
    // The worker with the fewest requests outstanding (ties: round robin).
    const size_t start = size_t(m_next.fetch_add(1, std::memory_order_relaxed) % m_workers.size());
    Worker *best = m_workers[start];
    for (size_t k = 1; k < m_workers.size(); ++k) {
        Worker *w = m_workers[(start + k) % m_workers.size()];
        if (w->outstanding() < best->outstanding())
            best = w;
    }
    best->push(Worker::Job{std::move(request), std::move(callback)});
}

void LoadHttpClient::shutdown()
{
    if (m_shutDown.exchange(true))
        return;
    for (Worker *worker : m_workers)
        QMetaObject::invokeMethod(
            worker, [worker] { worker->failAll(QStringLiteral("shutdown")); },
            Qt::BlockingQueuedConnection);
    for (auto &thread : m_threads) {
        thread->quit();
        thread->wait();
    }
    m_threads.clear(); // the workers were deleted by their threads' finished()
    m_workers.clear();
}

LoadHttpClient::Stats LoadHttpClient::stats() const
{
    Stats s;
    s.requests = m_counters.requests.load(std::memory_order_relaxed);
    s.connectionsOpened = m_counters.connectionsOpened.load(std::memory_order_relaxed);
    s.bytesReceived = m_counters.bytesReceived.load(std::memory_order_relaxed);
    return s;
}

} // namespace opsdeck::perf

#include "api/connectionguard.h"

#include "api/httpreply.h"
#include "core/support/logging.h"

#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpSocket>

namespace opsdeck::api {

namespace {

const QString kGuardName = QStringLiteral("opsdeck-connection-guard");

// Follows the byte stream of one connection (request after request) by peeking at what
// arrived before QHttpServer reads it. QHttpServer reads inside a QIODevice transaction, so
// bytesAvailable() is exactly what it has not consumed yet: the new bytes.
class ConnectionGuard final : public QObject
{
public:
    ConnectionGuard(QTcpSocket *socket, const GuardLimits &limits, ConnectionGuards *owner)
        : QObject(socket)
        , m_socket(socket)
        , m_limits(limits)
        , m_owner(owner)
    {
        setObjectName(kGuardName);
        m_headerTimer.setSingleShot(true);
        m_headerTimer.setTimerType(Qt::PreciseTimer);
        m_idleTimer.setSingleShot(true);
        connect(&m_headerTimer, &QTimer::timeout, this, [this] {
            reject(408, QByteArrayLiteral("request_timeout"),
                   QStringLiteral("The request headers did not arrive in time."));
        });
        connect(&m_idleTimer, &QTimer::timeout, this, [this] {
            if (m_state == State::Idle)
                m_socket->disconnectFromHost();
        });
        connect(socket, &QTcpSocket::readyRead, this, &ConnectionGuard::inspect);
        connect(socket, &QTcpSocket::bytesWritten, this, [this] { restartIdle(); });
        restartIdle();
    }

    void responded()
    {
        if (m_state == State::AwaitingResponse)
            m_state = State::Idle;
        restartIdle();
    }

private:
    enum class State { Idle, Headers, Body, AwaitingResponse, Rejected };

    void restartIdle() { m_idleTimer.start(m_limits.idleTimeoutMs); }

    void inspect()
    {
        if (m_state == State::Rejected) {
            m_socket->readAll(); // discard whatever else the client sends
            return;
        }
        restartIdle();
        const QByteArray chunk = m_socket->peek(m_socket->bytesAvailable());
        qsizetype pos = 0;
        while (pos < chunk.size() && m_state != State::Rejected) {
            switch (m_state) {
            case State::Idle:
            case State::AwaitingResponse: // pipelined: the next request starts
                m_state = State::Headers;
                m_header.clear();
                m_headerTimer.start(m_limits.headerTimeoutMs);
                break;
            case State::Headers:
                pos = consumeHeaders(chunk, pos);
                break;
            case State::Body: {
                const qint64 take = std::min<qint64>(m_bodyRemaining, chunk.size() - pos);
                m_bodyRemaining -= take;
                pos += take;
                if (m_bodyRemaining == 0)
                    m_state = State::AwaitingResponse;
                break;
            }
            case State::Rejected:
                break;
            }
        }
    }

    // Appends header bytes up to the blank line; returns the position after what it consumed.
    qsizetype consumeHeaders(const QByteArray &chunk, qsizetype pos)
    {
        const qsizetype searchFrom = std::max<qsizetype>(0, m_header.size() - 3);
        const qsizetype room = m_limits.maxHeaderBytes - m_header.size();
        const qsizetype take = std::min<qsizetype>(chunk.size() - pos, room + 1);
        m_header.append(chunk.constData() + pos, take);
        const qsizetype end = m_header.indexOf("\r\n\r\n", searchFrom);
        if (end < 0) {
            if (m_header.size() > m_limits.maxHeaderBytes) {
                reject(431, QByteArrayLiteral("headers_too_large"),
                       QStringLiteral("The request headers exceed %1 bytes.")
                           .arg(m_limits.maxHeaderBytes));
            }
            return pos + take;
        }
        const qsizetype headerLength = end + 4;
        const qsizetype consumed = take - (m_header.size() - headerLength);
        m_header.truncate(headerLength);
        m_headerTimer.stop();
        if (!checkHeaderBlock())
            return chunk.size();
        m_state = m_bodyRemaining > 0 ? State::Body : State::AwaitingResponse;
        return pos + consumed;
    }

    bool checkHeaderBlock()
    {
        static const QRegularExpression requestLine(
            QStringLiteral("^[A-Z]{3,10} [^ \\x00-\\x1f]+ HTTP/1\\.[01]$"));
        const QList<QByteArray> lines = m_header.split('\n');
        const QString first = QString::fromLatin1(lines.value(0).trimmed());
        if (!requestLine.match(first).hasMatch()) {
            reject(400, QByteArrayLiteral("bad_request"),
                   QStringLiteral("The request line is not valid HTTP/1.1."));
            return false;
        }
        m_bodyRemaining = 0;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QByteArray line = lines[i].trimmed();
            const qsizetype colon = line.indexOf(':');
            if (colon <= 0)
                continue;
            const QByteArray name = line.left(colon).trimmed().toLower();
            const QByteArray value = line.mid(colon + 1).trimmed();
            if (name == "content-length") {
                bool ok = false;
                const qint64 length = value.toLongLong(&ok);
                if (!ok || length < 0) {
                    reject(400, QByteArrayLiteral("bad_request"),
                           QStringLiteral("Content-Length is not a number."));
                    return false;
                }
                if (length > m_limits.maxBodyBytes) {
                    reject(413, QByteArrayLiteral("body_too_large"),
                           QStringLiteral("The request body of %1 bytes exceeds %2 bytes.")
                               .arg(length)
                               .arg(m_limits.maxBodyBytes));
                    return false;
                }
                m_bodyRemaining = length;
            } else if (name == "transfer-encoding") {
                reject(411, QByteArrayLiteral("length_required"),
                       QStringLiteral("Send the body with a Content-Length, not chunked."));
                return false;
            }
        }
        return true;
    }

    void reject(int status, const QByteArray &code, const QString &message)
    {
        m_state = State::Rejected;
        m_headerTimer.stop();
        m_socket->readAll(); // QHttpServer never sees the refused request
        HttpReply reply = HttpReply::error(status, QString::fromLatin1(code), message);
        m_socket->write(reply.serialize(true, false));
        m_socket->disconnectFromHost();
        qCInfo(lcApi, "Refused a request with %d: %s", status, qUtf8Printable(message));
        if (m_owner)
            Q_EMIT m_owner->requestRejected(status, code);
    }

    QTcpSocket *m_socket;
    GuardLimits m_limits;
    QPointer<ConnectionGuards> m_owner;
    State m_state = State::Idle;
    QByteArray m_header;
    qint64 m_bodyRemaining = 0;
    QTimer m_headerTimer;
    QTimer m_idleTimer;
};

} // namespace

ConnectionGuards::ConnectionGuards(GuardLimits limits, QObject *parent)
    : QObject(parent)
    , m_limits(limits)
{}

void ConnectionGuards::markResponded(QTcpSocket *socket)
{
    if (auto *guard = socket->findChild<QObject *>(kGuardName, Qt::FindDirectChildrenOnly))
        static_cast<ConnectionGuard *>(guard)->responded();
}

void ConnectionGuards::refuse(QTcpSocket *socket)
{
    ++m_rejected;
    HttpReply reply
        = HttpReply::error(503, QStringLiteral("too_many_connections"),
                           QStringLiteral("The server has %1 open connections; try again shortly.")
                               .arg(m_limits.maxConnections));
    reply.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("1")});
    socket->write(reply.serialize(true, false));
    socket->disconnectFromHost();
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    Q_EMIT requestRejected(503, QByteArrayLiteral("too_many_connections"));
}

bool ConnectionGuards::admit(QTcpSocket *socket)
{
    if (!hasRoom()) {
        refuse(socket);
        return false;
    }
    ++m_open;
    connect(socket, &QObject::destroyed, this, [this] { --m_open; });
    new ConnectionGuard(socket, m_limits, this); // must connect to readyRead before QHttpServer
    return true;
}

} // namespace opsdeck::api

// ConnectionGuards: the per-socket defences every API listener shares (GuardedTcpServer for plain
// HTTP, GuardedSslServer for HTTPS). QHttpServer 6.4 buffers a whole request before any handler
// runs and has no limits, so each socket is guarded before QHttpServer reads it: header and body
// size limits (431/413 and close), a malformed request line (400 and close), chunked bodies
// (411), a slow-header deadline (408), an idle timeout, and a cap on open connections (503).
// Owned by its listener; lives in the api thread.
#pragma once

#include <QtCore/QObject>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace opsdeck::api {

struct GuardLimits
{
    qint64 maxHeaderBytes = 16 * 1024;
    qint64 maxBodyBytes = 1024 * 1024;
    int headerTimeoutMs
        = 10'000; // a request's headers must be complete this long after its first byte
    int idleTimeoutMs = 30'000; // a keep-alive connection with nothing to do is closed
    int maxConnections = 64;
};

class ConnectionGuards final : public QObject
{
    Q_OBJECT

public:
    explicit ConnectionGuards(GuardLimits limits, QObject *parent = nullptr);

    const GuardLimits &limits() const { return m_limits; }
    int openConnections() const { return m_open; }
    quint64 rejectedConnections() const { return m_rejected; }

    // Guards a fresh socket; call it before anything else connects to the socket's readyRead.
    // Returns false when the connection cap is reached: the socket was answered 503, is closing
    // and deletes itself.
    bool admit(QTcpSocket *socket);
    // The two halves of admit(), for TLS: a refusal can only be answered after the handshake.
    bool hasRoom() const { return m_open < m_limits.maxConnections; }
    void refuse(QTcpSocket *socket);

    // Called by the HTTP front after it answered a request (resets the idle timer, ends the
    // request so the next one on the connection is measured afresh).
    static void markResponded(QTcpSocket *socket);

Q_SIGNALS:
    void requestRejected(int status, const QByteArray &reason);

private:
    GuardLimits m_limits;
    int m_open = 0;
    quint64 m_rejected = 0;
};

} // namespace opsdeck::api

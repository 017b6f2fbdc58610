// GuardedTcpServer: the QTcpServer handed to QHttpServer::bind(). QHttpServer 6.4 buffers a whole
// request before any handler runs and has no limits, so each socket is guarded here before
// QHttpServer reads it: header and body size limits (431/413 and close), a malformed request line
// (400 and close), chunked bodies (411), a slow-header deadline (408), an idle timeout, and a
// cap on open connections (503). Lives in the api thread.
#pragma once

#include <QtNetwork/QTcpServer>

namespace opsdeck::api {

struct GuardLimits
{
    qint64 maxHeaderBytes = 16 * 1024;
    qint64 maxBodyBytes = 1024 * 1024;
    int headerTimeoutMs = 10'000; // a request's headers must be complete this long after its first byte
    int idleTimeoutMs = 30'000;   // a keep-alive connection with nothing to do is closed
    int maxConnections = 64;
};

class GuardedTcpServer final : public QTcpServer
{
    Q_OBJECT

public:
    explicit GuardedTcpServer(GuardLimits limits, QObject *parent = nullptr);

    const GuardLimits &limits() const { return m_limits; }
    int openConnections() const { return m_open; }
    quint64 rejectedConnections() const { return m_rejected; }

    // Called by the HTTP front after it answered a request (resets the idle timer, ends the
    // request so the next one on the connection is measured afresh).
    static void markResponded(QTcpSocket *socket);

Q_SIGNALS:
    void requestRejected(int status, const QByteArray &reason);

protected:
    void incomingConnection(qintptr socketDescriptor) override;

private:
    GuardLimits m_limits;
    int m_open = 0;
    quint64 m_rejected = 0;
};

} // namespace opsdeck::api

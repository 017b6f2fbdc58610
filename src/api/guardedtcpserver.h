// GuardedTcpServer: the plain-HTTP QTcpServer handed to QHttpServer::bind(). Every socket passes
// the shared ConnectionGuards (size limits, timeouts, connection cap; connectionguard.h) before
// QHttpServer reads it. Its TLS twin is GuardedSslServer. Lives in the api thread.
#pragma once

#include "api/connectionguard.h"

#include <QtNetwork/QTcpServer>

namespace opsdeck::api {

class GuardedTcpServer final : public QTcpServer
{
    Q_OBJECT

public:
    explicit GuardedTcpServer(GuardLimits limits, QObject *parent = nullptr);

    const GuardLimits &limits() const { return m_guards->limits(); }
    int openConnections() const { return m_guards->openConnections(); }
    quint64 rejectedConnections() const { return m_guards->rejectedConnections(); }
    ConnectionGuards &guards() { return *m_guards; }

    // Works for the sockets of either listener (see ConnectionGuards::markResponded).
    static void markResponded(QTcpSocket *socket) { ConnectionGuards::markResponded(socket); }

Q_SIGNALS:
    void requestRejected(int status, const QByteArray &reason);

protected:
    void incomingConnection(qintptr socketDescriptor) override;

private:
    ConnectionGuards *m_guards; // child
};

} // namespace opsdeck::api

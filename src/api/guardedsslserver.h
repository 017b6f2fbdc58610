// GuardedSslServer: the HTTPS listener handed to QHttpServer::bind(). It makes each QSslSocket
// itself (QSslServer's own incomingConnection would add the socket before our guard could hook
// it), puts it through the same ConnectionGuards as GuardedTcpServer, runs the server handshake
// with a deadline and hands the socket to QHttpServer once it is encrypted. Lives in the api
// thread. loadTlsConfiguration() reads the [api] tls_cert / tls_key PEM files.
#pragma once

#include "api/connectionguard.h"
#include "core/support/result.h"

#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslServer>

namespace opsdeck::api {

// A server configuration from a PEM certificate (chain, leaf first) and an unencrypted PEM
// private key (RSA or EC). Errors name the file: "tls_cert_invalid", "tls_key_invalid" (code
// details.key is "tls_cert" or "tls_key"). TLS 1.2 or later, no client certificates.
Result<QSslConfiguration> loadTlsConfiguration(const QString &certPath, const QString &keyPath);

class GuardedSslServer final : public QSslServer
{
    Q_OBJECT

public:
    GuardedSslServer(GuardLimits limits, const QSslConfiguration &tls, QObject *parent = nullptr);

    const GuardLimits &limits() const { return m_guards->limits(); }
    int openConnections() const { return m_guards->openConnections(); }
    quint64 rejectedConnections() const { return m_guards->rejectedConnections(); }
    ConnectionGuards &guards() { return *m_guards; }
    quint64 failedHandshakes() const { return m_failedHandshakes; }

Q_SIGNALS:
    void requestRejected(int status, const QByteArray &reason);

protected:
    void incomingConnection(qintptr socketDescriptor) override;

private:
    ConnectionGuards *m_guards; // child
    quint64 m_failedHandshakes = 0;
};

} // namespace opsdeck::api

#include "api/guardedsslserver.h"

#include "core/support/logging.h"

#include <QtCore/QFile>
#include <QtCore/QTimer>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslSocket>

namespace opsdeck::api {

namespace {

Result<QByteArray> readPem(const QString &path, const QString &key, const QString &code)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return fail(code,
                    QStringLiteral("[api] %1 = %2: cannot read the file (%3).")
                        .arg(key, path, file.errorString()),
                    {{QStringLiteral("key"), key}, {QStringLiteral("path"), path}});
    }
    return file.read(1024 * 1024); // a PEM chain is a few KiB; never slurp a wrong huge file
}

} // namespace

Result<QSslConfiguration> loadTlsConfiguration(const QString &certPath, const QString &keyPath)
{
    const QString certKey = QStringLiteral("tls_cert");
    const QString keyKey = QStringLiteral("tls_key");
    const Result<QByteArray> certPem
        = readPem(certPath, certKey, QStringLiteral("tls_cert_invalid"));
    if (!certPem)
        return tl::unexpected(certPem.error());
    const QList<QSslCertificate> chain = QSslCertificate::fromData(*certPem, QSsl::Pem);
    if (chain.isEmpty() || chain.first().isNull()) {
        return fail(
            QStringLiteral("tls_cert_invalid"),
            QStringLiteral("[api] tls_cert = %1: no PEM certificate in the file.").arg(certPath),
            {{QStringLiteral("key"), certKey}, {QStringLiteral("path"), certPath}});
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (chain.first().expiryDate() < now) {
        return fail(QStringLiteral("tls_cert_invalid"),
                    QStringLiteral("[api] tls_cert = %1: the certificate expired on %2.")
                        .arg(certPath, chain.first().expiryDate().toString(Qt::ISODate)),
                    {{QStringLiteral("key"), certKey}, {QStringLiteral("path"), certPath}});
    }
    const Result<QByteArray> keyPem = readPem(keyPath, keyKey, QStringLiteral("tls_key_invalid"));
    if (!keyPem)
        return tl::unexpected(keyPem.error());
    QSslKey privateKey;
    for (const QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
        privateKey = QSslKey(*keyPem, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!privateKey.isNull())
            break;
    }
    if (privateKey.isNull()) {
        return fail(QStringLiteral("tls_key_invalid"),
                    QStringLiteral("[api] tls_key = %1: no unencrypted PEM private key (RSA or EC) "
                                   "in the file.")
                        .arg(keyPath),
                    {{QStringLiteral("key"), keyKey}, {QStringLiteral("path"), keyPath}});
    }
    if (privateKey.algorithm() != chain.first().publicKey().algorithm()) {
        return fail(QStringLiteral("tls_key_invalid"),
                    QStringLiteral("[api] tls_key = %1 does not belong to the certificate "
                                   "tls_cert = %2.")
                        .arg(keyPath, certPath),
                    {{QStringLiteral("key"), keyKey}, {QStringLiteral("path"), keyPath}});
    }
    const QFileDevice::Permissions keyMode = QFile::permissions(keyPath);
    if (keyMode & (QFileDevice::ReadGroup | QFileDevice::ReadOther)) {
        qCWarning(lcApi, "The TLS private key %s is readable by other users: chmod 600 it",
                  qUtf8Printable(keyPath));
    }
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificateChain(chain);
    tls.setPrivateKey(privateKey);
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    tls.setPeerVerifyMode(QSslSocket::VerifyNone); // clients authenticate with the API key
    return tls;
}

GuardedSslServer::GuardedSslServer(GuardLimits limits,
                                   const QSslConfiguration &tls,
                                   QObject *parent)
    : QSslServer(parent)
    , m_guards(new ConnectionGuards(limits, this))
{
    setSslConfiguration(tls);
    connect(m_guards, &ConnectionGuards::requestRejected, this, &GuardedSslServer::requestRejected);
}

void GuardedSslServer::incomingConnection(qintptr socketDescriptor)
{
    auto *socket = new QSslSocket(this);
    socket->setSslConfiguration(sslConfiguration());
    if (!socket->setSocketDescriptor(socketDescriptor)) {
        delete socket;
        return;
    }
    // Until QHttpServer owns the socket, a failed or abandoned handshake is ours to clean up.
    const QMetaObject::Connection cleanup
        = connect(socket, &QSslSocket::disconnected, socket, &QObject::deleteLater);
    connect(socket, &QSslSocket::errorOccurred, this, [this, socket](QAbstractSocket::SocketError) {
        if (socket->isEncrypted())
            return;
        ++m_failedHandshakes;
        qCDebug(lcApi, "TLS handshake failed: %s", qUtf8Printable(socket->errorString()));
    });
    auto *deadline = new QTimer(socket);
    deadline->setSingleShot(true);
    connect(deadline, &QTimer::timeout, socket, [this, socket] {
        ++m_failedHandshakes;
        qCDebug(lcApi, "TLS handshake not finished in %d ms: closing", handshakeTimeout());
        socket->abort();
        socket->deleteLater();
    });
    deadline->start(handshakeTimeout());
    // Over the cap, the 503 can only be sent encrypted: the handshake runs first (bounded by the
    // deadline), then the refusal. Data written before the handshake would be lost.
    const bool admitted = m_guards->hasRoom() && m_guards->admit(socket);
    connect(socket, &QSslSocket::encrypted, this, [this, socket, deadline, cleanup, admitted] {
        deadline->stop();
        if (!admitted) {
            m_guards->refuse(socket);
            return;
        }
        disconnect(cleanup); // QHttpServer deletes the socket from now on
        addPendingConnection(socket);
    });
    socket->startServerEncryption();
}

} // namespace opsdeck::api

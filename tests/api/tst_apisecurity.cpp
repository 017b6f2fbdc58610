// The secured API over real sockets on 127.0.0.1: the key on the wire, failed attempts answered
// late without blocking the api thread (and in order on a pipelined connection), HTTPS through
// GuardedSslServer with the checked-in self-signed pair (tests/api/data), the same guards over
// TLS (Host allow-list, 413, 431, idle handshake, connection cap), and the exposure refusal.
// Real time for the delays and timeouts: labelled `timing`.
#include "api/apiservice.h"
#include "api/guardedsslserver.h"
#include "core/monitor/performancemonitor.h"
#include "support/testutil.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::api;
using namespace std::chrono_literals;

namespace {

const QByteArray kKey = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const QString kData = QStringLiteral(OPSDECK_TLS_DATA);

SystemProbe::Options probeOptions()
{
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    return options;
}

QSslCertificate testCertificate()
{
    return QSslCertificate::fromPath(kData + QStringLiteral("/localhost.crt")).value(0);
}

// One request over TLS, trusting only the test certificate. Empty when the handshake failed.
QByteArray tlsExchange(quint16 port, const QByteArray &requestBytes, const QString &peer = QStringLiteral("localhost"),
                       QList<QSslError> *errors = nullptr)
{
    QSslSocket socket;
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setCaCertificates({testCertificate()});
    config.setPeerVerifyMode(QSslSocket::VerifyPeer);
    socket.setSslConfiguration(config);
    QObject::connect(&socket, &QSslSocket::sslErrors, &socket, [errors](const QList<QSslError> &e) {
        if (errors)
            *errors += e;
    });
    socket.connectToHostEncrypted(peer, port);
    if (!socket.waitForEncrypted(test::scaledMs(5000)))
        return {};
    socket.write(requestBytes);
    QByteArray raw;
    QElapsedTimer timer;
    timer.start();
    while (socket.state() == QAbstractSocket::ConnectedState && timer.elapsed() < test::scaledMs(5000)) {
        if (socket.waitForReadyRead(200))
            raw += socket.readAll();
    }
    raw += socket.readAll();
    return raw;
}

QByteArray body(const QByteArray &raw)
{
    const qsizetype end = raw.indexOf("\r\n\r\n");
    return end < 0 ? QByteArray() : raw.mid(end + 4);
}

QString errorCode(const QByteArray &raw)
{
    return QJsonDocument::fromJson(body(raw)).object()[u"error"][u"code"].toString();
}

} // namespace

class TstApiSecurity : public QObject
{
    Q_OBJECT

    std::unique_ptr<PerformanceMonitor> m_monitor;
    std::unique_ptr<ApiService> m_service;
    quint16 m_port = 0;

    void start(ApiServer::Settings settings)
    {
        m_service.reset();
        settings.port = 0;
        m_service = std::make_unique<ApiService>(settings, *m_monitor);
        const Result<quint16> port = m_service->start();
        QVERIFY2(port, port ? "" : qPrintable(port.error().message));
        m_port = *port;
    }

    static ApiServer::Settings keyed()
    {
        ApiServer::Settings settings;
        settings.security.apiKey = kKey;
        settings.allowedHosts = {QStringLiteral("opsdeck.example")};
        return settings;
    }

    static ApiServer::Settings tls()
    {
        ApiServer::Settings settings = keyed();
        const Result<QSslConfiguration> config = loadTlsConfiguration(
            kData + QStringLiteral("/localhost.crt"), kData + QStringLiteral("/localhost.key"));
        if (config)
            settings.security.tls = *config;
        return settings;
    }

    QByteArray request(const QByteArray &target, const QByteArray &extra = {}, const QByteArray &method = "GET")
    {
        return method + ' ' + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(m_port) + "\r\n"
               + extra + "Connection: close\r\n\r\n";
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(QSslSocket::supportsSsl(), "the TLS backend is needed");
        QVERIFY2(!testCertificate().isNull(), qPrintable(kData));
        m_monitor = std::make_unique<PerformanceMonitor>(probeOptions(), PerformanceMonitor::Settings{});
    }
    void cleanup() { m_service.reset(); }
    void cleanupTestCase() { m_monitor.reset(); }

    void keyOnTheWire()
    {
        start(keyed());
        QCOMPARE(m_service->baseUrl(), QStringLiteral("http://127.0.0.1:%1").arg(m_port));
        QByteArray raw = test::rawHttp(m_port, request("/agents"));
        QCOMPARE(test::httpStatus(raw), 401);
        QVERIFY(raw.contains("\r\nWWW-Authenticate: Bearer realm=\"opsdeck\"\r\n"));
        QCOMPARE(errorCode(raw), QStringLiteral("unauthorized"));
        QCOMPARE(test::httpStatus(test::rawHttp(m_port, request("/health"))), 200);
        QCOMPARE(test::httpStatus(test::rawHttp(m_port, request("/agents", "X-API-Key: " + kKey + "\r\n"))), 503);
        QCOMPARE(test::httpStatus(test::rawHttp(m_port, request("/agents", "Authorization: Bearer " + kKey + "\r\n"))), 503);
        // HEAD of a refused route: headers only.
        raw = test::rawHttp(m_port, request("/agents", {}, "HEAD"));
        QCOMPARE(test::httpStatus(raw), 401);
        QVERIFY(body(raw).isEmpty());
    }

    // The second failure is answered about 300 ms late; meanwhile another connection is served
    // at once (the api thread is not blocked), and the pipelined answers keep their order.
    void failuresAreAnsweredLateWithoutBlocking()
    {
        ApiServer::Settings settings = keyed();
        const int delayMs = test::scaledMs(300);
        settings.security.failureDelay.first = std::chrono::milliseconds(delayMs);
        start(settings);
        const QByteArray host = "Host: 127.0.0.1:" + QByteArray::number(m_port) + "\r\n";
        QCOMPARE(test::httpStatus(test::rawHttp(m_port, request("/agents", "X-API-Key: wrong\r\n"))), 401); // not delayed

        QTcpSocket slow;
        slow.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(slow.waitForConnected(5000));
        QElapsedTimer timer;
        timer.start();
        slow.write("GET /agents HTTP/1.1\r\n" + host + "X-API-Key: wrong\r\n\r\n"
                   "GET /health HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
        // Another client meanwhile: served at once.
        QElapsedTimer other;
        other.start();
        QCOMPARE(test::httpStatus(test::rawHttp(m_port, request("/health"))), 200);
        QVERIFY2(other.elapsed() < delayMs * 5 / 6, qPrintable(QString::number(other.elapsed())));

        QByteArray raw;
        while (slow.state() == QAbstractSocket::ConnectedState && slow.waitForReadyRead(test::scaledMs(5000)))
            raw += slow.readAll();
        raw += slow.readAll();
        QVERIFY2(timer.elapsed() >= delayMs - 20, qPrintable(QString::number(timer.elapsed())));
        QCOMPARE(raw.count("HTTP/1.1 "), 2);
        QVERIFY2(raw.startsWith("HTTP/1.1 401"), raw.constData());
        QVERIFY(raw.indexOf("HTTP/1.1 200") > raw.indexOf("HTTP/1.1 401"));
    }

    void httpsWithTheCheckedInPair()
    {
        start(tls());
        QCOMPARE(m_service->baseUrl(), QStringLiteral("https://127.0.0.1:%1").arg(m_port));
        for (const QString &peer : {QStringLiteral("localhost"), QStringLiteral("127.0.0.1")}) {
            QList<QSslError> errors;
            const QByteArray raw = tlsExchange(m_port, request("/health"), peer, &errors);
            QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).errorString()));
            QCOMPARE(test::httpStatus(raw), 200);
            QCOMPARE(QJsonDocument::fromJson(body(raw)).object()[u"status"].toString(), QStringLiteral("ok"));
        }
        QByteArray raw = tlsExchange(m_port, request("/agents"));
        QCOMPARE(test::httpStatus(raw), 401);
        QCOMPARE(test::httpStatus(tlsExchange(m_port, request("/agents", "X-API-Key: " + kKey + "\r\n"))), 503);
        // Plain HTTP to the TLS port gets no HTTP answer; the server keeps serving TLS.
        raw = test::rawHttp(m_port, request("/health"), test::scaledMs(3000));
        QVERIFY2(!raw.startsWith("HTTP/1.1 200"), raw.constData());
        QCOMPARE(test::httpStatus(tlsExchange(m_port, request("/health"))), 200);
    }

    void hostAllowListOverTls_data()
    {
        QTest::addColumn<QByteArray>("host");
        QTest::addColumn<int>("status");
        QTest::newRow("loopback ip") << QByteArray("127.0.0.1:PORT") << 200;
        QTest::newRow("localhost") << QByteArray("localhost:PORT") << 200;
        QTest::newRow("ipv6") << QByteArray("[::1]:PORT") << 200;
        QTest::newRow("configured") << QByteArray("opsdeck.example:PORT") << 200;
        QTest::newRow("rebinding") << QByteArray("evil.example:PORT") << 421;
        QTest::newRow("wrong port") << QByteArray("localhost:1") << 421;
    }
    void hostAllowListOverTls()
    {
        QFETCH(QByteArray, host);
        QFETCH(int, status);
        start(tls());
        host.replace("PORT", QByteArray::number(m_port));
        const QByteArray raw = tlsExchange(m_port, "GET /health HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), status);
    }

    void guardsHoldOverTls()
    {
        start(tls());
        QByteArray big = "POST /monitoring/metrics HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(m_port)
                         + "\r\nX-API-Key: " + kKey + "\r\nContent-Length: 2000000\r\n\r\n" + QByteArray(100 * 1024, 'x');
        QByteArray raw = tlsExchange(m_port, big);
        QCOMPARE(test::httpStatus(raw), 413);
        QCOMPARE(errorCode(raw), QStringLiteral("body_too_large"));
        raw = tlsExchange(m_port, request("/health", "X-Filler: " + QByteArray(20000, 'a') + "\r\n"));
        QCOMPARE(test::httpStatus(raw), 431);
        raw = tlsExchange(m_port, "HELLO THERE\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), 400);
    }

    void stalledHandshakeIsClosed()
    {
        ApiServer::Settings settings = tls();
        settings.limits.idleTimeoutMs = 300;
        start(settings);
        QTcpSocket socket; // connects, never says ClientHello
        socket.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(socket.waitForConnected(5000));
        QSignalSpy closed(&socket, &QTcpSocket::disconnected);
        QVERIFY(closed.wait(test::scaledMs(5000)));
    }

    void connectionCapOverTls()
    {
        ApiServer::Settings settings = tls();
        settings.limits.maxConnections = 1;
        start(settings);
        QSslSocket holder;
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setCaCertificates({testCertificate()});
        holder.setSslConfiguration(config);
        holder.connectToHostEncrypted(QStringLiteral("localhost"), m_port);
        QVERIFY(holder.waitForEncrypted(5000));
        QByteArray raw;
        QTRY_VERIFY_WITH_TIMEOUT(test::httpStatus(raw = tlsExchange(m_port, request("/health"))) == 503, 10000);
        QCOMPARE(errorCode(raw), QStringLiteral("too_many_connections"));
        holder.close();
        QTRY_COMPARE_WITH_TIMEOUT(test::httpStatus(tlsExchange(m_port, request("/health"))), 200, 10000);
    }

    void tlsFilesAreChecked_data()
    {
        QTest::addColumn<QString>("cert");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("names");
        const QString crt = kData + QStringLiteral("/localhost.crt");
        const QString pem = kData + QStringLiteral("/localhost.key");
        QTest::newRow("no cert file") << QStringLiteral("/nonexistent/cert.pem") << pem << QStringLiteral("tls_cert_invalid") << QStringLiteral("tls_cert");
        QTest::newRow("no key file") << crt << QStringLiteral("/nonexistent/key.pem") << QStringLiteral("tls_key_invalid") << QStringLiteral("tls_key");
        QTest::newRow("key as cert") << pem << pem << QStringLiteral("tls_cert_invalid") << QStringLiteral("tls_cert");
        QTest::newRow("cert as key") << crt << crt << QStringLiteral("tls_key_invalid") << QStringLiteral("tls_key");
        QTest::newRow("directory") << kData << pem << QStringLiteral("tls_cert_invalid") << QStringLiteral("tls_cert");
    }
    void tlsFilesAreChecked()
    {
        QFETCH(QString, cert);
        QFETCH(QString, key);
        QFETCH(QString, code);
        QFETCH(QString, names);
        const Result<QSslConfiguration> config = loadTlsConfiguration(cert, key);
        QVERIFY(!config);
        QCOMPARE(config.error().code, code);
        QCOMPARE(config.error().details[u"key"].toString(), names);
        QVERIFY2(config.error().message.contains(u"[api] " + names), qPrintable(config.error().message));
    }

    void nonLoopbackPlainBindIsRefused()
    {
        ApiServer::Settings settings = keyed();
        settings.bindAddress = QHostAddress::AnyIPv4;
        ApiService service(settings, *m_monitor);
        const Result<quint16> port = service.start();
        QVERIFY(!port);
        QCOMPARE(port.error().code, QStringLiteral("insecure_bind"));
        QVERIFY(port.error().message.contains(u"allow_plain_http"));
    }
};

QTEST_GUILESS_MAIN(TstApiSecurity)
#include "tst_apisecurity.moc"

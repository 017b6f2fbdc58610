#include "api/apiservice.h"
#include "core/monitor/performancemonitor.h"
#include "support/testutil.h"

#include <QtCore/QJsonDocument>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::api;

namespace {

SystemProbe::Options probeOptions()
{
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    return options;
}

QByteArray body(const QByteArray &raw)
{
    const qsizetype end = raw.indexOf("\r\n\r\n");
    return end < 0 ? QByteArray() : raw.mid(end + 4);
}

QJsonObject json(const QByteArray &raw)
{
    return QJsonDocument::fromJson(body(raw)).object();
}

QString errorCode(const QByteArray &raw)
{
    return json(raw).value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString();
}

} // namespace

class TstApiServer : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<PerformanceMonitor> m_monitor;
    std::unique_ptr<ApiService> m_service;
    quint16 m_port = 0;

    void startServer(GuardLimits limits = {}, AgentControl agents = {})
    {
        m_service.reset();
        ApiServer::Settings settings;
        settings.port = 0;
        settings.limits = limits;
        settings.agents = std::move(agents);
        settings.allowedHosts = {QStringLiteral("opsdeck.example")};
        settings.security.requireKey = false; // auth is tested in the security suite
        m_service = std::make_unique<ApiService>(settings, *m_monitor);
        Result<quint16> port = m_service->start();
        QVERIFY2(port.has_value(), qPrintable(port ? QString() : port.error().message));
        m_port = *port;
        QVERIFY(m_port > 0);
    }

    QByteArray get(const QByteArray &target, const QByteArray &extra = {})
    {
        return test::rawHttp(m_port,
                             "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(m_port)
                                 + "\r\n" + extra + "Connection: close\r\n\r\n",
                             test::scaledMs(5000));
    }

private Q_SLOTS:
    void init()
    {
        m_monitor = std::make_unique<PerformanceMonitor>(probeOptions(), PerformanceMonitor::Settings{});
        startServer();
    }

    void cleanup()
    {
        m_service.reset();
        m_monitor.reset();
    }

    void healthAnswers()
    {
        const QByteArray raw = get("/health");
        QCOMPARE(test::httpStatus(raw), 200);
        const QJsonObject o = json(raw);
        QCOMPARE(o.value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
        QCOMPARE(o.value(QStringLiteral("version")).toString(), QStringLiteral(OPSDECK_VERSION_STRING));
        QVERIFY(o.value(QStringLiteral("components")).toObject().contains(QStringLiteral("monitor")));
        QVERIFY(raw.contains("Content-Type: application/json"));
    }

    void metricsAre503UntilFirstSample()
    {
        const QByteArray raw = get("/monitoring/metrics");
        QCOMPARE(test::httpStatus(raw), 503);
        QCOMPARE(errorCode(raw), QStringLiteral("monitor_not_running"));
        QVERIFY(raw.contains("Retry-After: 1"));
    }

    void metricsAfterStart()
    {
        m_monitor->start();
        QByteArray raw = get("/monitoring/metrics?category=system&limit=1");
        QCOMPARE(test::httpStatus(raw), 200);
        QJsonObject o = json(raw);
        QVERIFY(o.contains(QStringLiteral("timestamp")));
        const QJsonArray system = o.value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray();
        QCOMPARE(system.size(), 1);
        QVERIFY(system.first().toObject().value(QStringLiteral("process")).toObject().contains(QStringLiteral("memory_rss")));

        raw = get("/monitoring/metrics");
        o = json(raw);
        QCOMPARE(o.value(QStringLiteral("metrics")).toObject().keys().size(), 4);

        raw = get("/monitoring/metrics?category=cache");
        QCOMPARE(test::httpStatus(raw), 200);
        const QJsonObject cacheSample = json(raw).value(QStringLiteral("metrics")).toObject()
            .value(QStringLiteral("cache")).toArray().first().toObject();
        QVERIFY(cacheSample.contains(QStringLiteral("timestamp")));
        QVERIFY(cacheSample.contains(QStringLiteral("error")));
    }

    void badParameters_data()
    {
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QString>("code");
        QTest::newRow("unknown category") << QByteArray("/monitoring/metrics?category=foo") << QStringLiteral("invalid_parameter");
        QTest::newRow("plus decoded") << QByteArray("/monitoring/metrics?category=sys+tem") << QStringLiteral("invalid_parameter");
        QTest::newRow("limit zero") << QByteArray("/monitoring/metrics?limit=0") << QStringLiteral("invalid_parameter");
        QTest::newRow("limit too big") << QByteArray("/monitoring/metrics?limit=1001") << QStringLiteral("invalid_parameter");
        QTest::newRow("limit text") << QByteArray("/monitoring/metrics?limit=ten") << QStringLiteral("invalid_parameter");
        QTest::newRow("limit negative") << QByteArray("/monitoring/metrics?limit=-5") << QStringLiteral("invalid_parameter");
        QTest::newRow("unknown parameter") << QByteArray("/monitoring/metrics?limt=5") << QStringLiteral("unknown_parameter");
        QTest::newRow("duplicate") << QByteArray("/monitoring/metrics?limit=5&limit=6") << QStringLiteral("duplicate_parameter");
    }
    void badParameters()
    {
        QFETCH(QByteArray, target);
        QFETCH(QString, code);
        m_monitor->start();
        const QByteArray raw = get(target);
        QCOMPARE(test::httpStatus(raw), 400);
        QCOMPARE(errorCode(raw), code);
        QVERIFY(!json(raw).value(QStringLiteral("error")).toObject().value(QStringLiteral("message")).toString().isEmpty());
    }

    // GET /agents, POST /agents/{id}/start|stop over an AgentControl: 503 while the agents do
    // not exist, JSON 404 for an unknown id, 409 when the agent refuses, 405 for GET on start.
    void agentRoutes()
    {
        QByteArray raw = get("/agents"); // no control at all
        QCOMPARE(test::httpStatus(raw), 503);
        QCOMPARE(errorCode(raw), QStringLiteral("agents_unavailable"));

        auto running = std::make_shared<QHash<QString, bool>>();
        running->insert(QStringLiteral("mm1"), true);
        running->insert(QStringLiteral("broken"), false);
        const auto agentJson = [running](const QString &id) -> std::optional<QJsonObject> {
            if (!running->contains(id))
                return std::nullopt;
            return QJsonObject{{QStringLiteral("id"), id},
                               {QStringLiteral("status"),
                                running->value(id) ? QStringLiteral("RUNNING") : QStringLiteral("STOPPED")}};
        };
        AgentControl control;
        control.list = [running, agentJson]() -> std::optional<QJsonArray> {
            QJsonArray list;
            for (const QString &id : {QStringLiteral("broken"), QStringLiteral("mm1")})
                list.append(*agentJson(id));
            return list;
        };
        control.find = agentJson;
        const auto change = [running](const QString &id, bool start) -> Status {
            if (!running->contains(id))
                return fail(QStringLiteral("unknown_agent"), QStringLiteral("No agent \"%1\".").arg(id));
            if (id == u"broken" && start)
                return fail(QStringLiteral("agent_start_failed"), QStringLiteral("It cannot start."));
            running->insert(id, start);
            return ok();
        };
        control.start = [change](const QString &id) { return change(id, true); };
        control.stop = [change](const QString &id) { return change(id, false); };
        startServer({}, control);

        raw = get("/agents");
        QCOMPARE(test::httpStatus(raw), 200);
        QCOMPARE(json(raw).value(QStringLiteral("count")).toInt(), 2);
        QCOMPARE(test::httpStatus(get("/api/v1/agents")), 200);
        QCOMPARE(test::httpStatus(get("/agents?x=1")), 400);

        const auto post = [this](const QByteArray &target) {
            return test::rawHttp(m_port,
                                 "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(m_port)
                                     + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                 test::scaledMs(5000));
        };
        raw = post("/agents/mm1/stop");
        QCOMPARE(test::httpStatus(raw), 200);
        QCOMPARE(json(raw).value(QStringLiteral("agent")).toObject().value(QStringLiteral("status")).toString(),
                 QStringLiteral("STOPPED"));
        raw = post("/agents/mm1/start");
        QCOMPARE(json(raw).value(QStringLiteral("agent")).toObject().value(QStringLiteral("status")).toString(),
                 QStringLiteral("RUNNING"));
        raw = post("/agents/nope/start");
        QCOMPARE(test::httpStatus(raw), 404);
        QCOMPARE(errorCode(raw), QStringLiteral("unknown_agent"));
        raw = post("/agents/broken/start");
        QCOMPARE(test::httpStatus(raw), 409);
        QCOMPARE(errorCode(raw), QStringLiteral("agent_start_failed"));
        QCOMPARE(test::httpStatus(get("/agents/mm1/start")), 405);
    }

    void notFoundAndMethodNotAllowed()
    {
        QByteArray raw = get("/nope");
        QCOMPARE(test::httpStatus(raw), 404);
        QCOMPARE(errorCode(raw), QStringLiteral("not_found"));
        raw = test::rawHttp(m_port, "DELETE /health HTTP/1.1\r\nHost: localhost:" + QByteArray::number(m_port)
                                        + "\r\nConnection: close\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), 405);
        QVERIFY(raw.contains("Allow: GET, HEAD, OPTIONS\r\n"));
    }

    void headHasNoBodyAndKeepsConnectionUsable()
    {
        const QByteArray host = "Host: 127.0.0.1:" + QByteArray::number(m_port) + "\r\n";
        // HEAD then GET pipelined on one connection: the HEAD answer must not carry a body, or
        // the second response would be corrupted.
        const QByteArray raw = test::rawHttp(
            m_port, "HEAD /health HTTP/1.1\r\n" + host + "\r\nGET /health HTTP/1.1\r\n" + host
                        + "Connection: close\r\n\r\n");
        const QList<QByteArray> parts = raw.split('\n');
        QCOMPARE(raw.count("HTTP/1.1 200 OK"), 2);
        const qsizetype firstEnd = raw.indexOf("\r\n\r\n");
        QVERIFY(raw.mid(firstEnd + 4).startsWith("HTTP/1.1 200 OK"));
        QVERIFY(raw.left(firstEnd).contains("Content-Length: "));
        QVERIFY(!parts.isEmpty());
        QCOMPARE(json(raw.mid(firstEnd + 4)).value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
    }

    // The issue-7 routes over the wire: HEAD without a body, 405 with Allow, /api/v1 aliases.
    void newRoutesOverTheWire()
    {
        const QByteArray host = "Host: 127.0.0.1:" + QByteArray::number(m_port) + "\r\n";
        QByteArray raw = test::rawHttp(m_port, "HEAD /api/v1/metrics HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), 200);
        QVERIFY(raw.contains("Content-Type: text/plain; version=0.0.4"));
        QVERIFY(raw.endsWith("\r\n\r\n")); // headers only
        raw = get("/openapi.json");
        QCOMPARE(test::httpStatus(raw), 200);
        QCOMPARE(json(raw).value(QStringLiteral("openapi")).toString(), QStringLiteral("3.0.3"));
        raw = test::rawHttp(m_port, "PATCH /api/v1/config HTTP/1.1\r\n" + host + "Content-Length: 0\r\nConnection: close\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), 405);
        QVERIFY(raw.contains("Allow: GET, PUT, HEAD, OPTIONS\r\n"));
        raw = get("/api/v1/monitoring/alerts?level=loud");
        QCOMPARE(test::httpStatus(raw), 400);
        QCOMPARE(errorCode(raw), QStringLiteral("invalid_parameter"));
    }

    void oversizedBodyIsRefusedEarly()
    {
        // Announce 2 MB, send 200 KB: the 413 comes without the server buffering the rest.
        QByteArray request = "POST /monitoring/metrics HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(m_port)
                             + "\r\nContent-Length: 2000000\r\n\r\n";
        request += QByteArray(200 * 1024, 'x');
        const QByteArray raw = test::rawHttp(m_port, request);
        QCOMPARE(test::httpStatus(raw), 413);
        QCOMPARE(errorCode(raw), QStringLiteral("body_too_large"));
        // The server still serves others.
        QCOMPARE(test::httpStatus(get("/health")), 200);
    }

    void oversizedHeadersAre431()
    {
        const QByteArray big = "X-Filler: " + QByteArray(20000, 'a') + "\r\n";
        const QByteArray raw = get("/health", big);
        QCOMPARE(test::httpStatus(raw), 431);
        QCOMPARE(errorCode(raw), QStringLiteral("headers_too_large"));
    }

    void headersInPiecesUnderTheLimitPass()
    {
        // 10 KB of headers (limit 16 KB) in four writes: each piece is counted once.
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(socket.waitForConnected(5000));
        QByteArray request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(m_port) + "\r\n";
        for (int i = 0; i < 10; ++i)
            request += "X-Pad-" + QByteArray::number(i) + ": " + QByteArray(1000, 'p') + "\r\n";
        request += "Connection: close\r\n\r\n";
        const qsizetype piece = request.size() / 4 + 1;
        for (qsizetype offset = 0; offset < request.size(); offset += piece) {
            socket.write(request.mid(offset, piece));
            QVERIFY(socket.waitForBytesWritten(5000));
            QThread::msleep(20); // traffic shaping: let the server read each piece on its own
        }
        QByteArray raw;
        while (socket.state() == QAbstractSocket::ConnectedState && socket.waitForReadyRead(5000))
            raw += socket.readAll();
        raw += socket.readAll();
        QCOMPARE(test::httpStatus(raw), 200);
    }

    void hostHeaderIsChecked_data()
    {
        QTest::addColumn<QByteArray>("host");
        QTest::addColumn<int>("status");
        QTest::newRow("loopback ip") << QByteArray("127.0.0.1:PORT") << 200;
        QTest::newRow("localhost") << QByteArray("localhost:PORT") << 200;
        QTest::newRow("ipv6") << QByteArray("[::1]:PORT") << 200;
        QTest::newRow("no port") << QByteArray("localhost") << 200;
        QTest::newRow("configured") << QByteArray("opsdeck.example:PORT") << 200;
        QTest::newRow("rebinding") << QByteArray("evil.example:PORT") << 421;
        QTest::newRow("wrong port") << QByteArray("127.0.0.1:1") << 421;
        QTest::newRow("empty") << QByteArray("") << 421;
    }
    void hostHeaderIsChecked()
    {
        QFETCH(QByteArray, host);
        QFETCH(int, status);
        host.replace("PORT", QByteArray::number(m_port));
        const QByteArray raw = test::rawHttp(m_port, "GET /health HTTP/1.1\r\nHost: " + host
                                                         + "\r\nConnection: close\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), status);
    }

    void garbageRequestLineIs400()
    {
        const QByteArray raw = test::rawHttp(m_port, "HELLO THERE\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), 400);
        QCOMPARE(errorCode(raw), QStringLiteral("bad_request"));
    }

    void connectionCapAnswers503()
    {
        GuardLimits limits;
        limits.maxConnections = 2;
        startServer(limits);
        QTcpSocket a, b;
        a.connectToHost(QHostAddress::LocalHost, m_port);
        b.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(a.waitForConnected(5000));
        QVERIFY(b.waitForConnected(5000));
        // Both are held open by the server before the third arrives.
        QByteArray third;
        QTRY_VERIFY_WITH_TIMEOUT(test::httpStatus(third = test::rawHttp(m_port, QByteArray(), 2000)) == 503, 10000);
        QCOMPARE(errorCode(third), QStringLiteral("too_many_connections"));
        a.close();
        b.close();
        QTRY_COMPARE_WITH_TIMEOUT(test::httpStatus(get("/health")), 200, 10000);
    }

    void idleConnectionIsClosed()
    {
        GuardLimits limits;
        limits.idleTimeoutMs = 200;
        startServer(limits);
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(socket.waitForConnected(5000));
        QSignalSpy closed(&socket, &QTcpSocket::disconnected);
        QVERIFY(closed.wait(test::scaledMs(5000)));
    }

    void connectionCloseIsHonoured()
    {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(m_port)
                     + "\r\nConnection: close\r\n\r\n");
        QSignalSpy closed(&socket, &QTcpSocket::disconnected);
        QVERIFY(closed.wait(test::scaledMs(5000)));
        QCOMPARE(test::httpStatus(socket.readAll()), 200);
    }

    void versionedPathAndQnam()
    {
        m_monitor->start();
        QNetworkAccessManager nam;
        QNetworkReply *reply = nam.get(QNetworkRequest(QUrl(QStringLiteral("http://127.0.0.1:%1/api/v1/monitoring/metrics?category=system&limit=5").arg(m_port))));
        QSignalSpy finished(reply, &QNetworkReply::finished);
        QVERIFY(finished.wait(test::scaledMs(5000)));
        QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
        const QJsonObject o = QJsonDocument::fromJson(reply->readAll()).object();
        QCOMPARE(o.value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray().size(), 1);
        reply->deleteLater();
    }
};

QTEST_GUILESS_MAIN(TstApiServer)
#include "tst_apiserver.moc"

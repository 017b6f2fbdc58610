// Whole-process tests: the real opsdeck binary, real sockets, curl and QNetworkAccessManager.
#include "support/testutil.h"

#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QTcpServer>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <csignal>

#include <sys/stat.h>

using namespace opsdeck;

using namespace Qt::StringLiterals;

namespace {

const QString kBinary = QStringLiteral(OPSDECK_BINARY);
const QString kTlsData = QStringLiteral(OPSDECK_TLS_DATA); // the checked-in self-signed pair

// An environment with its own XDG dirs and no display: nothing touches the user's files.
QProcessEnvironment isolatedEnvironment(const QString &root)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("DISPLAY"));
    env.remove(QStringLiteral("WAYLAND_DISPLAY"));
    env.remove(QStringLiteral("QT_QPA_PLATFORM"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), root + QStringLiteral("/xdg-config"));
    env.insert(QStringLiteral("XDG_DATA_HOME"), root + QStringLiteral("/xdg-data"));
    env.insert(QStringLiteral("XDG_CACHE_HOME"), root + QStringLiteral("/xdg-cache"));
    env.insert(QStringLiteral("XDG_RUNTIME_DIR"), root);
    return env;
}

struct Run
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

Run runToEnd(const QStringList &args, const QString &root, int timeoutMs = 30000)
{
    QProcess p;
    p.setProcessEnvironment(isolatedEnvironment(root));
    p.start(kBinary, args);
    Run run;
    if (!p.waitForFinished(test::scaledMs(timeoutMs))) {
        p.kill();
        p.waitForFinished();
    }
    run.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    run.out = p.readAllStandardOutput();
    run.err = p.readAllStandardError();
    return run;
}

void writeFile(const QString &path, const QByteArray &content)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(content);
}

// A headless opsdeck started for one test and stopped with SIGTERM.
class Headless
{
public:
    explicit Headless(const QString &root) : m_root(root) {}
    ~Headless()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }

    bool start(const QStringList &extra = {})
    {
        return launch(QStringList{QStringLiteral("--headless"), QStringLiteral("--api-port"),
                                  QStringLiteral("0"), QStringLiteral("--data-dir"),
                                  m_root + QStringLiteral("/data"), QStringLiteral("--config"),
                                  m_root + QStringLiteral("/opsdeck.ini")}
                          + extra,
                      QStringLiteral("OPSDECK_API"));
    }

    // opsdeck --market-only: waits for the OPSDECK_MARKET line.
    bool startMarketOnly(const QStringList &extra = {})
    {
        return launch(QStringList{QStringLiteral("--market-only"), QStringLiteral("--config"),
                                  m_root + QStringLiteral("/opsdeck.ini")}
                          + extra,
                      QStringLiteral("OPSDECK_MARKET"));
    }

    QByteArray readStdout()
    {
        m_stdout += m_process.readAllStandardOutput();
        return m_stdout;
    }

    bool launch(const QStringList &args, const QString &linePrefix)
    {
        m_process.setProcessEnvironment(isolatedEnvironment(m_root));
        m_process.start(kBinary, args);
        if (!m_process.waitForStarted(test::scaledMs(10000)))
            return false;
        const QRegularExpression line(u'^' + linePrefix
                                          + QStringLiteral(" (https?://127\\.0\\.0\\.1:(\\d+))$"),
                                      QRegularExpression::MultilineOption);
        // Printed before OPSDECK_API, so it is there once that line is.
        const QRegularExpression keyLine(QStringLiteral("^OPSDECK_API_KEY_FILE (.+)$"),
                                         QRegularExpression::MultilineOption);
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < test::scaledMs(20000)) {
            if (!m_process.waitForReadyRead(500) && m_process.state() == QProcess::NotRunning)
                return false;
            m_stdout += m_process.readAllStandardOutput();
            const QRegularExpressionMatch m = line.match(QString::fromUtf8(m_stdout));
            if (m.hasMatch()) {
                m_baseUrl = m.captured(1);
                m_port = quint16(m.captured(2).toUInt());
                m_keyFile = keyLine.match(QString::fromUtf8(m_stdout)).captured(1);
                return true;
            }
        }
        return false;
    }

    int terminate(int sig = SIGTERM)
    {
        ::kill(pid_t(m_process.processId()), sig);
        if (!m_process.waitForFinished(test::scaledMs(15000)))
            return -100;
        m_stderr += m_process.readAllStandardError();
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
    }

    QByteArray readStderr()
    {
        m_stderr += m_process.readAllStandardError();
        return m_stderr;
    }

    QString baseUrl() const { return m_baseUrl; }
    quint16 port() const { return m_port; }
    // The OPSDECK_API_KEY_FILE path and the key in it; curl arguments that send it.
    QString keyFile() const { return m_keyFile; }
    QByteArray apiKey() const
    {
        QFile file(m_keyFile);
        return file.open(QIODevice::ReadOnly) ? file.readAll().trimmed() : QByteArray();
    }
    QStringList auth() const
    {
        return {QStringLiteral("-H"), QStringLiteral("X-API-Key: ") + QString::fromLatin1(apiKey())};
    }
    QProcess &process() { return m_process; }

private:
    QString m_root;
    QProcess m_process;
    QByteArray m_stdout;
    QByteArray m_stderr;
    QString m_baseUrl;
    QString m_keyFile;
    quint16 m_port = 0;
};

// curl ARGS... → (http status, body). Status 0 when curl failed to connect.
QPair<int, QByteArray> curl(const QStringList &args)
{
    QProcess p;
    p.start(QStringLiteral("curl"), QStringList{QStringLiteral("-s"), QStringLiteral("-o"),
                                                QStringLiteral("-"), QStringLiteral("-w"),
                                                QStringLiteral("\n%{http_code}")}
                                        + args);
    p.waitForFinished(test::scaledMs(20000));
    QByteArray out = p.readAllStandardOutput();
    const qsizetype nl = out.lastIndexOf('\n');
    const int status = out.mid(nl + 1).trimmed().toInt();
    out.truncate(nl < 0 ? 0 : nl);
    return {status, out};
}

} // namespace

class TstHeadless : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(QFileInfo::exists(kBinary), qPrintable(kBinary));
        QVERIFY2(!QStandardPaths::findExecutable(QStringLiteral("curl")).isEmpty(), "curl is needed");
    }

    void infoFlagsNeedNoDisplay_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("help") << QStringList{QStringLiteral("--help")} << 0 << QByteArray("--quit-after");
        QTest::newRow("version") << QStringList{QStringLiteral("--version")} << 0 << QByteArray("opsdeck " OPSDECK_VERSION_STRING);
        QTest::newRow("bad flag") << QStringList{QStringLiteral("--frobnicate")} << 2 << QByteArray("frobnicate");
        QTest::newRow("bad port") << QStringList{QStringLiteral("--api-port"), QStringLiteral("70000")} << 2 << QByteArray("65535");
        QTest::newRow("bad level") << QStringList{QStringLiteral("--log-level"), QStringLiteral("loud")} << 2 << QByteArray("DEBUG");
        QTest::newRow("dump defaults") << QStringList{QStringLiteral("--dump-config")} << 0 << QByteArray("memory_max_size");
        QTest::newRow("check defaults") << QStringList{QStringLiteral("--check-config")} << 0 << QByteArray("valid");
    }
    void infoFlagsNeedNoDisplay()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QByteArray, expected);
        QTemporaryDir tmp;
        const Run run = runToEnd(args, tmp.path());
        QCOMPARE(run.exitCode, exitCode);
        const QByteArray all = run.out + run.err;
        QVERIFY2(all.contains(expected), all.constData());
    }

    void badConfigIsReported_data()
    {
        QTest::addColumn<QByteArray>("ini");
        QTest::addColumn<QByteArray>("mentions");
        QTest::newRow("negative size") << QByteArray("[cache]\nmemory_max_size = -5\n") << QByteArray("memory_max_size");
        QTest::newRow("port 70000") << QByteArray("[api]\napi_port = 70000\n") << QByteArray("65535");
        QTest::newRow("strategy foo") << QByteArray("[cache]\ninvalidation_strategy = foo\n") << QByteArray("adaptive");
        QTest::newRow("typo") << QByteArray("[http]\nhttp_timout = 5\n") << QByteArray("http_timeout");
        QTest::newRow("unknown agent type") << QByteArray("[agent.arb1]\ntype = arbitrage\n")
                                            << QByteArray("[agent.arb1] type");
        QTest::newRow("bad agent option") << QByteArray("[agent.mm1]\ntype = market_maker\nspread_bps = -3\n")
                                          << QByteArray("[agent.mm1] spread_bps");
        QTest::newRow("option of another type")
            << QByteArray("[agent.mo1]\ntype = momentum\nspread_bps = 10\n") << QByteArray("[agent.mo1] spread_bps");
        QTest::newRow("stall longer than its period")
            << QByteArray("[market]\nstall = 5\nstall_every = 2\n") << QByteArray("stall");
        // Issue 7 point 7: the API's exposure rules and TLS files.
        QTest::newRow("non-loopback plain http")
            << QByteArray("[api]\napi_bind = 0.0.0.0\n") << QByteArray("allow_plain_http");
        QTest::newRow("auth off off loopback")
            << QByteArray("[api]\napi_bind = 0.0.0.0\nauth = off\nallow_plain_http = true\n")
            << QByteArray("[api] auth = off is only allowed with a loopback api_bind");
        QTest::newRow("cert without key") << QByteArray("[api]\ntls_cert = a.pem\n") << QByteArray("[api] tls_key");
        QTest::newRow("unreadable cert")
            << QByteArray("[api]\ntls_cert = /nonexistent/c.pem\ntls_key = /nonexistent/k.pem\n")
            << QByteArray("[api] tls_cert = /nonexistent/c.pem: cannot read");
        QTest::newRow("cors wildcard") << QByteArray("[api]\ncors_origins = *\n") << QByteArray("cors_origins");
    }
    void badConfigIsReported()
    {
        QFETCH(QByteArray, ini);
        QFETCH(QByteArray, mentions);
        QTemporaryDir tmp;
        const QString config = tmp.filePath(QStringLiteral("opsdeck.ini"));
        writeFile(config, ini);
        const Run check = runToEnd({QStringLiteral("--check-config"), QStringLiteral("--config"), config}, tmp.path());
        QCOMPARE(check.exitCode, 1);
        QVERIFY2(check.out.contains(mentions), check.out.constData());
        const Run start = runToEnd({QStringLiteral("--headless"), QStringLiteral("--config"), config,
                                    QStringLiteral("--data-dir"), tmp.filePath(QStringLiteral("data"))},
                                   tmp.path());
        QCOMPARE(start.exitCode, 2);
        QVERIFY2(start.err.contains(mentions), start.err.constData());
    }

    void missingExplicitConfigIsUsageError()
    {
        QTemporaryDir tmp;
        const Run run = runToEnd({QStringLiteral("--headless"), QStringLiteral("--config"),
                                  tmp.filePath(QStringLiteral("absent.ini"))}, tmp.path());
        QCOMPARE(run.exitCode, 2);
    }

    void servesApiAndStopsOnSigterm()
    {
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")), "[monitor]\ncollection_interval = 0.2\n");
        Headless app(tmp.path());
        QVERIFY(app.start());
        const QString base = app.baseUrl();

        // /health with curl and with QNetworkAccessManager.
        auto [status, body] = curl({base + QStringLiteral("/health")});
        QCOMPARE(status, 200);
        QCOMPARE(QJsonDocument::fromJson(body).object().value(QStringLiteral("status")).toString(), QStringLiteral("ok"));

        QNetworkAccessManager nam;
        QNetworkReply *reply = nam.get(QNetworkRequest(QUrl(base + QStringLiteral("/health"))));
        QSignalSpy finished(reply, &QNetworkReply::finished);
        QVERIFY(finished.wait(test::scaledMs(10000)));
        QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
        reply->deleteLater();

        // Metrics (with the key): 200 once the first sample is in, several samples after a few ticks.
        const QStringList key = app.auth();
        QTRY_COMPARE_WITH_TIMEOUT(curl(key + QStringList{base + QStringLiteral("/monitoring/metrics?category=system")}).first, 200, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(
            QJsonDocument::fromJson(curl(key + QStringList{base + QStringLiteral("/monitoring/metrics?category=system&limit=3")}).second)
                    .object().value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray().size() == 3,
            20000);
        QNetworkRequest metricsRequest(QUrl(base + QStringLiteral("/monitoring/metrics?limit=2")));
        metricsRequest.setRawHeader("Authorization", "Bearer " + app.apiKey());
        reply = nam.get(metricsRequest);
        QSignalSpy finished2(reply, &QNetworkReply::finished);
        QVERIFY(finished2.wait(test::scaledMs(10000)));
        const QJsonObject metrics = QJsonDocument::fromJson(reply->readAll()).object().value(QStringLiteral("metrics")).toObject();
        QCOMPARE(metrics.keys().size(), 4);
        QCOMPARE(metrics.value(QStringLiteral("system")).toArray().size(), 2);
        reply->deleteLater();

        // Errors: 400, 404, 405 (with Allow), HEAD without a body, an oversized body.
        QCOMPARE(curl(key + QStringList{base + QStringLiteral("/monitoring/metrics?limit=0")}).first, 400);
        QCOMPARE(curl(key + QStringList{base + QStringLiteral("/monitoring/metrics?category=nope")}).first, 400);
        QCOMPARE(curl({base + QStringLiteral("/no/such/path")}).first, 404);
        auto [s405, b405] = curl({QStringLiteral("-X"), QStringLiteral("DELETE"), QStringLiteral("-D"), QStringLiteral("-"),
                                  base + QStringLiteral("/health")});
        QCOMPARE(s405, 405);
        QVERIFY(b405.contains("Allow: GET, HEAD, OPTIONS"));
        auto [sHead, bHead] = curl({QStringLiteral("-I"), base + QStringLiteral("/health")});
        QCOMPARE(sHead, 200);
        QVERIFY(bHead.contains("Content-Length:"));
        QVERIFY(!bHead.contains("\"status\""));
        const QString big = tmp.filePath(QStringLiteral("big.bin"));
        writeFile(big, QByteArray(2 * 1024 * 1024, 'z'));
        QCOMPARE(curl({QStringLiteral("--data-binary"), u'@' + big, base + QStringLiteral("/monitoring/metrics")}).first, 413);
        QCOMPARE(curl({base + QStringLiteral("/health")}).first, 200); // still serving

        QCOMPARE(app.terminate(SIGTERM), 0);
        QVERIFY(app.readStderr().contains("Stopped cleanly"));
    }

    void sigintStopsCleanlyAndSighupReloads()
    {
        QTemporaryDir tmp;
        const QString config = tmp.filePath(QStringLiteral("opsdeck.ini"));
        writeFile(config, "[monitor]\ncollection_interval = 1\n");
        Headless app(tmp.path());
        QVERIFY(app.start());
        writeFile(config, "[monitor]\ncollection_interval = 0.5\n");
        ::kill(pid_t(app.process().processId()), SIGHUP);
        QTRY_VERIFY_WITH_TIMEOUT(app.readStderr().contains("Configuration reloaded"), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(app.readStderr().contains("interval 0.500 s"), 10000);
        // A bad file on reload is refused and the process keeps running.
        writeFile(config, "[monitor]\ncollection_interval = -1\n");
        ::kill(pid_t(app.process().processId()), SIGHUP);
        QTRY_VERIFY_WITH_TIMEOUT(app.readStderr().contains("not reloaded"), 10000);
        QCOMPARE(curl({app.baseUrl() + QStringLiteral("/health")}).first, 200);
        QCOMPARE(app.terminate(SIGINT), 0);
    }

    void secondInstanceOnSameDataDirExits4()
    {
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")), "");
        Headless first(tmp.path());
        QVERIFY(first.start());
        const Run second = runToEnd({QStringLiteral("--headless"), QStringLiteral("--api-port"), QStringLiteral("0"),
                                     QStringLiteral("--data-dir"), tmp.filePath(QStringLiteral("data"))},
                                    tmp.path());
        QVERIFY2(second.exitCode == 4, second.err.constData());
        QVERIFY2(second.err.contains("Another OpsDeck instance"), second.err.constData());
        QCOMPARE(first.terminate(), 0);
    }

    // The parts behind the monitoring and operations routes are wired in the real process: a
    // rule changed through the API fires one alert episode, the event log reports it, and after a
    // restart on the same data dir the alert (same id) and the first run's samples (history.db)
    // are still served.
    void alertsEventsAndHistorySurviveARestart()
    {
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")), "[monitor]\ncollection_interval = 0.2\n");
        const qint64 firstStartMs = QDateTime::currentMSecsSinceEpoch();
        qint64 alertId = 0;
        {
            Headless app(tmp.path());
            QVERIFY(app.start());
            const QString base = app.baseUrl();
            QTRY_COMPARE_WITH_TIMEOUT(curl(app.auth() + QStringList{base + QStringLiteral("/monitoring/rules")}).first,
                                      200, test::scaledMs(10000));
            // System memory in use is always above 0.001 %: the rule fires on the next tick.
            auto [put, putBody] = curl(app.auth() + QStringList{
                QStringLiteral("-X"), QStringLiteral("PUT"), QStringLiteral("-H"),
                QStringLiteral("Content-Type: application/json"), QStringLiteral("--data"),
                QStringLiteral("[{\"id\": \"system_memory\", \"threshold\": 0.001, \"for\": 0}]"),
                base + QStringLiteral("/monitoring/rules")});
            QVERIFY2(put == 200, putBody.constData());
            QJsonArray alerts;
            QTRY_VERIFY_WITH_TIMEOUT(
                (alerts = QJsonDocument::fromJson(
                              curl(app.auth() + QStringList{base + QStringLiteral("/monitoring/alerts?source=system")}).second)
                              .object().value(QStringLiteral("alerts")).toArray()).size() == 1,
                test::scaledMs(10000));
            const QJsonObject alert = alerts.first().toObject();
            alertId = alert.value(QStringLiteral("id")).toInteger();
            QVERIFY(alertId > 0);
            QCOMPARE(alert.value(QStringLiteral("level")).toString(), QStringLiteral("warning"));
            QCOMPARE(alert.value(QStringLiteral("details")).toObject().value(QStringLiteral("metric")).toString(),
                     QStringLiteral("system.system.memory_percent"));
            // Still one episode a few ticks later, its count growing.
            QTRY_VERIFY_WITH_TIMEOUT(
                QJsonDocument::fromJson(curl(app.auth() + QStringList{base + QStringLiteral("/monitoring/alerts")}).second)
                        .object().value(QStringLiteral("alerts")).toArray().first().toObject()
                        .value(QStringLiteral("count")).toInteger() >= 3,
                test::scaledMs(10000));
            QCOMPARE(QJsonDocument::fromJson(curl(app.auth() + QStringList{base + QStringLiteral("/monitoring/alerts")}).second)
                         .object().value(QStringLiteral("count")).toInt(), 1);
            const QByteArray events = curl(app.auth() + QStringList{base + QStringLiteral("/events?since=0&timeout=0")}).second;
            QVERIFY2(events.contains("\"alert_raised\""), events.constData());
            QVERIFY2(events.contains("\"agent_started\""), events.constData());
            for (const char *route : {"/cache/stats", "/tasks", "/config", "/metrics"})
                QCOMPARE(curl(app.auth() + QStringList{base + QString::fromLatin1(route)}).first, 200);
            // PUT /config gets the file's checks beyond RuntimeConfig's: a stall longer than its
            // period is refused whole (it used to be answered "applied" and then not applied).
            const auto putConfig = [&](const QString &json) {
                return curl(app.auth() + QStringList{QStringLiteral("-X"), QStringLiteral("PUT"),
                                                     QStringLiteral("-H"),
                                                     QStringLiteral("Content-Type: application/json"),
                                                     QStringLiteral("--data"), json,
                                                     base + QStringLiteral("/config")});
            };
            auto [badStatus, badBody] = putConfig(
                QStringLiteral("{\"market\": {\"stall\": \"5\", \"stall_every\": \"1\"}}"));
            QCOMPARE(badStatus, 400);
            QVERIFY2(badBody.contains("invalid_config") && badBody.contains("stall"), badBody.constData());
            auto [goodStatus, goodBody] = putConfig(
                QStringLiteral("{\"market\": {\"stall\": \"0.5\", \"stall_every\": \"10\"}}"));
            QCOMPARE(goodStatus, 200);
            QVERIFY2(goodBody.contains("market/stall"), goodBody.constData());
            QCOMPARE(app.terminate(), 0);
        }
        const qint64 restartMs = QDateTime::currentMSecsSinceEpoch();
        Headless again(tmp.path());
        QVERIFY(again.start());
        const QString base = again.baseUrl();
        QTRY_COMPARE_WITH_TIMEOUT(curl(again.auth() + QStringList{base + QStringLiteral("/monitoring/alerts")}).first,
                                  200, test::scaledMs(10000));
        const QJsonArray kept = QJsonDocument::fromJson(
                                    curl(again.auth() + QStringList{base + QStringLiteral("/monitoring/alerts")}).second)
                                    .object().value(QStringLiteral("alerts")).toArray();
        bool found = false;
        for (const QJsonValue &alert : kept)
            found = found || alert.toObject().value(QStringLiteral("id")).toInteger() == alertId;
        QVERIFY2(found, QJsonDocument(kept).toJson().constData());
        const QByteArray history = curl(again.auth() + QStringList{
            base + QStringLiteral("/monitoring/metrics?category=system&from=%1&to=%2").arg(firstStartMs).arg(restartMs)}).second;
        const QJsonArray samples = QJsonDocument::fromJson(history).object().value(QStringLiteral("metrics"))
                                       .toObject().value(QStringLiteral("system")).toArray();
        QVERIFY2(samples.size() >= 3, history.constData());
        QVERIFY(samples.last().toObject().value(QStringLiteral("timestamp_ms")).toInteger() < restartMs);
        QCOMPARE(again.terminate(), 0);
    }

    void takenPortExits4()
    {
        QTemporaryDir tmp;
        QTcpServer holder;
        QVERIFY(holder.listen(QHostAddress::LocalHost, 0));
        const Run run = runToEnd({QStringLiteral("--headless"), QStringLiteral("--api-port"),
                                  QString::number(holder.serverPort()), QStringLiteral("--data-dir"),
                                  tmp.filePath(QStringLiteral("data"))},
                                 tmp.path());
        QCOMPARE(run.exitCode, 4);
        QVERIFY2(run.err.contains("Cannot listen"), run.err.constData());
    }

    void quitAfterExitsZero()
    {
        QTemporaryDir tmp;
        const Run run = runToEnd({QStringLiteral("--headless"), QStringLiteral("--api-port"), QStringLiteral("0"),
                                  QStringLiteral("--data-dir"), tmp.filePath(QStringLiteral("data")),
                                  QStringLiteral("--quit-after"), QStringLiteral("0.5")},
                                 tmp.path());
        QCOMPARE(run.exitCode, 0);
        // The embedded exchange starts first, so its line comes first.
        QVERIFY2(run.out.startsWith("OPSDECK_MARKET http://127.0.0.1:"), run.out.constData());
        QVERIFY2(run.out.contains("\nOPSDECK_API http://127.0.0.1:"), run.out.constData());
    }

    // Issue 6 point 7: the whole headless runtime with three agents against the embedded
    // exchange. Once their first cycles have filled the cache, the exchange's weight limit is cut
    // to 6 per 1 s window: a market maker cycle (order book 5 — they live 0.5 s in the cache —,
    // ticker 2, test orders 1) no longer fits one window, so the exchange answers 429 with a
    // Retry-After of 1 s, well inside the cycle's deadline (min(interval, 60 s) = 5 s). The pool
    // must wait and retry; no request may finally fail, no cycle may fail.
    void agentsTradeThroughCacheAndPool()
    {
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")),
                  "[market]\nweight_window = 1\norder_book_ttl = 0.5\n"
                  "[agent.mm]\ntype = market_maker\ninterval = 3\nsymbol = BTCUSDT\n"
                  "[agent.mo]\ntype = momentum\ninterval = 10\nsymbol = ETHUSDT\n"
                  "[agent.guard]\ntype = stop_loss_guardian\ninterval = 10\npriority = CRITICAL\n");
        Headless app(tmp.path());
        QVERIFY(app.start());
        const QRegularExpression marketLine(QStringLiteral("OPSDECK_MARKET (\\S+)"));
        const QString market = marketLine.match(QString::fromUtf8(app.readStdout())).captured(1);
        QVERIFY(!market.isEmpty());
        const QString base = app.baseUrl();

        const auto agents = [&] {
            return QJsonDocument::fromJson(curl(app.auth() + QStringList{base + QStringLiteral("/agents")}).second)
                .object().value(QStringLiteral("agents")).toArray();
        };
        const auto completed = [](const QJsonValue &agent) {
            return agent[u"metrics"_s][u"cycles_completed"_s].toInt();
        };
        QTRY_VERIFY_WITH_TIMEOUT(agents().size() == 3, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const QJsonArray list = agents();
                return list.size() == 3 && completed(list[0]) >= 1 && completed(list[1]) >= 1
                       && completed(list[2]) >= 1;
            }(),
            20000);

        auto [put, putBody] = curl({QStringLiteral("-X"), QStringLiteral("PUT"), QStringLiteral("-H"),
                                    QStringLiteral("Content-Type: application/json"), QStringLiteral("--data"),
                                    QStringLiteral("{\"weight_limit\": 6}"), market + QStringLiteral("/control/faults")});
        QVERIFY2(put == 200, putBody.constData());
        const QJsonArray before = agents();
        const auto rateLimited = [&] {
            return QJsonDocument::fromJson(curl({market + QStringLiteral("/control/stats")}).second)
                .object().value(QStringLiteral("rate_limited")).toInteger();
        };
        // Real time on a loaded machine: the adaptive scheduler stretches intervals with the CPU
        // load (CI once needed 44 s here), so the waits are generous and scaled.
        QTRY_VERIFY_WITH_TIMEOUT(rateLimited() >= 1, test::scaledMs(90000));
        // Every agent completes more cycles while the exchange throttles, and none fails.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const QJsonArray now = agents();
                int advanced = 0;
                for (int i = 0; i < now.size() && i < before.size(); ++i)
                    advanced += completed(now[i]) > completed(before[i]) ? 1 : 0;
                return advanced == 3;
            }(),
            test::scaledMs(90000));
        for (const QJsonValue &agent : agents())
            QVERIFY2(agent[u"metrics"_s][u"cycles_failed"_s].toInt() == 0, qPrintable(agent[u"id"_s].toString()));

        // Stop one agent over REST; unknown ids are JSON 404s.
        auto [stopped, stoppedBody] = curl(app.auth() + QStringList{QStringLiteral("-X"), QStringLiteral("POST"), base + QStringLiteral("/agents/mo/stop")});
        QCOMPARE(stopped, 200);
        QCOMPARE(QJsonDocument::fromJson(stoppedBody).object()[u"agent"_s][u"status"_s].toString(), u"STOPPED"_s);
        auto [unknown, unknownBody] = curl(app.auth() + QStringList{QStringLiteral("-X"), QStringLiteral("POST"), base + QStringLiteral("/agents/nope/start")});
        QCOMPARE(unknown, 404);
        QCOMPARE(QJsonDocument::fromJson(unknownBody).object()[u"error"_s][u"code"_s].toString(), u"unknown_agent"_s);

        QElapsedTimer stopTimer;
        stopTimer.start();
        QCOMPARE(app.terminate(SIGTERM), 0);
        QVERIFY2(stopTimer.elapsed() < test::scaledMs(2000), qPrintable(QString::number(stopTimer.elapsed())));
        const QString err = QString::fromUtf8(app.readStderr());
        QVERIFY(err.contains(u"Stopped cleanly"_s));
        // The summary: the cache answered some lookups, the pool retried the 429s, nothing failed.
        const QRegularExpressionMatch summary = QRegularExpression(
            QStringLiteral("Summary: cache (\\d+) lookups, (\\d+) hits .*HTTP (\\d+) requests, (\\d+) attempts, "
                           "(\\d+) retries, (\\d+) failed")).match(err);
        QVERIFY2(summary.hasMatch(), qPrintable(err.right(2000)));
        qInfo("%s", qPrintable(summary.captured(0)));
        QVERIFY(summary.captured(2).toULongLong() > 0);              // cache hits
        QVERIFY(summary.captured(3).toULongLong() > 0);              // requests
        QVERIFY(summary.captured(5).toULongLong() > 0);              // retries after 429
        QCOMPARE(summary.captured(6).toULongLong(), 0ULL);           // none finally failed
    }

    // Issue 7 point 7: the key file is made 0600 on the first run and reused; its path is the
    // OPSDECK_API_KEY_FILE line (before OPSDECK_API); every route but /health needs it.
    void apiKeyIsCreatedOnceAndRequired()
    {
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")), "[monitor]\ncollection_interval = 0.2\n");
        QByteArray key;
        for (int run = 0; run < 2; ++run) {
            Headless app(tmp.path());
            QVERIFY(app.start());
            const QString expectedFile = tmp.filePath(QStringLiteral("data/api-key"));
            QCOMPARE(app.keyFile(), expectedFile);
            const QByteArray out = app.readStdout();
            QVERIFY2(out.indexOf("OPSDECK_API_KEY_FILE ") < out.indexOf("OPSDECK_API http"), out.constData());
            QVERIFY2(out.contains(QByteArray("\nOPSDECK_API_KEY_FILE " + expectedFile.toUtf8() + "\n")), out.constData());
            struct stat st {};
            QCOMPARE(::stat(QFile::encodeName(expectedFile).constData(), &st), 0);
            QCOMPARE(int(st.st_mode & 0777), 0600);
            if (run == 0) {
                key = app.apiKey();
                QCOMPARE(key.size(), 64);
            } else {
                QCOMPARE(app.apiKey(), key); // reused, not replaced
                QVERIFY(!app.readStderr().contains("Created a new API key"));
            }
            const QString metrics = app.baseUrl() + QStringLiteral("/monitoring/metrics?limit=1");
            QTRY_COMPARE_WITH_TIMEOUT(curl(app.auth() + QStringList{metrics}).first, 200, 10000);
            auto [none, noneBody] = curl({QStringLiteral("-D"), QStringLiteral("-"), metrics});
            QCOMPARE(none, 401);
            QVERIFY2(noneBody.contains("WWW-Authenticate: Bearer"), noneBody.constData());
            QVERIFY(noneBody.contains("\"code\":\"unauthorized\""));
            QCOMPARE(curl({QStringLiteral("-H"), QStringLiteral("X-API-Key: wrong"), metrics}).first, 401);
            QCOMPARE(curl({QStringLiteral("-H"), u"Authorization: Bearer "_s + QString::fromLatin1(key), metrics}).first, 200);
            QCOMPARE(curl({app.baseUrl() + QStringLiteral("/health")}).first, 200);
            QCOMPARE(curl({app.baseUrl() + QStringLiteral("/api/v1/agents")}).first, 401);
            QCOMPARE(app.terminate(), 0);
        }
    }

    void showApiKeyPrintsIt()
    {
        QTemporaryDir tmp;
        const QString data = tmp.filePath(QStringLiteral("data"));
        // None yet: exit 3 with a message, and nothing is created.
        Run run = runToEnd({QStringLiteral("--show-api-key"), QStringLiteral("--data-dir"), data}, tmp.path());
        QCOMPARE(run.exitCode, 3);
        QVERIFY2(run.err.contains("There is no API key"), run.err.constData());
        QVERIFY(!QFile::exists(data + QStringLiteral("/api-key")));

        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")), "");
        Headless app(tmp.path());
        QVERIFY(app.start());
        // While the instance runs (no lock needed), and with no display.
        run = runToEnd({QStringLiteral("--show-api-key"), QStringLiteral("--data-dir"), data}, tmp.path());
        QCOMPARE(run.exitCode, 0);
        QCOMPARE(run.out, app.apiKey() + '\n');
        QCOMPARE(app.terminate(), 0);

        // Other users may read it: refused by both, naming the fix.
        QVERIFY(QFile::setPermissions(data + QStringLiteral("/api-key"),
                                      QFile::ReadOwner | QFile::WriteOwner | QFile::ReadOther));
        run = runToEnd({QStringLiteral("--show-api-key"), QStringLiteral("--data-dir"), data}, tmp.path());
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains("chmod 600"), run.err.constData());
        run = runToEnd({QStringLiteral("--headless"), QStringLiteral("--api-port"), QStringLiteral("0"),
                        QStringLiteral("--data-dir"), data, QStringLiteral("--quit-after"), QStringLiteral("5")},
                       tmp.path());
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains("chmod 600"), run.err.constData());
        QVERIFY(!run.out.contains("OPSDECK_API "));
        // Garbage in the file.
        writeFile(data + QStringLiteral("/api-key"), "not a key\n");
        QVERIFY(QFile::setPermissions(data + QStringLiteral("/api-key"), QFile::ReadOwner | QFile::WriteOwner));
        run = runToEnd({QStringLiteral("--show-api-key"), QStringLiteral("--data-dir"), data}, tmp.path());
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains("does not hold a key"), run.err.constData());
        // Not combinable with other modes.
        run = runToEnd({QStringLiteral("--show-api-key"), QStringLiteral("--headless")}, tmp.path());
        QCOMPARE(run.exitCode, 2);
    }

    void authOffOnLoopbackWarns()
    {
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")), "[api]\nauth = off\n[monitor]\ncollection_interval = 0.2\n");
        Headless app(tmp.path());
        QVERIFY(app.start());
        QTRY_COMPARE_WITH_TIMEOUT(curl({app.baseUrl() + QStringLiteral("/monitoring/metrics?limit=1")}).first, 200, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(app.readStderr().contains("API authentication is off"), 5000);
        QVERIFY(app.readStderr().contains("WARNING"));
        QCOMPARE(app.terminate(), 0);
    }

    // HTTPS with the checked-in pair, named relative to the config file.
    void tlsRunWithTheCheckedInPair()
    {
        QTemporaryDir tmp;
        QVERIFY(QFile::copy(kTlsData + QStringLiteral("/localhost.crt"), tmp.filePath(QStringLiteral("api.crt"))));
        QVERIFY(QFile::copy(kTlsData + QStringLiteral("/localhost.key"), tmp.filePath(QStringLiteral("api.key"))));
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")),
                  "[api]\ntls_cert = api.crt\ntls_key = api.key\n[monitor]\ncollection_interval = 0.2\n");
        Headless app(tmp.path());
        QVERIFY(app.start());
        QVERIFY2(app.baseUrl().startsWith(u"https://127.0.0.1:"), qPrintable(app.baseUrl()));
        const QString ca = kTlsData + QStringLiteral("/localhost.crt");
        const QString health = app.baseUrl() + QStringLiteral("/health");
        auto [status, body] = curl({QStringLiteral("--cacert"), ca, health});
        QCOMPARE(status, 200);
        QCOMPARE(QJsonDocument::fromJson(body).object()[u"components"_s][u"api"_s][u"url"_s].toString(), app.baseUrl());
        QCOMPARE(curl({QStringLiteral("--cacert"), ca, u"https://localhost:%1/health"_s.arg(app.port())}).first, 200);
        QCOMPARE(curl({health}).first, 0); // not trusted without the CA: curl refuses
        const QString metrics = app.baseUrl() + QStringLiteral("/monitoring/metrics?limit=1");
        QCOMPARE(curl({QStringLiteral("--cacert"), ca, metrics}).first, 401);
        QTRY_COMPARE_WITH_TIMEOUT(curl(app.auth() + QStringList{QStringLiteral("--cacert"), ca, metrics}).first, 200, 10000);
        QCOMPARE(curl({QStringLiteral("http://127.0.0.1:%1/health").arg(app.port())}).first, 0); // no plain HTTP
        QCOMPARE(app.terminate(), 0);
    }

    // opsdeck --market-only --market-port 0: the embedded exchange alone, on a free port.
    void marketOnlyServesTheExchange()
    {
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("opsdeck.ini")), "[market]\nweight_limit = 30\n");
        Headless market(tmp.path());
        QVERIFY(market.startMarketOnly({QStringLiteral("--market-port"), QStringLiteral("0")}));
        const QString base = market.baseUrl();
        QVERIFY(!market.readStdout().contains("OPSDECK_API")); // no runtime, no API

        auto [status, body] = curl({base + QStringLiteral("/api/v3/time")});
        QCOMPARE(status, 200);
        QVERIFY(QJsonDocument::fromJson(body).object().value(QStringLiteral("serverTime")).toDouble() > 1.7e12);
        auto [badStatus, badBody] = curl({base + QStringLiteral("/api/v3/depth?symbol=NOPE")});
        QCOMPARE(badStatus, 400);
        QCOMPARE(QJsonDocument::fromJson(badBody).object().value(QStringLiteral("code")).toInt(), -1121);
        // [market] weight_limit = 30 from the config: exchangeInfo weighs 20, so the second is 429.
        QCOMPARE(curl({base + QStringLiteral("/api/v3/exchangeInfo")}).first, 200);
        auto [limited, limitedBody] = curl({QStringLiteral("-D"), QStringLiteral("-"),
                                            base + QStringLiteral("/api/v3/exchangeInfo")});
        QCOMPARE(limited, 429);
        QVERIFY2(limitedBody.contains("Retry-After:"), limitedBody.constData());
        QCOMPARE(market.terminate(SIGTERM), 0);
        QVERIFY(market.readStderr().contains("Stopped cleanly"));
    }

    void marketFlagsAreChecked_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QByteArray>("message");
        QTest::newRow("port range") << QStringList{QStringLiteral("--market-port"), QStringLiteral("70000")}
                                    << QByteArray("--market-port must be a port number");
        QTest::newRow("market-only with api-port")
            << QStringList{QStringLiteral("--market-only"), QStringLiteral("--api-port"), QStringLiteral("0")}
            << QByteArray("--market-only runs only the market simulator");
    }

    void marketFlagsAreChecked()
    {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, message);
        QTemporaryDir tmp;
        const Run run = runToEnd(args, tmp.path());
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(message), run.err.constData());
    }

    void takenMarketPortExits4()
    {
        QTemporaryDir tmp;
        QTcpServer holder;
        QVERIFY(holder.listen(QHostAddress::LocalHost, 0));
        const Run run = runToEnd({QStringLiteral("--headless"), QStringLiteral("--api-port"), QStringLiteral("0"),
                                  QStringLiteral("--market-port"), QString::number(holder.serverPort()),
                                  QStringLiteral("--data-dir"), tmp.filePath(QStringLiteral("data"))},
                                 tmp.path());
        QCOMPARE(run.exitCode, 4);
        QVERIFY2(run.err.contains("Market simulator"), run.err.constData());
    }
};

QTEST_GUILESS_MAIN(TstHeadless)
#include "tst_headless.moc"

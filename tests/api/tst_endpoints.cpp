// The REST endpoints of issue 7 over fake control lambdas and a real EventLog: every route and
// bad-input class through ApiServer::handle(), save confinement in a temporary exports dir, the
// OpenAPI document against the route table, Prometheus text, and the GET /events long-poll over
// real sockets (answered on an event, on a short timeout, and dropped when the client leaves).
#include "../support/schemacheck.h"
#include "api/apiserver.h"
#include "api/configrequest.h"
#include "api/prometheus.h"
#include "api/serverthread.h"
#include "core/monitor/eventlog.h"
#include "core/monitor/performancemonitor.h"
#include "core/support/latencyhistogram.h"
#include "support/testutil.h"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QDirIterator>
#include <QtCore/QProcess>
#include <QtCore/QTimeZone>
#include <QtCore/QJsonDocument>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <stdexcept>

using namespace opsdeck;
using namespace opsdeck::api;

namespace {

SystemProbe::Options probeOptions()
{
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    return options;
}

ApiRequest request(const QByteArray &method, const QByteArray &target, const QByteArray &body = {},
                   const QByteArray &contentType = {})
{
    ApiRequest r;
    r.method = method;
    const qsizetype q = target.indexOf('?');
    r.path = QString::fromUtf8(q < 0 ? target : target.left(q));
    if (q >= 0)
        r.query = parseQuery(target.mid(q + 1));
    r.headers.append({QByteArrayLiteral("host"), QByteArrayLiteral("127.0.0.1")});
    if (!contentType.isEmpty())
        r.headers.append({QByteArrayLiteral("content-type"), contentType});
    r.body = body;
    return r;
}

QJsonObject json(const HttpReply &reply)
{
    return QJsonDocument::fromJson(reply.body).object();
}

QString code(const HttpReply &reply)
{
    return json(reply).value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString();
}

QByteArray rawBody(const QByteArray &raw)
{
    const qsizetype end = raw.indexOf("\r\n\r\n");
    return end < 0 ? QByteArray() : raw.mid(end + 4);
}

// What the fake controls saw, shared with the lambdas.
struct Calls
{
    AlertFilter lastFilter;
    qint64 acked = 0;
    int cleared = 0;
    QJsonValue rulesBody;
    QString historyCategory;
    qint64 historyFrom = -1;
    qint64 historyTo = -1;
    QByteArray configBody;
    QByteArray configType;
    QString keysPrefix;
    int keysLimit = 0;
    QString pattern;
    QString tag;
    QString cancelled;
};

// "" when the file is valid against docs/schemas/monitoring_export.schema.json (Debian's
// python3-jsonschema), else the validator's message.
QString validateAgainstSchema(const QString &path)
{
    return opsdeck::test::validateAgainstSchema(
        QStringLiteral(OPSDECK_SOURCE_DIR "/docs/schemas/monitoring_export.schema.json"), path);
}

} // namespace

class TstEndpoints : public QObject
{
    Q_OBJECT

private:
    ManualClock m_clock;
    std::unique_ptr<PerformanceMonitor> m_monitor;
    std::unique_ptr<EventLog> m_events;
    std::unique_ptr<QTemporaryDir> m_data;
    std::shared_ptr<Calls> m_calls;
    std::unique_ptr<ApiServer> m_server;
    QThread m_thread;
    bool m_listening = false;

    QString exportsDir() const { return m_data->filePath(QStringLiteral("exports")); }

    ApiServer::Settings fullSettings()
    {
        ApiServer::Settings settings;
        settings.port = 0;
        settings.security.requireKey = false; // auth has its own tests (security issue)
        settings.exportsDir = exportsDir();
        settings.events = m_events.get();
        auto calls = m_calls;

        MonitorControl &monitor = settings.monitorControl;
        monitor.alerts = [calls](const AlertFilter &filter) {
            calls->lastFilter = filter;
            QJsonArray out;
            for (qint64 id = filter.sinceId + 1; id <= filter.sinceId + 3 && out.size() < filter.limit; ++id) {
                out.append(QJsonObject{{QStringLiteral("id"), id},
                                       {QStringLiteral("level"), QStringLiteral("warning")},
                                       {QStringLiteral("source"), QStringLiteral("system")},
                                       {QStringLiteral("message"), QStringLiteral("CPU high")}});
            }
            return out;
        };
        monitor.acknowledge = [calls](qint64 id) -> Status {
            if (id == 99)
                return fail(QStringLiteral("unknown_alert"), QStringLiteral("No alert 99."));
            calls->acked = id;
            return ok();
        };
        monitor.clearAlerts = [calls] { ++calls->cleared; };
        monitor.rules = [] {
            return QJsonArray{QJsonObject{{QStringLiteral("name"), QStringLiteral("cpu_usage")}}};
        };
        monitor.setRules = [calls](const QJsonValue &body) -> Result<QJsonArray> {
            calls->rulesBody = body;
            if (!body.isArray()) {
                return fail(QStringLiteral("invalid_rules"), QStringLiteral("Rules must be an array."),
                            {{QStringLiteral("problems"), QJsonArray{QStringLiteral("not an array")}}});
            }
            return body.toArray();
        };
        monitor.history = [calls](const QString &category, qint64 from, qint64 to, int) -> Result<QJsonArray> {
            calls->historyCategory = category;
            calls->historyFrom = from;
            calls->historyTo = to;
            return QJsonArray{QJsonObject{{QStringLiteral("timestamp_ms"), from},
                                          {QStringLiteral("from_history"), true}}};
        };

        settings.config.get = [] {
            return QJsonObject{{QStringLiteral("sections"),
                                QJsonObject{{QStringLiteral("cache"),
                                             QJsonObject{{QStringLiteral("default_ttl"), 300}}}}},
                               {QStringLiteral("restart_keys"), QJsonArray{QStringLiteral("api.api_port")}}};
        };
        settings.config.put = [calls](const QByteArray &body, const QByteArray &type) -> Result<QJsonObject> {
            calls->configBody = body;
            calls->configType = type;
            if (body.contains("bogus")) {
                return fail(QStringLiteral("invalid_config"), QStringLiteral("1 finding."),
                            {{QStringLiteral("findings"),
                              QJsonArray{QJsonObject{{QStringLiteral("code"), QStringLiteral("unknown_key")},
                                                     {QStringLiteral("key"), QStringLiteral("bogus")}}}}});
            }
            return QJsonObject{{QStringLiteral("applied"), QJsonArray{QStringLiteral("cache.default_ttl")}},
                               {QStringLiteral("restart_required"), QJsonArray{QStringLiteral("api.api_port")}}};
        };

        settings.cache.stats = [] { return QJsonObject{{QStringLiteral("memory_size"), 7}}; };
        settings.cache.keys = [calls](const QString &prefix, int limit) {
            calls->keysPrefix = prefix;
            calls->keysLimit = limit;
            return QJsonArray{QString(prefix + u'1'), QString(prefix + u'2')};
        };
        settings.cache.invalidatePattern = [calls](const QString &pattern) -> Result<int> {
            calls->pattern = pattern;
            if (pattern == u"(")
                return fail(QStringLiteral("invalid_pattern"), QStringLiteral("Unbalanced parenthesis."));
            return 4;
        };
        settings.cache.invalidateTag = [calls](const QString &tag) {
            calls->tag = tag;
            return 2;
        };

        settings.tasks.list = [] { return QJsonArray{QJsonObject{{QStringLiteral("id"), QStringLiteral("t1")}}}; };
        settings.tasks.cancel = [calls](const QString &id) -> Status {
            if (id == u"gone")
                return fail(QStringLiteral("unknown_task"), QStringLiteral("No task gone."));
            if (id == u"done")
                return fail(QStringLiteral("not_cancellable"), QStringLiteral("Task done has finished."));
            calls->cancelled = id;
            return ok();
        };
        settings.prometheus.histograms = [] {
            LatencyHistogram h;
            h.record(200'000);        // 0.2 ms
            h.record(3'000'000);      // 3 ms
            h.record(3'000'000);
            h.record(40'000'000'000); // 40 s: only +Inf
            return QList<PrometheusHistogram>{prometheus::histogramFromSnapshot(
                QStringLiteral("opsdeck_http_request_duration_seconds"),
                QStringLiteral("HTTP request latency"),
                {{QStringLiteral("api"), QStringLiteral("we\"ird\\na\nme")}}, h.snapshot())};
        };
        return settings;
    }

    void makeServer(ApiServer::Settings settings)
    {
        stopServer();
        m_server = std::make_unique<ApiServer>(std::move(settings), *m_monitor, m_clock);
    }

    quint16 listen()
    {
        const Result<quint16> port = listenInThread(*m_server, m_thread);
        if (!port)
            qWarning("listen failed: %s", qPrintable(port.error().message));
        m_listening = port.has_value();
        return port.value_or(0);
    }

    void stopServer()
    {
        if (m_listening)
            shutdownInThread(*m_server, m_thread);
        m_listening = false;
        m_server.reset();
    }

    HttpReply call(const QByteArray &method, const QByteArray &target, const QByteArray &body = {},
                   const QByteArray &contentType = {})
    {
        return m_server->handle(request(method, target, body, contentType));
    }

    void sampleNextSecond()
    {
        m_clock.advance(std::chrono::seconds(1));
        m_monitor->sampleNow();
    }

private Q_SLOTS:
    void init()
    {
        m_clock.setWallMsecs(1'798'761'600'000);
        PerformanceMonitor::Settings monitorSettings;
        monitorSettings.collectionIntervalSeconds = 60; // ticks only when the test says so (ring: 60)
        m_monitor = std::make_unique<PerformanceMonitor>(probeOptions(), monitorSettings, m_clock);
        m_events = std::make_unique<EventLog>(8, m_clock);
        m_data = std::make_unique<QTemporaryDir>();
        QVERIFY(m_data->isValid());
        m_calls = std::make_shared<Calls>();
        makeServer(fullSettings());
    }

    void cleanup()
    {
        stopServer();
        m_monitor.reset();
        m_events.reset();
        m_data.reset();
    }

    // ---- the route table and its documents ----

    void openApiListsExactlyTheRoutes()
    {
        const HttpReply reply = call("GET", "/openapi.json");
        QCOMPARE(reply.status, 200);
        if (const QString path = qEnvironmentVariable("OPSDECK_DUMP_OPENAPI"); !path.isEmpty()) {
            QFile dump(path); // for an external validator (openapi-spec-validator)
            QVERIFY(dump.open(QIODevice::WriteOnly));
            dump.write(reply.body);
        }
        const QJsonObject doc = json(reply);
        QCOMPARE(doc.value(QStringLiteral("openapi")).toString(), QStringLiteral("3.0.3"));
        QSet<QString> documented;
        const QJsonObject paths = doc.value(QStringLiteral("paths")).toObject();
        for (auto path = paths.begin(); path != paths.end(); ++path) {
            const QJsonObject item = path.value().toObject();
            for (auto op = item.begin(); op != item.end(); ++op) {
                documented.insert(op.key().toUpper() + u' ' + path.key());
                // Every {param} of the path is declared as a path parameter.
                const QJsonArray params = op.value().toObject().value(QStringLiteral("parameters")).toArray();
                static const QRegularExpression capture(QStringLiteral("\\{([a-z_]+)\\}"));
                for (auto m = capture.globalMatch(path.key()); m.hasNext();) {
                    const QString name = m.next().captured(1);
                    const bool declared = std::any_of(params.begin(), params.end(), [&name](const QJsonValue &p) {
                        return p.toObject().value(QStringLiteral("name")).toString() == name
                               && p.toObject().value(QStringLiteral("in")).toString() == u"path";
                    });
                    QVERIFY2(declared, qPrintable(path.key()));
                }
            }
        }
        QSet<QString> registered;
        for (const Route &route : m_server->routes().routes())
            registered.insert(QString::fromLatin1(route.method) + u' ' + route.pattern);
        QCOMPARE(documented, registered);
        // The issue's endpoints are all there.
        for (const char *expected :
             {"GET /monitoring/metrics", "GET /monitoring/alerts", "POST /monitoring/save",
              "POST /monitoring/clear-alerts", "POST /monitoring/alerts/{id}/ack", "GET /monitoring/rules",
              "PUT /monitoring/rules", "GET /health", "GET /metrics", "GET /config", "PUT /config",
              "GET /cache/stats", "GET /cache/keys", "POST /cache/invalidate", "GET /tasks",
              "POST /tasks/{id}/cancel", "GET /events", "GET /openapi.json"}) {
            QVERIFY2(registered.contains(QString::fromLatin1(expected)), expected);
        }
        // /health is public, the rest carry the document's security.
        QCOMPARE(paths.value(QStringLiteral("/health")).toObject().value(QStringLiteral("get")).toObject()
                     .value(QStringLiteral("security")).toArray().size(), 0);
        QVERIFY(paths.value(QStringLiteral("/health")).toObject().value(QStringLiteral("get")).toObject()
                    .contains(QStringLiteral("security")));
        const QJsonArray alertParams = paths.value(QStringLiteral("/monitoring/alerts")).toObject()
                                           .value(QStringLiteral("get")).toObject().value(QStringLiteral("parameters")).toArray();
        QCOMPARE(alertParams.size(), 5);
    }

    void everyRouteAnswersUnderApiV1_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("path");
        // Built from the route table itself so a new route is covered automatically.
        ApiServer::Settings settings;
        PerformanceMonitor monitor(probeOptions(), {}, m_clock);
        ApiServer server(settings, monitor, m_clock);
        for (const Route &route : server.routes().routes()) {
            QByteArray path = route.pattern.toUtf8();
            path.replace("{id}", "7");
            QTest::newRow(QByteArray(route.method + ' ' + route.pattern.toUtf8()).constData()) << route.method << path;
        }
    }
    void everyRouteAnswersUnderApiV1()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, path);
        m_monitor->start();
        const QByteArray body = method == "PUT" ? QByteArrayLiteral("[]") : QByteArray();
        const QByteArray type = method == "PUT" ? QByteArrayLiteral("application/json") : QByteArray();
        const HttpReply plain = call(method, path, body, type);
        m_clock.advance(std::chrono::seconds(1)); // a second save gets another default name
        const HttpReply versioned = call(method, "/api/v1" + path, body, type);
        QVERIFY2(plain.status != 404 && plain.status != 405, plain.body.constData());
        QCOMPARE(versioned.status, plain.status);
        QCOMPARE(versioned.contentType, plain.contentType);
    }

    void methodNotAllowedAndHead()
    {
        HttpReply reply = call("DELETE", "/monitoring/rules");
        QCOMPARE(reply.status, 405);
        QCOMPARE(code(reply), QStringLiteral("method_not_allowed"));
        const auto allow = std::find_if(reply.headers.cbegin(), reply.headers.cend(),
                                        [](const auto &h) { return h.first == "Allow"; });
        QVERIFY(allow != reply.headers.cend());
        QCOMPARE(allow->second, QByteArrayLiteral("GET, PUT, HEAD, OPTIONS"));
        QCOMPARE(call("GET", "/monitoring/save").status, 405);
        QCOMPARE(call("POST", "/metrics").status, 405);
        // HEAD: the GET answer's headers, and serialize() leaves the body out.
        reply = call("HEAD", "/metrics");
        QCOMPARE(reply.status, 200);
        const QByteArray wire = reply.serialize(false, true);
        QVERIFY(wire.endsWith("\r\n\r\n"));
        QVERIFY(wire.contains(QByteArray("Content-Length: " + QByteArray::number(reply.body.size()))));
    }

    // ---- input checking ----

    void badInput_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QString>("code");
        const auto row = [](const char *name, const char *method, const char *target, const char *c) {
            QTest::newRow(name) << QByteArray(method) << QByteArray(target) << QString::fromLatin1(c);
        };
        row("unknown parameter", "GET", "/monitoring/alerts?lvl=warning", "unknown_parameter");
        row("duplicate parameter", "GET", "/monitoring/alerts?limit=5&limit=6", "duplicate_parameter");
        row("parameter on a route without any", "GET", "/tasks?all=1", "unknown_parameter");
        row("health takes none", "GET", "/health?x", "unknown_parameter");
        row("level not allowed", "GET", "/monitoring/alerts?level=fatal", "invalid_parameter");
        row("level plus is space", "GET", "/monitoring/alerts?level=warn+ing", "invalid_parameter");
        row("level case", "GET", "/monitoring/alerts?level=WARNING", "invalid_parameter");
        row("min_level not allowed", "GET", "/monitoring/alerts?min_level=loud", "invalid_parameter");
        row("level and min_level", "GET", "/monitoring/alerts?level=info&min_level=error", "conflicting_parameters");
        row("alert limit 0", "GET", "/monitoring/alerts?limit=0", "invalid_parameter");
        row("alert limit 1001", "GET", "/monitoring/alerts?limit=1001", "invalid_parameter");
        row("alert limit fraction", "GET", "/monitoring/alerts?limit=2.5", "invalid_parameter");
        row("alert limit plus sign", "GET", "/monitoring/alerts?limit=%2B5", "invalid_parameter");
        row("alert limit trailing space", "GET", "/monitoring/alerts?limit=5+", "invalid_parameter");
        row("since negative", "GET", "/monitoring/alerts?since=-1", "invalid_parameter");
        row("since text", "GET", "/monitoring/alerts?since=abc", "invalid_parameter");
        row("source too long", "GET", QByteArray("/monitoring/alerts?source=" + QByteArray(200, 'a')).constData(), "invalid_parameter");
        row("source control char", "GET", "/monitoring/alerts?source=a%01b", "invalid_parameter");
        row("metrics since garbage", "GET", "/monitoring/metrics?since=yesterday", "invalid_parameter");
        row("metrics time without zone", "GET", "/monitoring/metrics?from=2027-01-01T00:00:00", "invalid_parameter");
        row("metrics since and from", "GET", "/monitoring/metrics?since=5&from=1", "conflicting_parameters");
        row("metrics from after to", "GET", "/monitoring/metrics?from=2000&to=1000", "invalid_range");
        row("metrics category", "GET", "/monitoring/metrics?category=disk", "invalid_parameter");
        row("ack id text", "POST", "/monitoring/alerts/abc/ack", "invalid_parameter");
        row("ack id zero", "POST", "/monitoring/alerts/0/ack", "invalid_parameter");
        row("overwrite not bool", "POST", "/monitoring/save?overwrite=maybe", "invalid_parameter");
        row("cache keys limit", "GET", "/cache/keys?limit=-1", "invalid_parameter");
        row("invalidate neither", "POST", "/cache/invalidate", "missing_parameter");
        row("invalidate both", "POST", "/cache/invalidate?pattern=a&tag=b", "conflicting_parameters");
        row("invalidate empty tag", "POST", "/cache/invalidate?tag=", "invalid_parameter");
        row("invalidate bad regex", "POST", "/cache/invalidate?pattern=(", "invalid_pattern");
        row("events timeout too long", "GET", "/events?timeout=61", "invalid_parameter");
        row("events timeout text", "GET", "/events?timeout=soon", "invalid_parameter");
        row("events timeout nan", "GET", "/events?timeout=nan", "invalid_parameter");
        row("events since negative", "GET", "/events?since=-3", "invalid_parameter");
        row("events limit", "GET", "/events?limit=0", "invalid_parameter");
        row("rules bad json", "PUT", "/monitoring/rules", "invalid_json");
        row("rules invalid", "PUT", "/monitoring/rules#object", "invalid_rules");
        row("config empty body", "PUT", "/config", "empty_body");
        row("config findings", "PUT", "/config#bogus", "invalid_config");
    }
    void badInput()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        QFETCH(QString, code);
        m_monitor->start();
        QByteArray body;
        QByteArray type;
        if (target.endsWith("#object")) {
            target.chop(7);
            body = "{\"rules\": 5}";
            type = "application/json";
        } else if (target.endsWith("#bogus")) {
            target.chop(6);
            body = "[cache]\nbogus = 1\n";
            type = "text/plain";
        } else if (method == "PUT" && target == "/monitoring/rules") {
            body = "[{\"name\": ";
            type = "application/json";
        }
        const HttpReply reply = call(method, target, body, type);
        QCOMPARE(reply.status, 400);
        QCOMPARE(::code(reply), code);
        const QJsonObject error = json(reply).value(QStringLiteral("error")).toObject();
        QVERIFY(!error.value(QStringLiteral("message")).toString().isEmpty());
        QCOMPARE(reply.contentType, QByteArrayLiteral("application/json"));
    }

    void wrongMediaTypeIs415()
    {
        m_monitor->start();
        HttpReply reply = call("PUT", "/monitoring/rules", "[]", "text/plain");
        QCOMPARE(reply.status, 415);
        QCOMPARE(code(reply), QStringLiteral("unsupported_media_type"));
        reply = call("PUT", "/config", "a=1", "application/x-www-form-urlencoded");
        QCOMPARE(reply.status, 415);
    }

    void noInternalTextIsEchoed()
    {
        ApiServer::Settings settings = fullSettings();
        settings.tasks.list = []() -> QJsonArray { throw std::runtime_error("secret /var/lib/db detail"); };
        makeServer(settings);
        const HttpReply reply = call("GET", "/tasks");
        QCOMPARE(reply.status, 500);
        QCOMPARE(code(reply), QStringLiteral("internal_error"));
        QVERIFY(!reply.body.contains("secret"));
    }

    void unwiredPartsAre503_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QString>("code");
        QTest::newRow("alerts") << QByteArray("GET") << QByteArray("/monitoring/alerts") << QStringLiteral("alerts_unavailable");
        QTest::newRow("save") << QByteArray("POST") << QByteArray("/monitoring/save") << QStringLiteral("alerts_unavailable");
        QTest::newRow("clear") << QByteArray("POST") << QByteArray("/monitoring/clear-alerts") << QStringLiteral("alerts_unavailable");
        QTest::newRow("ack") << QByteArray("POST") << QByteArray("/monitoring/alerts/3/ack") << QStringLiteral("alerts_unavailable");
        QTest::newRow("rules") << QByteArray("GET") << QByteArray("/monitoring/rules") << QStringLiteral("alerts_unavailable");
        QTest::newRow("config") << QByteArray("GET") << QByteArray("/config") << QStringLiteral("config_unavailable");
        QTest::newRow("cache") << QByteArray("GET") << QByteArray("/cache/stats") << QStringLiteral("cache_unavailable");
        QTest::newRow("cache keys") << QByteArray("GET") << QByteArray("/cache/keys") << QStringLiteral("cache_unavailable");
        QTest::newRow("tasks") << QByteArray("GET") << QByteArray("/tasks") << QStringLiteral("tasks_unavailable");
        QTest::newRow("cancel") << QByteArray("POST") << QByteArray("/tasks/x/cancel") << QStringLiteral("tasks_unavailable");
        QTest::newRow("events") << QByteArray("GET") << QByteArray("/events") << QStringLiteral("events_unavailable");
    }
    void unwiredPartsAre503()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        QFETCH(QString, code);
        ApiServer::Settings settings;
        settings.security.requireKey = false;
        settings.exportsDir = exportsDir();
        makeServer(settings);
        m_monitor->start();
        const HttpReply reply = call(method, target);
        QCOMPARE(reply.status, 503);
        QCOMPARE(::code(reply), code);
    }

    void monitoringRoutesAre503UntilFirstSample_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::newRow("metrics") << QByteArray("GET") << QByteArray("/monitoring/metrics");
        QTest::newRow("metrics range") << QByteArray("GET") << QByteArray("/monitoring/metrics?since=0");
        QTest::newRow("alerts") << QByteArray("GET") << QByteArray("/monitoring/alerts");
        QTest::newRow("save") << QByteArray("POST") << QByteArray("/monitoring/save");
        QTest::newRow("clear") << QByteArray("POST") << QByteArray("/monitoring/clear-alerts");
        QTest::newRow("ack") << QByteArray("POST") << QByteArray("/monitoring/alerts/1/ack");
        QTest::newRow("rules") << QByteArray("GET") << QByteArray("/monitoring/rules");
    }
    void monitoringRoutesAre503UntilFirstSample()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        const HttpReply reply = call(method, target);
        QCOMPARE(reply.status, 503);
        QCOMPARE(code(reply), QStringLiteral("monitor_not_running"));
        QVERIFY(QDir(exportsDir()).entryList(QDir::Files).isEmpty());
    }

    // ---- monitoring ----

    void metricsRanges()
    {
        const qint64 t0 = m_clock.wallMsecs();
        m_monitor->start(); // sample at t0
        for (int i = 1; i <= 5; ++i)
            sampleNextSecond();
        // Default: the newest 10 of the snapshot, prepared bytes.
        HttpReply reply = call("GET", "/monitoring/metrics?category=system");
        QCOMPARE(reply.status, 200);
        QCOMPARE(json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray().size(), 6);

        // since (epoch ms, exclusive): within memory, no history call.
        reply = call("GET", "/monitoring/metrics?category=system&since=" + QByteArray::number(t0 + 3000));
        QCOMPARE(reply.status, 200);
        QJsonArray system = json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray();
        QVERIFY2(system.size() == 2, reply.body.left(600).constData());
        QCOMPARE(system.first().toObject().value(QStringLiteral("timestamp_ms")).toInteger(), t0 + 4000);
        QVERIFY(m_calls->historyCategory.isEmpty());

        // since as ISO-8601, '+' offset percent-encoded; from/to inclusive.
        const QByteArray iso = QDateTime::fromMSecsSinceEpoch(t0 + 1000, QTimeZone::utc())
                                   .toString(Qt::ISODateWithMs).toLatin1()
                                   .replace("+", "%2B");
        reply = call("GET", "/monitoring/metrics?category=system&from=" + iso + "&to=" + QByteArray::number(t0 + 2000));
        system = json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray();
        QVERIFY2(system.size() == 2, reply.body.left(300).constData());
        reply = call("GET", "/monitoring/metrics?category=system&since=2027-01-01T01:00:03.000%2B01:00");
        QCOMPARE(reply.status, 200);
        QCOMPARE(json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray().size(), 2);
        // The offset's '+' sent unencoded arrives as a space: still understood.
        reply = call("GET", "/monitoring/metrics?category=system&since=2027-01-01T01:00:03.000+01:00");
        QCOMPARE(reply.status, 200);
        QCOMPARE(json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray().size(), 2);
        reply = call("GET", "/monitoring/metrics?category=system&since=2027-01-01T00:00:03Z");
        QCOMPARE(json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray().size(), 2);

        // limit keeps the newest of the range.
        reply = call("GET", "/monitoring/metrics?category=system&since=0&limit=2");
        system = json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system")).toArray();
        QVERIFY(system.size() <= 2);

        // A range older than memory goes to the history.
        reply = call("GET", "/monitoring/metrics?category=system&from=" + QByteArray::number(t0 - 60'000)
                                + "&to=" + QByteArray::number(t0 - 1000));
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->historyCategory, QStringLiteral("system"));
        QCOMPARE(m_calls->historyFrom, t0 - 60'000);
        QCOMPARE(m_calls->historyTo, t0 - 1000);
        QVERIFY(json(reply).value(QStringLiteral("metrics")).toObject().value(QStringLiteral("system"))
                    .toArray().first().toObject().value(QStringLiteral("from_history")).toBool());
    }

    void alertsShapeAndFilter()
    {
        m_monitor->start();
        HttpReply reply = call("GET", "/monitoring/alerts");
        QCOMPARE(reply.status, 200);
        QJsonObject o = json(reply);
        QVERIFY(o.contains(QStringLiteral("timestamp")));
        QCOMPARE(o.value(QStringLiteral("count")).toInt(), 3);
        QCOMPARE(o.value(QStringLiteral("alerts")).toArray().size(), 3);
        QCOMPARE(o.value(QStringLiteral("next_since")).toInteger(), 3);
        QCOMPARE(m_calls->lastFilter.limit, 100);
        QVERIFY(m_calls->lastFilter.level.isEmpty());

        reply = call("GET", "/monitoring/alerts?level=critical&source=cache+tier&since=10&limit=1000");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->lastFilter.level, QStringLiteral("critical"));
        QCOMPARE(m_calls->lastFilter.source, QStringLiteral("cache tier")); // '+' is a space
        QCOMPARE(m_calls->lastFilter.sinceId, 10);
        QCOMPARE(m_calls->lastFilter.limit, 1000);
        QCOMPARE(json(reply).value(QStringLiteral("next_since")).toInteger(), 13);

        reply = call("GET", "/api/v1/monitoring/alerts?min_level=error&limit=1");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->lastFilter.minLevel, QStringLiteral("error"));
        QCOMPARE(json(reply).value(QStringLiteral("count")).toInt(), 1);
    }

    void clearAckAndRules()
    {
        m_monitor->start();
        HttpReply reply = call("POST", "/monitoring/clear-alerts");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->cleared, 1);
        QVERIFY(json(reply).contains(QStringLiteral("message")));
        QVERIFY(json(reply).contains(QStringLiteral("timestamp")));

        reply = call("POST", "/monitoring/alerts/42/ack");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->acked, 42);
        QCOMPARE(json(reply).value(QStringLiteral("id")).toInteger(), 42);
        reply = call("POST", "/monitoring/alerts/99/ack");
        QCOMPARE(reply.status, 404);
        QCOMPARE(code(reply), QStringLiteral("unknown_alert"));

        reply = call("GET", "/monitoring/rules");
        QCOMPARE(reply.status, 200);
        QCOMPARE(json(reply).value(QStringLiteral("count")).toInt(), 1);
        reply = call("PUT", "/monitoring/rules", "[{\"name\":\"disk\"}]", "application/json; charset=utf-8");
        QCOMPARE(reply.status, 200);
        QCOMPARE(json(reply).value(QStringLiteral("rules")).toArray().size(), 1);
        QVERIFY(m_calls->rulesBody.isArray());
        reply = call("PUT", "/monitoring/rules", "{\"rules\": 5}", "application/json");
        QCOMPARE(reply.status, 400);
        QVERIFY(json(reply).value(QStringLiteral("error")).toObject().value(QStringLiteral("details")).toObject()
                    .contains(QStringLiteral("problems")));
    }

    // ---- save ----

    void saveWritesOnlyPlainNamesInsideExports_data()
    {
        QTest::addColumn<QByteArray>("encodedName");
        QTest::newRow("parent") << QByteArray("..%2Fx");
        QTest::newRow("parent raw") << QByteArray("../x");
        QTest::newRow("absolute") << QByteArray("%2Fetc%2Fpasswd");
        QTest::newRow("subdir") << QByteArray("a%2Fb");
        QTest::newRow("backslash") << QByteArray("a%5Cb");
        QTest::newRow("empty") << QByteArray("");
        QTest::newRow("1000 chars") << QByteArray(1000, 'a');
        QTest::newRow("129 chars") << QByteArray(129, 'a');
        QTest::newRow("nul") << QByteArray("a%00b.json");
        QTest::newRow("hidden") << QByteArray(".hidden");
        QTest::newRow("dot dot inside") << QByteArray("a..b");
        QTest::newRow("space") << QByteArray("a+b.json");
        QTest::newRow("unicode") << QByteArray("m%C3%A9trics.json");
        QTest::newRow("tilde") << QByteArray("~root");
    }
    void saveWritesOnlyPlainNamesInsideExports()
    {
        QFETCH(QByteArray, encodedName);
        m_monitor->start();
        const HttpReply reply = call("POST", "/monitoring/save?filename=" + encodedName);
        QCOMPARE(reply.status, 400);
        QVERIFY(code(reply) == u"invalid_filename" || code(reply) == u"invalid_parameter");
        // Nothing was written anywhere under the data dir.
        QDirIterator it(m_data->path(), QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
        QVERIFY2(!it.hasNext(), qPrintable(it.hasNext() ? it.next() : QString()));
        QVERIFY(!QFileInfo::exists(m_data->filePath(QStringLiteral("x"))));
    }

    void saveWritesAtomicallyAndRefusesToOverwrite()
    {
        m_monitor->start();
        // Default name from the (manual) clock, UTC.
        HttpReply reply = call("POST", "/monitoring/save");
        QCOMPARE(reply.status, 200);
        QJsonObject o = json(reply);
        QCOMPARE(o.value(QStringLiteral("file")).toString(), QStringLiteral("performance_metrics_20270101_000000.json"));
        QVERIFY(o.contains(QStringLiteral("message")));
        QVERIFY(o.contains(QStringLiteral("timestamp")));
        QFile written(QDir(exportsDir()).filePath(o.value(QStringLiteral("file")).toString()));
        QVERIFY(written.open(QIODevice::ReadOnly));
        const QByteArray bytes = written.readAll();
        QCOMPARE(o.value(QStringLiteral("bytes")).toInteger(), bytes.size());
        const QString schemaProblem = validateAgainstSchema(written.fileName());
        QVERIFY2(schemaProblem.isEmpty(), qPrintable(schemaProblem));
        const QJsonObject saved = QJsonDocument::fromJson(bytes).object();
        QCOMPARE(saved.value(QStringLiteral("schema_version")).toInt(), 1);
        QCOMPARE(saved.value(QStringLiteral("opsdeck_version")).toString(), QStringLiteral(OPSDECK_VERSION_STRING));
        QVERIFY(saved.contains(QStringLiteral("timestamp")));
        QCOMPARE(saved.value(QStringLiteral("metrics")).toObject().keys().size(), 4);
        QCOMPARE(saved.value(QStringLiteral("alerts")).toArray().size(), 3);
        QCOMPARE(m_calls->lastFilter.limit, 1000);

        reply = call("POST", "/monitoring/save?filename=run-1_a.json");
        QCOMPARE(reply.status, 200);
        reply = call("POST", "/monitoring/save?filename=run-1_a.json");
        QCOMPARE(reply.status, 409);
        QCOMPARE(code(reply), QStringLiteral("file_exists"));
        reply = call("POST", "/monitoring/save?filename=run-1_a.json&overwrite=false");
        QCOMPARE(reply.status, 409);
        reply = call("POST", "/monitoring/save?filename=run-1_a.json&overwrite=true");
        QCOMPARE(reply.status, 200);
        // Only the two files, no temporary left behind.
        QCOMPARE(QDir(exportsDir()).entryList(QDir::Files | QDir::Hidden).size(), 2);

        // A link in exports/ is never followed, not even with overwrite.
        const QString outside = m_data->filePath(QStringLiteral("outside.txt"));
        QFile target(outside);
        QVERIFY(target.open(QIODevice::WriteOnly));
        target.write("keep");
        target.close();
        QVERIFY(QFile::link(outside, QDir(exportsDir()).filePath(QStringLiteral("link.json"))));
        reply = call("POST", "/monitoring/save?filename=link.json&overwrite=true");
        QCOMPARE(reply.status, 409);
        QCOMPARE(code(reply), QStringLiteral("not_a_regular_file"));
        QVERIFY(target.open(QIODevice::ReadOnly));
        QCOMPARE(target.readAll(), QByteArrayLiteral("keep"));
    }

    void saveFailureIsAJsonError()
    {
        // The exports "directory" is a file: it cannot be created, and nothing claims success.
        QFile blocker(exportsDir());
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        m_monitor->start();
        const HttpReply reply = call("POST", "/monitoring/save?filename=a.json");
        QCOMPARE(reply.status, 500);
        QCOMPARE(code(reply), QStringLiteral("export_failed"));
        QVERIFY(!reply.body.contains(m_data->path().toUtf8()));
    }

    // ---- operations ----

    void configRoutes()
    {
        HttpReply reply = call("GET", "/config");
        QCOMPARE(reply.status, 200);
        QVERIFY(json(reply).contains(QStringLiteral("sections")));
        QVERIFY(json(reply).contains(QStringLiteral("timestamp")));

        reply = call("PUT", "/config", "[cache]\ndefault_ttl = 60\n", "text/plain; charset=utf-8");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->configType, QByteArrayLiteral("text/plain"));
        QCOMPARE(m_calls->configBody, QByteArrayLiteral("[cache]\ndefault_ttl = 60\n"));
        QCOMPARE(json(reply).value(QStringLiteral("restart_required")).toArray().first().toString(),
                 QStringLiteral("api.api_port"));

        reply = call("PUT", "/config", "[cache]\nbogus = 1\n", "text/plain");
        QCOMPARE(reply.status, 400);
        QCOMPARE(code(reply), QStringLiteral("invalid_config"));
        QCOMPARE(json(reply).value(QStringLiteral("error")).toObject().value(QStringLiteral("details")).toObject()
                     .value(QStringLiteral("findings")).toArray().size(), 1);
    }

    // The ConfigControl helper: a body laid over the running config, validated like the INI.
    void configRequestValidatesLikeTheIni()
    {
        const RuntimeConfig current;
        Result<configrequest::ConfigChange> change
            = configrequest::parseChange(current, "[cache]\ndefault_ttl = 60\n", "text/plain");
        QVERIFY2(change.has_value(), change ? "" : qPrintable(change.error().message));
        QCOMPARE(change->config.cache.defaultTtl, 60.0);
        QCOMPARE(change->applied + change->restartRequired, QStringList{QStringLiteral("cache/default_ttl")});
        QCOMPARE(configrequest::changeAnswer(*change).value(QStringLiteral("applied")).toArray().size()
                     + configrequest::changeAnswer(*change).value(QStringLiteral("restart_required")).toArray().size(),
                 1);

        change = configrequest::parseChange(current, R"({"http": {"http_pool_size": 30}})", "application/json");
        QVERIFY(change.has_value());
        QCOMPARE(change->config.http.poolSize, 30);

        change = configrequest::parseChange(current, "[cache]\ndefault_tll = 60\nmemory_max_size = -5\n", "text/plain");
        QVERIFY(!change);
        QCOMPARE(change.error().code, QStringLiteral("invalid_config"));
        const QJsonArray findings = change.error().details.value(QStringLiteral("findings")).toArray();
        QCOMPARE(findings.size(), 2);
        QStringList codes;
        for (const QJsonValue &f : findings)
            codes.append(f.toObject().value(QStringLiteral("code")).toString());
        codes.sort();
        QCOMPARE(codes, (QStringList{QStringLiteral("out_of_range"), QStringLiteral("unknown_key")}));

        change = configrequest::parseChange(current, R"({"cache": {"default_ttl": [1]}})", "application/json");
        QVERIFY(!change);
        QCOMPARE(change.error().code, QStringLiteral("invalid_json"));
        change = configrequest::parseChange(current, "x", "text/html");
        QCOMPARE(change.error().code, QStringLiteral("unsupported_media_type"));

        const QJsonObject doc = configrequest::configDocument(current);
        QVERIFY(doc.value(QStringLiteral("sections")).toObject().value(QStringLiteral("cache")).toObject()
                    .contains(QStringLiteral("default_ttl")));
        QVERIFY(!doc.value(QStringLiteral("restart_keys")).toArray().isEmpty());

        // Through the API: every finding in the 400.
        ApiServer::Settings settings = fullSettings();
        settings.config.put = [current](const QByteArray &body, const QByteArray &type) -> Result<QJsonObject> {
            Result<configrequest::ConfigChange> c = configrequest::parseChange(current, body, type);
            if (!c)
                return tl::unexpected(c.error());
            return configrequest::changeAnswer(*c);
        };
        makeServer(settings);
        HttpReply reply = call("PUT", "/config", "[cache]\ndefault_tll = 60\nmemory_max_size = -5\n", "text/plain");
        QCOMPARE(reply.status, 400);
        QCOMPARE(json(reply).value(QStringLiteral("error")).toObject().value(QStringLiteral("details")).toObject()
                     .value(QStringLiteral("findings")).toArray().size(), 2);
        reply = call("PUT", "/config", R"({"cache": {"default_ttl": 90}})", "application/json");
        QCOMPARE(reply.status, 200);
    }

    void cacheRoutes()
    {
        HttpReply reply = call("GET", "/cache/stats");
        QCOMPARE(reply.status, 200);
        QCOMPARE(json(reply).value(QStringLiteral("stats")).toObject().value(QStringLiteral("memory_size")).toInt(), 7);

        reply = call("GET", "/cache/keys?prefix=market+data%3A&limit=2");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->keysPrefix, QStringLiteral("market data:"));
        QCOMPARE(m_calls->keysLimit, 2);
        QCOMPARE(json(reply).value(QStringLiteral("count")).toInt(), 2);
        reply = call("GET", "/cache/keys");
        QCOMPARE(m_calls->keysLimit, 100);

        reply = call("POST", "/cache/invalidate?pattern=market%3A.*");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->pattern, QStringLiteral("market:.*"));
        QCOMPARE(json(reply).value(QStringLiteral("removed")).toInt(), 4);
        reply = call("POST", "/cache/invalidate?tag=orderbook");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->tag, QStringLiteral("orderbook"));
        QCOMPARE(json(reply).value(QStringLiteral("removed")).toInt(), 2);
    }

    void taskRoutes()
    {
        HttpReply reply = call("GET", "/tasks");
        QCOMPARE(reply.status, 200);
        QCOMPARE(json(reply).value(QStringLiteral("count")).toInt(), 1);
        reply = call("POST", "/tasks/t1/cancel");
        QCOMPARE(reply.status, 200);
        QCOMPARE(m_calls->cancelled, QStringLiteral("t1"));
        reply = call("POST", "/tasks/gone/cancel");
        QCOMPARE(reply.status, 404);
        QCOMPARE(code(reply), QStringLiteral("unknown_task"));
        reply = call("POST", "/tasks/done/cancel");
        QCOMPARE(reply.status, 409);
        QCOMPARE(code(reply), QStringLiteral("not_cancellable"));
    }

    // ---- events ----

    void eventLogIds()
    {
        EventLog log(3, m_clock);
        QSignalSpy appended(&log, &EventLog::appended);
        QCOMPARE(log.lastId(), quint64(0));
        QVERIFY(log.since(0, 10).isEmpty());
        for (int i = 1; i <= 5; ++i)
            QCOMPARE(log.append(QStringLiteral("alert_raised"), {{QStringLiteral("n"), i}}), quint64(i));
        QCOMPARE(appended.size(), 5);
        QCOMPARE(log.oldestId(), quint64(3)); // capacity 3
        const QList<LoggedEvent> all = log.since(0, 10);
        QCOMPARE(all.size(), 3);
        QCOMPARE(all.first().id, quint64(3));
        QCOMPARE(log.since(3, 1).first().id, quint64(4));
        QVERIFY(log.since(5, 10).isEmpty());
        QCOMPARE(all.first().toJson().value(QStringLiteral("timestamp")).toString(),
                 QStringLiteral("2027-01-01T00:00:00.000Z"));
    }

    void eventsAnswerAtOnce()
    {
        for (int i = 0; i < 10; ++i) // capacity 8: ids 3..10 remain
            m_events->append(QStringLiteral("agent_started"), {{QStringLiteral("agent"), i}});
        HttpReply reply = call("GET", "/events?since=7");
        QCOMPARE(reply.status, 200);
        QJsonObject o = json(reply);
        QCOMPARE(o.value(QStringLiteral("events")).toArray().size(), 3);
        QCOMPARE(o.value(QStringLiteral("next_id")).toInteger(), 10);
        QCOMPARE(o.value(QStringLiteral("missed")).toBool(), false);
        const QJsonObject first = o.value(QStringLiteral("events")).toArray().first().toObject();
        QCOMPARE(first.value(QStringLiteral("id")).toInteger(), 8);
        QCOMPARE(first.value(QStringLiteral("type")).toString(), QStringLiteral("agent_started"));

        reply = call("GET", "/events?since=0&limit=2");
        o = json(reply);
        QCOMPARE(o.value(QStringLiteral("events")).toArray().size(), 2);
        QCOMPARE(o.value(QStringLiteral("missed")).toBool(), true); // 1 and 2 dropped out
        QCOMPARE(o.value(QStringLiteral("next_id")).toInteger(), 4);

        // Nothing new and no timeout: empty at once, the cursor stays.
        reply = call("GET", "/events?since=10&timeout=0");
        o = json(reply);
        QVERIFY(o.value(QStringLiteral("events")).toArray().isEmpty());
        QCOMPARE(o.value(QStringLiteral("next_id")).toInteger(), 10);
        // handle() never parks: a long-poll through it answers empty at once.
        reply = call("GET", "/events?since=10&timeout=30");
        QCOMPARE(reply.status, 200);
        QVERIFY(json(reply).value(QStringLiteral("events")).toArray().isEmpty());
        // A cursor from an earlier process starts over.
        reply = call("GET", "/events?since=5000");
        QCOMPARE(json(reply).value(QStringLiteral("events")).toArray().size(), 8);
    }

    void longPollAnswersOnEvent()
    {
        const quint16 port = listen();
        QVERIFY(port > 0);
        m_events->append(QStringLiteral("config_reloaded"));
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET /api/v1/events?since=1&timeout=30 HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
                     + "\r\n\r\n");
        QTRY_COMPARE_WITH_TIMEOUT(m_server->parkedPolls(), 1, test::scaledMs(5000));
        QCOMPARE(socket.bytesAvailable(), 0);
        m_events->append(QStringLiteral("alert_raised"), {{QStringLiteral("id"), 17}}); // another thread
        QByteArray raw;
        QTRY_VERIFY_WITH_TIMEOUT((raw += socket.readAll()).contains("\"next_id\":2"), test::scaledMs(5000));
        QCOMPARE(test::httpStatus(raw), 200);
        const QJsonObject o = QJsonDocument::fromJson(rawBody(raw)).object();
        QCOMPARE(o.value(QStringLiteral("events")).toArray().size(), 1);
        QCOMPARE(o.value(QStringLiteral("events")).toArray().first().toObject().value(QStringLiteral("type")).toString(),
                 QStringLiteral("alert_raised"));
        QCOMPARE(m_server->parkedPolls(), 0);
        // The connection stays usable (keep-alive).
        raw.clear();
        socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) + "\r\n\r\n");
        QTRY_VERIFY_WITH_TIMEOUT((raw += socket.readAll()).contains("\"status\":\"ok\""), test::scaledMs(5000));
    }

    // With the key required: a poll without it is refused at once, one with it is held and
    // answered (the re-run passes the same checks).
    void longPollWithAuth()
    {
        ApiServer::Settings settings = fullSettings();
        settings.security.requireKey = true;
        settings.security.apiKey = QByteArrayLiteral("k3y-for-tests");
        makeServer(settings);
        const quint16 port = listen();
        QVERIFY(port > 0);
        const QByteArray head = "GET /events?timeout=30 HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) + "\r\n";
        QByteArray raw = test::rawHttp(port, head + "Connection: close\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), 401);
        QCOMPARE(m_server->parkedPolls(), 0);
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(socket.waitForConnected(5000));
        socket.write(head + "X-API-Key: k3y-for-tests\r\n\r\n");
        QTRY_COMPARE_WITH_TIMEOUT(m_server->parkedPolls(), 1, test::scaledMs(5000));
        m_events->append(QStringLiteral("alerts_cleared"));
        raw.clear();
        QTRY_VERIFY_WITH_TIMEOUT((raw += socket.readAll()).contains("alerts_cleared"), test::scaledMs(5000));
        QCOMPARE(test::httpStatus(raw), 200);
    }

    void longPollAnswersOnTimeout()
    {
        const quint16 port = listen();
        QVERIFY(port > 0);
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET /events?timeout=0.05 HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
                     + "\r\nConnection: close\r\n\r\n");
        QSignalSpy closed(&socket, &QTcpSocket::disconnected);
        QVERIFY(closed.wait(test::scaledMs(5000)));
        const QByteArray raw = socket.readAll();
        QCOMPARE(test::httpStatus(raw), 200);
        const QJsonObject o = QJsonDocument::fromJson(rawBody(raw)).object();
        QVERIFY(o.value(QStringLiteral("events")).toArray().isEmpty());
        QCOMPARE(o.value(QStringLiteral("next_id")).toInteger(), 0);
        QCOMPARE(m_server->parkedPolls(), 0);
    }

    // A held poll is a request awaiting its answer, not an idle connection.
    void longPollOutlivesTheIdleTimeout()
    {
        ApiServer::Settings settings = fullSettings();
        settings.limits.idleTimeoutMs = 30;
        makeServer(settings);
        const quint16 port = listen();
        QVERIFY(port > 0);
        const QByteArray raw = test::rawHttp(port, "GET /events?timeout=0.3 HTTP/1.1\r\nHost: 127.0.0.1:"
                                                       + QByteArray::number(port) + "\r\nConnection: close\r\n\r\n",
                                             test::scaledMs(5000));
        QCOMPARE(test::httpStatus(raw), 200);
        QVERIFY(rawBody(raw).contains("\"events\":[]"));
    }

    void longPollClientLeavesMeanwhile()
    {
        const quint16 port = listen();
        QVERIFY(port > 0);
        {
            QTcpSocket socket;
            socket.connectToHost(QHostAddress::LocalHost, port);
            QVERIFY(socket.waitForConnected(5000));
            socket.write("GET /events?timeout=60 HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) + "\r\n\r\n");
            QTRY_COMPARE_WITH_TIMEOUT(m_server->parkedPolls(), 1, test::scaledMs(5000));
            socket.abort();
        }
        QTRY_COMPARE_WITH_TIMEOUT(m_server->parkedPolls(), 0, test::scaledMs(5000));
        m_events->append(QStringLiteral("agent_stopped")); // nobody to answer: nothing breaks
        const QByteArray raw = test::rawHttp(port, "GET /events HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
                                                       + "\r\nConnection: close\r\n\r\n");
        QCOMPARE(test::httpStatus(raw), 200);
        QCOMPARE(QJsonDocument::fromJson(rawBody(raw)).object().value(QStringLiteral("next_id")).toInteger(), 1);
    }

    void pipelinedRequestBehindParkedPollKeepsOrder()
    {
        const quint16 port = listen();
        QVERIFY(port > 0);
        const QByteArray host = "Host: 127.0.0.1:" + QByteArray::number(port) + "\r\n";
        const QByteArray raw = test::rawHttp(port, "GET /events?timeout=30 HTTP/1.1\r\n" + host + "\r\n"
                                                       "GET /health HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
        QCOMPARE(raw.count("HTTP/1.1 200 OK"), 2);
        QVERIFY(raw.indexOf("\"events\"") < raw.indexOf("\"components\""));
    }

    // ---- Prometheus ----

    void prometheusTextParses()
    {
        m_monitor->start();
        const HttpReply reply = call("GET", "/metrics");
        QCOMPARE(reply.status, 200);
        QVERIFY(reply.contentType.startsWith("text/plain; version=0.0.4"));
        const QList<QByteArray> lines = reply.body.split('\n');
        if (qEnvironmentVariableIsSet("OPSDECK_DUMP_METRICS"))
            qInfo("%s", reply.body.constData());
        QVERIFY(reply.body.endsWith('\n'));
        static const QRegularExpression sampleLine(QStringLiteral(
            "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\"(,|(?=\\})))*\\})? (\\S+)$"));
        QHash<QString, QString> types;
        QSet<QString> helped;
        QHash<QString, double> values;
        QString currentFamily;
        QSet<QString> closedFamilies;
        for (const QByteArray &bytes : lines) {
            const QString line = QString::fromUtf8(bytes);
            if (line.isEmpty())
                continue;
            if (line.startsWith(QStringLiteral("# HELP "))) {
                helped.insert(line.section(u' ', 2, 2));
                continue;
            }
            if (line.startsWith(QStringLiteral("# TYPE "))) {
                const QString name = line.section(u' ', 2, 2);
                QVERIFY2(!types.contains(name), qPrintable(line)); // one TYPE per family
                QVERIFY2(helped.contains(name), qPrintable(line)); // HELP first
                types.insert(name, line.section(u' ', 3, 3));
                continue;
            }
            const QRegularExpressionMatch m = sampleLine.match(line);
            QVERIFY2(m.hasMatch(), qPrintable(line));
            QString family = m.captured(1);
            for (const char *suffix : {"_bucket", "_sum", "_count"}) {
                const QString base = family.chopped(int(qstrlen(suffix)));
                if (family.endsWith(QLatin1String(suffix)) && types.value(base) == u"histogram")
                    family = base;
            }
            QVERIFY2(types.contains(family), qPrintable(line)); // TYPE before the samples
            if (family != currentFamily) {
                QVERIFY2(!closedFamilies.contains(family), qPrintable(line)); // families contiguous
                closedFamilies.insert(currentFamily);
                currentFamily = family;
            }
            if (types.value(family) == u"counter")
                QVERIFY2(family.endsWith(QStringLiteral("_total")), qPrintable(line));
            bool ok = false;
            const QString valueText = m.captured(5);
            const double value = valueText == u"+Inf" ? qInf() : valueText.toDouble(&ok);
            QVERIFY2(ok || valueText == u"+Inf", qPrintable(line));
            values.insert(line.section(u' ', 0, -2), value);
        }
        for (const char *name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                                 "process_virtual_memory_bytes", "process_open_fds",
                                 "process_start_time_seconds", "process_threads"}) {
            QVERIFY2(values.contains(QString::fromLatin1(name)), name);
        }
        QCOMPARE(types.value(QStringLiteral("process_cpu_seconds_total")), QStringLiteral("counter"));
        QVERIFY(values.value(QStringLiteral("process_resident_memory_bytes")) > 1e6);
        QCOMPARE(values.value(QStringLiteral("opsdeck_monitor_running")), 1.0);
        // Percentages became ratios.
        QVERIFY(values.contains(QStringLiteral("opsdeck_system_system_cpu_ratio")));
        QVERIFY(values.value(QStringLiteral("opsdeck_system_system_memory_ratio")) <= 1.0);
        QVERIFY(values.contains(QStringLiteral("opsdeck_system_system_memory_total_bytes")));
        QVERIFY(!values.contains(QStringLiteral("opsdeck_system_cpu_ratio"))); // flat alias not repeated

        // The histogram: escaped labels, the fixed bounds, cumulative, +Inf = count.
        const QString labels = QStringLiteral("api=\"we\\\"ird\\\\na\\nme\"");
        QCOMPARE(types.value(QStringLiteral("opsdeck_http_request_duration_seconds")), QStringLiteral("histogram"));
        double previous = 0;
        for (const double bound : prometheus::latencyBounds()) {
            const QString key = QStringLiteral("opsdeck_http_request_duration_seconds_bucket{%1,le=\"%2\"}")
                                    .arg(labels, QString::number(bound, 'g', 15));
            QVERIFY2(values.contains(key), qPrintable(key));
            QVERIFY(values.value(key) >= previous);
            previous = values.value(key);
        }
        const auto bucket = [&](const char *le) {
            return values.value(QStringLiteral("opsdeck_http_request_duration_seconds_bucket{%1,le=\"%2\"}")
                                    .arg(labels, QLatin1String(le)));
        };
        QCOMPARE(bucket("0.0001"), 0.0); // not a bound: absent
        QCOMPARE(bucket("0.0005"), 1.0);
        QCOMPARE(bucket("0.0025"), 1.0);
        QCOMPARE(bucket("0.005"), 3.0);
        QCOMPARE(bucket("10"), 3.0);
        QCOMPARE(bucket("+Inf"), 4.0);
        QCOMPARE(values.value(QStringLiteral("opsdeck_http_request_duration_seconds_count{%1}").arg(labels)), 4.0);
        QVERIFY(qAbs(values.value(QStringLiteral("opsdeck_http_request_duration_seconds_sum{%1}").arg(labels)) - 40.0062) < 0.01);
    }

    void prometheusNamingRules()
    {
        const QJsonObject sample = QJsonDocument::fromJson(R"({
            "timestamp": "x", "timestamp_ms": 5, "error_rate": 0.25, "requests": 120,
            "memory_hit_count": 9, "cpu_count": 4, "memory_rss": 1024, "average_execution_time": 0.5,
            "disk_enabled": true, "invalidation_strategy": "adaptive", "rate_limited_apis": ["a"],
            "cpu_percent": 50,
            "interval": {"requests": 7, "latency_p99_ms": 250, "error_rate": null},
            "preloader": {"preload_error_count": 2, "startup_progress": 100}})").object();
        prometheus::TextWriter out;
        prometheus::writeSampleMetrics(out, QStringLiteral("http"), sample);
        const QByteArray text = out.text();
        const auto has = [&text](const char *line) { return text.contains(QByteArray(QByteArray(line) + '\n')); };
        QVERIFY(has("opsdeck_http_error_ratio 0.25"));
        QVERIFY(has("opsdeck_http_requests_total 120"));
        QVERIFY(has("# TYPE opsdeck_http_requests_total counter"));
        QVERIFY(has("opsdeck_http_memory_hit_total 9"));
        QVERIFY(has("opsdeck_http_cpu_count 4"));
        QVERIFY(has("opsdeck_http_memory_rss_bytes 1024"));
        QVERIFY(has("opsdeck_http_average_execution_time_seconds 0.5"));
        QVERIFY(has("opsdeck_http_disk_enabled 1"));
        QVERIFY(has("opsdeck_http_cpu_ratio 0.5"));
        QVERIFY(has("opsdeck_http_interval_requests 7")); // a per-interval delta: a gauge
        QVERIFY(has("# TYPE opsdeck_http_interval_requests gauge"));
        QVERIFY(has("opsdeck_http_interval_latency_p99_seconds 0.25"));
        QVERIFY(has("opsdeck_http_preloader_preload_error_total 2"));
        QVERIFY(has("opsdeck_http_preloader_startup_progress 100"));
        QVERIFY(!text.contains("interval_error"));    // null: no value this interval
        QVERIFY(!text.contains("strategy"));          // strings are not metrics
        QVERIFY(!text.contains("timestamp"));
    }

    void prometheusWriterRules()
    {
        prometheus::TextWriter out;
        QVERIFY(out.sample(QStringLiteral("a_total"), prometheus::TextWriter::Type::Counter, QStringLiteral("x\ny"), 1));
        QVERIFY(!out.sample(QStringLiteral("a_total"), prometheus::TextWriter::Type::Counter, QStringLiteral("x"), 2)); // same series
        QVERIFY(!out.sample(QStringLiteral("a_total"), prometheus::TextWriter::Type::Gauge, QStringLiteral("x"), 2,
                            {{QStringLiteral("k"), QStringLiteral("v")}})); // another type
        PrometheusHistogram wrong;
        wrong.name = QStringLiteral("h");
        wrong.cumulativeCounts = {1, 2};
        QVERIFY(!out.histogram(wrong)); // not the fixed bounds
        QCOMPARE(out.text(), QByteArrayLiteral("# HELP a_total x\\ny\n# TYPE a_total counter\na_total 1\n"));
        QCOMPARE(prometheus::sanitizeName(QStringLiteral("9a-b.c")), QStringLiteral("_a_b_c"));
    }
};

QTEST_GUILESS_MAIN(TstEndpoints)
#include "tst_endpoints.moc"

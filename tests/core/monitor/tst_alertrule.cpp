#include "core/monitor/alertrule.h"

#include <QtTest/QtTest>

using namespace opsdeck;
using namespace Qt::StringLiterals;

namespace {

AlertRule cpuRule()
{
    AlertRule r;
    r.id = u"process_cpu"_s;
    r.name = u"Process CPU"_s;
    r.metric = u"system.process.cpu_percent"_s;
    r.threshold = 80;
    r.hysteresis = 8;
    r.forSeconds = 30;
    r.source = u"system"_s;
    r.message = u"CPU is {value}% (above {threshold}%)"_s;
    return r;
}

} // namespace

class TstAlertRule : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void ratesConvertToPercentInOnePlace()
    {
        AlertRule r = cpuRule();
        QCOMPARE(r.displayValue(42.5), 42.5);
        r.metric = u"cache.hit_rate"_s;
        QCOMPARE(r.displayValue(0.25), 25.0);
        QCOMPARE(r.unit(), u"percent"_s);
        r.metric = u"http.latency_p99_ms"_s;
        QCOMPARE(r.unit(), u"ms"_s);
        r.metric = u"execution.queued_tasks"_s;
        QCOMPARE(r.unit(), QString());
    }

    void fireAndClearWithHysteresis()
    {
        AlertRule r = cpuRule();
        QVERIFY(!r.fires(80));
        QVERIFY(r.fires(80.01));
        QVERIFY(!r.clears(75));
        QVERIFY(r.clears(72));
        r.comparison = AlertComparison::Below;
        r.threshold = 50;
        r.hysteresis = 5;
        QVERIFY(r.fires(49.9));
        QVERIFY(!r.fires(50));
        QVERIFY(!r.clears(54));
        QVERIFY(r.clears(55));
    }

    void messageTemplate()
    {
        const AlertRule r = cpuRule();
        QCOMPARE(r.renderMessage(83.456), u"CPU is 83.46% (above 80%)"_s);
        AlertRule t = r;
        t.message = u"{name} {metric} {value}{unit}"_s;
        QCOMPARE(t.renderMessage(90), u"Process CPU system.process.cpu_percent 90%"_s);
    }

    void jsonRoundTrip()
    {
        AlertRule r = cpuRule();
        r.guardMetric = u"cache.lookups"_s;
        r.guardMin = 10;
        const QJsonObject json = r.toJson();
        QCOMPARE(json.value(u"for"_s).toDouble(), 30.0);
        QCOMPARE(json.value(u"guard"_s).toObject().value(u"min"_s).toDouble(), 10.0);
        QCOMPARE(json.value(u"unit"_s).toString(), u"percent"_s);
        const Result<AlertRule> back = AlertRule::fromJson(json);
        QVERIFY2(back, qPrintable(back ? QString() : back.error().message));
        QCOMPARE(*back, r);
    }

    void changes_data()
    {
        QTest::addColumn<QByteArray>("changes");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("field");
        QTest::newRow("threshold ok")
            << QByteArray(R"({"threshold": 90})") << QString() << QString();
        QTest::newRow("level ok") << QByteArray(R"({"level": "CRITICAL"})") << QString()
                                  << QString();
        QTest::newRow("guard null") << QByteArray(R"({"guard": null})") << QString() << QString();
        QTest::newRow("echo unit")
            << QByteArray(R"({"unit": "percent", "id": "process_cpu"})") << QString() << QString();
        QTest::newRow("threshold string")
            << QByteArray(R"({"threshold": "90"})") << u"invalid_value"_s << u"threshold"_s;
        QTest::newRow("percent over 100")
            << QByteArray(R"({"threshold": 120})") << u"invalid_value"_s << u"threshold"_s;
        QTest::newRow("negative hysteresis")
            << QByteArray(R"({"hysteresis": -1})") << u"invalid_value"_s << u"hysteresis"_s;
        QTest::newRow("for too long")
            << QByteArray(R"({"for": 100000})") << u"invalid_value"_s << u"for"_s;
        QTest::newRow("bad level")
            << QByteArray(R"({"level": "fatal"})") << u"invalid_value"_s << u"level"_s;
        QTest::newRow("bad comparison")
            << QByteArray(R"({"comparison": "over"})") << u"invalid_value"_s << u"comparison"_s;
        QTest::newRow("bad source")
            << QByteArray(R"({"source": "gpu"})") << u"invalid_value"_s << u"source"_s;
        QTest::newRow("bad metric")
            << QByteArray(R"({"metric": "CPU!"})") << u"invalid_value"_s << u"metric"_s;
        QTest::newRow("enabled not bool")
            << QByteArray(R"({"enabled": 1})") << u"invalid_value"_s << u"enabled"_s;
        QTest::newRow("empty message")
            << QByteArray(R"({"message": " "})") << u"invalid_value"_s << u"message"_s;
        QTest::newRow("unknown field")
            << QByteArray(R"({"treshold": 5})") << u"unknown_field"_s << u"treshold"_s;
        QTest::newRow("guard unknown")
            << QByteArray(R"({"guard": {"metric": "cache.lookups", "min": 1, "x": 2}})")
            << u"unknown_field"_s << u"guard.x"_s;
        QTest::newRow("guard min missing")
            << QByteArray(R"({"guard": {"metric": "cache.lookups"}})") << u"invalid_value"_s
            << u"guard.min"_s;
        QTest::newRow("id change")
            << QByteArray(R"({"id": "other"})") << u"read_only_field"_s << u"id"_s;
    }

    void changes()
    {
        QFETCH(QByteArray, changes);
        QFETCH(QString, code);
        QFETCH(QString, field);
        const Result<AlertRule> r
            = cpuRule().withChanges(QJsonDocument::fromJson(changes).object());
        if (code.isEmpty()) {
            QVERIFY2(r, qPrintable(r ? QString() : r.error().message));
            return;
        }
        QVERIFY(!r);
        QCOMPARE(r.error().code, code);
        QCOMPARE(r.error().details.value(u"field"_s).toString(), field);
        QCOMPARE(r.error().details.value(u"rule"_s).toString(), u"process_cpu"_s);
        QVERIFY(r.error().message.contains(field));
    }

    void newRuleNeedsRequiredFields()
    {
        const Result<AlertRule> r = AlertRule::fromJson(
            QJsonObject{{u"id"_s, u"mine"_s}, {u"metric"_s, u"http.requests"_s}});
        QVERIFY(!r);
        QCOMPARE(r.error().code, u"missing_field"_s);
        QCOMPARE(r.error().details.value(u"field"_s).toString(), u"comparison"_s);
        const Result<AlertRule> bad = AlertRule::fromJson(QJsonObject{{u"id"_s, u"Bad Id"_s}});
        QVERIFY(!bad);
        QCOMPARE(bad.error().details.value(u"field"_s).toString(), u"id"_s);
    }

    void alertJsonHoldsTheOldShape()
    {
        Alert a;
        a.id = 7;
        a.ruleId = u"process_cpu"_s;
        a.level = AlertLevel::Warning;
        a.source = u"system"_s;
        a.message = u"CPU is 90%"_s;
        a.metric = u"system.process.cpu_percent"_s;
        a.value = 90;
        a.threshold = 80;
        a.firstSeenMs = 1'798'761'600'000;
        a.lastSeenMs = 1'798'761'601'234;
        a.count = 3;
        const QJsonObject json = a.toJson();
        for (const char *key : {"timestamp", "level", "source", "message", "details"})
            QVERIFY2(json.contains(QLatin1String(key)), key);
        const QJsonObject details = json.value(u"details"_s).toObject();
        QCOMPARE(details.value(u"metric"_s).toString(), a.metric);
        QCOMPARE(details.value(u"value"_s).toDouble(), 90.0);
        QCOMPARE(details.value(u"threshold"_s).toDouble(), 80.0);
        QCOMPARE(json.value(u"timestamp"_s).toString(), u"2027-01-01T00:00:01.234Z"_s);
        QCOMPARE(json.value(u"first_seen"_s).toString(), u"2027-01-01T00:00:00.000Z"_s);
        QCOMPARE(json.value(u"state"_s).toString(), u"firing"_s);
        QVERIFY(json.value(u"acknowledged_at"_s).isNull());
        const Result<Alert> back = Alert::fromJson(json);
        QVERIFY(back);
        QCOMPARE(*back, a);
        a.acknowledged = true;
        a.acknowledgedAtMs = a.lastSeenMs + 5;
        a.state = AlertState::Resolved;
        a.resolvedAtMs = a.lastSeenMs + 10;
        QCOMPARE(*Alert::fromJson(a.toJson()), a);
        QVERIFY(!Alert::fromJson(QJsonObject{{u"id"_s, 1}}));
    }

    void levelNames()
    {
        QCOMPARE(parseAlertLevel(u"Error"), std::optional(AlertLevel::Error));
        QCOMPARE(parseAlertLevel(u"fatal"), std::nullopt);
        QCOMPARE(alertLevelNames().size(), 4);
        QVERIFY(int(AlertLevel::Info) < int(AlertLevel::Critical));
    }
};

QTEST_GUILESS_MAIN(TstAlertRule)
#include "tst_alertrule.moc"

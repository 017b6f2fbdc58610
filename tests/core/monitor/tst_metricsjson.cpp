#include "core/monitor/metricsjson.h"

#include <QtTest/QtTest>

using namespace opsdeck;

namespace {

SystemSample makeSample(qint64 ms, double cpu)
{
    SystemSample s;
    s.timestampMs = ms;
    s.process.cpuPercent = cpu;
    s.process.memoryRss = 1000;
    s.process.memoryVms = 5000;
    s.process.memoryPercent = 1.234;
    s.process.threads = 7;
    s.process.openFds = 12;
    s.process.startTimeMs = 1'700'000'000'000;
    s.system.cpuPercent = 25.5;
    s.system.cpuCount = 2;
    s.system.memoryTotal = 8000;
    s.system.memoryAvailable = 2000;
    s.system.memoryPercent = 75;
    s.system.diskTotal = 100;
    s.system.diskUsed = 40;
    s.system.diskFree = 60;
    s.system.diskPercent = 40;
    return s;
}

} // namespace

class TstMetricsJson : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void timestampsAreIsoUtcWithMilliseconds()
    {
        QCOMPARE(metricsjson::isoTimestamp(1'796'111'509'123), QStringLiteral("2026-12-01T07:51:49.123Z"));
        QCOMPARE(metricsjson::isoTimestamp(0), QStringLiteral("1970-01-01T00:00:00.000Z"));
    }

    void systemSampleHasNestedAndFlatFields()
    {
        const QJsonObject o = metricsjson::systemSample(makeSample(1'796'111'509'123, 150.0));
        QCOMPARE(o.value(QStringLiteral("timestamp")).toString(), QStringLiteral("2026-12-01T07:51:49.123Z"));
        QCOMPARE(o.value(QStringLiteral("timestamp_ms")).toInteger(), 1'796'111'509'123);
        const QJsonObject p = o.value(QStringLiteral("process")).toObject();
        for (const char *key : {"cpu_percent", "memory_rss", "memory_vms", "memory_percent", "threads"})
            QVERIFY2(p.contains(QLatin1String(key)), key);
        QCOMPARE(p.value(QStringLiteral("cpu_percent")).toDouble(), 150.0);
        QCOMPARE(p.value(QStringLiteral("memory_percent")).toDouble(), 1.23);
        QCOMPARE(p.value(QStringLiteral("threads")).toInt(), 7);
        const QJsonObject s = o.value(QStringLiteral("system")).toObject();
        for (const char *key : {"cpu_percent", "memory_total", "memory_available", "memory_percent",
                                "disk_total", "disk_used", "disk_free", "disk_percent"})
            QVERIFY2(s.contains(QLatin1String(key)), key);
        QCOMPARE(o.value(QStringLiteral("cpu_percent")).toDouble(), 25.5);
        QCOMPARE(o.value(QStringLiteral("memory_percent")).toDouble(), 75.0);
        QCOMPARE(o.value(QStringLiteral("disk_percent")).toDouble(), 40.0);
    }

    void limitKeepsNewestOldestFirst_data()
    {
        QTest::addColumn<int>("samples");
        QTest::addColumn<int>("limit");
        QTest::addColumn<int>("expected");
        QTest::newRow("fewer than limit") << 3 << 10 << 3;
        QTest::newRow("exactly limit") << 10 << 10 << 10;
        QTest::newRow("more than limit") << 25 << 10 << 10;
        QTest::newRow("limit one") << 5 << 1 << 1;
    }
    void limitKeepsNewestOldestFirst()
    {
        QFETCH(int, samples);
        QFETCH(int, limit);
        QFETCH(int, expected);
        MetricsSnapshot snapshot;
        for (int i = 0; i < samples; ++i)
            snapshot.system.push_back(makeSample(1000 + i, i));
        const QJsonArray array = metricsjson::categorySamples(snapshot, QStringLiteral("system"), limit);
        QCOMPARE(array.size(), expected);
        QCOMPARE(array.last().toObject().value(QStringLiteral("timestamp_ms")).toInteger(), 1000 + samples - 1);
        QCOMPARE(array.first().toObject().value(QStringLiteral("timestamp_ms")).toInteger(),
                 1000 + samples - expected);
    }

    void categoryWithoutDataAnswersErrorSample()
    {
        MetricsSnapshot snapshot;
        snapshot.timestampMs = 5000;
        for (const QString &category : metricsjson::categories()) {
            const QJsonArray array = metricsjson::categorySamples(snapshot, category, 10);
            QCOMPARE(array.size(), 1);
            const QJsonObject sample = array.first().toObject();
            QVERIFY(sample.contains(QStringLiteral("timestamp")));
            QVERIFY(!sample.value(QStringLiteral("error")).toString().isEmpty());
        }
    }

    void documentHasAllCategoriesOrOne()
    {
        MetricsSnapshot snapshot;
        snapshot.system.push_back(makeSample(1000, 1));
        const QJsonObject all = metricsjson::metricsDocument(snapshot, QString(), 10, 2000);
        QCOMPARE(all.value(QStringLiteral("metrics")).toObject().keys().size(), 4);
        const QJsonObject one = metricsjson::metricsDocument(snapshot, QStringLiteral("system"), 10, 2000);
        QCOMPARE(one.value(QStringLiteral("metrics")).toObject().keys(), QStringList{QStringLiteral("system")});
        QCOMPARE(one.value(QStringLiteral("timestamp")).toString(), metricsjson::isoTimestamp(2000));
    }

    void errorDocumentShape()
    {
        const QJsonObject doc = metricsjson::errorDocument(
            Error{QStringLiteral("invalid_parameter"), QStringLiteral("Bad."), {{QStringLiteral("k"), 1}}});
        const QJsonObject e = doc.value(QStringLiteral("error")).toObject();
        QCOMPARE(e.value(QStringLiteral("code")).toString(), QStringLiteral("invalid_parameter"));
        QCOMPARE(e.value(QStringLiteral("message")).toString(), QStringLiteral("Bad."));
        QCOMPARE(e.value(QStringLiteral("details")).toObject().value(QStringLiteral("k")).toInt(), 1);
    }
};

QTEST_GUILESS_MAIN(TstMetricsJson)
#include "tst_metricsjson.moc"

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

CacheSample makeCache(qint64 ms)
{
    CacheSample c;
    c.timestampMs = ms;
    c.memorySize = 25;
    c.memoryMaxSize = 100;
    c.memoryHitCount = 3;
    c.memoryMissCount = 1;
    c.diskEnabled = true;
    c.diskSize = 512;
    c.diskMaxSize = 2048;
    c.diskHitCount = 1;
    c.diskMissCount = 2;
    c.evictionCount = 4;
    c.lookups = 4;
    c.hits = 4;
    c.invalidationStrategy = QStringLiteral("adaptive");
    PreloaderSample p;
    p.tasks = 2;
    p.runningTasks = 1;
    p.preloadCount = 9;
    p.preloadErrorCount = 1;
    p.startupPhase = QStringLiteral("READY");
    p.startupProgress = 100;
    c.preloader = p;
    return c;
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

    void cacheSampleHasOldAndFlatFields()
    {
        const QJsonObject o = metricsjson::sampleJson(makeCache(1'796'111'509'123));
        QCOMPARE(o.value(QStringLiteral("timestamp")).toString(), QStringLiteral("2026-12-01T07:51:49.123Z"));
        for (const char *key : {"memory_size", "memory_max_size", "memory_usage", "memory_hit_count",
                                "memory_miss_count", "memory_hit_rate", "disk_enabled", "disk_size",
                                "disk_max_size", "disk_usage", "disk_hit_count", "disk_miss_count",
                                "disk_hit_rate", "eviction_count", "invalidation_strategy",
                                "preloader", "interval"})
            QVERIFY2(o.contains(QLatin1String(key)), key);
        QCOMPARE(o.value(QStringLiteral("memory_usage")).toDouble(), 0.25);
        QCOMPARE(o.value(QStringLiteral("memory_hit_rate")).toDouble(), 0.75);
        QCOMPARE(o.value(QStringLiteral("disk_hit_rate")).toDouble(), 0.3333);
        QCOMPARE(o.value(QStringLiteral("disk_usage")).toDouble(), 0.25);
        QCOMPARE(o.value(QStringLiteral("eviction_count")).toInt(), 4);
        QVERIFY(o.value(QStringLiteral("interval")).isNull());
        const QJsonObject p = o.value(QStringLiteral("preloader")).toObject();
        for (const char *key : {"tasks", "running_tasks", "preload_count", "preload_error_count"})
            QVERIFY2(p.contains(QLatin1String(key)), key);
        QCOMPARE(p.value(QStringLiteral("preload_count")).toInt(), 9);
        QCOMPARE(p.value(QStringLiteral("startup_phase")).toString(), QStringLiteral("READY"));

        CacheSample failing = makeCache(1);
        failing.preloader.reset();
        failing.preloaderError = QStringLiteral("No preloader.");
        QCOMPARE(metricsjson::sampleJson(failing).value(QStringLiteral("preloader")).toObject(),
                 (QJsonObject{{QStringLiteral("error"), QStringLiteral("No preloader.")}}));
    }

    void httpAndExecutionSamplesHaveOldFields()
    {
        HttpSample h;
        h.timestampMs = 1000;
        h.clients = 3;
        h.requests = 40;
        h.errors = 2;
        h.errorRate = 0.05;
        h.rateLimitedApis = QStringList{QStringLiteral("x")};
        HttpInterval hi;
        hi.seconds = 1;
        hi.requests = 4;
        hi.latencyP99Ms = 12.3456;
        h.interval = hi;
        const QJsonObject ho = metricsjson::sampleJson(h);
        for (const char *key : {"timestamp", "clients", "requests", "errors", "error_rate", "rate_limited_apis"})
            QVERIFY2(ho.contains(QLatin1String(key)), key);
        QCOMPARE(ho.value(QStringLiteral("error_rate")).toDouble(), 0.05);
        const QJsonObject hij = ho.value(QStringLiteral("interval")).toObject();
        QCOMPARE(hij.value(QStringLiteral("requests_per_second")).toDouble(), 4.0);
        QCOMPARE(hij.value(QStringLiteral("latency_p99_ms")).toDouble(), 12.346);
        QVERIFY(hij.value(QStringLiteral("latency_p50_ms")).isNull());
        QCOMPARE(hij.value(QStringLiteral("error_rate")).toDouble(), 0.0);

        ExecutionSample e;
        e.timestampMs = 1000;
        e.running = true;
        e.queuedTasks = 7;
        e.queuedByPriority[0] = 2;
        e.tasksCompleted = 10;
        e.tasksFailed = 1;
        e.averageExecutionTime = 0.25;
        e.scheduler.present = true;
        e.scheduler.trackedKeys = 1;
        e.scheduler.keys = std::make_shared<const std::vector<SchedulerKeySample>>(std::vector<SchedulerKeySample>{
            SchedulerKeySample{QStringLiteral("a"), QStringLiteral("cycle"), 3, 5, 0, 1, 0.9, 10}});
        ExecutionInterval ei;
        ei.seconds = 2;
        ei.finished = 6;
        ei.waitP99Ms = 1.5;
        e.interval = ei;
        const QJsonObject eo = metricsjson::sampleJson(e);
        for (const char *key : {"timestamp", "running", "queued_tasks", "running_tasks", "agents_tracked",
                                "scheduler", "tasks_completed", "tasks_failed", "average_execution_time"})
            QVERIFY2(eo.contains(QLatin1String(key)), key);
        QCOMPARE(eo.value(QStringLiteral("queued_by_priority")).toObject().value(QStringLiteral("CRITICAL")).toInt(), 2);
        QCOMPARE(eo.value(QStringLiteral("average_execution_time")).toDouble(), 0.25);
        QCOMPARE(eo.value(QStringLiteral("scheduler")).toObject().value(QStringLiteral("keys")).toArray().size(), 1);
        const QJsonObject eij = eo.value(QStringLiteral("interval")).toObject();
        QCOMPARE(eij.value(QStringLiteral("tasks_per_second")).toDouble(), 3.0);
        QCOMPARE(eij.value(QStringLiteral("queue_wait_p99_ms")).toDouble(), 1.5);
    }

    void failedTickEndsTheListWithErrorSample_data()
    {
        QTest::addColumn<int>("limit");
        QTest::addColumn<int>("expected");
        QTest::newRow("room for all") << 10 << 4;
        QTest::newRow("limit two") << 2 << 2;
        QTest::newRow("limit one: only the error") << 1 << 1;
    }
    void failedTickEndsTheListWithErrorSample()
    {
        QFETCH(int, limit);
        QFETCH(int, expected);
        MetricsSnapshot snapshot;
        snapshot.timestampMs = 9000;
        for (int i = 0; i < 3; ++i)
            snapshot.cache.push_back(makeCache(1000 + i));
        snapshot.cacheError = QStringLiteral("The cache statistics are unavailable.");
        const QJsonArray array = metricsjson::categorySamples(snapshot, QStringLiteral("cache"), limit);
        QCOMPARE(array.size(), expected);
        QCOMPARE(array.last().toObject(), metricsjson::errorSample(9000, snapshot.cacheError));
        if (expected > 1)
            QCOMPARE(array.at(expected - 2).toObject().value(QStringLiteral("timestamp_ms")).toInteger(), 1002);
        // The other categories are not affected.
        snapshot.http.push_back(HttpSample{});
        QVERIFY(!metricsjson::categorySamples(snapshot, QStringLiteral("http"), 1).first().toObject().contains(QStringLiteral("error")));
    }

    void currentSampleIsWhatTheApiServes()
    {
        MetricsSnapshot snapshot;
        snapshot.timestampMs = 5000;
        snapshot.cache.push_back(makeCache(4000));
        snapshot.cache.push_back(makeCache(5000));
        const QJsonObject current = metricsjson::currentSampleJson(snapshot, QStringLiteral("cache"));
        QCOMPARE(current, metricsjson::sampleJson(snapshot.cache.back()));
        const QJsonObject doc = metricsjson::metricsDocument(snapshot, QStringLiteral("cache"), 10, 5000);
        QCOMPARE(doc.value(QStringLiteral("metrics")).toObject().value(QStringLiteral("cache")).toArray().last().toObject(),
                 current);
        QVERIFY(metricsjson::currentSampleJson(snapshot, QStringLiteral("bogus")).contains(QStringLiteral("error")));
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

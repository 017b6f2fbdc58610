#include "core/exec/adaptivescheduler.h"
#include "core/exec/executionengine.h"
#include "core/http/httppool.h"
#include "core/monitor/metricsjson.h"
#include "core/monitor/performancemonitor.h"
#include "core/runtime/runtimeconfig.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtNetwork/QTcpServer>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <stdexcept>

#include <malloc.h>

using namespace opsdeck;
using namespace std::chrono_literals;

namespace {

SystemProbe::Options realProbe()
{
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    return options;
}

cache::CacheSettings cacheSettings(const QTemporaryDir &dir, bool disk)
{
    cache::CacheSettings s;
    s.memory.maxEntries = 1000;
    s.memory.policy = cache::Policy::Lru;
    s.memory.shards = 1;
    s.diskEnabled = disk;
    s.disk.path = dir.filePath(QStringLiteral("cache.db"));
    s.disk.maxBytes = 10 * 1024 * 1024;
    s.maintenanceIntervalMs = 60'000; // nothing runs by itself during a test
    return s;
}

ExecConfig serialExec()
{
    ExecConfig config;
    config.maxConcurrentTasks = 2; // one slot for NORMAL work: bodies run one at a time
    config.reservedCriticalSlots = 1;
    return config;
}

http::HttpPoolStats httpStats(quint64 requests, quint64 completed, quint64 errors)
{
    http::HttpPoolStats s;
    s.clients = 2;
    s.workers = 2;
    s.poolSize = 20;
    s.requests = requests;
    s.completed = completed;
    s.attempts = completed + errors;
    s.errors = errors;
    s.errorRate = requests ? double(errors) / double(requests) : 0.0;
    s.rateLimitedApis = QStringList{QStringLiteral("binance")};
    return s;
}

// Latencies 1..n ms recorded in ns, as the pool's per-api histograms hold them.
HistogramSnapshot latenciesMs(int n)
{
    LatencyHistogram h;
    for (int i = 1; i <= n; ++i)
        h.record(qint64(i) * 1'000'000);
    return h.snapshot();
}

QJsonObject lastSample(const MetricsSnapshot &snapshot, const char *category)
{
    const QJsonArray samples
        = metricsjson::categorySamples(snapshot, QLatin1StringView(category), 1000);
    return samples.last().toObject();
}

// Names metricvalues.h promises (after a tick with traffic in every category).
const QStringList &contractNames()
{
    static const QStringList names = [] {
        QStringList n;
        for (const char *name :
             {"system.process.cpu_percent", "system.process.memory_percent",
              "system.process.memory_rss", "system.process.threads", "system.system.cpu_percent",
              "system.system.memory_percent", "system.system.disk_percent", "cache.memory_hit_rate",
              "cache.disk_hit_rate", "cache.hit_rate", "cache.lookups", "cache.memory_lookups",
              "cache.disk_lookups", "cache.memory_size", "cache.disk_size", "cache.evictions",
              "cache.preloader.preload_errors", "http.requests", "http.requests_per_second",
              "http.error_rate", "http.latency_p99_ms", "http.rate_limited_apis",
              "execution.running", "execution.queued_tasks", "execution.running_tasks",
              "execution.tasks_per_second", "execution.wait_p99_ms", "execution.run_p99_ms",
              "execution.timeouts", "execution.failed", "system.error", "cache.error",
              "http.error", "execution.error"})
            n.append(QLatin1StringView(name));
        return n;
    }();
    return names;
}

} // namespace

class TstPerformanceMonitor : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { qRegisterMetaType<SnapshotPtr>(); }

    void nothingBeforeFirstSample()
    {
        PerformanceMonitor monitor(realProbe(), {});
        QVERIFY(!monitor.latestSnapshot());
        QVERIFY(!monitor.isRunning());
    }

    void sampleNowPublishesTypedSnapshot()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        QSignalSpy spy(&monitor, &PerformanceMonitor::snapshotPublished);
        monitor.sampleNow();
        QCOMPARE(spy.size(), 1);
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot);
        QCOMPARE(snapshot->sequence, quint64(1));
        QCOMPARE(snapshot->timestampMs, clock.wallMsecs());
        QCOMPARE(snapshot->system.size(), size_t(1));
        QVERIFY(snapshot->systemError.isEmpty());
        QVERIFY(snapshot->latestSystem()->process.memoryRss > 0);
        QCOMPARE(spy.first().first().value<SnapshotPtr>(), snapshot);
    }

    void ringIsBoundedAndOldestFirst()
    {
        ManualClock clock;
        PerformanceMonitor::Settings settings;
        settings.collectionIntervalSeconds = 1.0;
        settings.memoryRetentionSeconds = 5.0;
        PerformanceMonitor monitor(realProbe(), settings, clock);
        QCOMPARE(monitor.ringCapacity(), 5);
        for (int i = 0; i < 8; ++i) {
            monitor.sampleNow();
            clock.advance(1s);
        }
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QCOMPARE(snapshot->system.size(), size_t(5));
        QCOMPARE(snapshot->sequence, quint64(8));
        for (size_t i = 1; i < snapshot->system.size(); ++i)
            QCOMPARE(snapshot->system[i].timestampMs - snapshot->system[i - 1].timestampMs, qint64(1000));
    }

    void publishedSnapshotsNeverChange()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        monitor.sampleNow();
        const SnapshotPtr first = monitor.latestSnapshot();
        clock.advance(1s);
        monitor.sampleNow();
        QCOMPARE(first->system.size(), size_t(1));
        QCOMPARE(first->sequence, quint64(1));
        QCOMPARE(monitor.latestSnapshot()->system.size(), size_t(2));
    }

    void shrinkingRetentionTrimsRing()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        for (int i = 0; i < 10; ++i) {
            monitor.sampleNow();
            clock.advance(1s);
        }
        PerformanceMonitor::Settings smaller;
        smaller.memoryRetentionSeconds = 3.0;
        monitor.applySettings(smaller);
        monitor.sampleNow();
        QCOMPARE(monitor.latestSnapshot()->system.size(), size_t(3));
    }

    void failingProbeGivesErrorNotCrash()
    {
        SystemProbe::Options broken;
        broken.procRoot = QStringLiteral("/nonexistent-proc");
        broken.selfDir = QStringLiteral("/nonexistent-proc/self");
        broken.diskPath = QDir::tempPath();
        PerformanceMonitor monitor(broken, {});
        monitor.sampleNow();
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot);
        QVERIFY(snapshot->system.empty());
        QVERIFY(!snapshot->systemError.isEmpty());
    }

    void runsInItsOwnThread()
    {
        QThread thread;
        PerformanceMonitor::Settings settings;
        settings.collectionIntervalSeconds = 0.05;
        auto *monitor = new PerformanceMonitor(realProbe(), settings);
        monitor->moveToThread(&thread);
        connect(&thread, &QThread::finished, monitor, &QObject::deleteLater);
        QSignalSpy spy(monitor, &PerformanceMonitor::snapshotPublished);
        thread.start();
        QMetaObject::invokeMethod(monitor, &PerformanceMonitor::start, Qt::QueuedConnection);
        // The first sample comes at once, then one per interval: wait for three.
        QTRY_VERIFY_WITH_TIMEOUT(spy.size() >= 3, 10000);
        QVERIFY(monitor->isRunning());
        const SnapshotPtr latest = monitor->latestSnapshot();
        QVERIFY(latest->monitorRunning);
        QVERIFY(latest->sequence >= 3);
        QMetaObject::invokeMethod(monitor, &PerformanceMonitor::stop, Qt::BlockingQueuedConnection);
        QVERIFY(!monitor->isRunning());
        QVERIFY(!monitor->latestSnapshot()->monitorRunning);
        thread.quit();
        QVERIFY(thread.wait(5000));
    }

    // ---- all four categories ------------------------------------------------------------

    void absentComponentsGiveErrorSamples()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        monitor.sampleNow();
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot->systemError.isEmpty());
        QCOMPARE(snapshot->system.size(), size_t(1));
        for (const char *category : {"cache", "http", "execution"}) {
            QVERIFY2(!snapshot->errorOf(QLatin1StringView(category)).isEmpty(), category);
            const QJsonArray samples
                = metricsjson::categorySamples(*snapshot, QLatin1StringView(category), 10);
            QCOMPARE(samples.size(), 1);
            const QJsonObject sample = samples.first().toObject();
            QCOMPARE(sample.value(QStringLiteral("timestamp")).toString(),
                     metricsjson::isoTimestamp(clock.wallMsecs()));
            QVERIFY(sample.value(QStringLiteral("error")).toString().contains(
                QLatin1StringView(category)));
            QCOMPARE(snapshot->latestValues.value(QLatin1StringView(category) + u".error"), 1.0);
        }
        QVERIFY(snapshot->cache.empty() && snapshot->http.empty() && snapshot->execution.empty());
        QCOMPARE(snapshot->latestValues.value(QStringLiteral("system.error"), -1), 0.0);
    }

    void cacheHitRatesAreExact()
    {
        QTemporaryDir dir;
        ManualClock clock;
        cache::CacheManager cache(cacheSettings(dir, true), clock);
        QVERIFY(cache.open());
        PerformanceMonitor monitor(realProbe(), {}, clock);
        cache::PreloaderStats preloader;
        preloader.tasks = 3;
        preloader.preloadErrorCount = 2;
        MetricsSources sources;
        sources.cache = [&cache] { return cache.stats(); };
        sources.preloader = [&preloader] { return preloader; };
        monitor.setSources(std::move(sources));
        monitor.sampleNow(); // the interval starts here

        QVERIFY(cache.set("mem", "1"));
        QVERIFY(cache.set("disk", "2", cache::SetOptions().atLevel(cache::Level::Disk)));
        // 4 lookups: "mem" twice (memory hits), "disk" (memory miss, disk hit), "none" (both miss).
        QVERIFY(cache.get("mem"));
        QVERIFY(cache.get("mem"));
        QVERIFY(cache.get("disk"));
        QVERIFY(!cache.get("none"));
        preloader.preloadErrorCount = 5;
        clock.advance(2s);
        monitor.sampleNow();

        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot->cacheError.isEmpty());
        QCOMPARE(snapshot->cache.size(), size_t(2));
        const CacheSample &sample = snapshot->cache.back();
        QVERIFY(!snapshot->cache.front().interval); // first sample: no interval
        QVERIFY(sample.interval);
        QCOMPARE(sample.interval->seconds, 2.0);
        QCOMPARE(sample.interval->lookups, quint64(4));
        QCOMPARE(sample.interval->hits, quint64(3));
        QCOMPARE(sample.interval->memoryLookups, quint64(4));
        QCOMPARE(sample.interval->memoryHits, quint64(2));
        QCOMPARE(sample.interval->diskLookups, quint64(2));
        QCOMPARE(sample.interval->diskHits, quint64(1));
        QCOMPARE(sample.interval->preloadErrors, std::optional<quint64>(3));
        QCOMPARE(sample.hitRate(), 0.75);
        QCOMPARE(sample.memorySize, qint64(2)); // "disk" was promoted into memory

        const MetricValues &v = snapshot->latestValues;
        QCOMPARE(v.value(QStringLiteral("cache.lookups")), 4.0);
        QCOMPARE(v.value(QStringLiteral("cache.hit_rate")), 0.75);
        QCOMPARE(v.value(QStringLiteral("cache.memory_hit_rate")), 0.5);
        QCOMPARE(v.value(QStringLiteral("cache.disk_hit_rate")), 0.5);
        QCOMPARE(v.value(QStringLiteral("cache.memory_lookups")), 4.0);
        QCOMPARE(v.value(QStringLiteral("cache.disk_lookups")), 2.0);
        QCOMPARE(v.value(QStringLiteral("cache.memory_size")), 2.0);
        QCOMPARE(v.value(QStringLiteral("cache.preloader.preload_errors")), 3.0);
        QCOMPARE(v.value(QStringLiteral("cache.error")), 0.0);

        const QJsonObject json = lastSample(*snapshot, "cache");
        QCOMPARE(json.value(QStringLiteral("memory_hit_rate")).toDouble(), 0.5);
        QCOMPARE(json.value(QStringLiteral("disk_hit_rate")).toDouble(), 0.5);
        QCOMPARE(json.value(QStringLiteral("hit_rate")).toDouble(), 0.75);
        QCOMPARE(json.value(QStringLiteral("memory_size")).toInt(), 2);
        QCOMPARE(json.value(QStringLiteral("disk_enabled")).toBool(), true);
        const QJsonObject pre = json.value(QStringLiteral("preloader")).toObject();
        QCOMPARE(pre.value(QStringLiteral("tasks")).toInt(), 3);
        QCOMPARE(pre.value(QStringLiteral("preload_error_count")).toInt(), 5);
        const QJsonObject interval = json.value(QStringLiteral("interval")).toObject();
        QCOMPARE(interval.value(QStringLiteral("hit_rate")).toDouble(), 0.75);
        QCOMPARE(interval.value(QStringLiteral("lookups_per_second")).toDouble(), 2.0);
        cache.stop();
    }

    void idleCacheHasNoHitRate()
    {
        QTemporaryDir dir;
        ManualClock clock;
        cache::CacheManager cache(cacheSettings(dir, false), clock);
        QVERIFY(cache.open());
        PerformanceMonitor monitor(realProbe(), {}, clock);
        MetricsSources sources;
        sources.cache = [&cache] { return cache.stats(); };
        monitor.setSources(std::move(sources));
        monitor.sampleNow();
        clock.advance(1s);
        monitor.sampleNow();
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        const MetricValues &v = snapshot->latestValues;
        QCOMPARE(v.value(QStringLiteral("cache.lookups"), -1), 0.0);
        QVERIFY(!v.contains(QStringLiteral("cache.hit_rate")));
        QVERIFY(!v.contains(QStringLiteral("cache.memory_hit_rate")));
        QVERIFY(!v.contains(QStringLiteral("cache.preloader.preload_errors"))); // no preloader
        const QJsonObject json = lastSample(*snapshot, "cache");
        QVERIFY(json.value(QStringLiteral("interval")).toObject().value(QStringLiteral("hit_rate")).isNull());
        QVERIFY(!json.value(QStringLiteral("preloader")).toObject().value(QStringLiteral("error")).toString().isEmpty());
        cache.stop();
    }

    void httpIntervalFromDeltas()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        http::HttpPoolStats stats = httpStats(10, 10, 1);
        QHash<QString, HistogramSnapshot> deltas;
        int deltaCalls = 0;
        MetricsSources sources;
        sources.http = [&stats] { return stats; };
        sources.httpLatencyDeltas = [&deltas, &deltaCalls] {
            ++deltaCalls;
            return std::exchange(deltas, {});
        };
        monitor.setSources(std::move(sources));
        deltas.insert(QStringLiteral("a"), latenciesMs(1000)); // before the first tick: dropped
        monitor.sampleNow();
        QCOMPARE(deltaCalls, 1);
        QVERIFY(!monitor.latestSnapshot()->http.back().interval);

        stats = httpStats(35, 30, 3);
        deltas.insert(QStringLiteral("a"), latenciesMs(50));
        LatencyHistogram b;
        for (int i = 51; i <= 100; ++i)
            b.record(qint64(i) * 1'000'000);
        deltas.insert(QStringLiteral("b"), b.snapshot());
        clock.advance(2s);
        monitor.sampleNow();

        const SnapshotPtr snapshot = monitor.latestSnapshot();
        const HttpSample &sample = snapshot->http.back();
        QVERIFY(sample.interval);
        QCOMPARE(sample.interval->requests, quint64(20));
        QCOMPARE(sample.interval->errors, quint64(2));
        QCOMPARE(sample.interval->requestsPerSecond(), 10.0);
        QCOMPARE(sample.interval->errorRate(), 0.1);
        QVERIFY(sample.interval->latencyP99Ms);
        QVERIFY(qAbs(*sample.interval->latencyP99Ms - 99.0) < 0.1); // both apis merged
        const MetricValues &v = snapshot->latestValues;
        QCOMPARE(v.value(QStringLiteral("http.requests")), 20.0);
        QCOMPARE(v.value(QStringLiteral("http.requests_per_second")), 10.0);
        QCOMPARE(v.value(QStringLiteral("http.error_rate")), 0.1);
        QCOMPARE(v.value(QStringLiteral("http.rate_limited_apis")), 1.0);
        QVERIFY(qAbs(v.value(QStringLiteral("http.latency_p99_ms")) - 99.0) < 0.1);

        const QJsonObject json = lastSample(*snapshot, "http");
        QCOMPARE(json.value(QStringLiteral("clients")).toInt(), 2);
        QCOMPARE(json.value(QStringLiteral("requests")).toInt(), 35);
        QCOMPARE(json.value(QStringLiteral("errors")).toInt(), 3);
        QCOMPARE(json.value(QStringLiteral("error_rate")).toDouble(), 0.0857);
        QCOMPARE(json.value(QStringLiteral("rate_limited_apis")).toArray().first().toString(),
                 QStringLiteral("binance"));
        const QJsonObject interval = json.value(QStringLiteral("interval")).toObject();
        QCOMPARE(interval.value(QStringLiteral("requests_per_second")).toDouble(), 10.0);
        QVERIFY(qAbs(interval.value(QStringLiteral("latency_p99_ms")).toDouble() - 99.0) < 0.1);

        // A tick in which no request finished has no percentiles (not zeros).
        clock.advance(1s);
        monitor.sampleNow();
        const SnapshotPtr idle = monitor.latestSnapshot();
        QCOMPARE(idle->http.back().interval->requests, quint64(0));
        QVERIFY(!idle->http.back().interval->latencyP99Ms);
        QVERIFY(!idle->latestValues.contains(QStringLiteral("http.latency_p99_ms")));
        QVERIFY(!idle->latestValues.contains(QStringLiteral("http.error_rate")));
        QCOMPARE(idle->latestValues.value(QStringLiteral("http.requests_per_second")), 0.0);
        QVERIFY(lastSample(*idle, "http").value(QStringLiteral("interval")).toObject()
                    .value(QStringLiteral("latency_p99_ms")).isNull());
    }

    void executionFromRealEngine()
    {
        ManualClock clock;
        exec::ExecutionEngine engine(serialExec(), clock);
        QVERIFY(engine.start());
        PerformanceMonitor monitor(realProbe(), {}, clock);
        MetricsSources sources;
        sources.execution = [&engine] { return engine.takeIntervalStats(); };
        monitor.setSources(std::move(sources));
        monitor.sampleNow();

        // Each body advances the clock by 5 ms: one body at a time, so every run takes 5 ms.
        const auto work = [&clock](bool succeed) {
            return [&clock, succeed](const exec::TaskContext &) -> Result<QJsonValue> {
                clock.advance(5ms);
                if (!succeed)
                    return fail(QStringLiteral("boom"), QStringLiteral("Failed on purpose."));
                return QJsonValue(1);
            };
        };
        for (int i = 0; i < 4; ++i)
            QVERIFY(engine.scheduleTask(QStringLiteral("a"), QStringLiteral("t"), work(true)));
        QVERIFY(engine.scheduleTask(QStringLiteral("a"), QStringLiteral("t"), work(false)));
        QVERIFY(engine.waitForIdle(10s));
        clock.advance(1s);
        monitor.sampleNow();

        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot->executionError.isEmpty());
        const ExecutionSample &sample = snapshot->execution.back();
        QVERIFY(sample.running);
        QCOMPARE(sample.tasksCompleted, quint64(4));
        QCOMPARE(sample.tasksFailed, quint64(1));
        QVERIFY(sample.interval);
        QCOMPARE(sample.interval->finished, quint64(5));
        QCOMPARE(sample.interval->completed, quint64(4));
        QCOMPARE(sample.interval->failed, quint64(1));
        QVERIFY(qAbs(sample.interval->runP99Ms - 5.0) < 0.01);
        const MetricValues &v = snapshot->latestValues;
        QCOMPARE(v.value(QStringLiteral("execution.running")), 1.0);
        QCOMPARE(v.value(QStringLiteral("execution.failed")), 1.0);
        QCOMPARE(v.value(QStringLiteral("execution.timeouts")), 0.0);
        QVERIFY(qAbs(v.value(QStringLiteral("execution.run_p99_ms")) - 5.0) < 0.01);
        QVERIFY(v.contains(QStringLiteral("execution.wait_p99_ms")));
        // 5 tasks in 1.025 s of monotonic time (the bodies advanced the clock too).
        QVERIFY(qAbs(v.value(QStringLiteral("execution.tasks_per_second")) - 5.0 / 1.025) < 1e-9);

        const QJsonObject json = lastSample(*snapshot, "execution");
        QCOMPARE(json.value(QStringLiteral("running")).toBool(), true);
        QCOMPARE(json.value(QStringLiteral("tasks_completed")).toInt(), 4);
        QCOMPARE(json.value(QStringLiteral("tasks_failed")).toInt(), 1);
        QCOMPARE(json.value(QStringLiteral("average_execution_time")).toDouble(), 0.005);
        for (const char *key : {"queued_tasks", "running_tasks", "agents_tracked", "scheduler"})
            QVERIFY2(json.contains(QLatin1StringView(key)), key);
        engine.stop();
    }

    void schedulerStatsTravel()
    {
        ManualClock clock;
        exec::AdaptiveScheduler scheduler;
        scheduler.recordRun(QStringLiteral("mm"), QStringLiteral("cycle"), 20ms, exec::RunOutcome::TimedOut);
        exec::ExecutionEngine engine(serialExec(), clock);
        engine.setAdaptiveScheduler(&scheduler);
        QVERIFY(engine.start());
        PerformanceMonitor monitor(realProbe(), {}, clock);
        MetricsSources sources;
        sources.execution = [&engine] { return engine.takeIntervalStats(); };
        monitor.setSources(std::move(sources));
        monitor.sampleNow();
        monitor.sampleNow();
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        const SchedulerSample &s = snapshot->execution.back().scheduler;
        QVERIFY(s.present);
        QCOMPARE(s.trackedKeys, 1);
        QCOMPARE(s.keyList().size(), size_t(1));
        QCOMPARE(s.keyList()[0].agentId, QStringLiteral("mm"));
        QCOMPARE(s.keyList()[0].timeouts, 1);
        // The ring shares an unchanged key list instead of holding one copy per sample...
        QCOMPARE(s.keys, snapshot->execution.front().scheduler.keys);
        // ... and equal ids when the list changed.
        scheduler.recordRun(QStringLiteral("mm"), QStringLiteral("cycle"), 20ms, exec::RunOutcome::Completed);
        monitor.sampleNow();
        const SnapshotPtr later = monitor.latestSnapshot();
        const SchedulerSample &changed = later->execution.back().scheduler;
        QVERIFY(changed.keys != s.keys);
        QCOMPARE(changed.keyList()[0].runs, 2);
        QVERIFY(changed.keyList()[0].agentId.constData() == s.keyList()[0].agentId.constData());
        const QJsonObject json = lastSample(*snapshot, "execution").value(QStringLiteral("scheduler")).toObject();
        QCOMPARE(json.value(QStringLiteral("tracked_keys")).toInt(), 1);
        QCOMPARE(json.value(QStringLiteral("keys")).toArray().first().toObject().value(QStringLiteral("agent_id")).toString(),
                 QStringLiteral("mm"));
        engine.stop();
        engine.setAdaptiveScheduler(nullptr);
    }

    void failingSourcesFailOnlyTheirCategory_data()
    {
        QTest::addColumn<bool>("throws");
        QTest::newRow("returns an error") << false;
        QTest::newRow("throws") << true;
    }
    void failingSourcesFailOnlyTheirCategory()
    {
        QFETCH(bool, throws);
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        bool broken = false;
        MetricsSources sources;
        sources.cache = [] { return cache::CacheStats{}; };
        sources.http = [&broken, throws]() -> Result<http::HttpPoolStats> {
            if (broken && throws)
                throw std::runtime_error("secret internal detail");
            if (broken)
                return fail(QStringLiteral("pool_gone"), QStringLiteral("The pool is gone."));
            return httpStats(1, 1, 0);
        };
        sources.execution = [] { return exec::ExecStats{}; };
        monitor.setSources(std::move(sources));
        monitor.sampleNow();
        clock.advance(1s);
        broken = true;
        monitor.sampleNow();

        SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot->cacheError.isEmpty());
        QVERIFY(snapshot->executionError.isEmpty());
        QVERIFY(snapshot->systemError.isEmpty());
        QVERIFY(!snapshot->httpError.isEmpty());
        QVERIFY(!snapshot->currentHttp());
        QVERIFY(snapshot->currentCache());
        QCOMPARE(snapshot->latestValues.value(QStringLiteral("http.error")), 1.0);
        QCOMPARE(snapshot->latestValues.value(QStringLiteral("cache.error")), 0.0);
        QVERIFY(!snapshot->latestValues.contains(QStringLiteral("http.requests")));
        QCOMPARE(snapshot->cache.size(), size_t(2));
        QCOMPARE(snapshot->http.size(), size_t(1)); // the earlier good one stays
        // The list ends with this tick's {timestamp, error}.
        const QJsonArray http = metricsjson::categorySamples(*snapshot, QStringLiteral("http"), 10);
        QCOMPARE(http.size(), 2);
        const QJsonObject error = http.last().toObject();
        QCOMPARE(error.value(QStringLiteral("timestamp_ms")).toInteger(), snapshot->timestampMs);
        const QString message = error.value(QStringLiteral("error")).toString();
        QVERIFY(!message.isEmpty());
        QVERIFY(!message.contains(u"secret")); // exception text goes to the log, not the API
        QCOMPARE(metricsjson::currentSampleJson(*snapshot, QStringLiteral("http")), error);
        QCOMPARE(metricsjson::categorySamples(*snapshot, QStringLiteral("http"), 1).size(), 1);

        // Recovery starts a fresh interval (no deltas across the failed tick).
        broken = false;
        clock.advance(1s);
        monitor.sampleNow();
        snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot->httpError.isEmpty());
        QVERIFY(!snapshot->http.back().interval);
        QCOMPARE(snapshot->latestValues.value(QStringLiteral("http.error")), 0.0);
    }

    void everyCategoryRingIsBounded()
    {
        ManualClock clock;
        PerformanceMonitor::Settings settings;
        settings.memoryRetentionSeconds = 5.0;
        PerformanceMonitor monitor(realProbe(), settings, clock);
        quint64 n = 0;
        MetricsSources sources;
        sources.cache = [&n] { cache::CacheStats s; s.lookups = n; return s; };
        sources.http = [&n] { return httpStats(n, n, 0); };
        sources.execution = [&n] { exec::ExecStats s; s.tasksCompleted = n; return s; };
        monitor.setSources(std::move(sources));
        for (int i = 0; i < 200; ++i) {
            ++n;
            monitor.sampleNow();
            clock.advance(1s);
        }
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QCOMPARE(snapshot->system.size(), size_t(5));
        QCOMPARE(snapshot->cache.size(), size_t(5));
        QCOMPARE(snapshot->http.size(), size_t(5));
        QCOMPARE(snapshot->execution.size(), size_t(5));
        QCOMPARE(snapshot->cache.back().lookups, quint64(200));
        QCOMPARE(snapshot->cache.front().lookups, quint64(196));
        QCOMPARE(snapshot->execution.back().interval->completed, quint64(1));
        QVERIFY(snapshot->cache.chunkCount() <= 2);
    }

    void snapshotCarriesAtMostTheApiLimit()
    {
        ManualClock clock;
        PerformanceMonitor::Settings settings;
        settings.memoryRetentionSeconds = 3600.0;
        PerformanceMonitor monitor(realProbe(), settings, clock);
        MetricsSources sources;
        sources.cache = [] { return cache::CacheStats{}; };
        monitor.setSources(std::move(sources));
        for (int i = 0; i < 1100; ++i) {
            monitor.sampleNow();
            clock.advance(1s);
        }
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QCOMPARE(snapshot->cache.size(), size_t(MetricsSnapshot::kMaxSamplesPerCategory));
        QCOMPARE(snapshot->system.size(), size_t(MetricsSnapshot::kMaxSamplesPerCategory));
        QCOMPARE(snapshot->cache.back().timestampMs, clock.wallMsecs() - 1000);
        QCOMPARE(snapshot->cache.front().timestampMs, clock.wallMsecs() - 1000 * 1000);
    }

    void metricValuesHaveEveryContractName()
    {
        QTemporaryDir dir;
        ManualClock clock;
        cache::CacheManager cache(cacheSettings(dir, true), clock);
        QVERIFY(cache.open());
        exec::ExecutionEngine engine(serialExec(), clock);
        QVERIFY(engine.start());
        PerformanceMonitor monitor(realProbe(), {}, clock);
        QHash<QString, HistogramSnapshot> deltas;
        MetricsSources sources;
        sources.cache = [&cache] { return cache.stats(); };
        sources.preloader = [] { return cache::PreloaderStats{}; };
        quint64 requests = 0;
        sources.http = [&requests] { return httpStats(requests, requests, 0); };
        sources.httpLatencyDeltas = [&deltas] { return std::exchange(deltas, {}); };
        sources.execution = [&engine] { return engine.takeIntervalStats(); };
        monitor.setSources(std::move(sources));
        monitor.sampleNow();

        QVERIFY(cache.set("k", "v", cache::SetOptions().atLevel(cache::Level::Disk)));
        QVERIFY(cache.get("k"));
        requests = 3;
        deltas.insert(QStringLiteral("a"), latenciesMs(3));
        QVERIFY(engine.scheduleTask({}, QStringLiteral("t"),
                                    [](const exec::TaskContext &) { return Result<QJsonValue>(1); }));
        QVERIFY(engine.waitForIdle(10s));
        clock.advance(1s);
        monitor.sampleNow();
        const MetricValues &v = monitor.latestSnapshot()->latestValues;
        for (const QString &name : contractNames())
            QVERIFY2(v.contains(name), qPrintable(name));
        QVERIFY(v.contains(QStringLiteral("monitor.tick_ms")));
        engine.stop();
        cache.stop();
    }

    // Not a benchmark (tests check correctness): prints what a tick costs with real parts under
    // traffic (engine tasks at two priorities, HTTP requests on two apis, cache lookups every
    // tick, a full 1 h ring), and checks the cost accounting adds up.
    void tickCostWithRealParts()
    {
        QTemporaryDir dir;
        ManualClock clock;
        cache::CacheManager cache(cacheSettings(dir, true), clock);
        QVERIFY(cache.open());
        exec::ExecutionEngine engine(ExecConfig(), clock);
        QVERIFY(engine.start());
        exec::AdaptiveScheduler scheduler;
        for (int a = 0; a < 3; ++a)
            scheduler.recordRun(QStringLiteral("agent%1").arg(a), QStringLiteral("cycle"), 20ms,
                                exec::RunOutcome::Completed);
        engine.setAdaptiveScheduler(&scheduler);
        http::HttpPoolSettings httpSettings;
        httpSettings.retry.retryCount = 0;
        http::HttpPool pool(httpSettings);
        // A port nobody listens on: requests fail fast with "connection refused".
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const QUrl closed(QStringLiteral("http://127.0.0.1:%1/x").arg(probe.serverPort()));
        probe.close();
        PerformanceMonitor::Settings settings;
        settings.memoryRetentionSeconds = 3600.0;
        PerformanceMonitor monitor(realProbe(), settings, clock);
        MetricsSources sources;
        sources.cache = [&cache] { return cache.stats(); };
        sources.preloader = [] { return cache::PreloaderStats{}; };
        sources.http = [&pool] { return pool.stats(); };
        sources.httpLatencyDeltas = [&pool] { return pool.latencyDeltas(); };
        sources.execution = [&engine] { return engine.takeIntervalStats(); };
        monitor.setSources(std::move(sources));
        const auto task = [](const exec::TaskContext &) { return Result<QJsonValue>(1); };

        // Fill the ring first (cheap ticks), then measure ticks with traffic. The heap growth
        // from tick 600 to 3600 is what the ring costs between minute 10 and 60.
        size_t heapAt600 = 0;
        for (int i = 0; i < 3600; ++i) {
            if (i == 600)
                heapAt600 = ::mallinfo2().uordblks;
            monitor.sampleNow();
            clock.advance(1s);
        }
        const double ringBytesPerTick = (double(::mallinfo2().uordblks) - double(heapAt600)) / 3000.0;
        qInfo("Ring memory: %.0f heap bytes per tick over 3000 ticks (sizeof system %zu, cache %zu, "
              "http %zu, execution %zu)",
              ringBytesPerTick, sizeof(SystemSample), sizeof(CacheSample), sizeof(HttpSample),
              sizeof(ExecutionSample));
        const qint64 cpuBefore = monitor.lastTickCost().totalThreadCpuNs;
        constexpr int kTicks = 100;
        qint64 sampleNs = 0;
        for (int i = 0; i < kTicks; ++i) {
            for (int k = 0; k < 10; ++k)
                cache.get("k" + QByteArray::number(k));
            QVERIFY(engine.scheduleTask({}, QStringLiteral("t"), task, TaskPriority::Critical));
            QVERIFY(engine.scheduleTask({}, QStringLiteral("t"), task, TaskPriority::Normal));
            auto a = pool.request(http::HttpRequest::get(closed, QStringLiteral("a")));
            auto b = pool.request(http::HttpRequest::get(closed, QStringLiteral("b")));
            QTRY_VERIFY_WITH_TIMEOUT(a.isFinished() && b.isFinished(), 10000);
            QVERIFY(engine.waitForIdle(10s));
            clock.advance(1s);
            QElapsedTimer timer;
            timer.start();
            monitor.sampleNow();
            sampleNs += timer.nsecsElapsed();
        }
        const PerformanceMonitor::TickCost cost = monitor.lastTickCost();
        QCOMPARE(cost.ticks, quint64(3600 + kTicks));
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QCOMPARE(snapshot->http.back().interval->requests, quint64(2));
        QCOMPARE(snapshot->execution.back().interval->finished, quint64(2));
        QCOMPARE(snapshot->cache.size(), size_t(MetricsSnapshot::kMaxSamplesPerCategory));
        qInfo("Monitor tick with traffic and a full ring, mean of %d: %.3f ms wall, %.3f ms "
              "thread CPU (last tick %.3f ms wall, %.3f ms CPU)",
              kTicks, double(sampleNs) / kTicks / 1e6,
              double(cost.totalThreadCpuNs - cpuBefore) / kTicks / 1e6, double(cost.wallNs) / 1e6,
              double(cost.threadCpuNs) / 1e6);
        engine.stop();
        engine.setAdaptiveScheduler(nullptr);
        cache.stop();
    }
};

QTEST_GUILESS_MAIN(TstPerformanceMonitor)
#include "tst_performancemonitor.moc"

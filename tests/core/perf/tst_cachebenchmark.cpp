// tst_cachebenchmark: CacheBenchmark and the trace comparison on the real CacheManager and real
// SQLite files in temporary directories, with small iteration counts. Progress timing runs on a
// clock that moves only when read, so the 10 Hz limit is checked without sleeping.
#include "core/perf/cachebenchmark.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

using namespace opsdeck;
using namespace opsdeck::perf;

namespace {

// Every monotonic() read moves time on by `step`: time passes as the benchmark works, and the
// test sees exactly the times the throttle saw.
class SteppingClock final : public Clock
{
public:
    explicit SteppingClock(std::chrono::nanoseconds step)
        : m_step(step.count())
    {
    }
    MonoTime monotonic() const override { return MonoTime(m_now.fetch_add(m_step) + m_step); }
    qint64 wallMsecs() const override { return 1'798'761'600'000 + m_now.load() / 1'000'000; }
    MonoTime peek() const { return MonoTime(m_now.load()); }

private:
    const qint64 m_step;
    mutable std::atomic<qint64> m_now{0};
};

CacheBenchmarkOptions smallOptions(const QString &tempParent)
{
    CacheBenchmarkOptions o;
    o.iterations = 100;
    o.keyCount = 100;
    o.valueSize = 64;
    o.warmup = 10;
    o.tempParent = tempParent;
    return o;
}

const OperationResult *findOp(const QList<OperationResult> &list, const QString &name)
{
    for (const OperationResult &op : list) {
        if (op.name == name)
            return &op;
    }
    return nullptr;
}

bool isEmptyDir(const QString &path)
{
    return QDir(path).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty();
}

} // namespace

class TestCacheBenchmark : public QObject
{
    Q_OBJECT

private slots:
    void distributionParse_data();
    void distributionParse();
    void optionsValidate();
    void workloadMixIsExact();
    void hitRateEqualsIndependentCount_data();
    void hitRateEqualsIndependentCount();
    void warmupIsExcluded();
    void destructiveOperationsRemoveRealKeys();
    void tempDirRemoved();
    void cancelStopsAndCleansUp();
    void progressAtMost10Hz();
    void zipfSkewsKeysUniformDoesNot();
    void seedRepeatsChoices();
    void threadsCountEveryCall();
    void jsonHasOldFields();
    void baselineFigures();
    void namedTraces();
    void traceComparisonMatchesSimulator();
    void traceFile();
    void traceFileErrors();
};

void TestCacheBenchmark::distributionParse_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("normalised");
    QTest::newRow("uniform") << QStringLiteral("uniform") << true << QStringLiteral("uniform");
    QTest::newRow("UNIFORM") << QStringLiteral(" UNIFORM ") << true << QStringLiteral("uniform");
    QTest::newRow("zipf:1.1") << QStringLiteral("zipf:1.1") << true << QStringLiteral("zipf:1.1");
    QTest::newRow("zipf:0.5") << QStringLiteral("Zipf:0.5") << true << QStringLiteral("zipf:0.5");
    QTest::newRow("zipf:0") << QStringLiteral("zipf:0") << false << QStringLiteral("");
    QTest::newRow("zipf:-1") << QStringLiteral("zipf:-1") << false << QStringLiteral("");
    QTest::newRow("zipf:11") << QStringLiteral("zipf:11") << false << QStringLiteral("");
    QTest::newRow("zipf:") << QStringLiteral("zipf:") << false << QStringLiteral("");
    QTest::newRow("zipf") << QStringLiteral("zipf") << false << QStringLiteral("");
    QTest::newRow("pareto") << QStringLiteral("pareto") << false << QStringLiteral("");
}

void TestCacheBenchmark::distributionParse()
{
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(QString, normalised);
    const Result<KeyDistribution> d = KeyDistribution::parse(text);
    QCOMPARE(bool(d), valid);
    if (valid)
        QCOMPARE(d->toString(), normalised);
    else
        QVERIFY(d.error().message.contains(QStringLiteral("--distribution")));
}

void TestCacheBenchmark::optionsValidate()
{
    CacheBenchmarkOptions o;
    QVERIFY(o.validate());
    QCOMPARE(o.iterations, 1000);
    QCOMPARE(o.keyCount, 10000);
    QCOMPARE(o.valueSize, 1024);
    QCOMPARE(o.effectiveWarmup(), 100);
    QCOMPARE(o.configurations.size(), 3);
    o.keyCount = 19;
    QCOMPARE(o.validate().error().details.value(QStringLiteral("field")).toString(),
             QStringLiteral("key_count"));
    o = {};
    o.iterations = 0;
    QVERIFY(!o.validate());
    o = {};
    o.threads = 0;
    QVERIFY(!o.validate());
    o = {};
    o.configurations.clear();
    QVERIFY(!o.validate());
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(!r);
    QCOMPARE(r.error().code, QStringLiteral("invalid_argument"));
}

void TestCacheBenchmark::workloadMixIsExact()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.iterations = 200;
    o.configurations = {CacheConfiguration::MemoryOnly};
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY2(r, qPrintable(r ? QString() : r.error().message));
    const ConfigurationResult &c = r->configurations.constFirst();
    QCOMPARE(c.workloads.size(), 3);
    const QMap<QString, QMap<QString, qint64>> expected{
        {QStringLiteral("read_heavy"), {{QStringLiteral("get"), 180}, {QStringLiteral("set"), 20}}},
        {QStringLiteral("write_heavy"),
         {{QStringLiteral("get"), 60}, {QStringLiteral("set"), 120}, {QStringLiteral("delete"), 20}}},
        {QStringLiteral("balanced"),
         {{QStringLiteral("get"), 120},
          {QStringLiteral("set"), 60},
          {QStringLiteral("delete"), 10},
          {QStringLiteral("invalidate"), 10}}}};
    for (const OperationResult &w : c.workloads) {
        QCOMPARE(w.operationCounts, expected.value(w.name));
        QCOMPARE(w.count(), 200);
        // Exactly 80 % of the gets ask for populated keys.
        QCOMPARE(w.existingLookups * 5, w.lookups * 4);
    }
}

void TestCacheBenchmark::hitRateEqualsIndependentCount_data()
{
    QTest::addColumn<int>("configuration");
    QTest::newRow("memory_only") << int(CacheConfiguration::MemoryOnly);
    QTest::newRow("disk_only") << int(CacheConfiguration::DiskOnly);
    QTest::newRow("tiered") << int(CacheConfiguration::Tiered);
}

void TestCacheBenchmark::hitRateEqualsIndependentCount()
{
    QFETCH(int, configuration);
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.configurations = {CacheConfiguration(configuration)};
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY2(r, qPrintable(r ? QString() : r.error().message));
    const ConfigurationResult &c = r->configurations.constFirst();
    const OperationResult *get = findOp(c.operations, QStringLiteral("get"));
    QVERIFY(get);
    // Three counts that do not share code: the benchmark's, the CacheManager's own counters, and
    // the arithmetic of the fixed 80/20 split (every populated key fits, so each is a hit).
    QCOMPARE(get->lookups, quint64(o.iterations));
    QCOMPARE(get->cacheLookups, get->lookups);
    QCOMPARE(get->cacheHits, get->hits);
    QCOMPARE(get->hits, quint64(o.iterations * 4 / 5));
    QCOMPARE(get->existingLookups, get->hits);
    QCOMPARE(get->hitRate(), 0.8);
    for (const OperationResult &w : c.workloads) {
        QCOMPARE(w.cacheLookups, w.lookups);
        QCOMPARE(w.cacheHits, w.hits);
        QVERIFY(w.hits <= w.existingLookups); // deletes and invalidations can only lower it
    }
    // The read-only mix keeps every key, so its hits are exactly its existing-key gets.
    const OperationResult *readHeavy = findOp(c.workloads, QStringLiteral("read_heavy"));
    QCOMPARE(readHeavy->hits, readHeavy->existingLookups);
}

void TestCacheBenchmark::warmupIsExcluded()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.iterations = 40;
    o.warmup = 25;
    o.configurations = {CacheConfiguration::MemoryOnly};
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(r);
    const ConfigurationResult &c = r->configurations.constFirst();
    QCOMPARE(c.operations.size(), 5);
    for (const OperationResult &op : c.operations + c.workloads) {
        QCOMPARE(op.count(), 40);
        QVERIFY(op.wallSeconds > 0);
    }
    // The cache saw the warm-up gets too, but not inside the measured window.
    const OperationResult *get = findOp(c.operations, QStringLiteral("get"));
    QCOMPARE(get->cacheLookups, 40u);
    QCOMPARE(c.finalStats.lookups,
             quint64(25 + 40) /* get */ + quint64(qRound(0.9 * 25) + 36) /* read_heavy */
                 + quint64(qRound(0.3 * 25) + 12) /* write_heavy */
                 + quint64(qRound(0.6 * 25) + 24) /* balanced */);
    QCOMPARE(r->config.value(QStringLiteral("warmup_iterations")).toInteger(), 25);
}

void TestCacheBenchmark::destructiveOperationsRemoveRealKeys()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.iterations = 30; // more than the 9 usable groups: several rounds with restores between
    o.configurations = {CacheConfiguration::Tiered};
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(r);
    const ConfigurationResult &c = r->configurations.constFirst();
    QCOMPARE(findOp(c.operations, QStringLiteral("delete"))->keysRemoved, 30);
    QCOMPARE(findOp(c.operations, QStringLiteral("invalidate_pattern"))->keysRemoved, 300);
    QCOMPARE(findOp(c.operations, QStringLiteral("invalidate_tag"))->keysRemoved, 300);
    QCOMPARE(findOp(c.operations, QStringLiteral("invalidate_pattern"))->errors, 0);
    QCOMPARE(findOp(c.operations, QStringLiteral("set"))->errors, 0);
}

void TestCacheBenchmark::tempDirRemoved()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.iterations = 10;
    o.warmup = 0;
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(r);
    QCOMPARE(r->configurations.size(), 3);
    QStringList dirs;
    for (const ConfigurationResult &c : r->configurations) {
        QVERIFY(c.tempDirRemoved);
        QVERIFY(c.tempDir.startsWith(parent.path()));
        QVERIFY(!QFileInfo::exists(c.tempDir));
        dirs.append(c.tempDir);
    }
    dirs.removeDuplicates();
    QCOMPARE(dirs.size(), 3); // a fresh directory per configuration
    QVERIFY(isEmptyDir(parent.path()));
    // The disk tier really wrote a file there while it ran.
    QVERIFY(r->find(CacheConfiguration::DiskOnly)->finalStats.disk.enabled);
    QVERIFY(!r->find(CacheConfiguration::MemoryOnly)->finalStats.disk.enabled);
    QCOMPARE(r->find(CacheConfiguration::DiskOnly)->finalStats.memory.maxEntries, 0);
}

void TestCacheBenchmark::cancelStopsAndCleansUp()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.iterations = 100000; // far longer than the test waits
    o.configurations = {CacheConfiguration::Tiered};
    ManualClock clock;
    o.progressClock = &clock;
    int reports = 0;
    o.progress = [&](const Progress &p) {
        ++reports;
        if (p.done > 0)
            o.cancel.cancel();
    };
    // The callback holds a reference to o.cancel; the benchmark copies the options, and copies
    // of a token share its state.
    exec::CancellationToken token = o.cancel;
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(!r);
    QCOMPARE(r.error().code, QStringLiteral("cancelled"));
    QVERIFY(token.isCancelled());
    QVERIFY(reports >= 1);
    QVERIFY(isEmptyDir(parent.path()));

    // Cancelled before it starts: nothing runs.
    CacheBenchmarkOptions early = smallOptions(parent.path());
    early.cancel.cancel();
    QCOMPARE(CacheBenchmark(early).run().error().code, QStringLiteral("cancelled"));
}

void TestCacheBenchmark::progressAtMost10Hz()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.configurations = {CacheConfiguration::MemoryOnly};
    SteppingClock clock(std::chrono::milliseconds(1));
    o.progressClock = &clock;
    std::mutex mutex;
    QList<Progress> reports;
    QList<Clock::MonoTime> times;
    o.progress = [&](const Progress &p) {
        std::lock_guard lock(mutex);
        reports.append(p);
        times.append(clock.peek());
    };
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(r);
    QVERIFY2(reports.size() >= 3, qPrintable(QString::number(reports.size())));
    const qint64 total = 100 /* populate */ + 8 * (10 + 100);
    for (int i = 0; i < reports.size(); ++i) {
        QCOMPARE(reports.at(i).total, total);
        QVERIFY(reports.at(i).done <= total);
        if (i > 0) {
            QVERIFY(reports.at(i).done >= reports.at(i - 1).done);
            // All but the final report are at least 100 ms apart on the injected clock.
            if (i < reports.size() - 1)
                QVERIFY2(times.at(i) - times.at(i - 1) >= std::chrono::milliseconds(100) - std::chrono::microseconds(100),
                         qPrintable(QString::number((times.at(i) - times.at(i - 1)).count())));
        }
    }
    const Progress &last = reports.constLast();
    QCOMPARE(last.done, total);
    QCOMPARE(last.etaSeconds, 0.0);
    QVERIFY(!last.phase.isEmpty());
    // A report mid-run has an ETA and live figures.
    const Progress &mid = reports.at(1);
    QVERIFY(mid.etaSeconds > 0);
    QVERIFY(!mid.figures.isEmpty());
    QCOMPARE(mid.figures.constFirst().first, QStringLiteral("ops/s"));
}

void TestCacheBenchmark::zipfSkewsKeysUniformDoesNot()
{
    const quint32 keys = 1000;
    const qint64 n = 100000;
    const auto topShare = [&](const Trace &trace) {
        std::vector<qint64> counts(keys, 0);
        for (quint32 k : trace)
            ++counts[k];
        std::sort(counts.begin(), counts.end(), std::greater<>());
        qint64 top = 0;
        for (int i = 0; i < 10; ++i) // the 1 % most requested keys
            top += counts[size_t(i)];
        return double(top) / double(n);
    };
    const Trace uniform = drawBenchmarkKeys(KeyDistribution{}, keys, n, 7);
    const Trace zipf = drawBenchmarkKeys(*KeyDistribution::parse(QStringLiteral("zipf:1.2")), keys, n, 7);
    QCOMPARE(qint64(uniform.size()), n);
    QCOMPARE(qint64(zipf.size()), n);
    QVERIFY(std::all_of(zipf.begin(), zipf.end(), [&](quint32 k) { return k < keys; }));
    QVERIFY2(topShare(uniform) < 0.02, qPrintable(QString::number(topShare(uniform))));
    // Zipf(1.2) over 1000 keys: the top 10 ranks carry about 66 % of the mass.
    QVERIFY2(topShare(zipf) > 0.55, qPrintable(QString::number(topShare(zipf))));

    // The benchmark records the distribution it used.
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.configurations = {CacheConfiguration::MemoryOnly};
    o.distribution = *KeyDistribution::parse(QStringLiteral("zipf:1.2"));
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(r);
    QCOMPARE(r->config.value(QStringLiteral("distribution")).toString(), QStringLiteral("zipf:1.2"));
    QCOMPARE(findOp(r->configurations.constFirst().operations, QStringLiteral("get"))->hits, 80u);
}

void TestCacheBenchmark::seedRepeatsChoices()
{
    QCOMPARE(drawBenchmarkKeys({}, 500, 1000, 3), drawBenchmarkKeys({}, 500, 1000, 3));
    QVERIFY(drawBenchmarkKeys({}, 500, 1000, 3) != drawBenchmarkKeys({}, 500, 1000, 4));
    // Two runs with one seed make the same choices: the same hits in every workload.
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.configurations = {CacheConfiguration::MemoryOnly};
    o.seed = 42;
    Result<CacheBenchmarkResult> a = CacheBenchmark(o).run();
    Result<CacheBenchmarkResult> b = CacheBenchmark(o).run();
    QVERIFY(a && b);
    for (int w = 0; w < 3; ++w) {
        QCOMPARE(a->configurations[0].workloads[w].hits, b->configurations[0].workloads[w].hits);
        QCOMPARE(a->configurations[0].workloads[w].keysRemoved,
                 b->configurations[0].workloads[w].keysRemoved);
    }
}

void TestCacheBenchmark::threadsCountEveryCall()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.threads = 3;
    o.iterations = 101; // not a multiple of the thread count
    o.configurations = {CacheConfiguration::MemoryOnly};
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(r);
    const ConfigurationResult &c = r->configurations.constFirst();
    for (const OperationResult &op : c.operations + c.workloads)
        QCOMPARE(op.count(), 101);
    const OperationResult *get = findOp(c.operations, QStringLiteral("get"));
    QCOMPARE(get->cacheLookups, get->lookups);
    QCOMPARE(get->hits, get->existingLookups); // nothing removes keys during get
    QCOMPARE(r->config.value(QStringLiteral("threads")).toInt(), 3);
}

void TestCacheBenchmark::jsonHasOldFields()
{
    QTemporaryDir parent;
    CacheBenchmarkOptions o = smallOptions(parent.path());
    o.iterations = 20;
    o.configurations = {CacheConfiguration::MemoryOnly, CacheConfiguration::Tiered};
    Result<CacheBenchmarkResult> r = CacheBenchmark(o).run();
    QVERIFY(r);
    const QJsonObject json = r->toJson();
    for (const char *key : {"start_time", "end_time", "configurations", "operations", "workloads",
                            "schema_version", "opsdeck_version", "run", "config"})
        QVERIFY2(json.contains(QString::fromLatin1(key)), key);
    QCOMPARE(json.value(QStringLiteral("schema_version")).toInt(), kCacheBenchmarkSchemaVersion);
    const QJsonObject get = json[QStringLiteral("operations")][QStringLiteral("get")][QStringLiteral("tiered")].toObject();
    for (const char *key : {"min", "max", "avg", "median", "p95", "operations_per_second", "hit_rate"})
        QVERIFY2(get.contains(QString::fromLatin1(key)), key);
    QCOMPARE(get.value(QStringLiteral("hit_rate")).toDouble(), 0.8);
    // Times are milliseconds: a memory get is far below 1 s, and min <= median <= p95 <= max.
    QVERIFY(get.value(QStringLiteral("median")).toDouble() < 1000.0);
    QVERIFY(get.value(QStringLiteral("min")).toDouble() <= get.value(QStringLiteral("median")).toDouble());
    QVERIFY(get.value(QStringLiteral("median")).toDouble() <= get.value(QStringLiteral("p95")).toDouble());
    QVERIFY(get.value(QStringLiteral("p95")).toDouble() <= get.value(QStringLiteral("max")).toDouble());
    const QJsonObject histogram = get.value(QStringLiteral("histogram")).toObject();
    qint64 bucketTotal = 0;
    for (const QJsonValue &b : histogram.value(QStringLiteral("buckets")).toArray())
        bucketTotal += b.toArray().at(2).toInteger();
    QCOMPARE(bucketTotal, 20);
    const QJsonObject balanced = json[QStringLiteral("workloads")][QStringLiteral("balanced")][QStringLiteral("memory_only")].toObject();
    QVERIFY(balanced.contains(QStringLiteral("operation_counts")));
    QVERIFY(json[QStringLiteral("configurations")][QStringLiteral("tiered")].toObject().contains(QStringLiteral("memory_hit_rate")));
    QVERIFY(!json[QStringLiteral("configurations")].toObject().contains(QStringLiteral("disk_only")));
    // Wall-clock throughput: calls / the timed windows' seconds, not 1000 / mean.
    const double wall = get.value(QStringLiteral("wall_time_ms")).toDouble();
    QCOMPARE(get.value(QStringLiteral("operations_per_second")).toDouble(), 20.0 / (wall / 1000.0));
    QVERIFY(r->summaryText().contains(QStringLiteral("invalidate_pattern")));
    QCOMPARE(r->csvRows().size(), 2 * (5 + 3));
    QCOMPARE(r->csvRows().constFirst().size(), CacheBenchmarkResult::csvHeader().size());
}

void TestCacheBenchmark::baselineFigures()
{
    QJsonObject result{
        {QStringLiteral("operations"),
         QJsonObject{{QStringLiteral("get"),
                      QJsonObject{{QStringLiteral("tiered"), QJsonObject{{QStringLiteral("median"), 1.0}}}}}}},
        {QStringLiteral("workloads"), QJsonObject{}}};
    const QList<BaselineFigure> figures = cacheBenchmarkBaselineFigures(result);
    QCOMPARE(figures.size(), 3);
    QCOMPARE(figures.at(0).name, QStringLiteral("operations.get.tiered.median"));
    QVERIFY(figures.at(2).better == BaselineFigure::Better::Higher);
    QJsonObject trace{{QStringLiteral("mode"), QStringLiteral("trace")},
                      {QStringLiteral("hit_ratios"),
                       QJsonObject{{QStringLiteral("lru"), QJsonObject{}}, {QStringLiteral("belady"), QJsonObject{}}}}};
    const QList<BaselineFigure> traceFigures = cacheBenchmarkBaselineFigures(trace);
    QCOMPARE(traceFigures.size(), 2);
    QVERIFY(traceFigures.at(0).better == BaselineFigure::Better::Higher);
}

void TestCacheBenchmark::namedTraces()
{
    QCOMPARE(namedTraceNames().size(), 5);
    for (const QString &name : namedTraceNames())
        QVERIFY2(namedTraceSpec(name, 1000, 100), qPrintable(name));
    QCOMPARE(namedTraceSpec(QStringLiteral("loop-1.5x"), 1000, 100)->keyCount, 150u);
    QCOMPARE(namedTraceSpec(QStringLiteral("zipf-1.0"), 10000, 100)->length, 5'000'000);
    QCOMPARE(namedTraceSpec(QStringLiteral("shifting"), 10000, 100, 1000)->period, 100);
    QCOMPARE(namedTraceSpec(QStringLiteral("zipf-0.9"), 10000, 100, 0, 9)->seed, 9u);
    const Result<TraceSpec> bad = namedTraceSpec(QStringLiteral("nope"), 1000, 100);
    QCOMPARE(bad.error().code, QStringLiteral("unknown_trace"));
    QVERIFY(bad.error().message.contains(QStringLiteral("zipf-1.0")));
}

void TestCacheBenchmark::traceComparisonMatchesSimulator()
{
    TraceComparisonOptions o;
    o.traceName = QStringLiteral("zipf-1.0");
    o.keyCount = 2000;
    o.length = 20000;
    o.capacity = 50;
    o.threads = 2;
    const Result<TraceComparisonResult> r = runTraceComparison(o);
    QVERIFY(r);
    QStringList names;
    for (const auto &ratio : r->ratios)
        names.append(ratio.first);
    QCOMPARE(names, QStringLiteral("lru lfu fifo ttl adaptive static belady").split(QLatin1Char(' ')));
    QCOMPARE(r->requests, 20000);
    // The same figures a direct replay of the same trace gives.
    const Trace trace = TraceGenerator::generate(*namedTraceSpec(o.traceName, 2000, 50, 20000));
    const HitRatioSimulator simulator(trace);
    QCOMPARE(r->ratio(QStringLiteral("lru"))->hits, simulator.replay(cache::Policy::Lru, 50).hits);
    QCOMPARE(r->ratio(QStringLiteral("belady"))->hits, simulator.belady(50).hits);
    for (const auto &ratio : r->ratios)
        QVERIFY(ratio.second.hits <= r->ratio(QStringLiteral("belady"))->hits);
    const QJsonObject json = r->toJson();
    QCOMPARE(json.value(QStringLiteral("mode")).toString(), QStringLiteral("trace"));
    QVERIFY(r->summaryText().contains(QStringLiteral("belady")));
}

void TestCacheBenchmark::traceFile()
{
    QTemporaryDir dir;
    QFile file(dir.filePath(QStringLiteral("trace.txt")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("a\r\nb\n\n  a  \nc\na\nb\n");
    file.close();
    const Result<TraceFile> t = readTraceFile(file.fileName());
    QVERIFY(t);
    QCOMPARE(t->trace, (Trace{0, 1, 0, 2, 0, 1}));
    QCOMPARE(t->distinctKeys, 3u);
    QCOMPARE(t->skippedLines, 1);

    TraceComparisonOptions o;
    o.traceFile = file.fileName();
    o.capacity = 2;
    const Result<TraceComparisonResult> r = runTraceComparison(o);
    QVERIFY(r);
    QCOMPARE(r->requests, 6);
    QCOMPARE(r->ratio(QStringLiteral("belady"))->hits, 3u); // a hit twice, b once with MIN
    QCOMPARE(r->ratio(QStringLiteral("lru"))->hits, 2u);
}

void TestCacheBenchmark::traceFileErrors()
{
    QTemporaryDir dir;
    QCOMPARE(readTraceFile(dir.filePath(QStringLiteral("missing"))).error().code,
             QStringLiteral("trace_file_unreadable"));
    QFile empty(dir.filePath(QStringLiteral("empty")));
    QVERIFY(empty.open(QIODevice::WriteOnly));
    empty.write("\n\n");
    empty.close();
    QCOMPARE(readTraceFile(empty.fileName()).error().code, QStringLiteral("trace_file_empty"));
    TraceComparisonOptions both;
    both.traceName = QStringLiteral("zipf-1.0");
    both.traceFile = empty.fileName();
    QCOMPARE(runTraceComparison(both).error().code, QStringLiteral("invalid_argument"));
    TraceComparisonOptions zero;
    zero.traceName = QStringLiteral("zipf-1.0");
    zero.capacity = 0;
    QCOMPARE(runTraceComparison(zero).error().code, QStringLiteral("invalid_argument"));
}

QTEST_GUILESS_MAIN(TestCacheBenchmark)
#include "tst_cachebenchmark.moc"

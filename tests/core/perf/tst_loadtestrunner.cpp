// LoadTestRunner on a ManualClock: one worker and a scripted synchronous component whose
// "service" advances the clock, so every run is deterministic. Covers the coordinated-omission
// correction (a 1 s stall every 10 s at a fixed rate), the open model's achieved rate on the real
// cache component, the closed model and its ramp-up, errors by kind, thresholds, seeds, the
// timeline and cancellation.
#include "core/perf/loadtestcomponents.h"
#include "core/perf/loadtestresult.h"
#include "core/perf/loadtestrunner.h"
#include "core/support/clock.h"
#include "loadtestscripted.h"

#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>

using namespace opsdeck;
using namespace opsdeck::perf;
using namespace std::chrono_literals;

namespace {

using namespace opsdeck::perf::test;

qint64 nearestRank(std::vector<qint64> v, double p)
{
    std::sort(v.begin(), v.end());
    const size_t rank = size_t(std::ceil(p / 100.0 * double(v.size())));
    return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

LoadTestConfig baseConfig()
{
    LoadTestConfig c;
    c.components = {LoadComponentKind::Cache};
    c.concurrency = 1;
    c.rampUpSeconds = 0;
    c.seed = 42;
    return c;
}

} // namespace

class TestLoadTestRunner : public QObject
{
    Q_OBJECT

private slots:
    // A 1 s stall every 10 s at 100 operations/s, one worker: an operation that starts inside the
    // stall (the last second of each 10 s) ends when it does; the others take 1 ms. The queue the
    // stall builds is charged to the operations that waited in it.
    void coordinatedOmissionIsCorrected()
    {
        ManualClock clock;
        const Clock::MonoTime t0 = clock.monotonic();
        auto service = [t0](Clock::MonoTime start, const OpTicket &) -> Clock::Duration {
            const qint64 phase = (start - t0).count() % 10'000'000'000;
            if (phase >= 9'000'000'000)
                return Clock::Duration(10'000'000'000 - phase) + 1ms;
            return 1ms;
        };
        LoadTestConfig config = baseConfig();
        config.rate = 100;
        config.durationSeconds = 60;
        LoadTestRunner runner(config, clock);
        runner.setSleepFunction(manualSleeper(clock));
        auto run = runner.run(one(std::make_unique<ScriptedComponent>(clock, service)));
        QVERIFY(run);
        const ComponentFigures &f = run->components.constFirst();
        QCOMPARE(f.operations, quint64(6000));
        QCOMPARE(f.errors, quint64(0));

        // The independent expectation: the same single-server queue, computed here.
        std::vector<qint64> corrected, uncorrected;
        qint64 freeAt = 0;
        for (qint64 k = 0; k < 6000; ++k) {
            const qint64 intended = k * 10'000'000;
            const qint64 start = std::max(intended, freeAt);
            const qint64 phase = start % 10'000'000'000;
            const qint64 serviceNs
                = phase >= 9'000'000'000 ? 10'000'000'000 - phase + 1'000'000 : 1'000'000;
            const qint64 end = start + serviceNs;
            freeAt = end;
            corrected.push_back(end - intended);
            uncorrected.push_back(end - start);
        }
        const qint64 rawCorrectedP99 = nearestRank(corrected, 99);
        const qint64 rawUncorrectedP99 = nearestRank(uncorrected, 99);
        const qint64 histCorrectedP99 = f.corrected.valueAtPercentile(99);
        const qint64 histUncorrectedP99 = f.uncorrected.valueAtPercentile(99);
        qInfo("corrected p99: histogram %.3f ms, raw %.3f ms; uncorrected p99: histogram %.3f ms, "
              "raw %.3f ms",
              histCorrectedP99 / 1e6, rawCorrectedP99 / 1e6, histUncorrectedP99 / 1e6,
              rawUncorrectedP99 / 1e6);
        // Exact up to the histogram's resolution (3 significant digits: the bucket's top value).
        QCOMPARE(f.corrected.layout().highestEquivalentValue(rawCorrectedP99), histCorrectedP99);
        QCOMPARE(f.uncorrected.layout().highestEquivalentValue(rawUncorrectedP99),
                 histUncorrectedP99);
        // The stall is visible only when corrected: ~900 ms against the 1 ms service time.
        QVERIFY(histCorrectedP99 > 800'000'000);
        QVERIFY(histUncorrectedP99 < 2'000'000);
        QVERIFY(histUncorrectedP99 < histCorrectedP99 / 100);
        // Every stalled start is late: the worst lag is the stall itself.
        QVERIFY(f.maxScheduleLagNs >= 990'000'000);
        QCOMPARE(f.corrected.max(), *std::max_element(corrected.begin(), corrected.end()));
    }

    // Open model on the real cache component: the schedule is kept exactly (the manual clock
    // does not move while the cache works), so 2000/s for 5 s is 10000 operations completed
    // inside the window: within +-1 % of the target, in fact exact.
    void openModelAchievesTheRateOnTheCache()
    {
        ManualClock clock;
        LoadTestConfig config = baseConfig();
        config.rate = 2000;
        config.durationSeconds = 5;
        config.rampUpSeconds = 1;
        LoadTestRunner runner(config, clock);
        runner.setSleepFunction(manualSleeper(clock));
        auto run = runner.run(one(std::make_unique<CacheLoadComponent>()));
        QVERIFY2(run, run ? "" : qPrintable(run.error().message));
        const ComponentFigures &f = run->components.constFirst();
        QCOMPARE(f.rampUpOperations, quint64(1000)); // 2000 · 1 s / 2
        QCOMPARE(f.operations, quint64(10000));
        QVERIFY(std::abs(f.operationsPerSecond() - 2000.0) <= 20.0);
        QCOMPARE(f.operationsPerSecond(), 2000.0);
        QCOMPARE(f.errors, quint64(0));
        quint64 counted = 0;
        for (quint64 n : f.operationCounts)
            counted += n;
        QCOMPARE(counted, f.operations);
        // get 60 % / set 30 % / delete 5 % / invalidate 5 %, within sampling noise.
        QVERIFY(std::abs(double(f.operationCounts[0]) / 10000.0 - 0.60) < 0.03);
        QVERIFY(std::abs(double(f.operationCounts[1]) / 10000.0 - 0.30) < 0.03);
        QCOMPARE(f.cacheHits + f.cacheMisses, f.operationCounts[0]);
        QVERIFY(f.extra.contains(QStringLiteral("cache_stats")));
    }

    void closedModelAndRampUp()
    {
        ManualClock clock;
        LoadTestConfig config = baseConfig();
        config.durationSeconds = 10;
        config.rampUpSeconds = 1;
        LoadTestRunner runner(config, clock);
        runner.setSleepFunction(manualSleeper(clock));
        auto run = runner.run(one(std::make_unique<ScriptedComponent>(
            clock, [](Clock::MonoTime, const OpTicket &) -> Clock::Duration { return 2ms; })));
        QVERIFY(run);
        const ComponentFigures &f = run->components.constFirst();
        // Worker 0 starts at once: 500 operations in the ramp-up second, 5000 in the window.
        QCOMPARE(f.rampUpOperations, quint64(500));
        QCOMPARE(f.operations, quint64(5000));
        QCOMPARE(f.operationsPerSecond(), 500.0);
        QCOMPARE(f.corrected.valueAtPercentile(99), f.uncorrected.valueAtPercentile(99));
        QCOMPARE(f.corrected.valueAtPercentile(50),
                 qint64(2'000'000)); // every sample is 2 ms (clamped to max)
        // The timeline: one entry per second, 500 each, adding up to the window's operations.
        QCOMPARE(int(f.timeline.size()), 10);
        quint64 sum = 0;
        for (const TimelineSecond &s : f.timeline) {
            QCOMPARE(s.operations, quint64(500));
            sum += s.operations;
        }
        QCOMPARE(sum, f.operations);
        QCOMPARE(run->measuredSeconds, 10.0);
        QCOMPARE(run->rampUpSeconds, 1.0);
        QVERIFY(!run->cancelled);
    }

    void errorsByKindAndThresholds()
    {
        ManualClock clock;
        LoadTestConfig config = baseConfig();
        config.rate = 1000;
        config.durationSeconds = 1;
        config.maxErrorRate = 0.05;
        config.maxP99Ms = {{LoadComponentKind::Cache, 1000.0}, {LoadComponentKind::Http, 10.0}};
        auto errorOf = [](const OpTicket &t) {
            switch (t.index % 10) {
            case 0:
                return LoadErrorKind::Timeout;
            case 1:
                return LoadErrorKind::Connect;
            case 2:
                return t.index % 20 == 2 ? LoadErrorKind::HttpStatus : LoadErrorKind::RateLimited;
            default:
                return LoadErrorKind::None;
            }
        };
        LoadTestRunner runner(config, clock);
        runner.setSleepFunction(manualSleeper(clock));
        auto run = runner.run(one(std::make_unique<ScriptedComponent>(
            clock, [](Clock::MonoTime, const OpTicket &) -> Clock::Duration { return 100us; },
            errorOf)));
        QVERIFY(run);
        const ComponentFigures &f = run->components.constFirst();
        QCOMPARE(f.operations, quint64(1000));
        QCOMPARE(f.errorsByKind[size_t(LoadErrorKind::Timeout)], quint64(100));
        QCOMPARE(f.errorsByKind[size_t(LoadErrorKind::Connect)], quint64(100));
        QCOMPARE(f.errorsByKind[size_t(LoadErrorKind::HttpStatus)], quint64(50));
        QCOMPARE(f.errorsByKind[size_t(LoadErrorKind::RateLimited)], quint64(50));
        QCOMPARE(f.errors, quint64(300));
        QCOMPARE(f.errorRate(), 0.3);

        const QList<ThresholdCheck> checks = checkThresholds(*run);
        QCOMPARE(checks.size(), 3);
        QVERIFY(!thresholdsPassed(checks));
        for (const ThresholdCheck &c : checks) {
            if (c.figure == u"p99_ms" && c.component == u"cache")
                QVERIFY(c.passed && !c.missing);
            if (c.figure == u"p99_ms" && c.component == u"http")
                QVERIFY(c.missing && c.passed); // did not run: not a failure
            if (c.figure == u"error_rate")
                QVERIFY(!c.passed);
        }
    }

    void seedRepeatsTheOperations()
    {
        auto draws = [](quint64 seed) {
            ManualClock clock;
            LoadTestConfig config = baseConfig();
            config.rate = 500;
            config.durationSeconds = 1;
            config.seed = seed;
            std::map<qint64, double> seen;
            auto component = std::make_unique<ScriptedComponent>(
                clock, [](Clock::MonoTime, const OpTicket &) -> Clock::Duration { return 10us; });
            component->onStart = [&seen](const OpTicket &t) {
                seen[t.index] = t.draw(0) + t.draw(1);
            };
            LoadTestRunner runner(config, clock);
            runner.setSleepFunction(manualSleeper(clock));
            auto run = runner.run(one(std::move(component)));
            return std::make_pair(seen, run->components.constFirst().operationCounts);
        };
        const auto a = draws(7), b = draws(7), c = draws(8);
        QCOMPARE(a.first.size(), size_t(500));
        QVERIFY(a.first == b.first);
        QCOMPARE(a.second, b.second);
        QVERIFY(a.first != c.first);
    }

    void cancelStopsAndKeepsWhatWasMeasured()
    {
        ManualClock clock;
        LoadTestConfig config = baseConfig();
        config.durationSeconds = 60;
        LoadTestRunner runner(config, clock);
        runner.setSleepFunction(manualSleeper(clock));
        auto component = std::make_unique<ScriptedComponent>(
            clock, [](Clock::MonoTime, const OpTicket &) -> Clock::Duration { return 1ms; });
        component->onStart = [&runner](const OpTicket &t) {
            if (t.index == 2999)
                runner.cancel(); // from the worker thread, as a GUI's button would from its own
        };
        auto run = runner.run(one(std::move(component)));
        QVERIFY(run);
        QVERIFY(run->cancelled);
        QCOMPARE(run->components.constFirst().operations, quint64(3000));
        QCOMPARE(run->measuredSeconds, 3.0);
        QCOMPARE(int(run->components.constFirst().timeline.size()), 3); // the seconds as run
    }

    void progressIsReported()
    {
        // Real time here: the runner reports from the caller's thread every 100 ms at most.
        ManualClock clock;
        LoadTestConfig config = baseConfig();
        config.durationSeconds = 1;
        LoadTestRunner runner(config, clock);
        std::atomic<int> calls{0};
        runner.setSleepFunction(manualSleeper(clock));
        Progress last;
        runner.setProgressCallback([&](const Progress &p) {
            ++calls;
            last = p;
        });
        auto run = runner.run(one(std::make_unique<ScriptedComponent>(
            clock, [](Clock::MonoTime, const OpTicket &) -> Clock::Duration { return 1ms; })));
        QVERIFY(run);
        QVERIFY(calls.load() >= 1); // at least the final report
        QCOMPARE(last.phase, QStringLiteral("done"));
        QCOMPARE(last.done, qint64(1000));
        QCOMPARE(last.etaSeconds, 0.0);
    }

    void invalidConfigIsRefused_data()
    {
        QTest::addColumn<int>("concurrency");
        QTest::addColumn<double>("duration");
        QTest::addColumn<double>("ramp");
        QTest::addColumn<double>("rate");
        QTest::newRow("zero workers") << 0 << 1.0 << 0.0 << 0.0;
        QTest::newRow("zero duration") << 1 << 0.0 << 0.0 << 0.0;
        QTest::newRow("negative ramp") << 1 << 1.0 << -1.0 << 0.0;
        QTest::newRow("negative rate") << 1 << 1.0 << 0.0 << -5.0;
        QTest::newRow("nan duration") << 1 << qQNaN() << 0.0 << 0.0;
    }
    void invalidConfigIsRefused()
    {
        QFETCH(int, concurrency);
        QFETCH(double, duration);
        QFETCH(double, ramp);
        QFETCH(double, rate);
        LoadTestConfig config = baseConfig();
        config.concurrency = concurrency;
        config.durationSeconds = duration;
        config.rampUpSeconds = ramp;
        if (rate != 0.0)
            config.rate = rate;
        const Status s = config.validate();
        QVERIFY(!s);
        QCOMPARE(s.error().code, QStringLiteral("invalid_load_config"));
        ManualClock clock;
        LoadTestRunner runner(config, clock);
        auto run = runner.run(one(std::make_unique<ScriptedComponent>(
            clock, [](Clock::MonoTime, const OpTicket &) -> Clock::Duration { return 1ms; })));
        QVERIFY(!run);
    }

    void thresholdListParsing_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("valid");
        QTest::newRow("two") << QStringLiteral("http=50,cache=0.5") << true;
        QTest::newRow("spaces and case") << QStringLiteral(" HTTP = 5 , execution=1") << true;
        QTest::newRow("unknown") << QStringLiteral("disk=5") << false;
        QTest::newRow("no value") << QStringLiteral("http=") << false;
        QTest::newRow("negative") << QStringLiteral("http=-1") << false;
        QTest::newRow("twice") << QStringLiteral("http=1,http=2") << false;
        QTest::newRow("empty") << QString() << false;
    }
    void thresholdListParsing()
    {
        QFETCH(QString, text);
        QFETCH(bool, valid);
        const auto parsed = parseComponentThresholds(text);
        QCOMPARE(bool(parsed), valid);
        if (valid && text.contains(u"cache"))
            QCOMPARE(parsed->value(LoadComponentKind::Cache), 0.5);
    }
};

QTEST_GUILESS_MAIN(TestLoadTestRunner)
#include "tst_loadtestrunner.moc"

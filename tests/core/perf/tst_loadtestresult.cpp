// The result file of a deterministic run (ManualClock, scripted components): the old fields and
// ours, validated against docs/schemas/load_test.schema.json; the mixed top-level figures; the
// baseline comparison's figures; the CSV rows and the summary table.
#include "core/perf/loadtestresult.h"
#include "core/perf/loadtestrunner.h"
#include "loadtestschemacheck.h"
#include "loadtestscripted.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::perf;
using namespace opsdeck::perf::test;
using namespace std::chrono_literals;

namespace {

// Two components at once on one manual clock would race; run them one after the other and
// put the figures together (what the runner does for simultaneous ones).
LoadTestRun deterministicRun(bool open)
{
    LoadTestRun merged;
    for (LoadComponentKind kind : {LoadComponentKind::Cache, LoadComponentKind::Http}) {
        ManualClock clock;
        LoadTestConfig config;
        config.components = {kind};
        config.concurrency = 1;
        config.durationSeconds = 3;
        config.rampUpSeconds = 1;
        config.seed = 9;
        if (open)
            config.rate = 200;
        config.maxP99Ms = {{LoadComponentKind::Cache, 100.0}};
        config.maxErrorRate = 0.5;
        const Clock::Duration service
            = kind == LoadComponentKind::Cache ? Clock::Duration(50us) : Clock::Duration(2ms);
        LoadTestRunner runner(config, clock);
        runner.setSleepFunction(manualSleeper(clock));
        auto run = runner.run(one(std::make_unique<ScriptedComponent>(
            clock, [service](Clock::MonoTime, const OpTicket &) { return service; },
            [kind](const OpTicket &t) {
                return kind == LoadComponentKind::Http && t.index % 50 == 0
                           ? LoadErrorKind::HttpStatus
                           : LoadErrorKind::None;
            },
            kind)));
        Q_ASSERT(run);
        if (merged.components.isEmpty()) {
            merged = *run;
        } else {
            merged.components.append(run->components);
        }
    }
    merged.config.components = {LoadComponentKind::Cache, LoadComponentKind::Http};
    return merged;
}

} // namespace

class TestLoadTestResult : public QObject
{
    Q_OBJECT

private slots:
    void jsonHasTheOldFieldsAndOurs_data()
    {
        QTest::addColumn<bool>("open");
        QTest::newRow("closed") << false;
        QTest::newRow("open") << true;
    }
    void jsonHasTheOldFieldsAndOurs()
    {
        QFETCH(bool, open);
        const LoadTestRun run = deterministicRun(open);
        const QList<ThresholdCheck> checks = checkThresholds(run);
        const QJsonObject json = loadTestResultJson(run, RunInfo::begin(), checks);
        for (const char *key :
             {"start_time", "end_time", "duration", "total_operations", "operations_per_second",
              "response_times", "error_rate", "component_results", "schema_version",
              "opsdeck_version", "run", "config", "ramp_up", "latency", "errors", "timeline"})
            QVERIFY2(json.contains(QLatin1String(key)), key);
        const QJsonObject cache = json[u"component_results"][u"cache"].toObject();
        for (const char *key :
             {"operations", "operations_per_second", "response_times", "error_rate", "hit_rate",
              "histogram", "latency", "ramp_up", "timeline", "errors"})
            QVERIFY2(cache.contains(QLatin1String(key)), key);
        const QJsonObject http = json[u"component_results"][u"http"].toObject();
        QVERIFY(http.contains(u"status_codes"));
        // 3 s at 200/s (open) or 500/s (closed, 2 ms each): 1 in 50 answered with an error.
        const double httpOps = open ? 600 : 1500;
        QCOMPARE(http[u"operations"].toDouble(), httpOps);
        QCOMPARE(http[u"errors"][u"http_status"].toDouble(), httpOps / 50);
        QCOMPARE(http[u"error_rate"].toDouble(), 0.02);
        QCOMPARE(json[u"total_operations"].toDouble(), cache[u"operations"].toDouble() + httpOps);
        QCOMPARE(json[u"errors"][u"http_status"].toDouble(), httpOps / 50);
        // The mixed top-level distribution spans both: min from the cache, max from http.
        QCOMPARE(json[u"response_times"][u"min"].toDouble(), 0.05);
        QCOMPARE(json[u"response_times"][u"max"].toDouble(), 2.0);
        QCOMPARE(json[u"model"].toString(),
                 open ? QStringLiteral("open") : QStringLiteral("closed"));
        QCOMPARE(json[u"ramp_up"][u"duration_s"].toDouble(), 1.0);
        QCOMPARE(json[u"duration"].toDouble(), 3.0);
        QCOMPARE(json[u"timeline"].toArray().size(), 3);
        QVERIFY(json[u"thresholds"][u"passed"].toBool());
        // Histogram buckets add up to the count.
        double sum = 0;
        for (const QJsonValue &b : cache[u"histogram"][u"buckets"].toArray())
            sum += b[u"count"].toDouble();
        QCOMPARE(sum, cache[u"operations"].toDouble());

        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("result.json"));
        QVERIFY(writeFileAtomically(path, QJsonDocument(json).toJson()));
        const QString findings
            = opsdeck::test::validateAgainstSchema(opsdeck::test::loadTestSchemaPath(), path);
        QVERIFY2(findings.isEmpty(), qPrintable(findings));
    }

    void schemaRejectsAResultWithoutTheOldFields()
    {
        const LoadTestRun run = deterministicRun(false);
        QJsonObject json = loadTestResultJson(run, RunInfo::begin(), {});
        QJsonObject components = json[u"component_results"].toObject();
        QJsonObject http = components[u"http"].toObject();
        http.remove(u"status_codes");
        components[u"http"] = http;
        json[u"component_results"] = components;
        json.remove(u"response_times");
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("bad.json"));
        QVERIFY(writeFileAtomically(path, QJsonDocument(json).toJson()));
        const QString findings
            = opsdeck::test::validateAgainstSchema(opsdeck::test::loadTestSchemaPath(), path);
        QVERIFY(findings.contains(u"status_codes"));
        QVERIFY(findings.contains(u"response_times"));
    }

    void baselineComparison()
    {
        const LoadTestRun run = deterministicRun(false);
        const QJsonObject current = loadTestResultJson(run, RunInfo::begin(), {});
        const QList<BaselineFigure> figures = loadTestBaselineFigures(run);
        QCOMPARE(figures.size(), 6); // ops/s, median, p99 per component
        QVERIFY(!compareWithBaseline(current, current, figures, 0.10).hasRegression());

        // A baseline twice as fast: this run's throughput regressed by 50 %.
        QJsonObject faster = current;
        QJsonObject components = faster[u"component_results"].toObject();
        QJsonObject cache = components[u"cache"].toObject();
        cache[u"operations_per_second"] = cache[u"operations_per_second"].toDouble() * 2;
        components[u"cache"] = cache;
        faster[u"component_results"] = components;
        const BaselineReport report = compareWithBaseline(faster, current, figures, 0.10);
        QVERIFY(report.hasRegression());
        QCOMPARE(report.count(FigureComparison::Verdict::Worse), 1);
        QVERIFY(!compareWithBaseline(faster, current, figures, 0.60).hasRegression());
    }

    void csvRowsAndSummary()
    {
        const LoadTestRun run = deterministicRun(true);
        const QList<QStringList> summary = loadTestSummaryRows(run);
        QCOMPARE(summary.size(), 3); // header + 2 components
        QCOMPARE(summary[0][0], QStringLiteral("component"));
        QCOMPARE(summary[1][0], QStringLiteral("cache"));
        QCOMPARE(summary[2][0], QStringLiteral("http"));
        QCOMPARE(summary[2][1], QStringLiteral("600"));
        const QList<QStringList> timeline = loadTestTimelineRows(run);
        QCOMPARE(timeline.size(), 1 + 3 * 2);
        quint64 ops = 0;
        for (qsizetype i = 1; i < timeline.size(); ++i)
            ops += timeline[i][2].toULongLong();
        QCOMPARE(ops, run.components[0].operations + run.components[1].operations);

        const QString table = loadTestSummaryTable(run, checkThresholds(run));
        QVERIFY(table.contains(u"open model"));
        QVERIFY(table.contains(u"all (mixed)"));
        QVERIFY(table.contains(u"http_status 12"));
        QVERIFY(table.contains(u"threshold cache p99_ms <= 100: "));
    }
};

QTEST_GUILESS_MAIN(TestLoadTestResult)
#include "tst_loadtestresult.moc"

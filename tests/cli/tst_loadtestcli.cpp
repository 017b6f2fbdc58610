// opsdeck-loadtest as users run it: the built binary in a subprocess with short durations.
// Flags and --help, selectors and the contradictory pair (exit 2), bad values (exit 2, nothing
// written), the JSON result validated against docs/schemas/load_test.schema.json, the default
// file name, CSV, thresholds and the baseline (exit 1), and seeds.
#include "../core/perf/loadtestschemacheck.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

namespace {

struct Outcome
{
    int exitCode = -1;
    QString out;
    QString err;
};

Outcome
runTool(const QStringList &args, const QString &workDir = QString(), int timeoutMs = 120'000)
{
    QProcess p;
    if (!workDir.isEmpty())
        p.setWorkingDirectory(workDir);
    p.start(QStringLiteral(OPSDECK_LOADTEST_BIN), args);
    Outcome o;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        o.err = QStringLiteral("timed out");
        return o;
    }
    o.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    o.out = QString::fromUtf8(p.readAllStandardOutput());
    o.err = QString::fromUtf8(p.readAllStandardError());
    return o;
}

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

QStringList shortRun()
{
    return {QStringLiteral("--duration"),    QStringLiteral("0.4"),
            QStringLiteral("--ramp-up"),     QStringLiteral("0.1"),
            QStringLiteral("--concurrency"), QStringLiteral("2"),
            QStringLiteral("--log-level"),   QStringLiteral("WARNING")};
}

QStringList componentsOf(const QJsonObject &json)
{
    return json[u"component_results"].toObject().keys();
}

} // namespace

class TestLoadTestCli : public QObject
{
    Q_OBJECT

private slots:
    void helpListsEveryFlagAndDefault_data()
    {
        QTest::addColumn<QString>("text");
        for (const char *flag : {"--concurrency",    "--duration",
                                 "--ramp-up",        "--output",
                                 "--test-cache",     "--test-http",
                                 "--test-execution", "--no-test-cache",
                                 "--no-test-http",   "--no-test-execution",
                                 "--log-level",      "--rate",
                                 "--target-url",     "--seed",
                                 "--max-p99-ms",     "--max-error-rate",
                                 "--baseline",       "--tolerance",
                                 "--format",         "--quiet",
                                 "--self-check",     "--help"})
            QTest::newRow(flag) << QString::fromLatin1(flag);
        QTest::newRow("default concurrency") << QStringLiteral("(default: 10)");
        QTest::newRow("default duration") << QStringLiteral("(default: 60)");
        QTest::newRow("default ramp-up") << QStringLiteral("(default: 5)");
        QTest::newRow("default level")
            << QStringLiteral("(default:\n                           INFO)");
        QTest::newRow("default tolerance") << QStringLiteral("(default: 10)");
        QTest::newRow("default name") << QStringLiteral("load_test_results_YYYYMMDD_HHMMSS.json");
    }
    void helpListsEveryFlagAndDefault()
    {
        QFETCH(QString, text);
        static const Outcome help = runTool({QStringLiteral("--help")});
        QCOMPARE(help.exitCode, 0);
        const QString flat = QString(help.out).simplified();
        QVERIFY2(flat.contains(QString(text).simplified()), qPrintable(text));
    }

    void badValuesExit2_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("negative concurrency")
            << QStringList{QStringLiteral("--concurrency"), QStringLiteral("-1")}
            << QStringLiteral("--concurrency");
        QTest::newRow("zero concurrency")
            << QStringList{QStringLiteral("--concurrency"), QStringLiteral("0")}
            << QStringLiteral("--concurrency");
        QTest::newRow("zero duration")
            << QStringList{QStringLiteral("--duration"), QStringLiteral("0")}
            << QStringLiteral("--duration");
        QTest::newRow("negative duration")
            << QStringList{QStringLiteral("--duration"), QStringLiteral("-5")}
            << QStringLiteral("--duration");
        QTest::newRow("word duration")
            << QStringList{QStringLiteral("--duration"), QStringLiteral("soon")}
            << QStringLiteral("--duration");
        QTest::newRow("negative ramp-up")
            << QStringList{QStringLiteral("--ramp-up"), QStringLiteral("-1")}
            << QStringLiteral("--ramp-up");
        QTest::newRow("unknown level")
            << QStringList{QStringLiteral("--log-level"), QStringLiteral("LOUD")}
            << QStringLiteral("--log-level");
        QTest::newRow("zero rate") << QStringList{QStringLiteral("--rate"), QStringLiteral("0")}
                                   << QStringLiteral("--rate");
        QTest::newRow("word rate") << QStringList{QStringLiteral("--rate"), QStringLiteral("fast")}
                                   << QStringLiteral("--rate");
        QTest::newRow("unwritable output")
            << QStringList{QStringLiteral("--output"), QStringLiteral("/nonexistent-dir/x.json")}
            << QStringLiteral("/nonexistent-dir");
        QTest::newRow("output is a directory")
            << QStringList{QStringLiteral("--output"), QStringLiteral("/tmp")}
            << QStringLiteral("/tmp");
        QTest::newRow("format") << QStringList{QStringLiteral("--format"), QStringLiteral("xml")}
                                << QStringLiteral("xml");
        QTest::newRow("p99 list") << QStringList{QStringLiteral("--max-p99-ms"),
                                                 QStringLiteral("disk=5")}
                                  << QStringLiteral("--max-p99-ms");
        QTest::newRow("p99 value")
            << QStringList{QStringLiteral("--max-p99-ms"), QStringLiteral("http=-2")}
            << QStringLiteral("--max-p99-ms");
        QTest::newRow("error rate > 1")
            << QStringList{QStringLiteral("--max-error-rate"), QStringLiteral("2")}
            << QStringLiteral("--max-error-rate");
        QTest::newRow("negative tolerance")
            << QStringList{QStringLiteral("--tolerance"), QStringLiteral("-1")}
            << QStringLiteral("--tolerance");
        QTest::newRow("missing baseline")
            << QStringList{QStringLiteral("--baseline"),
                           QStringLiteral("/nonexistent-baseline.json")}
            << QStringLiteral("nonexistent-baseline");
        QTest::newRow("target scheme")
            << QStringList{QStringLiteral("--target-url"), QStringLiteral("ftp://example.invalid/")}
            << QStringLiteral("Target URL");
        QTest::newRow("target without http")
            << QStringList{QStringLiteral("--no-test-http"), QStringLiteral("--target-url"),
                           QStringLiteral("http://127.0.0.1:1/")}
            << QStringLiteral("--target-url");
        QTest::newRow("bad seed") << QStringList{QStringLiteral("--seed"), QStringLiteral("-3")}
                                  << QStringLiteral("--seed");
        QTest::newRow("unknown flag")
            << QStringList{QStringLiteral("--iterations"), QStringLiteral("5")}
            << QStringLiteral("iterations");
        QTest::newRow("stray argument")
            << QStringList{QStringLiteral("extra")} << QStringLiteral("extra");
        QTest::newRow("nothing selected")
            << QStringList{QStringLiteral("--no-test-cache"), QStringLiteral("--no-test-http"),
                           QStringLiteral("--no-test-execution")}
            << QString();
    }
    void badValuesExit2()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const Outcome o = runTool(args, dir.path(), 30'000);
        QCOMPARE(o.exitCode, 2);
        QVERIFY2(o.err.contains(message), qPrintable(o.err));
        QVERIFY(o.err.contains(u"Try 'opsdeck-loadtest --help'"));
        QVERIFY(o.out.isEmpty());                                   // nothing ran
        QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty()); // nothing written
    }

    void contradictoryPairExits2_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("cache") << QStringLiteral("test-cache");
        QTest::newRow("http") << QStringLiteral("test-http");
        QTest::newRow("execution") << QStringLiteral("test-execution");
    }
    void contradictoryPairExits2()
    {
        QFETCH(QString, name);
        const Outcome o = runTool({QStringLiteral("--") + name, QStringLiteral("--no-") + name});
        QCOMPARE(o.exitCode, 2);
        QVERIFY2(o.err.contains(u"contradict"), qPrintable(o.err));
    }

    void selectors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("components");
        QTest::newRow("one positive")
            << QStringList{QStringLiteral("--test-cache")} << QStringList{QStringLiteral("cache")};
        QTest::newRow("two positives")
            << QStringList{QStringLiteral("--test-cache"), QStringLiteral("--test-execution")}
            << QStringList{QStringLiteral("cache"), QStringLiteral("execution")};
        QTest::newRow("negative subtracts")
            << QStringList{QStringLiteral("--no-test-http"), QStringLiteral("--no-test-execution")}
            << QStringList{QStringLiteral("cache")};
        QTest::newRow("positive minus negative")
            << QStringList{QStringLiteral("--test-http"), QStringLiteral("--test-cache"),
                           QStringLiteral("--no-test-cache")}
            << QStringList{};
    }
    void selectors()
    {
        QFETCH(QStringList, args);
        QFETCH(QStringList, components);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("r.json"));
        const Outcome o
            = runTool(shortRun() + args + QStringList{QStringLiteral("--output"), path});
        if (components.isEmpty()) { // --test-cache and --no-test-cache contradict
            QCOMPARE(o.exitCode, 2);
            return;
        }
        QCOMPARE(o.exitCode, 0);
        QCOMPARE(componentsOf(readJson(path)), components);
    }

    void jsonValidatesAgainstTheSchema_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("closed, every component") << QStringList{};
        QTest::newRow("open, cache and http") << QStringList{
            QStringLiteral("--rate"), QStringLiteral("200"), QStringLiteral("--no-test-execution")};
        QTest::newRow("thresholds and baseline-free")
            << QStringList{QStringLiteral("--test-execution"), QStringLiteral("--max-p99-ms"),
                           QStringLiteral("execution=10000"), QStringLiteral("--max-error-rate"),
                           QStringLiteral("0.5")};
    }
    void jsonValidatesAgainstTheSchema()
    {
        QFETCH(QStringList, args);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("r.json"));
        const Outcome o = runTool(shortRun() + args
                                  + QStringList{QStringLiteral("--output"), path,
                                                QStringLiteral("--seed"), QStringLiteral("3")});
        QCOMPARE(o.exitCode, 0);
        QVERIFY2(o.out.contains(u"component"), qPrintable(o.out)); // the summary table
        QVERIFY(o.out.contains(u"Results written to"));
        const QString findings
            = opsdeck::test::validateAgainstSchema(opsdeck::test::loadTestSchemaPath(), path);
        QVERIFY2(findings.isEmpty(), qPrintable(findings));
        const QJsonObject json = readJson(path);
        QCOMPARE(json[u"config"][u"seed"].toString(), QStringLiteral("3"));
        QVERIFY(json[u"total_operations"].toDouble() > 0);
    }

    void defaultOutputNameInTheCurrentDirectory()
    {
        QTemporaryDir dir;
        const Outcome o
            = runTool(shortRun() + QStringList{QStringLiteral("--test-cache")}, dir.path());
        QCOMPARE(o.exitCode, 0);
        const QStringList files = QDir(dir.path()).entryList(QDir::Files);
        QCOMPARE(files.size(), 1);
        QVERIFY2(QRegularExpression(QStringLiteral("^load_test_results_\\d{8}_\\d{6}\\.json$"))
                     .match(files.constFirst())
                     .hasMatch(),
                 qPrintable(files.constFirst()));
    }

    void csvWritesSummaryAndTimeline()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("r.csv"));
        const Outcome o = runTool(shortRun()
                                  + QStringList{QStringLiteral("--format"), QStringLiteral("csv"),
                                                QStringLiteral("--output"), path,
                                                QStringLiteral("--no-test-http")});
        QCOMPARE(o.exitCode, 0);
        QFile summary(path), timeline(dir.filePath(QStringLiteral("r_timeline.csv")));
        QVERIFY(summary.open(QIODevice::ReadOnly));
        QVERIFY(timeline.open(QIODevice::ReadOnly));
        const QList<QByteArray> rows = summary.readAll().trimmed().split('\n');
        QCOMPARE(rows.size(), 3);
        QVERIFY(rows[0].startsWith("component,operations,operations_per_second"));
        QVERIFY(rows[1].startsWith("cache,"));
        QVERIFY(rows[2].startsWith("execution,"));
        const QList<QByteArray> t = timeline.readAll().trimmed().split('\n');
        QVERIFY(t[0].startsWith("second,component,operations"));
        QVERIFY(t.size() >= 3);
    }

    void thresholdMissedExits1()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("r.json"));
        // No cache operation takes less than a nanosecond.
        const Outcome o = runTool(
            shortRun()
            + QStringList{QStringLiteral("--test-cache"), QStringLiteral("--max-p99-ms"),
                          QStringLiteral("cache=0.000001"), QStringLiteral("--output"), path});
        QCOMPARE(o.exitCode, 1);
        QVERIFY(o.out.contains(u"FAILED"));
        QVERIFY(!readJson(path)[u"thresholds"][u"passed"].toBool()); // the result is written anyway
        const Outcome pass = runTool(
            shortRun()
            + QStringList{QStringLiteral("--test-cache"), QStringLiteral("--max-p99-ms"),
                          QStringLiteral("cache=100000"), QStringLiteral("--output"), path});
        QCOMPARE(pass.exitCode, 0);
    }

    void errorRateMissedExits1()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("r.json"));
        // Port 1 on loopback: every connection is refused.
        const Outcome o = runTool(
            shortRun()
            + QStringList{QStringLiteral("--test-http"), QStringLiteral("--target-url"),
                          QStringLiteral("http://127.0.0.1:1"), QStringLiteral("--max-error-rate"),
                          QStringLiteral("0.01"), QStringLiteral("--output"), path});
        QCOMPARE(o.exitCode, 1);
        const QJsonObject http = readJson(path)[u"component_results"][u"http"].toObject();
        QCOMPARE(http[u"error_rate"].toDouble(), 1.0);
        QCOMPARE(http[u"errors"][u"connect"].toDouble(), http[u"operations"].toDouble());
    }

    void baselineRegressionExits1()
    {
        QTemporaryDir dir;
        const QString first = dir.filePath(QStringLiteral("first.json"));
        QCOMPARE(runTool(shortRun()
                         + QStringList{QStringLiteral("--test-cache"), QStringLiteral("--output"),
                                       first})
                     .exitCode,
                 0);
        // A baseline 100 times faster than anything this run can do.
        QJsonObject baseline = readJson(first);
        QJsonObject components = baseline[u"component_results"].toObject();
        QJsonObject cache = components[u"cache"].toObject();
        cache[u"operations_per_second"] = cache[u"operations_per_second"].toDouble() * 100;
        components[u"cache"] = cache;
        baseline[u"component_results"] = components;
        const QString fast = dir.filePath(QStringLiteral("fast.json"));
        QFile f(fast);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(baseline).toJson());
        f.close();
        const QString second = dir.filePath(QStringLiteral("second.json"));
        const Outcome o
            = runTool(shortRun()
                      + QStringList{QStringLiteral("--test-cache"), QStringLiteral("--baseline"),
                                    fast, QStringLiteral("--tolerance"), QStringLiteral("10"),
                                    QStringLiteral("--output"), second});
        QCOMPARE(o.exitCode, 1);
        QVERIFY2(o.out.contains(u"worse"), qPrintable(o.out));
        const QJsonObject written = readJson(second);
        QVERIFY(written[u"baseline"][u"regression"].toBool());
        QVERIFY(opsdeck::test::validateAgainstSchema(opsdeck::test::loadTestSchemaPath(), second)
                    .isEmpty());
        // Against itself with a huge tolerance: no regression.
        const Outcome same
            = runTool(shortRun()
                      + QStringList{QStringLiteral("--test-cache"), QStringLiteral("--baseline"),
                                    first, QStringLiteral("--tolerance"), QStringLiteral("100000"),
                                    QStringLiteral("--output"), second});
        QCOMPARE(same.exitCode, 0);
    }

    void seedRepeatsTheOperationMix()
    {
        QTemporaryDir dir;
        auto counts = [&](const QString &seed, const QString &name) {
            const QString path = dir.filePath(name);
            const Outcome o = runTool(
                {QStringLiteral("--test-cache"), QStringLiteral("--rate"), QStringLiteral("500"),
                 QStringLiteral("--duration"), QStringLiteral("1"), QStringLiteral("--ramp-up"),
                 QStringLiteral("0"), QStringLiteral("--seed"), seed, QStringLiteral("--output"),
                 path, QStringLiteral("--log-level"), QStringLiteral("ERROR")});
            if (o.exitCode != 0)
                return QJsonObject();
            return readJson(path)[u"component_results"][u"cache"][u"operation_counts"].toObject();
        };
        const QJsonObject a = counts(QStringLiteral("11"), QStringLiteral("a.json"));
        const QJsonObject b = counts(QStringLiteral("11"), QStringLiteral("b.json"));
        const QJsonObject c = counts(QStringLiteral("12"), QStringLiteral("c.json"));
        QVERIFY(!a.isEmpty());
        QCOMPARE(a, b);
        QVERIFY(a != c);
    }
};

QTEST_GUILESS_MAIN(TestLoadTestCli)
#include "tst_loadtestcli.moc"

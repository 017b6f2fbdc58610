// tst_runinfo: run info, result file names, the writable check, baseline comparison and the
// progress throttle (on a ManualClock) that both performance tools share.
#include "core/perf/runinfo.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>

#include <unistd.h>

using namespace opsdeck;
using namespace opsdeck::perf;

namespace {

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

QJsonObject figures(double median, double ops)
{
    return {{QStringLiteral("operations"),
             QJsonObject{{QStringLiteral("get"),
                          QJsonObject{{QStringLiteral("tiered"),
                                       QJsonObject{{QStringLiteral("median"), median},
                                                   {QStringLiteral("operations_per_second"), ops}}}}}}}};
}

const QList<BaselineFigure> kFigures{
    BaselineFigure::lower({QStringLiteral("operations"), QStringLiteral("get"), QStringLiteral("tiered"), QStringLiteral("median")}),
    BaselineFigure::higher({QStringLiteral("operations"), QStringLiteral("get"), QStringLiteral("tiered"),
                            QStringLiteral("operations_per_second")})};

} // namespace

class TestRunInfo : public QObject
{
    Q_OBJECT

private slots:
    void buildInfo();
    void machineInfoFromFiles();
    void machineInfoMissingFiles();
    void machineInfoThisMachine();
    void timestamps();
    void runInfoJson();
    void defaultNames();
    void writableCheck();
    void writeAtomically();
    void loadResultFileErrors();
    void numberAt();
    void compare_data();
    void compare();
    void compareMissingAndZero();
    void reportText();
    void throttle();
    void eta();
};

void TestRunInfo::buildInfo()
{
    QCOMPARE(opsdeckVersion(), QStringLiteral(OPSDECK_VERSION_STRING));
    QVERIFY(!buildType().isEmpty());
    QVERIFY2(QRegularExpression(QStringLiteral("^([0-9a-f]{7,40}|unknown)$")).match(gitCommit()).hasMatch(),
             qPrintable(gitCommit()));
}

void TestRunInfo::machineInfoFromFiles()
{
    QTemporaryDir dir;
    const QString cpuinfo = dir.filePath(QStringLiteral("cpuinfo"));
    const QString meminfo = dir.filePath(QStringLiteral("meminfo"));
    writeFile(cpuinfo, "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU @ 3.00GHz\n\n"
                       "processor\t: 1\nmodel name\t: Test CPU @ 3.00GHz\n\nprocessor\t: 2\n");
    writeFile(meminfo, "MemTotal:       16318412 kB\nMemFree:         1000 kB\n");
    const MachineInfo m = readMachineInfo(cpuinfo, meminfo);
    QCOMPARE(m.cpuModel, QStringLiteral("Test CPU @ 3.00GHz"));
    QCOMPARE(m.cores, 3);
    QCOMPARE(m.memoryTotalBytes, qint64(16318412) * 1024);
    QCOMPARE(MachineInfo::fromJson(m.toJson()).cpuModel, m.cpuModel);
    QCOMPARE(MachineInfo::fromJson(m.toJson()).memoryTotalBytes, m.memoryTotalBytes);

    // ARM: no "model name", the SoC in "Hardware".
    writeFile(cpuinfo, "processor\t: 0\nBogoMIPS\t: 48.00\nHardware\t: BCM2835\n");
    QCOMPARE(readMachineInfo(cpuinfo, meminfo).cpuModel, QStringLiteral("BCM2835"));
}

void TestRunInfo::machineInfoMissingFiles()
{
    const MachineInfo m = readMachineInfo(QStringLiteral("/nonexistent/cpuinfo"),
                                          QStringLiteral("/nonexistent/meminfo"));
    QCOMPARE(m.cpuModel, QStringLiteral("unknown"));
    QVERIFY(m.cores >= 1);
    QCOMPARE(m.memoryTotalBytes, 0);
}

void TestRunInfo::machineInfoThisMachine()
{
    if (!QFile::exists(QStringLiteral("/proc/meminfo")))
        QSKIP("no /proc on this machine");
    const MachineInfo m = readMachineInfo();
    QVERIFY(m.cores >= 1);
    QVERIFY(m.memoryTotalBytes > 0); // /proc files report size 0: read to EOF, not by size
    QVERIFY(!m.cpuModel.isEmpty());
}

void TestRunInfo::timestamps()
{
    QCOMPARE(isoTimestampUtc(1'796'111'509'123), QStringLiteral("2026-12-01T07:51:49.123Z"));
    QCOMPARE(isoTimestampUtc(0), QStringLiteral("1970-01-01T00:00:00.000Z"));
}

void TestRunInfo::runInfoJson()
{
    ManualClock clock(1'796'111'509'123);
    RunInfo run = RunInfo::begin(clock);
    clock.advance(std::chrono::milliseconds(2500));
    run.finish(clock);
    QJsonObject result{{QStringLiteral("schema_version"), 1}};
    run.writeInto(result);
    QCOMPARE(result.value(QStringLiteral("start_time")).toString(), QStringLiteral("2026-12-01T07:51:49.123Z"));
    QCOMPARE(result.value(QStringLiteral("end_time")).toString(), QStringLiteral("2026-12-01T07:51:51.623Z"));
    QCOMPARE(result.value(QStringLiteral("start_time_ms")).toInteger(), 1'796'111'509'123);
    QCOMPARE(result.value(QStringLiteral("opsdeck_version")).toString(), opsdeckVersion());
    const QJsonObject r = result.value(QStringLiteral("run")).toObject();
    QCOMPARE(r.value(QStringLiteral("duration_ms")).toInteger(), 2500);
    for (const char *key : {"opsdeck_version", "build_type", "git_commit", "qt_version", "compiler", "machine"})
        QVERIFY2(r.contains(QString::fromLatin1(key)), key);
    const QJsonObject machine = r.value(QStringLiteral("machine")).toObject();
    for (const char *key : {"cpu_model", "cores", "memory_total_bytes"})
        QVERIFY2(machine.contains(QString::fromLatin1(key)), key);
    QCOMPARE(result.value(QStringLiteral("schema_version")).toInt(), 1);
}

void TestRunInfo::defaultNames()
{
    const QDateTime when(QDate(2026, 12, 1), QTime(7, 5, 9));
    QCOMPARE(defaultResultFileName(QString::fromLatin1(kCacheBenchmarkPrefix), when),
             QStringLiteral("cache_benchmark_results_20261201_070509.json"));
    QCOMPARE(defaultResultFileName(QString::fromLatin1(kLoadTestPrefix), when, QStringLiteral("csv")),
             QStringLiteral("load_test_results_20261201_070509.csv"));
}

void TestRunInfo::writableCheck()
{
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("out.json"));
    QVERIFY(checkOutputWritable(file));
    QVERIFY(!QFile::exists(file)); // never touched
    QVERIFY(QDir(dir.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty());

    const Status isDir = checkOutputWritable(dir.path());
    QCOMPARE(isDir.error().code, QStringLiteral("output_not_writable"));
    QVERIFY(isDir.error().message.contains(QStringLiteral("directory")));

    const Status noParent = checkOutputWritable(dir.filePath(QStringLiteral("missing/out.json")));
    QVERIFY(!noParent);
    QVERIFY(noParent.error().message.contains(QStringLiteral("does not exist")));
    QVERIFY(noParent.error().message.contains(QStringLiteral("missing")));

    QVERIFY(!checkOutputWritable(QString()));

    // A parent that is a file.
    writeFile(dir.filePath(QStringLiteral("plain")), "x");
    QVERIFY(!checkOutputWritable(dir.filePath(QStringLiteral("plain/out.json"))));

    if (::geteuid() == 0)
        QSKIP("root writes into read-only directories; the permission cases need a normal user");
    const QString ro = dir.filePath(QStringLiteral("ro"));
    QVERIFY(QDir().mkdir(ro));
    QFile::setPermissions(ro, QFile::ReadOwner | QFile::ExeOwner);
    const Status readOnly = checkOutputWritable(ro + QStringLiteral("/out.json"));
    QFile::setPermissions(ro, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    QVERIFY(!readOnly);
    QVERIFY(readOnly.error().message.contains(QStringLiteral("cannot create")));
}

void TestRunInfo::writeAtomically()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("a.json"));
    QVERIFY(writeFileAtomically(path, "{}"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("{}"));
    QCOMPARE(writeFileAtomically(dir.filePath(QStringLiteral("no/such/a.json")), "{}").error().code,
             QStringLiteral("output_write_failed"));
}

void TestRunInfo::loadResultFileErrors()
{
    QTemporaryDir dir;
    QCOMPARE(loadResultFile(dir.filePath(QStringLiteral("missing.json"))).error().code,
             QStringLiteral("baseline_unreadable"));
    writeFile(dir.filePath(QStringLiteral("bad.json")), "{not json");
    const auto bad = loadResultFile(dir.filePath(QStringLiteral("bad.json")));
    QCOMPARE(bad.error().code, QStringLiteral("baseline_invalid"));
    QVERIFY(bad.error().message.contains(QStringLiteral("bad.json")));
    writeFile(dir.filePath(QStringLiteral("array.json")), "[1, 2]");
    QCOMPARE(loadResultFile(dir.filePath(QStringLiteral("array.json"))).error().code,
             QStringLiteral("baseline_invalid"));
    writeFile(dir.filePath(QStringLiteral("ok.json")), QJsonDocument(figures(1, 2)).toJson());
    QVERIFY(loadResultFile(dir.filePath(QStringLiteral("ok.json"))));
}

void TestRunInfo::numberAt()
{
    const QJsonObject doc = figures(1.5, 200);
    QCOMPARE(perf::numberAt(doc, kFigures.at(0).path), 1.5);
    QVERIFY(!perf::numberAt(doc, {QStringLiteral("operations"), QStringLiteral("nope")}));
    QVERIFY(!perf::numberAt(doc, {QStringLiteral("operations")})); // an object, not a number
    QVERIFY(!perf::numberAt(doc, {}));
}

void TestRunInfo::compare_data()
{
    QTest::addColumn<double>("baseMedian");
    QTest::addColumn<double>("median");
    QTest::addColumn<double>("baseOps");
    QTest::addColumn<double>("ops");
    QTest::addColumn<double>("tolerance");
    QTest::addColumn<QString>("medianVerdict");
    QTest::addColumn<QString>("opsVerdict");
    QTest::addColumn<bool>("regression");
    QTest::newRow("same") << 1.0 << 1.0 << 100.0 << 100.0 << 0.1 << QStringLiteral("same") << QStringLiteral("same") << false;
    QTest::newRow("within") << 1.0 << 1.09 << 100.0 << 91.0 << 0.1 << QStringLiteral("same") << QStringLiteral("same") << false;
    QTest::newRow("slower") << 1.0 << 1.2 << 100.0 << 100.0 << 0.1 << QStringLiteral("worse") << QStringLiteral("same") << true;
    QTest::newRow("fewer ops") << 1.0 << 1.0 << 100.0 << 80.0 << 0.1 << QStringLiteral("same") << QStringLiteral("worse") << true;
    QTest::newRow("better") << 1.0 << 0.5 << 100.0 << 200.0 << 0.1 << QStringLiteral("better") << QStringLiteral("better") << false;
    QTest::newRow("wide tolerance") << 1.0 << 1.4 << 100.0 << 70.0 << 0.5 << QStringLiteral("same") << QStringLiteral("same") << false;
    QTest::newRow("zero tolerance") << 1.0 << 1.001 << 100.0 << 100.0 << 0.0 << QStringLiteral("worse") << QStringLiteral("same") << true;
}

void TestRunInfo::compare()
{
    QFETCH(double, baseMedian);
    QFETCH(double, median);
    QFETCH(double, baseOps);
    QFETCH(double, ops);
    QFETCH(double, tolerance);
    QFETCH(QString, medianVerdict);
    QFETCH(QString, opsVerdict);
    QFETCH(bool, regression);
    const BaselineReport report = compareWithBaseline(figures(baseMedian, baseOps), figures(median, ops),
                                                      kFigures, tolerance);
    QCOMPARE(report.figures.size(), 2);
    QCOMPARE(toString(report.figures.at(0).verdict), medianVerdict);
    QCOMPARE(toString(report.figures.at(1).verdict), opsVerdict);
    QCOMPARE(report.hasRegression(), regression);
    QCOMPARE(report.figures.at(0).relativeChange, (median - baseMedian) / baseMedian);
    QCOMPARE(report.toJson().value(QStringLiteral("regression")).toBool(), regression);
}

void TestRunInfo::compareMissingAndZero()
{
    const QJsonObject empty;
    BaselineReport report = compareWithBaseline(empty, figures(1, 1), kFigures);
    QCOMPARE(report.count(FigureComparison::Verdict::Missing), 2);
    QVERIFY(!report.hasRegression());
    report = compareWithBaseline(figures(0, 100), figures(0.5, 100), kFigures);
    QVERIFY(std::isinf(report.figures.at(0).relativeChange));
    QVERIFY(report.figures.at(0).verdict == FigureComparison::Verdict::Worse);
    report = compareWithBaseline(figures(0, 100), figures(0, 100), kFigures);
    QVERIFY(report.figures.at(0).verdict == FigureComparison::Verdict::Same);
    // JSON never carries inf.
    QVERIFY(compareWithBaseline(figures(0, 100), figures(0.5, 100), kFigures)
                .toJson()[QStringLiteral("figures")][0][QStringLiteral("relative_change")]
                .isNull());
}

void TestRunInfo::reportText()
{
    BaselineReport report = compareWithBaseline(figures(1, 100), figures(2, 100), kFigures, 0.1);
    report.baselinePath = QStringLiteral("old.json");
    const QString text = report.toText();
    QVERIFY(text.contains(QStringLiteral("old.json")));
    QVERIFY(text.contains(QStringLiteral("worse")));
    QVERIFY(text.contains(QStringLiteral("operations.get.tiered.median")));
    QVERIFY(text.contains(QStringLiteral("+100.0 %")));
    QVERIFY(text.contains(QStringLiteral("REGRESSION")));
    QVERIFY(compareWithBaseline(figures(1, 100), figures(1, 100), kFigures).toText().contains(QStringLiteral(": ok")));
}

void TestRunInfo::throttle()
{
    ManualClock clock;
    ProgressThrottle throttle(clock, 10.0);
    QVERIFY(throttle.ready());
    QVERIFY(!throttle.ready());
    clock.advance(std::chrono::milliseconds(99));
    QVERIFY(!throttle.ready());
    clock.advance(std::chrono::milliseconds(1));
    QVERIFY(throttle.ready());
    clock.advance(std::chrono::milliseconds(50));
    QVERIFY(!throttle.ready());
    throttle.reset();
    QVERIFY(throttle.ready());
    // Over 10 simulated seconds of calls every millisecond: at most 10 Hz (+ the first).
    int reports = 0;
    for (int i = 0; i < 10000; ++i) {
        clock.advance(std::chrono::milliseconds(1));
        reports += throttle.ready() ? 1 : 0;
    }
    QVERIFY2(reports <= 101 && reports >= 99, qPrintable(QString::number(reports)));
}

void TestRunInfo::eta()
{
    QCOMPARE(estimateEtaSeconds(10.0, 25, 100), 30.0);
    QCOMPARE(estimateEtaSeconds(10.0, 100, 100), 0.0);
    QCOMPARE(estimateEtaSeconds(10.0, 0, 100), -1.0);
    QCOMPARE(estimateEtaSeconds(10.0, 5, 0), -1.0);
    Progress p;
    p.done = 25;
    p.total = 100;
    QCOMPARE(p.fraction(), 0.25);
}

QTEST_GUILESS_MAIN(TestRunInfo)
#include "tst_runinfo.moc"

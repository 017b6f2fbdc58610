// tst_clicommon: the command-line pieces opsdeck-cachebench and opsdeck-loadtest share: selector
// rules, number/duration/percent parsing, log levels, CSV, the progress line (on a ManualClock).
#include "cli/clicommon.h"

#include <QtCore/QLoggingCategory>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <cstdio>

using namespace opsdeck;
using namespace opsdeck::cli;

Q_LOGGING_CATEGORY(lcProbe, "opsdeck.probe")

namespace {

QStringList words(const char *text)
{
    return QString::fromLatin1(text).split(QLatin1Char(' '), Qt::SkipEmptyParts);
}

QString readAll(FILE *f)
{
    std::fflush(f);
    std::rewind(f);
    QByteArray bytes;
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
        bytes.append(buffer, qsizetype(n));
    return QString::fromUtf8(bytes);
}

} // namespace

class TestCliCommon : public QObject
{
    Q_OBJECT

private slots:
    void selectors_data();
    void selectors();
    void selectorsFromParser();
    void positiveInt_data();
    void positiveInt();
    void durations_data();
    void durations();
    void percent_data();
    void percent();
    void seedAndChoice();
    void logLevel_data();
    void logLevel();
    void csv();
    void siblingPaths();
    void progressFormat();
    void progressThrottledAndCleared();
    void progressDisabledPrintsNothing();
    void exitCodes();
};

void TestCliCommon::selectors_data()
{
    QTest::addColumn<QStringList>("positive");
    QTest::addColumn<QStringList>("negative");
    QTest::addColumn<QStringList>("expected"); // empty = error
    QTest::addColumn<QString>("message");
    QTest::newRow("none: all") << QStringList() << QStringList() << words("a b c") << QString();
    QTest::newRow("one positive") << words("b") << QStringList() << words("b") << QString();
    QTest::newRow("two positive, kept in order") << words("c a") << QStringList() << words("a c") << QString();
    QTest::newRow("subtract") << QStringList() << words("b") << words("a c") << QString();
    QTest::newRow("positive and another negative") << words("a b") << words("c") << words("a b") << QString();
    QTest::newRow("contradiction") << words("a") << words("a") << QStringList()
                                   << QStringLiteral("--a and --no-a contradict each other");
    QTest::newRow("nothing left") << QStringList() << words("a b c") << QStringList()
                                  << QStringLiteral("Nothing left to run");
    QTest::newRow("unknown") << words("z") << QStringList() << QStringList()
                             << QStringLiteral("Unknown selector");
}

void TestCliCommon::selectors()
{
    QFETCH(QStringList, positive);
    QFETCH(QStringList, negative);
    QFETCH(QStringList, expected);
    QFETCH(QString, message);
    const Result<QStringList> r = resolveSelectors(words("a b c"), positive, negative);
    if (expected.isEmpty()) {
        QVERIFY(!r);
        QCOMPARE(r.error().code, QStringLiteral("usage"));
        QVERIFY2(r.error().message.contains(message), qPrintable(r.error().message));
    } else {
        QVERIFY(r);
        QCOMPARE(*r, expected);
    }
}

void TestCliCommon::selectorsFromParser()
{
    QCommandLineParser parser;
    addSelectorOptions(parser, {{QStringLiteral("test-cache"), QStringLiteral("the cache component")},
                                {QStringLiteral("test-http"), QStringLiteral("the HTTP component")}});
    QVERIFY(parser.parse({QStringLiteral("tool"), QStringLiteral("--no-test-http")}));
    QCOMPARE(*resolveSelectors(parser, {QStringLiteral("test-cache"), QStringLiteral("test-http")}),
             QStringList{QStringLiteral("test-cache")});
    QCommandLineParser contradicting;
    addSelectorOptions(contradicting, {{QStringLiteral("test-cache"), QStringLiteral("x")}});
    QVERIFY(contradicting.parse({QStringLiteral("tool"), QStringLiteral("--test-cache"),
                                 QStringLiteral("--no-test-cache")}));
    QVERIFY(!resolveSelectors(contradicting, {QStringLiteral("test-cache")}));
    QVERIFY(parser.helpText().contains(QStringLiteral("--no-test-cache")));
}

void TestCliCommon::positiveInt_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("expected"); // -1 = error
    QTest::newRow("1") << QStringLiteral("1") << qint64(1);
    QTest::newRow("spaces") << QStringLiteral(" 42 ") << qint64(42);
    QTest::newRow("0") << QStringLiteral("0") << qint64(-1);
    QTest::newRow("negative") << QStringLiteral("-5") << qint64(-1);
    QTest::newRow("fraction") << QStringLiteral("1.5") << qint64(-1);
    QTest::newRow("word") << QStringLiteral("ten") << qint64(-1);
    QTest::newRow("empty") << QString() << qint64(-1);
    QTest::newRow("too big") << QStringLiteral("1001") << qint64(-1);
}

void TestCliCommon::positiveInt()
{
    QFETCH(QString, text);
    QFETCH(qint64, expected);
    const Result<qint64> r = parsePositiveInt(QStringLiteral("--iterations"), text, 1000);
    if (expected < 0) {
        QVERIFY(!r);
        QVERIFY(r.error().message.startsWith(QStringLiteral("--iterations must be")));
        QVERIFY(r.error().message.contains(QLatin1Char('"') + text + QLatin1Char('"')));
    } else {
        QCOMPARE(*r, expected);
    }
    QCOMPARE(*parseNonNegativeInt(QStringLiteral("--warmup"), QStringLiteral("0")), 0);
    QVERIFY(!parseNonNegativeInt(QStringLiteral("--warmup"), QStringLiteral("-1")));
    QCOMPARE(*parsePositiveNumber(QStringLiteral("--rate"), QStringLiteral("2.5")), 2.5);
    QVERIFY(!parsePositiveNumber(QStringLiteral("--rate"), QStringLiteral("0")));
    QVERIFY(!parsePositiveNumber(QStringLiteral("--rate"), QStringLiteral("inf")));
    QVERIFY(!parsePositiveNumber(QStringLiteral("--rate"), QStringLiteral("nan")));
    QCOMPARE(*parseNonNegativeNumber(QStringLiteral("--x"), QStringLiteral("0")), 0.0);
}

void TestCliCommon::durations_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("allowZero");
    QTest::addColumn<double>("expected"); // < 0 = error
    QTest::newRow("plain") << QStringLiteral("60") << false << 60.0;
    QTest::newRow("fraction") << QStringLiteral("1.5") << false << 1.5;
    QTest::newRow("ms") << QStringLiteral("250ms") << false << 0.25;
    QTest::newRow("s") << QStringLiteral("30s") << false << 30.0;
    QTest::newRow("m") << QStringLiteral("2m") << false << 120.0;
    QTest::newRow("h upper") << QStringLiteral("1H") << false << 3600.0;
    QTest::newRow("zero refused") << QStringLiteral("0") << false << -1.0;
    QTest::newRow("zero allowed") << QStringLiteral("0") << true << 0.0;
    QTest::newRow("negative") << QStringLiteral("-5") << true << -1.0;
    QTest::newRow("unit only") << QStringLiteral("s") << false << -1.0;
    QTest::newRow("bad unit") << QStringLiteral("5d") << false << -1.0;
}

void TestCliCommon::durations()
{
    QFETCH(QString, text);
    QFETCH(bool, allowZero);
    QFETCH(double, expected);
    const Result<double> r = parseDurationSeconds(QStringLiteral("--duration"), text, allowZero);
    if (expected < 0) {
        QVERIFY(!r);
        QVERIFY(r.error().message.contains(QStringLiteral("--duration")));
    } else {
        QVERIFY(r);
        QCOMPARE(*r, expected);
    }
}

void TestCliCommon::percent_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<double>("expected");
    QTest::newRow("10") << QStringLiteral("10") << 0.10;
    QTest::newRow("10%") << QStringLiteral("10%") << 0.10;
    QTest::newRow("2.5 %") << QStringLiteral("2.5 %") << 0.025;
    QTest::newRow("0") << QStringLiteral("0") << 0.0;
    QTest::newRow("negative") << QStringLiteral("-1") << -1.0;
    QTest::newRow("word") << QStringLiteral("ten") << -1.0;
}

void TestCliCommon::percent()
{
    QFETCH(QString, text);
    QFETCH(double, expected);
    const Result<double> r = parsePercent(QStringLiteral("--tolerance"), text);
    if (expected < 0) {
        QVERIFY(!r);
        QVERIFY(r.error().message.contains(QStringLiteral("--tolerance")));
    } else {
        QCOMPARE(*r, expected);
    }
}

void TestCliCommon::seedAndChoice()
{
    QCOMPARE(*parseSeed(QStringLiteral("--seed"), QStringLiteral("18446744073709551615")),
             quint64(18446744073709551615ULL));
    QCOMPARE(*parseSeed(QStringLiteral("--seed"), QStringLiteral("0x10")), 16u);
    QVERIFY(!parseSeed(QStringLiteral("--seed"), QStringLiteral("-1")));
    QVERIFY(!parseSeed(QStringLiteral("--seed"), QStringLiteral("abc")));
    QCOMPARE(*parseChoice(QStringLiteral("--format"), QStringLiteral("CSV"),
                          {QStringLiteral("json"), QStringLiteral("csv")}),
             QStringLiteral("csv"));
    QCOMPARE(*parseOutputFormat(QStringLiteral("Json")), OutputFormat::Json);
    const auto bad = parseOutputFormat(QStringLiteral("xml"));
    QVERIFY(!bad);
    QVERIFY(bad.error().message.contains(QStringLiteral("json, csv")));
}

void TestCliCommon::logLevel_data()
{
    QTest::addColumn<QString>("level");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<bool>("debugOn");
    QTest::addColumn<bool>("infoOn");
    QTest::addColumn<bool>("warningOn");
    QTest::newRow("DEBUG") << QStringLiteral("DEBUG") << true << true << true << true;
    QTest::newRow("debug") << QStringLiteral("debug") << true << true << true << true;
    QTest::newRow("Info") << QStringLiteral("Info") << true << false << true << true;
    QTest::newRow("warning") << QStringLiteral("warning") << true << false << false << true;
    QTest::newRow("error") << QStringLiteral("error") << true << false << false << false;
    QTest::newRow("CRITICAL") << QStringLiteral("CRITICAL") << true << false << false << false;
    QTest::newRow("LOUD") << QStringLiteral("LOUD") << false << false << false << false;
}

void TestCliCommon::logLevel()
{
    QFETCH(QString, level);
    QFETCH(bool, valid);
    QFETCH(bool, debugOn);
    QFETCH(bool, infoOn);
    QFETCH(bool, warningOn);
    const Status s = applyLogLevelOption(level);
    QCOMPARE(bool(s), valid);
    if (!valid) {
        QVERIFY(s.error().message.contains(QStringLiteral("--log-level")));
        QVERIFY(s.error().message.contains(QStringLiteral("DEBUG, INFO, WARNING, ERROR, CRITICAL")));
        return;
    }
    QCOMPARE(lcProbe().isDebugEnabled(), debugOn);
    QCOMPARE(lcProbe().isInfoEnabled(), infoOn);
    QCOMPARE(lcProbe().isWarningEnabled(), warningOn);
    QVERIFY(lcProbe().isCriticalEnabled());
}

void TestCliCommon::csv()
{
    QCOMPARE(CsvWriter::escape(QStringLiteral("plain")), QStringLiteral("plain"));
    QCOMPARE(CsvWriter::escape(QStringLiteral("a,b")), QStringLiteral("\"a,b\""));
    QCOMPARE(CsvWriter::escape(QStringLiteral("say \"hi\"")), QStringLiteral("\"say \"\"hi\"\"\""));
    QCOMPARE(CsvWriter::escape(QStringLiteral("two\nlines")), QStringLiteral("\"two\nlines\""));
    QCOMPARE(CsvWriter::number(0.25), QStringLiteral("0.25"));
    QCOMPARE(CsvWriter::number(1234567.0), QStringLiteral("1234567"));
    QCOMPARE(CsvWriter::number(qInf()), QString());
    CsvWriter writer({QStringLiteral("name"), QStringLiteral("value")});
    writer.addRow({QStringLiteral("a,b"), QStringLiteral("1")});
    writer.addRow({QStringLiteral("c"), QStringLiteral("2")});
    QCOMPARE(writer.rowCount(), 2);
    QCOMPARE(writer.toBytes(), QByteArray("name,value\n\"a,b\",1\nc,2\n"));
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("out.csv"));
    QVERIFY(writer.writeTo(path));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), writer.toBytes());
    QVERIFY(!writer.writeTo(dir.filePath(QStringLiteral("missing/out.csv"))));
}

void TestCliCommon::siblingPaths()
{
    QCOMPARE(siblingPath(QStringLiteral("results.csv"), QStringLiteral("timeline")),
             QStringLiteral("results_timeline.csv"));
    QCOMPARE(siblingPath(QStringLiteral("/tmp/x/r.1.csv"), QStringLiteral("timeline")),
             QStringLiteral("/tmp/x/r.1_timeline.csv"));
    QCOMPARE(siblingPath(QStringLiteral("out"), QStringLiteral("timeline")),
             QStringLiteral("out_timeline"));
}

void TestCliCommon::progressFormat()
{
    perf::Progress p;
    p.done = 420;
    p.total = 1000;
    p.etaSeconds = 2.2;
    p.phase = QStringLiteral("tiered / get");
    p.figures = {{QStringLiteral("ops/s"), QStringLiteral("1234")}};
    QCOMPARE(ProgressPrinter::format(p),
             QStringLiteral("tiered / get   42 % 420/1000  ETA 3 s  ops/s 1234"));
    p.etaSeconds = 125;
    QVERIFY(ProgressPrinter::format(p).contains(QStringLiteral("ETA 2 min 5 s")));
    p.etaSeconds = -1;
    QVERIFY(ProgressPrinter::format(p).contains(QStringLiteral("ETA ?")));
}

void TestCliCommon::progressThrottledAndCleared()
{
    FILE *f = std::tmpfile();
    QVERIFY(f);
    ManualClock clock;
    {
        ProgressPrinter printer(true, clock, f);
        perf::Progress p;
        p.total = 100;
        for (int i = 1; i < 100; ++i) { // 99 reports within 49.5 ms: one line drawn
            p.done = i;
            printer.print(p);
            clock.advance(std::chrono::microseconds(500));
        }
        clock.advance(std::chrono::milliseconds(100));
        p.done = 99;
        printer.print(p); // 100 ms later: drawn
        p.done = 100;
        printer.print(p); // final: always drawn
    } // the destructor clears the line
    const QString out = readAll(f);
    std::fclose(f);
    QCOMPARE(out.count(QLatin1Char('\r')), 3 + 2); // three draws, then "\r<blanks>\r"
    QVERIFY(out.contains(QStringLiteral("1/100")));
    QVERIFY(out.contains(QStringLiteral("100/100")));
    QVERIFY(!out.contains(QStringLiteral("50/100")));
    QVERIFY(out.endsWith(QLatin1Char('\r')));
}

void TestCliCommon::progressDisabledPrintsNothing()
{
    FILE *f = std::tmpfile();
    QVERIFY(f);
    {
        ProgressPrinter printer(false, Clock::system(), f);
        perf::Progress p;
        p.done = 100;
        p.total = 100;
        printer.print(p);
        QVERIFY(!printer.isEnabled());
    }
    QVERIFY(readAll(f).isEmpty());
    std::fclose(f);
    QVERIFY(!ProgressPrinter::enabledFor(true)); // --quiet always wins
}

void TestCliCommon::exitCodes()
{
    QCOMPARE(int(ExitOk), 0);
    QCOMPARE(int(ExitCheckFailed), 1);
    QCOMPARE(int(ExitUsage), 2);
    QCOMPARE(int(ExitRuntime), 3);
}

QTEST_GUILESS_MAIN(TestCliCommon)
#include "tst_clicommon.moc"

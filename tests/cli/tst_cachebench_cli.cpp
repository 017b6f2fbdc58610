// tst_cachebench_cli: runs the built opsdeck-cachebench as a subprocess with small iteration
// counts: flags and selectors, usage errors (exit 2 with a message, before any work), --help,
// the result file validated against docs/schemas/cache_benchmark.schema.json with Debian's
// python3-jsonschema, CSV, trace mode, and a baseline regression (exit 1).
#include "../support/schemacheck.h"
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QProcessEnvironment>
#include <QtCore/QRegularExpression>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

namespace {

struct Run
{
    int exitCode = -1;
    QString out;
    QString err;
};

// The cheapest real run: the memory-only configuration, few calls.
QStringList quick()
{
    return {QStringLiteral("--iterations"), QStringLiteral("20"), QStringLiteral("--key-count"),
            QStringLiteral("40"), QStringLiteral("--value-size"), QStringLiteral("32"),
            QStringLiteral("--quiet")};
}

Run run(const QStringList &args, const QString &workingDir = {})
{
    QProcess p;
    p.setProgram(QStringLiteral(OPSDECK_CACHEBENCH));
    p.setArguments(args);
    if (!workingDir.isEmpty())
        p.setWorkingDirectory(workingDir);
    p.start();
    Run r;
    if (!p.waitForFinished(240'000)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

void writeJson(const QString &path, const QJsonObject &o)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QJsonDocument(o).toJson());
}

// "" when the file is valid, else the validator's message.
QString validateAgainstSchema(const QString &path)
{
    return opsdeck::test::validateAgainstSchema(
        QStringLiteral(OPSDECK_SOURCE_DIR "/docs/schemas/cache_benchmark.schema.json"), path);
}

QStringList configurationsOf(const QJsonObject &result)
{
    QStringList names;
    for (const QJsonValue &v : result[QStringLiteral("config")][QStringLiteral("configurations")].toArray())
        names.append(v.toString());
    return names;
}

// Every number under `key` anywhere in the document, multiplied by `factor`.
QJsonValue scaled(const QJsonValue &value, const QString &key, double factor)
{
    if (value.isObject()) {
        QJsonObject o = value.toObject();
        for (auto it = o.begin(); it != o.end(); ++it) {
            if (it.key() == key && it.value().isDouble())
                it.value() = it.value().toDouble() * factor;
            else
                it.value() = scaled(it.value(), key, factor);
        }
        return o;
    }
    return value;
}

} // namespace

class TestCacheBenchCli : public QObject
{
    Q_OBJECT

private slots:
    void helpListsEveryFlag();
    void version();
    void usageErrors_data();
    void usageErrors();
    void selectors_data();
    void selectors();
    void outputValidatesAgainstSchema();
    void defaultOutputName();
    void csvFormat();
    void traceModePrintsEveryPolicy();
    void traceFile();
    void baselineRegression();
    void noProgressWhenNotATerminal();
    void sigtermStopsCleanly();

private:
    QTemporaryDir m_dir;
};

void TestCacheBenchCli::helpListsEveryFlag()
{
    const Run r = run({QStringLiteral("--help")});
    QCOMPARE(r.exitCode, 0);
    for (const char *flag :
         {"--iterations", "--key-count", "--value-size", "--output", "--memory-only", "--disk-only",
          "--tiered", "--no-memory-only", "--no-disk-only", "--no-tiered", "--log-level",
          "--threads", "--distribution", "--seed", "--trace", "--trace-file", "--capacity",
          "--baseline", "--tolerance", "--format", "--quiet", "--warmup", "--trace-length",
          "--help", "--version"})
        QVERIFY2(r.out.contains(QString::fromLatin1(flag)), flag);
    // Defaults are documented beside the flags.
    for (const char *text : {"default 1000", "default 10000", "default 1024", "default uniform",
                             "default 100)", "default 10)", "default json", "default INFO",
                             "cache_benchmark_results_YYYYMMDD_HHMMSS.json", "default 1"})
        QVERIFY2(r.out.contains(QString::fromLatin1(text)), text);
    QVERIFY(r.out.contains(QStringLiteral("zipf-1.0")));
}

void TestCacheBenchCli::version()
{
    const Run r = run({QStringLiteral("--version")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.startsWith(QStringLiteral("opsdeck-cachebench " OPSDECK_VERSION_STRING)));
}

void TestCacheBenchCli::usageErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const auto row = [](const char *name, QStringList args, const char *message) {
        QTest::newRow(name) << args << QString::fromUtf8(message);
    };
    const auto s = [](const char *text) { return QString::fromLatin1(text); };
    row("negative iterations", {s("--iterations"), s("-5")}, "--iterations must be a positive whole number");
    row("zero iterations", {s("--iterations"), s("0")}, "--iterations must be");
    row("word iterations", {s("--iterations"), s("many")}, "--iterations must be");
    row("small key count", {s("--key-count"), s("5")}, "--key-count must be at least 20");
    row("zero value size", {s("--value-size"), s("0")}, "--value-size must be");
    row("zero threads", {s("--threads"), s("0")}, "--threads must be");
    row("negative warmup", {s("--warmup"), s("-1")}, "--warmup must be");
    row("unknown level", {s("--log-level"), s("LOUD")}, "--log-level must be one of");
    row("bad distribution", {s("--distribution"), s("pareto")}, "--distribution must be");
    row("bad zipf", {s("--distribution"), s("zipf:-1")}, "--distribution must be");
    row("bad seed", {s("--seed"), s("-3")}, "--seed must be");
    row("bad format", {s("--format"), s("xml")}, "--format must be one of json, csv");
    row("contradiction", {s("--tiered"), s("--no-tiered")}, "--tiered and --no-tiered contradict");
    row("all excluded", {s("--no-tiered"), s("--no-memory-only"), s("--no-disk-only")}, "Nothing left to run");
    row("unwritable output", {s("--output"), s("/nonexistent/dir/out.json")}, "Cannot write the output file");
    row("output is a directory", {s("--output"), s("/tmp")}, "it is a directory");
    row("missing trace file", {s("--trace-file"), s("/nonexistent/trace.txt")}, "--trace-file: cannot read");
    row("trace file is a directory", {s("--trace-file"), s("/tmp")}, "it is a directory");
    row("unknown trace", {s("--trace"), s("nope")}, "Unknown trace \"nope\"");
    row("trace and file", {s("--trace"), s("zipf-1.0"), s("--trace-file"), s("x")}, "exclude each other");
    row("zero capacity", {s("--trace"), s("zipf-1.0"), s("--capacity"), s("0")}, "--capacity must be");
    row("capacity without trace", {s("--capacity"), s("10")}, "--capacity applies to trace mode");
    row("selector in trace mode", {s("--trace"), s("zipf-1.0"), s("--memory-only")}, "only apply to the operations mode");
    row("negative tolerance", {s("--baseline"), s("/nonexistent.json"), s("--tolerance"), s("-5")}, "--tolerance must be");
    row("tolerance alone", {s("--tolerance"), s("5")}, "--tolerance needs --baseline");
    row("missing baseline", {s("--baseline"), s("/nonexistent/base.json")}, "Cannot read the baseline file");
    row("unknown flag", {s("--bogus")}, "Unknown option 'bogus'");
    row("positional", {s("extra")}, "Unexpected argument");
}

void TestCacheBenchCli::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QTemporaryDir cwd;
    const Run r = run(args, cwd.path());
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
    QVERIFY2(r.err.contains(QStringLiteral("--help")), qPrintable(r.err));
    // Before any work: nothing on stdout, no result file, no cache log lines.
    QVERIFY2(r.out.isEmpty(), qPrintable(r.out));
    QVERIFY(QDir(cwd.path()).entryList(QDir::Files | QDir::NoDotAndDotDot).isEmpty());
    QVERIFY(!r.err.contains(QStringLiteral("Cache open")));
}

void TestCacheBenchCli::selectors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("expected");
    const auto s = [](const char *text) { return QString::fromLatin1(text); };
    QTest::newRow("one") << QStringList{s("--memory-only")} << QStringList{s("memory_only")};
    QTest::newRow("subtract to one") << QStringList{s("--no-disk-only"), s("--no-tiered")}
                                     << QStringList{s("memory_only")};
    QTest::newRow("positive with unrelated negative")
        << QStringList{s("--memory-only"), s("--no-tiered")} << QStringList{s("memory_only")};
    QTest::newRow("two") << QStringList{s("--tiered"), s("--memory-only")}
                         << QStringList{s("memory_only"), s("tiered")};
    QTest::newRow("none: all") << QStringList{}
                               << QStringList{s("memory_only"), s("disk_only"), s("tiered")};
}

void TestCacheBenchCli::selectors()
{
    QFETCH(QStringList, args);
    QFETCH(QStringList, expected);
    const QString out = m_dir.filePath(QStringLiteral("selectors.json"));
    QStringList all = quick() + args;
    all << QStringLiteral("--output") << out << QStringLiteral("--warmup") << QStringLiteral("0");
    const Run r = run(all);
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject json = readJson(out);
    QCOMPARE(configurationsOf(json), expected);
    QStringList configs = json[QStringLiteral("configurations")].toObject().keys();
    QStringList sortedExpected = expected;
    configs.sort();
    sortedExpected.sort();
    QCOMPARE(configs, sortedExpected);
    for (const QString &cfg : expected)
        QVERIFY2(r.out.contains(cfg), qPrintable(r.out));
}

void TestCacheBenchCli::outputValidatesAgainstSchema()
{
    const QString out = m_dir.filePath(QStringLiteral("full.json"));
    const Run r = run({QStringLiteral("--iterations"), QStringLiteral("15"), QStringLiteral("--key-count"),
                       QStringLiteral("50"), QStringLiteral("--value-size"), QStringLiteral("100"),
                       QStringLiteral("--threads"), QStringLiteral("2"), QStringLiteral("--distribution"),
                       QStringLiteral("zipf:1.1"), QStringLiteral("--seed"), QStringLiteral("7"),
                       QStringLiteral("--log-level"), QStringLiteral("warning"), QStringLiteral("--output"), out});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY(r.out.contains(QStringLiteral("Results written to ") + out));
    QVERIFY(!r.err.contains(QStringLiteral("INFO"))); // --log-level warning took effect
    const QString problem = validateAgainstSchema(out);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const QJsonObject json = readJson(out);
    const QJsonObject config = json[QStringLiteral("config")].toObject();
    QCOMPARE(config[QStringLiteral("iterations")].toInt(), 15);
    QCOMPARE(config[QStringLiteral("key_count")].toInt(), 50);
    QCOMPARE(config[QStringLiteral("value_size")].toInt(), 100);
    QCOMPARE(config[QStringLiteral("threads")].toInt(), 2);
    QCOMPARE(config[QStringLiteral("distribution")].toString(), QStringLiteral("zipf:1.1"));
    QCOMPARE(config[QStringLiteral("seed")].toString(), QStringLiteral("7"));
    for (const char *op : {"get", "set", "delete", "invalidate_pattern", "invalidate_tag"})
        QVERIFY2(r.out.contains(QString::fromLatin1(op)), op);
    for (const QJsonValue &settings : json[QStringLiteral("configuration_settings")].toObject())
        QVERIFY(settings[QStringLiteral("temp_dir_removed")].toBool());

    // The schema is not a rubber stamp: a file without the old "operations" field fails it.
    QJsonObject broken = json;
    broken.remove(QStringLiteral("operations"));
    const QString brokenPath = m_dir.filePath(QStringLiteral("broken.json"));
    writeJson(brokenPath, broken);
    QVERIFY(!validateAgainstSchema(brokenPath).isEmpty());
}

void TestCacheBenchCli::defaultOutputName()
{
    QTemporaryDir cwd;
    const Run r = run(quick() + QStringList{QStringLiteral("--memory-only")}, cwd.path());
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QStringList files = QDir(cwd.path()).entryList(QDir::Files);
    QCOMPARE(files.size(), 1);
    QVERIFY2(QRegularExpression(QStringLiteral("^cache_benchmark_results_\\d{8}_\\d{6}\\.json$"))
                 .match(files.constFirst())
                 .hasMatch(),
             qPrintable(files.constFirst()));
    QVERIFY(validateAgainstSchema(cwd.filePath(files.constFirst())).isEmpty());
}

void TestCacheBenchCli::csvFormat()
{
    QTemporaryDir cwd;
    const Run r = run(quick() + QStringList{QStringLiteral("--memory-only"), QStringLiteral("--format"),
                                            QStringLiteral("csv")},
                      cwd.path());
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QStringList files = QDir(cwd.path()).entryList(QDir::Files);
    QCOMPARE(files.size(), 1);
    QVERIFY(files.constFirst().endsWith(QStringLiteral(".csv")));
    QFile f(cwd.filePath(files.constFirst()));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 5 + 3); // header, 5 operations, 3 workloads
    QVERIFY(lines.constFirst().startsWith(QStringLiteral("kind,name,configuration,count,")));
    QVERIFY(lines.at(1).startsWith(QStringLiteral("operation,get,memory_only,20,")));
    QVERIFY(lines.constLast().startsWith(QStringLiteral("workload,balanced,memory_only,20,")));
    for (const QString &line : lines)
        QCOMPARE(line.count(QLatin1Char(',')), 12);
}

void TestCacheBenchCli::traceModePrintsEveryPolicy()
{
    const QString out = m_dir.filePath(QStringLiteral("trace.json"));
    const Run r = run({QStringLiteral("--trace"), QStringLiteral("zipf-1.0"), QStringLiteral("--trace-length"),
                       QStringLiteral("20000"), QStringLiteral("--capacity"), QStringLiteral("50"),
                       QStringLiteral("--key-count"), QStringLiteral("2000"), QStringLiteral("--output"), out});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    for (const char *policy : {"lru", "lfu", "fifo", "ttl", "adaptive", "static", "belady"}) {
        const QRegularExpression line(QStringLiteral("^%1\\s+\\d+\\s+[0-9.]+ %").arg(QString::fromLatin1(policy)),
                                      QRegularExpression::MultilineOption);
        QVERIFY2(line.match(r.out).hasMatch(), policy);
    }
    QVERIFY(r.out.contains(QStringLiteral("vs LRU")));
    QVERIFY(r.out.contains(QStringLiteral("of Belady")));
    QVERIFY(r.out.contains(QStringLiteral("20000 requests")));
    const QString problem = validateAgainstSchema(out);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const QJsonObject ratios = readJson(out)[QStringLiteral("hit_ratios")].toObject();
    for (const QJsonValue &v : ratios)
        QVERIFY(v[QStringLiteral("hits")].toInteger() <= ratios[QStringLiteral("belady")][QStringLiteral("hits")].toInteger());
}

void TestCacheBenchCli::traceFile()
{
    const QString trace = m_dir.filePath(QStringLiteral("keys.txt"));
    QFile f(trace);
    QVERIFY(f.open(QIODevice::WriteOnly));
    for (int i = 0; i < 300; ++i)
        f.write(QByteArray("user:") + QByteArray::number((i * 7) % 23) + "\n");
    f.close();
    const QString out = m_dir.filePath(QStringLiteral("tracefile.json"));
    const Run r = run({QStringLiteral("--trace-file"), trace, QStringLiteral("--capacity"), QStringLiteral("10"),
                       QStringLiteral("--output"), out});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY(r.out.contains(QStringLiteral("300 requests, 23 distinct keys, capacity 10")));
    for (const char *policy : {"lru", "lfu", "fifo", "ttl", "adaptive", "static", "belady"})
        QVERIFY2(r.out.contains(QString::fromLatin1(policy)), policy);
    QVERIFY(validateAgainstSchema(out).isEmpty());
}

void TestCacheBenchCli::baselineRegression()
{
    const QString first = m_dir.filePath(QStringLiteral("first.json"));
    Run r = run(quick() + QStringList{QStringLiteral("--memory-only"), QStringLiteral("--output"), first});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject result = readJson(first);

    // A doctored baseline 1000 times faster than anything this machine does: a regression.
    QJsonValue fast = scaled(result, QStringLiteral("operations_per_second"), 1000.0);
    fast = scaled(fast, QStringLiteral("median"), 0.001);
    fast = scaled(fast, QStringLiteral("p95"), 0.001);
    const QString fastPath = m_dir.filePath(QStringLiteral("fast.json"));
    writeJson(fastPath, fast.toObject());
    const QString second = m_dir.filePath(QStringLiteral("second.json"));
    r = run(quick() + QStringList{QStringLiteral("--memory-only"), QStringLiteral("--baseline"), fastPath,
                                  QStringLiteral("--output"), second});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.out.contains(QStringLiteral("worse")));
    QVERIFY(r.out.contains(QStringLiteral("REGRESSION")));
    QVERIFY(r.out.contains(QStringLiteral("operations.get.memory_only.operations_per_second")));
    QVERIFY(QFile::exists(second)); // the result is still written

    // A baseline 1000 times slower: every figure better, exit 0.
    QJsonValue slow = scaled(result, QStringLiteral("operations_per_second"), 0.001);
    slow = scaled(slow, QStringLiteral("median"), 1000.0);
    slow = scaled(slow, QStringLiteral("p95"), 1000.0);
    const QString slowPath = m_dir.filePath(QStringLiteral("slow.json"));
    writeJson(slowPath, slow.toObject());
    r = run(quick() + QStringList{QStringLiteral("--memory-only"), QStringLiteral("--baseline"), slowPath,
                                  QStringLiteral("--tolerance"), QStringLiteral("5%"), QStringLiteral("--output"),
                                  m_dir.filePath(QStringLiteral("third.json"))});
    QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
    QVERIFY(r.out.contains(QStringLiteral("better")));
    QVERIFY(r.out.contains(QStringLiteral("tolerance 5 %")));
    QVERIFY(!r.out.contains(QStringLiteral("REGRESSION")));

    // A trace-mode baseline for an operations run is refused up front.
    QJsonObject traceBaseline = result;
    traceBaseline[QStringLiteral("mode")] = QStringLiteral("trace");
    const QString tracePath = m_dir.filePath(QStringLiteral("tracebase.json"));
    writeJson(tracePath, traceBaseline);
    r = run(quick() + QStringList{QStringLiteral("--baseline"), tracePath});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains(QStringLiteral("trace-mode result")));
}

void TestCacheBenchCli::noProgressWhenNotATerminal()
{
    // Without --quiet: stderr is a pipe here, so no progress line is drawn.
    const Run r = run({QStringLiteral("--iterations"), QStringLiteral("10"), QStringLiteral("--key-count"),
                       QStringLiteral("20"), QStringLiteral("--memory-only"), QStringLiteral("--output"),
                       m_dir.filePath(QStringLiteral("noprogress.json"))});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY(!r.err.contains(QLatin1Char('\r')));
    QVERIFY(!r.err.contains(QStringLiteral("ETA")));
}

void TestCacheBenchCli::sigtermStopsCleanly()
{
    // The benchmark's temporary directory goes under TMPDIR, so the test can see it removed.
    QTemporaryDir tmp;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("TMPDIR"), tmp.path());
    QProcess p;
    p.setProcessEnvironment(env);
    p.setProgram(QStringLiteral(OPSDECK_CACHEBENCH));
    const QString out = m_dir.filePath(QStringLiteral("interrupted.json"));
    p.setArguments({QStringLiteral("--iterations"), QStringLiteral("1000000000"), QStringLiteral("--tiered"),
                    QStringLiteral("--output"), out});
    p.setReadChannel(QProcess::StandardError);
    p.start();
    QVERIFY(p.waitForStarted());
    // The cache logs its opening on stderr (INFO): the run is under way once it appears.
    QByteArray err;
    while (!err.contains("Cache open")) {
        QVERIFY2(p.waitForReadyRead(60'000), err.constData());
        err += p.readAllStandardError();
    }
    QVERIFY(!QDir(tmp.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
    p.terminate(); // SIGTERM
    QVERIFY(p.waitForFinished(60'000));
    err += p.readAllStandardError();
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 3);
    QVERIFY2(err.contains("Interrupted; no result written."), err.constData());
    QVERIFY(!QFile::exists(out));
    QVERIFY(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty());
}

QTEST_GUILESS_MAIN(TestCacheBenchCli)
#include "tst_cachebench_cli.moc"

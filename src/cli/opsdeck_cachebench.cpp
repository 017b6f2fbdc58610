// opsdeck-cachebench: the cache benchmark on the command line. This file only parses and checks
// options (every check before any work: exit 2), then hands off to perf::CacheBenchmark or
// perf::runTraceComparison, prints the summary, writes the result file and compares a baseline.
// Exit codes: 0 ok, 1 worse than the baseline, 2 usage, 3 the run failed or was interrupted.
#include "cli/clicommon.h"
#include "core/perf/cachebenchmark.h"
#include "core/perf/runinfo.h"
#include "core/support/logging.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <thread>

#include <pthread.h>

using namespace opsdeck;

namespace {

const QString kTool = QStringLiteral("opsdeck-cachebench");

struct Options
{
    bool traceMode = false;
    perf::CacheBenchmarkOptions bench;
    perf::TraceComparisonOptions trace;
    QString output;
    cli::OutputFormat format = cli::OutputFormat::Json;
    QString baselinePath;
    QJsonObject baseline;
    double tolerance = 0.10;
    bool quiet = false;
};

QString helpText()
{
    return QStringLiteral(
        "Usage: opsdeck-cachebench [options]\n"
        "Measures OpsDeck's cache (the real CacheManager on real SQLite files in a fresh\n"
        "temporary directory, removed afterwards), or, with --trace/--trace-file, compares the\n"
        "hit ratio of every eviction policy with LRU and Belady on one key trace.\n"
        "\n"
        "Operations mode (the default):\n"
        "  --iterations N        Timed calls per operation and workload (default 1000).\n"
        "  --key-count N         Keys populated, benchmark:key:0..N-1 (default 10000; >= 20).\n"
        "  --value-size BYTES    Size of each value (default 1024).\n"
        "  --warmup N            Untimed calls before each operation and workload\n"
        "                        (default iterations / 10).\n"
        "  --memory-only         Run the memory_only configuration (no disk tier).\n"
        "  --disk-only           Run the disk_only configuration (no memory tier).\n"
        "  --tiered              Run the tiered configuration (memory and disk).\n"
        "  --no-memory-only, --no-disk-only, --no-tiered\n"
        "                        Skip that configuration. Default: all three run; if any of\n"
        "                        --memory-only/--disk-only/--tiered is given, exactly those run;\n"
        "                        --x together with --no-x is an error.\n"
        "  --distribution D      Key choice: uniform or zipf:S, 0 < S <= 10 (default uniform).\n"
        "\n"
        "Trace mode:\n"
        "  --trace NAME          A named synthetic trace: zipf-1.0, zipf-0.9, loop-1.5x,\n"
        "                        shifting, uniform (the cache benchmark's traces; key space\n"
        "                        --key-count, default 10000).\n"
        "  --trace-file FILE     A trace of one key per line (a production trace).\n"
        "  --capacity N          Cache capacity in entries for the replay (default 100).\n"
        "  --trace-length N      Requests of a named trace (default: the trace's own, 5000000;\n"
        "                        1500000 for loop-1.5x).\n"
        "\n"
        "Both modes:\n"
        "  --threads N           Threads that run the calls (default 1); in trace mode the\n"
        "                        policies replay in parallel.\n"
        "  --seed N              Seed of every random choice; the same seed repeats a run's\n"
        "                        choices (default 1; trace mode: each trace's own seed).\n"
        "  --output FILE         Result file (default cache_benchmark_results_YYYYMMDD_HHMMSS.json,\n"
        "                        or .csv, in the current directory). Checked before the run.\n"
        "  --format F            json or csv (default json). csv writes the summary table.\n"
        "  --baseline FILE       Compare with an earlier result file (JSON): exit 1 when a median,\n"
        "                        p95 or ops/s (trace mode: a hit ratio) is worse by more than the\n"
        "                        tolerance.\n"
        "  --tolerance PCT       Allowed change for --baseline, percent (default 10).\n"
        "  --log-level LEVEL     DEBUG, INFO, WARNING, ERROR or CRITICAL, any case (default INFO).\n"
        "  --quiet               No progress line on stderr (it is only shown on a terminal).\n"
        "  --version             Print the version and exit.\n"
        "  -h, --help            Print this help and exit.\n"
        "\n"
        "Exit status: 0 ok, 1 worse than the baseline, 2 usage error (bad flag or value,\n"
        "unwritable output, unreadable trace or baseline file), 3 the run failed or was\n"
        "interrupted (SIGINT/SIGTERM).\n");
}

// The flags that carry a value, with their value names (QCommandLineParser needs them).
QList<QCommandLineOption> valueOptions()
{
    const auto opt = [](const char *name, const char *value) {
        return QCommandLineOption(QString::fromLatin1(name), QString(), QString::fromLatin1(value));
    };
    return {opt("iterations", "N"),      opt("key-count", "N"),   opt("value-size", "BYTES"),
            opt("warmup", "N"),          opt("output", "FILE"),   opt("log-level", "LEVEL"),
            opt("threads", "N"),         opt("distribution", "D"), opt("seed", "N"),
            opt("trace", "NAME"),        opt("trace-file", "FILE"), opt("capacity", "N"),
            opt("trace-length", "N"),    opt("baseline", "FILE"), opt("tolerance", "PCT"),
            opt("format", "F")};
}

const QList<cli::SelectorSpec> &selectorSpecs()
{
    static const QList<cli::SelectorSpec> specs{
        {QStringLiteral("memory-only"), QStringLiteral("the memory_only configuration")},
        {QStringLiteral("disk-only"), QStringLiteral("the disk_only configuration")},
        {QStringLiteral("tiered"), QStringLiteral("the tiered configuration")}};
    return specs;
}

// Parses and checks everything; nullopt after printing the usage error (exit 2) or help.
std::optional<Options> parse(const QStringList &arguments, int &exitCode)
{
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    for (const QCommandLineOption &o : valueOptions())
        parser.addOption(o);
    cli::addSelectorOptions(parser, selectorSpecs());
    parser.addOption(QCommandLineOption(QStringLiteral("quiet")));
    parser.addOption(QCommandLineOption(QStringLiteral("version")));
    parser.addOption(QCommandLineOption(QStringList{QStringLiteral("h"), QStringLiteral("help")}));

    exitCode = cli::ExitUsage;
    if (!parser.parse(arguments)) {
        cli::usageError(kTool, parser.errorText());
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        cli::printOut(helpText());
        exitCode = cli::ExitOk;
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        cli::printOut(QStringLiteral("%1 %2 (%3, commit %4)\n")
                          .arg(kTool, perf::opsdeckVersion(), perf::buildType(), perf::gitCommit()));
        exitCode = cli::ExitOk;
        return std::nullopt;
    }
    if (!parser.positionalArguments().isEmpty()) {
        cli::usageError(kTool, QStringLiteral("Unexpected argument \"%1\".")
                                   .arg(parser.positionalArguments().constFirst()));
        return std::nullopt;
    }
    const auto failed = [&](const Error &error) {
        cli::usageError(kTool, error.message);
        return std::nullopt;
    };
    const auto value = [&](const char *name) { return parser.value(QString::fromLatin1(name)); };
    const auto isSet = [&](const char *name) { return parser.isSet(QString::fromLatin1(name)); };

    Options options;
    if (isSet("log-level")) {
        if (Status s = cli::applyLogLevelOption(value("log-level")); !s)
            return failed(s.error());
    } else {
        (void)applyLogLevel(QStringLiteral("INFO"));
    }
    options.quiet = isSet("quiet");
    options.traceMode = isSet("trace") || isSet("trace-file");
    if (isSet("trace") && isSet("trace-file"))
        return failed(Error{QStringLiteral("usage"),
                            QStringLiteral("--trace and --trace-file exclude each other."), {}});

    // Flags that belong to one mode only are refused in the other, rather than ignored.
    const QStringList operationsOnly{QStringLiteral("iterations"), QStringLiteral("value-size"),
                                     QStringLiteral("warmup"), QStringLiteral("distribution")};
    const QStringList traceOnly{QStringLiteral("capacity"), QStringLiteral("trace-length")};
    if (options.traceMode) {
        QStringList offending;
        for (const QString &name : operationsOnly)
            if (parser.isSet(name))
                offending.append(QStringLiteral("--") + name);
        for (const cli::SelectorSpec &spec : selectorSpecs()) {
            if (parser.isSet(spec.name))
                offending.append(QStringLiteral("--") + spec.name);
            if (parser.isSet(QStringLiteral("no-") + spec.name))
                offending.append(QStringLiteral("--no-") + spec.name);
        }
        if (!offending.isEmpty())
            return failed(Error{QStringLiteral("usage"),
                                QStringLiteral("%1 only apply to the operations mode, not with "
                                               "--trace or --trace-file.")
                                    .arg(offending.join(QStringLiteral(", "))),
                                {}});
        if (isSet("trace-length") && !isSet("trace"))
            return failed(Error{QStringLiteral("usage"),
                                QStringLiteral("--trace-length applies to --trace NAME only."), {}});
    } else {
        for (const QString &name : traceOnly)
            if (parser.isSet(name))
                return failed(Error{QStringLiteral("usage"),
                                    QStringLiteral("--%1 applies to trace mode only (--trace or "
                                                   "--trace-file).")
                                        .arg(name),
                                    {}});
    }

    int threads = 1;
    if (isSet("threads")) {
        const auto t = cli::parsePositiveInt(QStringLiteral("--threads"), value("threads"), 256);
        if (!t)
            return failed(t.error());
        threads = int(*t);
    }
    std::optional<quint64> seed;
    if (isSet("seed")) {
        const auto s = cli::parseSeed(QStringLiteral("--seed"), value("seed"));
        if (!s)
            return failed(s.error());
        seed = *s;
    }
    qint64 keyCount = 10000;
    if (isSet("key-count")) {
        const auto k = cli::parsePositiveInt(QStringLiteral("--key-count"), value("key-count"),
                                             1 << 30);
        if (!k)
            return failed(k.error());
        keyCount = *k;
        if (!options.traceMode && keyCount < 20)
            return failed(Error{QStringLiteral("usage"),
                                QStringLiteral("--key-count must be at least 20 (the invalidations "
                                               "need two groups of 10 keys), not %1.")
                                    .arg(keyCount),
                                {}});
    }

    if (options.traceMode) {
        perf::TraceComparisonOptions &t = options.trace;
        t.threads = threads;
        t.seed = seed;
        t.keyCount = quint32(keyCount);
        if (isSet("capacity")) {
            const auto c = cli::parsePositiveInt(QStringLiteral("--capacity"), value("capacity"),
                                                 1 << 30);
            if (!c)
                return failed(c.error());
            t.capacity = *c;
        }
        if (isSet("trace-length")) {
            const auto l = cli::parsePositiveInt(QStringLiteral("--trace-length"),
                                                 value("trace-length"), 2'000'000'000);
            if (!l)
                return failed(l.error());
            t.length = *l;
        }
        if (isSet("trace")) {
            t.traceName = value("trace");
            if (Result<perf::TraceSpec> spec = perf::namedTraceSpec(t.traceName, t.keyCount, t.capacity);
                !spec)
                return failed(Error{QStringLiteral("usage"),
                                    QStringLiteral("--trace: ") + spec.error().message, {}});
        } else {
            t.traceFile = value("trace-file");
            QFile file(t.traceFile);
            if (QFileInfo(t.traceFile).isDir() || !file.open(QIODevice::ReadOnly))
                return failed(Error{QStringLiteral("usage"),
                                    QStringLiteral("--trace-file: cannot read \"%1\": %2.")
                                        .arg(t.traceFile,
                                             QFileInfo(t.traceFile).isDir()
                                                 ? QStringLiteral("it is a directory")
                                                 : file.errorString()),
                                    {}});
        }
    } else {
        perf::CacheBenchmarkOptions &b = options.bench;
        b.threads = threads;
        b.keyCount = keyCount;
        if (seed)
            b.seed = *seed;
        if (isSet("iterations")) {
            const auto n = cli::parsePositiveInt(QStringLiteral("--iterations"), value("iterations"),
                                                 1'000'000'000);
            if (!n)
                return failed(n.error());
            b.iterations = *n;
        }
        if (isSet("value-size")) {
            const auto v = cli::parsePositiveInt(QStringLiteral("--value-size"), value("value-size"),
                                                 64 << 20);
            if (!v)
                return failed(v.error());
            b.valueSize = *v;
        }
        if (isSet("warmup")) {
            const auto w = cli::parseNonNegativeInt(QStringLiteral("--warmup"), value("warmup"),
                                                    1'000'000'000);
            if (!w)
                return failed(w.error());
            b.warmup = *w;
        }
        if (isSet("distribution")) {
            const auto d = perf::KeyDistribution::parse(value("distribution"));
            if (!d)
                return failed(d.error());
            b.distribution = *d;
        }
        QStringList names;
        for (const cli::SelectorSpec &spec : selectorSpecs())
            names.append(spec.name);
        const auto selected = cli::resolveSelectors(parser, names);
        if (!selected)
            return failed(selected.error());
        b.configurations.clear();
        for (const QString &name : *selected) {
            QString id = name;
            b.configurations.append(*perf::cacheConfigurationFromString(id.replace(QLatin1Char('-'), QLatin1Char('_'))));
        }
        if (Status s = b.validate(); !s)
            return failed(s.error());
    }

    if (isSet("format")) {
        const auto f = cli::parseOutputFormat(value("format"));
        if (!f)
            return failed(f.error());
        options.format = *f;
    }
    if (isSet("tolerance")) {
        if (!isSet("baseline"))
            return failed(Error{QStringLiteral("usage"),
                                QStringLiteral("--tolerance needs --baseline FILE."), {}});
        const auto t = cli::parsePercent(QStringLiteral("--tolerance"), value("tolerance"));
        if (!t)
            return failed(t.error());
        options.tolerance = *t;
    }
    if (isSet("baseline")) {
        options.baselinePath = value("baseline");
        Result<QJsonObject> baseline = perf::loadResultFile(options.baselinePath);
        if (!baseline)
            return failed(baseline.error());
        const bool baselineTrace = baseline->value(QStringLiteral("mode")).toString() == u"trace";
        if (baselineTrace != options.traceMode)
            return failed(Error{QStringLiteral("usage"),
                                QStringLiteral("The baseline \"%1\" is a %2-mode result; this run is "
                                               "in %3 mode.")
                                    .arg(options.baselinePath,
                                         baselineTrace ? QStringLiteral("trace")
                                                       : QStringLiteral("operations"),
                                         options.traceMode ? QStringLiteral("trace")
                                                           : QStringLiteral("operations")),
                                {}});
        options.baseline = *baseline;
    }
    const QString extension = options.format == cli::OutputFormat::Csv ? QStringLiteral("csv")
                                                                       : QStringLiteral("json");
    options.output = isSet("output")
                         ? value("output")
                         : perf::defaultResultFileName(QString::fromLatin1(perf::kCacheBenchmarkPrefix),
                                                       QDateTime::currentDateTime(), extension);
    if (Status s = perf::checkOutputWritable(options.output); !s)
        return failed(s.error());
    exitCode = cli::ExitOk;
    return options;
}

// SIGINT/SIGTERM are blocked in every thread and taken by one sigwait() thread, which cancels
// the run: no work in a signal handler, and the benchmark stops at its next call.
class SignalCanceller
{
public:
    explicit SignalCanceller(exec::CancellationToken token)
        : m_token(std::move(token))
    {
        sigemptyset(&m_set);
        sigaddset(&m_set, SIGINT);
        sigaddset(&m_set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &m_set, nullptr);
        m_thread = std::thread([this] {
            for (;;) {
                int signal = 0;
                if (sigwait(&m_set, &signal) != 0)
                    continue;
                if (m_done.load())
                    return;
                // A second signal while the run winds down: stop at once (the temporary
                // directory may stay behind).
                if (m_interrupted.exchange(true))
                    std::_Exit(cli::ExitRuntime);
                m_token.cancel();
                cli::printErr(QStringLiteral("\n%1: interrupted, stopping...\n").arg(kTool));
            }
        });
    }
    ~SignalCanceller()
    {
        m_done.store(true);
        pthread_kill(m_thread.native_handle(), SIGTERM);
        m_thread.join();
    }
    bool interrupted() const { return m_interrupted.load(); }

private:
    exec::CancellationToken m_token;
    sigset_t m_set;
    std::atomic<bool> m_done{false};
    std::atomic<bool> m_interrupted{false};
    std::thread m_thread;
};

Status writeResult(const Options &options, const QJsonObject &json, const QStringList &csvHeader,
                   const QList<QStringList> &csvRows)
{
    if (options.format == cli::OutputFormat::Csv) {
        cli::CsvWriter csv(csvHeader);
        for (const QStringList &row : csvRows)
            csv.addRow(row);
        return csv.writeTo(options.output);
    }
    return perf::writeFileAtomically(options.output, QJsonDocument(json).toJson(QJsonDocument::Indented));
}

int compareBaseline(const Options &options, const QJsonObject &json)
{
    if (options.baselinePath.isEmpty())
        return cli::ExitOk;
    perf::BaselineReport report = perf::compareWithBaseline(
        options.baseline, json, perf::cacheBenchmarkBaselineFigures(json), options.tolerance);
    report.baselinePath = options.baselinePath;
    cli::printOut(QLatin1Char('\n') + report.toText());
    return report.hasRegression() ? cli::ExitCheckFailed : cli::ExitOk;
}

} // namespace

int main(int argc, char *argv[])
{
    // Before any thread exists, so every thread inherits the blocked mask.
    exec::CancellationToken cancel;
    SignalCanceller signalCanceller(cancel);

    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(kTool);
    QCoreApplication::setApplicationVersion(perf::opsdeckVersion());
    installLogFormat();

    int exitCode = cli::ExitOk;
    std::optional<Options> parsed = parse(app.arguments(), exitCode);
    if (!parsed)
        return exitCode;
    Options &options = *parsed;

    cli::ProgressPrinter progress(cli::ProgressPrinter::enabledFor(options.quiet));
    const perf::ProgressCallback onProgress = [&progress](const perf::Progress &p) { progress.print(p); };

    QJsonObject json;
    QString summary;
    QStringList csvHeader;
    QList<QStringList> csvRows;
    if (options.traceMode) {
        options.trace.progress = onProgress;
        options.trace.cancel = cancel;
        Result<perf::TraceComparisonResult> r = perf::runTraceComparison(options.trace);
        progress.finish();
        if (!r) {
            const bool usage = r.error().code.startsWith(QStringLiteral("trace_file"));
            return usage ? cli::usageError(kTool, r.error().message)
                         : cli::runtimeError(kTool, r.error().message);
        }
        json = r->toJson();
        summary = r->summaryText();
        csvHeader = perf::TraceComparisonResult::csvHeader();
        csvRows = r->csvRows();
    } else {
        options.bench.progress = onProgress;
        options.bench.cancel = cancel;
        Result<perf::CacheBenchmarkResult> r = perf::CacheBenchmark(options.bench).run();
        progress.finish();
        if (!r) {
            return cli::runtimeError(kTool, signalCanceller.interrupted()
                                                ? QStringLiteral("Interrupted; no result written.")
                                                : r.error().message);
        }
        json = r->toJson();
        summary = r->summaryText();
        csvHeader = perf::CacheBenchmarkResult::csvHeader();
        csvRows = r->csvRows();
    }
    cli::printOut(summary);
    if (Status s = writeResult(options, json, csvHeader, csvRows); !s)
        return cli::runtimeError(kTool, s.error().message);
    cli::printOut(QStringLiteral("\nResults written to %1\n").arg(options.output));
    return compareBaseline(options, json);
}

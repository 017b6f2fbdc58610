// opsdeck-loadtest: the load tester's command line. Parses and checks every flag (exit 2 before
// anything runs), hands the run to perf::LoadTestRunner, prints the summary on stdout, writes the
// result file (JSON, or summary + timeline CSV), then checks thresholds and the baseline (exit 1).
// --self-check runs perf::runLoadTestSelfCheck instead. Exit codes: CONTRACTS.md.
#include "cli/clicommon.h"
#include "core/perf/loadtestcomponents.h"
#include "core/perf/loadtestconfig.h"
#include "core/perf/loadtestresult.h"
#include "core/perf/loadtestrunner.h"
#include "core/perf/loadtestselfcheck.h"
#include "core/perf/runinfo.h"
#include "core/support/logging.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QJsonDocument>
#include <QtCore/QRandomGenerator>
#include <QtCore/QUrl>

#include <atomic>
#include <csignal>
#include <optional>

namespace {

using namespace opsdeck;
using cli::ExitCode;

const QString kTool = QStringLiteral("opsdeck-loadtest");

// SIGINT/SIGTERM cancel the run (it stops issuing, writes what it measured, exits 3). The
// handler only stores to a lock-free atomic; a watcher in the progress callback does the rest.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void onSignal(int)
{
    g_interrupted.store(true);
}

void installSignalHandlers()
{
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

struct Options
{
    perf::LoadTestConfig config;
    QString output;
    cli::OutputFormat format = cli::OutputFormat::Json;
    bool quiet = false;
    bool selfCheck = false;
    std::optional<QJsonObject> baseline;
    QString baselinePath;
    double tolerance = 0.10;
};

QString helpText(const QCommandLineParser &parser)
{
    QString text = parser.helpText();
    // QCommandLineParser names the binary by the path it was started with.
    const QString invoked = QCoreApplication::arguments().value(0);
    if (!invoked.isEmpty() && text.startsWith(QStringLiteral("Usage: ") + invoked))
        text.replace(7, invoked.size(), kTool);
    text += QStringLiteral(
        "\nModels:\n"
        "  closed (default)  every worker issues its next operation when the previous one ends.\n"
        "  open (--rate R)   operations are due at fixed intended starts, R per second per\n"
        "                    component, at most --concurrency outstanding; latency counts from "
        "the\n"
        "                    intended start (coordinated omission corrected); the uncorrected\n"
        "                    figure (from the actual start) is reported beside it.\n"
        "  --duration excludes the linear ramp-up (workers or rate from 0), reported separately.\n"
        "\nComponents: cache (get 60 %, set 30 %, delete 5 %, invalidate 5 % on a tiered cache in "
        "a\n"
        "  temporary directory), http (GET 70 %, POST /api/v3/order/test 30 %, against the\n"
        "  embedded market simulator or --target-url, one keep-alive connection per worker; with\n"
        "  --http-client pool through OpsDeck's HTTP pool instead, which adds its own cost),\n"
        "  execution (tasks NORMAL 60 %, HIGH 30 %, LOW 10 % on the execution engine).\n"
        "\nOutput: a summary table on stdout; progress with ETA on stderr (only on a terminal, "
        "not\n"
        "  with --quiet); the result file (default load_test_results_YYYYMMDD_HHMMSS.json in the\n"
        "  current directory; with --format csv the summary there and the timeline in\n"
        "  <name>_timeline.csv). The top-level response_times mixes every component (kept for the\n"
        "  old tool's readers); component_results.<component> has each one's own.\n"
        "\nExit status: 0 ok; 1 a threshold, the baseline comparison or the self-check failed;\n"
        "  2 usage error (nothing ran); 3 runtime failure or interrupted.\n");
    return text;
}

// Parses and checks everything; an error message means exit 2.
Result<Options> parseOptions(QCommandLineParser &parser, const QStringList &arguments)
{
    parser.setApplicationDescription(QStringLiteral(
        "Load test OpsDeck's cache, HTTP pool and execution engine, in the closed or open model."));
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help and exit."));
    const QCommandLineOption version(QStringLiteral("version"),
                                     QStringLiteral("Show the version and exit."));
    const QCommandLineOption concurrency(
        QStringLiteral("concurrency"),
        QStringLiteral("Workers per component: operations outstanding at most (default: 10)."),
        QStringLiteral("N"), QStringLiteral("10"));
    const QCommandLineOption duration(
        QStringLiteral("duration"),
        QStringLiteral(
            "Measured seconds after the ramp-up: 60, 1.5, 250ms, 30s, 2m (default: 60)."),
        QStringLiteral("SECONDS"), QStringLiteral("60"));
    const QCommandLineOption rampUp(
        QStringLiteral("ramp-up"),
        QStringLiteral(
            "Linear ramp-up seconds, excluded from --duration; 0 for none (default: 5)."),
        QStringLiteral("SECONDS"), QStringLiteral("5"));
    const QCommandLineOption output(
        QStringLiteral("output"),
        QStringLiteral("Result file (default: load_test_results_YYYYMMDD_HHMMSS.json, or .csv, in "
                       "the current directory)."),
        QStringLiteral("FILE"));
    const QCommandLineOption logLevel(
        QStringLiteral("log-level"),
        QStringLiteral("DEBUG, INFO, WARNING, ERROR or CRITICAL (default: INFO)."),
        QStringLiteral("LEVEL"), QStringLiteral("INFO"));
    const QCommandLineOption rate(QStringLiteral("rate"),
                                  QStringLiteral("Open model: intended operations per second per "
                                                 "component (default: none, closed model)."),
                                  QStringLiteral("R"));
    const QCommandLineOption targetUrl(
        QStringLiteral("target-url"),
        QStringLiteral("HTTP component target base URL, a host you name (default: the embedded "
                       "market simulator, started in-process)."),
        QStringLiteral("URL"));
    const QCommandLineOption httpClient(
        QStringLiteral("http-client"),
        QStringLiteral("HTTP component client: direct (lean keep-alive connections: measures the "
                       "server) or pool (OpsDeck's HTTP pool on QNAM, as agents use it) (default: "
                       "direct)."),
        QStringLiteral("CLIENT"), QStringLiteral("direct"));
    const QCommandLineOption seed(
        QStringLiteral("seed"),
        QStringLiteral("Seed of the operation mix and keys; the same seed repeats the same "
                       "operations (default: random, printed)."),
        QStringLiteral("N"));
    const QCommandLineOption maxP99(
        QStringLiteral("max-p99-ms"),
        QStringLiteral("Thresholds on the corrected p99 per component, e.g. http=50,cache=0.5; "
                       "missed: exit 1 (default: none)."),
        QStringLiteral("LIST"));
    const QCommandLineOption maxErrorRate(
        QStringLiteral("max-error-rate"),
        QStringLiteral("Highest error rate (0..1) of every component, e.g. 0.01; missed: exit 1 "
                       "(default: none)."),
        QStringLiteral("RATE"));
    const QCommandLineOption baseline(
        QStringLiteral("baseline"),
        QStringLiteral("Earlier result file: exit 1 when a component's ops/s, median or p99 is "
                       "worse by more than --tolerance (default: none)."),
        QStringLiteral("FILE"));
    const QCommandLineOption tolerance(
        QStringLiteral("tolerance"),
        QStringLiteral("Allowed regression against --baseline in percent (default: 10)."),
        QStringLiteral("PERCENT"), QStringLiteral("10"));
    const QCommandLineOption format(QStringLiteral("format"),
                                    QStringLiteral("Result format: json or csv (default: json)."),
                                    QStringLiteral("FORMAT"), QStringLiteral("json"));
    const QCommandLineOption quiet(
        QStringLiteral("quiet"),
        QStringLiteral("No progress line on stderr (default: shown on a terminal)."));
    const QCommandLineOption selfCheck(
        QStringLiteral("self-check"),
        QStringLiteral("Check the coordinated-omission correction against the embedded simulator "
                       "with a 1 s stall every 5 s, print the figures, exit 0 or 1 (about 10 s)."));
    parser.addOptions({help, version, concurrency, duration, rampUp, output, logLevel, rate,
                       targetUrl, httpClient, seed, maxP99, maxErrorRate, baseline, tolerance, format, quiet,
                       selfCheck});
    cli::addSelectorOptions(
        parser,
        {{QStringLiteral("test-cache"), QStringLiteral("the cache component")},
         {QStringLiteral("test-http"), QStringLiteral("the HTTP component")},
         {QStringLiteral("test-execution"), QStringLiteral("the execution engine component")}});
    if (!parser.parse(arguments))
        return fail(QStringLiteral("usage"), parser.errorText());
    if (!parser.positionalArguments().isEmpty())
        return fail(QStringLiteral("usage"), QStringLiteral("Unexpected argument \"%1\".")
                                                 .arg(parser.positionalArguments().constFirst()));

    Options o;
    if (parser.isSet(help) || parser.isSet(version))
        return o; // main() answers these
    if (Status s = cli::applyLogLevelOption(parser.value(logLevel)); !s)
        return tl::unexpected(s.error());

    const auto selected
        = cli::resolveSelectors(parser, {QStringLiteral("test-cache"), QStringLiteral("test-http"),
                                         QStringLiteral("test-execution")});
    if (!selected)
        return tl::unexpected(selected.error());
    o.config.components.clear();
    for (const QString &name : *selected)
        o.config.components.append(*perf::loadComponentFromString(name.mid(5))); // "test-" prefix

    const auto workers
        = cli::parsePositiveInt(QStringLiteral("--concurrency"), parser.value(concurrency), 10000);
    if (!workers)
        return tl::unexpected(workers.error());
    o.config.concurrency = int(*workers);
    const auto seconds
        = cli::parseDurationSeconds(QStringLiteral("--duration"), parser.value(duration));
    if (!seconds)
        return tl::unexpected(seconds.error());
    o.config.durationSeconds = *seconds;
    const auto ramp
        = cli::parseDurationSeconds(QStringLiteral("--ramp-up"), parser.value(rampUp), true);
    if (!ramp)
        return tl::unexpected(ramp.error());
    o.config.rampUpSeconds = *ramp;
    if (parser.isSet(rate)) {
        const auto r = cli::parsePositiveNumber(QStringLiteral("--rate"), parser.value(rate));
        if (!r)
            return tl::unexpected(r.error());
        o.config.rate = *r;
    }
    if (parser.isSet(targetUrl)) {
        o.config.targetUrl = QUrl(parser.value(targetUrl), QUrl::StrictMode);
        if (!o.config.runs(perf::LoadComponentKind::Http))
            return fail(
                QStringLiteral("usage"),
                QStringLiteral("--target-url needs the http component, which is not selected."));
    }
    if (parser.isSet(httpClient)) {
        const QString client = parser.value(httpClient);
        if (client != u"direct" && client != u"pool")
            return fail(QStringLiteral("usage"),
                        QStringLiteral("--http-client must be direct or pool (got \"%1\").")
                            .arg(client));
        if (!o.config.runs(perf::LoadComponentKind::Http))
            return fail(
                QStringLiteral("usage"),
                QStringLiteral("--http-client needs the http component, which is not selected."));
        o.config.httpThroughPool = client == u"pool";
    }
    if (parser.isSet(seed)) {
        const auto s = cli::parseSeed(QStringLiteral("--seed"), parser.value(seed));
        if (!s)
            return tl::unexpected(s.error());
        o.config.seed = *s;
    } else {
        o.config.seed = QRandomGenerator::system()->generate64();
    }
    if (parser.isSet(maxP99)) {
        const auto t = perf::parseComponentThresholds(parser.value(maxP99));
        if (!t)
            return fail(QStringLiteral("usage"),
                        QStringLiteral("--max-p99-ms: ") + t.error().message);
        o.config.maxP99Ms = *t;
    }
    if (parser.isSet(maxErrorRate)) {
        const auto e = cli::parseNonNegativeNumber(QStringLiteral("--max-error-rate"),
                                                   parser.value(maxErrorRate));
        if (!e)
            return tl::unexpected(e.error());
        if (*e > 1.0)
            return fail(
                QStringLiteral("usage"),
                QStringLiteral(
                    "--max-error-rate is a fraction between 0 and 1 (0.01 = 1 %), not \"%1\".")
                    .arg(parser.value(maxErrorRate)));
        o.config.maxErrorRate = *e;
    }
    if (Status valid = o.config.validate(); !valid)
        return fail(QStringLiteral("usage"), valid.error().message);

    const auto f = cli::parseOutputFormat(parser.value(format));
    if (!f)
        return tl::unexpected(f.error());
    o.format = *f;
    const auto tol = cli::parsePercent(QStringLiteral("--tolerance"), parser.value(tolerance));
    if (!tol)
        return tl::unexpected(tol.error());
    o.tolerance = *tol;
    if (parser.isSet(baseline)) {
        o.baselinePath = parser.value(baseline);
        auto loaded = perf::loadResultFile(o.baselinePath);
        if (!loaded)
            return fail(QStringLiteral("usage"), loaded.error().message);
        o.baseline = *loaded;
    }
    o.quiet = parser.isSet(quiet);
    o.selfCheck = parser.isSet(selfCheck);

    const QString extension
        = o.format == cli::OutputFormat::Csv ? QStringLiteral("csv") : QStringLiteral("json");
    o.output = parser.isSet(output)
                   ? parser.value(output)
                   : perf::defaultResultFileName(QString::fromLatin1(perf::kLoadTestPrefix),
                                                 QDateTime::currentDateTime(), extension);
    if (o.output.isEmpty())
        return fail(QStringLiteral("usage"), QStringLiteral("--output needs a file name."));
    if (!o.selfCheck) {
        if (Status w = perf::checkOutputWritable(o.output); !w)
            return fail(QStringLiteral("usage"), w.error().message);
        if (o.format == cli::OutputFormat::Csv) {
            if (Status w
                = perf::checkOutputWritable(cli::siblingPath(o.output, QStringLiteral("timeline")));
                !w)
                return fail(QStringLiteral("usage"), w.error().message);
        }
    }
    return o;
}

Status writeResult(const Options &o, const perf::LoadTestRun &run, const QJsonObject &json)
{
    if (o.format == cli::OutputFormat::Json)
        return perf::writeFileAtomically(o.output,
                                         QJsonDocument(json).toJson(QJsonDocument::Indented));
    auto writeRows = [](const QString &path, const QList<QStringList> &rows) {
        cli::CsvWriter csv(rows.constFirst());
        for (qsizetype i = 1; i < rows.size(); ++i)
            csv.addRow(rows[i]);
        return csv.writeTo(path);
    };
    if (Status s = writeRows(o.output, perf::loadTestSummaryRows(run)); !s)
        return s;
    return writeRows(cli::siblingPath(o.output, QStringLiteral("timeline")),
                     perf::loadTestTimelineRows(run));
}

int runSelfCheck(const Options &o)
{
    perf::SelfCheckSettings settings;
    bool ok = false;
    const double factor = qEnvironmentVariable("OPSDECK_TIME_FACTOR").toDouble(&ok);
    settings.timeFactor = ok && factor > 0 ? factor : 1.0;
    cli::ProgressPrinter progress(cli::ProgressPrinter::enabledFor(o.quiet));
    auto report
        = perf::runLoadTestSelfCheck(settings, [&](const perf::Progress &p) { progress.print(p); });
    progress.finish();
    if (!report)
        return cli::runtimeError(kTool, report.error().message);
    cli::printOut(report->text);
    return report->passed ? cli::ExitOk : cli::ExitCheckFailed;
}

int runLoadTest(const Options &o)
{
    perf::RunInfo info = perf::RunInfo::begin();
    perf::LoadTestRunner runner(o.config);
    cli::ProgressPrinter progress(cli::ProgressPrinter::enabledFor(o.quiet));
    runner.setProgressCallback([&](const perf::Progress &p) {
        if (g_interrupted.load())
            runner.cancel();
        progress.print(p);
    });
    installSignalHandlers();
    Result<perf::LoadTestRun> run = runner.run(perf::makeLoadComponents(o.config));
    progress.finish();
    if (!run)
        return cli::runtimeError(kTool, run.error().message);
    info.finish();

    const QList<perf::ThresholdCheck> checks = perf::checkThresholds(*run);
    std::optional<perf::BaselineReport> report;
    QJsonObject json = perf::loadTestResultJson(*run, info, checks);
    if (o.baseline) {
        report = perf::compareWithBaseline(*o.baseline, json, perf::loadTestBaselineFigures(*run),
                                           o.tolerance);
        report->baselinePath = o.baselinePath;
        json = perf::loadTestResultJson(*run, info, checks, report);
    }
    cli::printOut(perf::loadTestSummaryTable(*run, checks));
    if (report)
        cli::printOut(report->toText());
    if (Status written = writeResult(o, *run, json); !written)
        return cli::runtimeError(kTool, written.error().message);
    cli::printOut(o.format == cli::OutputFormat::Csv
                      ? QStringLiteral("Results written to %1 and %2\n")
                            .arg(o.output, cli::siblingPath(o.output, QStringLiteral("timeline")))
                      : QStringLiteral("Results written to %1\n").arg(o.output));

    if (run->cancelled)
        return cli::runtimeError(
            kTool, QStringLiteral("interrupted: the result holds what was measured until then."));
    if (!perf::thresholdsPassed(checks)) {
        cli::printErr(QStringLiteral("%1: a threshold was missed.\n").arg(kTool));
        return cli::ExitCheckFailed;
    }
    if (report && report->hasRegression()) {
        cli::printErr(QStringLiteral("%1: worse than the baseline by more than %2 %.\n")
                          .arg(kTool)
                          .arg(o.tolerance * 100.0));
        return cli::ExitCheckFailed;
    }
    return cli::ExitOk;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(kTool);
    QCoreApplication::setApplicationVersion(QStringLiteral(OPSDECK_VERSION_STRING));
    installLogFormat();

    QCommandLineParser parser;
    const Result<Options> options = parseOptions(parser, QCoreApplication::arguments());
    if (!options)
        return cli::usageError(kTool, options.error().message);
    if (parser.isSet(QStringLiteral("help"))) {
        cli::printOut(helpText(parser));
        return cli::ExitOk;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        cli::printOut(QStringLiteral("%1 %2\n").arg(kTool, QStringLiteral(OPSDECK_VERSION_STRING)));
        return cli::ExitOk;
    }
    if (options->selfCheck)
        return runSelfCheck(*options);
    return runLoadTest(*options);
}

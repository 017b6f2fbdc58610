// clicommon: what opsdeck-cachebench and opsdeck-loadtest share on the command line (library
// opsdeck_clicommon, Qt Core only). Parsing helpers return Result<T> with code "usage" and an
// English sentence naming the flag; the tool prints it with usageError() and exits 2.
//
//     QCommandLineParser parser;
//     cli::addSelectorOptions(parser, {{"memory-only", "the memory tier alone"}, ...});
//     if (!parser.parse(app.arguments())) return cli::usageError(tool, parser.errorText());
//     auto selected = cli::resolveSelectors(parser, {"memory-only", "disk-only", "tiered"});
//     auto iterations = cli::parsePositiveInt(QStringLiteral("--iterations"), parser.value(o));
//     cli::ProgressPrinter progress(cli::ProgressPrinter::enabledFor(quiet));
//     ... library callback: progress.print(p) ...
//
// Exit codes (CONTRACTS.md): 0 ok, 1 a threshold or baseline check failed, 2 usage, 3 runtime.
// Selectors: each name X gives --X and --no-X. If any positive --X is given exactly those run;
// --no-X removes X; the same X both ways is a contradiction (usage error); nothing left to run is
// a usage error too. Durations: "60", "1.5", "250ms", "30s", "2m", "1h" (seconds as a double).
// Log levels: DEBUG, INFO, WARNING, ERROR, CRITICAL, any case, applied to the Qt logging rules
// of every opsdeck.* category. CSV: RFC 4180 (comma, CRLF-free "\n" lines, quotes doubled).
// Progress on stderr: one line redrawn with "\r" at most 10 times a second, only when stderr is a
// terminal and --quiet was not given.
#pragma once

#include "core/perf/runinfo.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <cstdio>
#include <limits>

namespace opsdeck::cli {

enum ExitCode : int {
    ExitOk = 0,
    ExitCheckFailed = 1, // a threshold or baseline regression
    ExitUsage = 2,
    ExitRuntime = 3,
};

// Prints "<tool>: <message>\nTry '<tool> --help'." on stderr; returns ExitUsage.
int usageError(const QString &tool, const QString &message);
// Prints "<tool>: <message>" on stderr; returns ExitRuntime.
int runtimeError(const QString &tool, const QString &message);
// Writes text to stdout (UTF-8) and flushes.
void printOut(const QString &text);
void printErr(const QString &text);

// ---- Log level -------------------------------------------------------------------------------

// Validates and applies --log-level; "usage" error: "--log-level must be one of DEBUG, INFO,
// WARNING, ERROR, CRITICAL, not "x"."
Status applyLogLevelOption(const QString &value);

// ---- Selectors -------------------------------------------------------------------------------

struct SelectorSpec
{
    QString name;        // "memory-only": flags --memory-only and --no-memory-only
    QString description; // "the memory tier alone"
};

// Adds --X ("Run X (<description>). Default: all selectors run.") and --no-X for each spec.
void addSelectorOptions(QCommandLineParser &parser, const QList<SelectorSpec> &specs);

// The pure rule: `all` in its order, filtered by the positives (when any) minus the negatives.
// Errors ("usage"): a name both ways ("--tiered and --no-tiered contradict each other"), an
// unknown name, or nothing left to run.
Result<QStringList> resolveSelectors(const QStringList &all,
                                     const QStringList &positive,
                                     const QStringList &negative);
// Reads which of --X / --no-X the parser saw, then the rule above.
Result<QStringList> resolveSelectors(const QCommandLineParser &parser, const QStringList &all);

// ---- Numbers and durations -------------------------------------------------------------------

// A whole number in [1, max]: "--iterations must be a positive whole number, not \"-5\"."
Result<qint64> parsePositiveInt(const QString &flag, const QString &text,
                                qint64 max = std::numeric_limits<qint32>::max());
// A whole number in [0, max].
Result<qint64> parseNonNegativeInt(const QString &flag, const QString &text,
                                   qint64 max = std::numeric_limits<qint32>::max());
// A finite number > 0.
Result<double> parsePositiveNumber(const QString &flag, const QString &text);
// A finite number >= 0.
Result<double> parseNonNegativeNumber(const QString &flag, const QString &text);
// Seconds from "60", "1.5", "250ms", "30s", "2m", "1h"; > 0, or >= 0 with allowZero.
Result<double> parseDurationSeconds(const QString &flag, const QString &text, bool allowZero = false);
// A tolerance or rate in percent: "10" or "10%" -> 0.10; must be >= 0 (and <= maxPercent).
Result<double> parsePercent(const QString &flag, const QString &text, double maxPercent = 1e6);
// A 64-bit unsigned seed (decimal or 0x hex).
Result<quint64> parseSeed(const QString &flag, const QString &text);
// One of the allowed words (case-insensitive); returns it lower-case.
Result<QString> parseChoice(const QString &flag, const QString &text, const QStringList &allowed);

// ---- Output ----------------------------------------------------------------------------------

enum class OutputFormat { Json, Csv };
// "json" or "csv" (any case).
Result<OutputFormat> parseOutputFormat(const QString &text);

// RFC 4180 CSV: fields with a comma, quote, CR or LF are quoted and quotes doubled.
class CsvWriter
{
public:
    explicit CsvWriter(QStringList header);

    void addRow(const QStringList &fields);
    int rowCount() const { return int(m_rows.size()); }
    QByteArray toBytes() const; // header + rows, "\n" line ends, UTF-8
    Status writeTo(const QString &path) const; // atomically (QSaveFile)

    static QString escape(const QString &field);
    // A number for CSV: shortest round-trip form, no thousands separator.
    static QString number(double value);

private:
    QStringList m_header;
    QList<QStringList> m_rows;
};

// "results.csv" + "timeline" -> "results_timeline.csv" (the suffix goes before the extension).
QString siblingPath(const QString &path, const QString &suffix);

// ---- Progress --------------------------------------------------------------------------------

class ProgressPrinter
{
public:
    // True when stderr is a terminal and quiet is false.
    static bool enabledFor(bool quiet);

    explicit ProgressPrinter(bool enabled, const Clock &clock = Clock::system(),
                             FILE *stream = stderr);
    ~ProgressPrinter(); // finish()

    bool isEnabled() const { return m_enabled; }
    // Redraws the line if enabled and at most 10 Hz ("tiered / get  42 % 420/1000  ETA 3 s
    // ops/s 1234"); final reports (done == total) always draw.
    void print(const perf::Progress &progress);
    // Clears the line (once), so later stdout/stderr output starts on a clean line.
    void finish();

    // The line print() draws, without control characters (for tests).
    static QString format(const perf::Progress &progress);

private:
    bool m_enabled;
    FILE *m_stream;
    perf::ProgressThrottle m_throttle;
    int m_lastWidth = 0;
};

} // namespace opsdeck::cli

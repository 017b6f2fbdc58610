// RunInfo and friends: what every performance result file (opsdeck-cachebench, opsdeck-loadtest)
// records and checks, shared by both tools and the GUI wizards. Plain values and free functions;
// any thread. Not a benchmark, not a CLI parser (src/cli/clicommon.h).
//
//     perf::RunInfo run = perf::RunInfo::begin();          // version, build, commit, machine, start
//     if (Status s = perf::checkOutputWritable(path); !s) ... // before the run: exit 2
//     ... run ...
//     run.finish();
//     QJsonObject result{{"schema_version", 2}};
//     run.writeInto(result);  // start_time, end_time, *_ms, opsdeck_version, run{...}
//     auto baseline = perf::loadResultFile(baselinePath);    // Result<QJsonObject>
//     perf::BaselineReport report = perf::compareWithBaseline(*baseline, result, figures, 0.10);
//     if (report.hasRegression()) exit 1;
//
// JSON written by RunInfo::writeInto(result):
//   "start_time", "end_time"        ISO-8601 UTC with ms ("2026-12-01T07:51:49.123Z"; old fields)
//   "start_time_ms", "end_time_ms"  epoch milliseconds
//   "opsdeck_version"               OPSDECK_VERSION_STRING
//   "run": {"opsdeck_version", "build_type" (CMake config, "unknown" if none), "git_commit"
//           (12 hex digits at configure time, "unknown" outside a git checkout), "qt_version",
//           "compiler", "start_time", "start_time_ms", "end_time", "end_time_ms", "duration_ms",
//           "machine": {"cpu_model", "cores" (logical CPUs), "memory_total_bytes", "os",
//                       "kernel", "hostname"}}
// Progress: both libraries report a Progress through a callback at most 10 Hz; ProgressThrottle
// decides when (on an injectable Clock, so tests need no sleeps).
#pragma once

#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QDateTime>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <functional>
#include <optional>

namespace opsdeck::perf {

// ---- Build and machine -----------------------------------------------------------------------

QString opsdeckVersion(); // OPSDECK_VERSION_STRING
QString buildType();      // "Debug", "RelWithDebInfo", ... (CMake config), or "unknown"
QString gitCommit();      // short commit hash at configure time, or "unknown"

struct MachineInfo
{
    QString cpuModel;          // "model name" of /proc/cpuinfo (or "Hardware"/"Processor"), or "unknown"
    int cores = 0;             // logical CPUs ("processor" lines; else QThread::idealThreadCount())
    qint64 memoryTotalBytes = 0; // MemTotal of /proc/meminfo; 0 when unreadable
    QString os;                // QSysInfo::prettyProductName()
    QString kernel;            // QSysInfo::kernelVersion()
    QString hostname;

    QJsonObject toJson() const;
    static MachineInfo fromJson(const QJsonObject &object);
};

// Reads the two files (paths injectable for tests); missing or odd files give "unknown"/0, never
// an error: a result file is still worth writing on an exotic machine.
MachineInfo readMachineInfo(const QString &cpuinfoPath = QStringLiteral("/proc/cpuinfo"),
                            const QString &meminfoPath = QStringLiteral("/proc/meminfo"));

// "2026-12-01T07:51:49.123Z" for epoch milliseconds.
QString isoTimestampUtc(qint64 epochMs);

// ---- Run info --------------------------------------------------------------------------------

struct RunInfo
{
    QString opsdeckVersion;
    QString buildType;
    QString gitCommit;
    QString qtVersion;
    QString compiler;
    MachineInfo machine;
    qint64 startMs = 0; // wall time, epoch ms
    qint64 endMs = 0;   // 0 until finish()

    // Everything filled in, start = clock's wall time now.
    static RunInfo begin(const Clock &clock = Clock::system());
    void finish(const Clock &clock = Clock::system());

    // The "run" object (see the file comment).
    QJsonObject toJson() const;
    // Sets start_time, end_time, start_time_ms, end_time_ms, opsdeck_version and run in result.
    void writeInto(QJsonObject &result) const;
};

// ---- Result files ----------------------------------------------------------------------------

inline constexpr char kCacheBenchmarkPrefix[] = "cache_benchmark_results";
inline constexpr char kLoadTestPrefix[] = "load_test_results";

// "<prefix>_YYYYMMDD_HHMMSS.<extension>" (local time, as the old tools named them), relative to
// the current directory.
QString defaultResultFileName(const QString &prefix,
                              const QDateTime &when = QDateTime::currentDateTime(),
                              const QString &extension = QStringLiteral("json"));

// Checks BEFORE a run that `path` can be written: an existing directory or read-only file, a
// missing or read-only parent directory all fail with "output_not_writable" and a sentence
// naming the path and the reason. Creates and removes a temporary file next to it; never touches
// `path` itself.
Status checkOutputWritable(const QString &path);

// Writes bytes to path atomically (QSaveFile). "output_write_failed" with the reason.
Status writeFileAtomically(const QString &path, const QByteArray &bytes);

// ---- Baselines -------------------------------------------------------------------------------

// Reads an earlier result file: "baseline_unreadable" (missing, permissions) or
// "baseline_invalid" (not a JSON object), with the path and reason in the message.
Result<QJsonObject> loadResultFile(const QString &path);

// A number inside a result document by its path of object keys ({"operations", "get",
// "tiered", "p95"}); nullopt when absent or not a number.
std::optional<double> numberAt(const QJsonObject &root, const QStringList &path);

struct BaselineFigure
{
    enum class Better { Lower, Higher }; // latencies: Lower; throughput, hit rate: Higher

    QString name;     // shown in reports; defaults to path joined with "."
    QStringList path; // keys from the document's root
    Better better = Better::Lower;

    static BaselineFigure lower(QStringList path);
    static BaselineFigure higher(QStringList path);
};

struct FigureComparison
{
    enum class Verdict {
        Better,  // improved by more than the tolerance
        Same,    // within the tolerance
        Worse,   // worse by more than the tolerance: a regression
        Missing  // absent from the baseline or the current run (not a regression)
    };

    QString name;
    BaselineFigure::Better better = BaselineFigure::Better::Lower;
    std::optional<double> baseline;
    std::optional<double> current;
    // (current - baseline) / |baseline|; +-inf when the baseline is 0 and current is not.
    double relativeChange = 0.0;
    Verdict verdict = Verdict::Missing;
};

QString toString(FigureComparison::Verdict verdict); // "better", "same", "worse", "missing"

struct BaselineReport
{
    QString baselinePath;
    double tolerance = 0.10; // fraction
    QList<FigureComparison> figures;

    bool hasRegression() const;
    int count(FigureComparison::Verdict verdict) const;
    // One line per figure: "worse   operations.get.tiered.p95  0.012 -> 0.020 (+66.7 %)", then a
    // verdict line ("2 of 30 figures worse than the baseline by more than 10 %").
    QString toText() const;
    // {"baseline_file", "tolerance", "regression", "figures": [{"name", "better" ("lower"|"higher"),
    //  "baseline", "current", "relative_change", "verdict"}]} (null for missing numbers).
    QJsonObject toJson() const;
};

// Compares each figure; a figure is Worse when it moved in its bad direction by more than
// `tolerance` (a fraction: 0.10 = 10 %), Better when it moved the good way by more than that.
BaselineReport compareWithBaseline(const QJsonObject &baseline,
                                   const QJsonObject &current,
                                   const QList<BaselineFigure> &figures,
                                   double tolerance = 0.10);

// ---- Progress --------------------------------------------------------------------------------

// What a running benchmark or load test reports (the GUI wizards and the CLIs' stderr line).
struct Progress
{
    qint64 done = 0;
    qint64 total = 0;          // 0 = unknown
    double elapsedSeconds = 0.0;
    double etaSeconds = -1.0;  // < 0 = unknown
    QString phase;             // "tiered / get", "ramp-up", ...
    QList<QPair<QString, QString>> figures; // live figures, in display order ("ops/s", "1234")

    double fraction() const { return total > 0 ? double(done) / double(total) : 0.0; }
};

using ProgressCallback = std::function<void(const Progress &)>;

// At most `hz` reports per second on the given clock: ready() is true for the first call and
// then once at least 1/hz has passed since the last true answer. Not thread-safe (one reporter).
class ProgressThrottle
{
public:
    explicit ProgressThrottle(const Clock &clock = Clock::system(), double hz = 10.0);

    bool ready();
    // Forget the last report (the next ready() is true): e.g. for a final 100 % report.
    void reset() { m_last.reset(); }

private:
    const Clock &m_clock;
    Clock::Duration m_interval;
    std::optional<Clock::MonoTime> m_last;
};

// ETA from the elapsed time and the fraction done (linear); -1 when it cannot be estimated.
double estimateEtaSeconds(double elapsedSeconds, qint64 done, qint64 total);

} // namespace opsdeck::perf

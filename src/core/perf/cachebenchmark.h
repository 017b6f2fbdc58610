// CacheBenchmark: the cache benchmark behind opsdeck-cachebench (and the GUI wizard). It measures
// the real CacheManager on real SQLite files, per configuration, the old tool's operations and
// workloads, and in trace mode compares every eviction policy's hit ratio with LRU and Bélády.
//
//     perf::CacheBenchmarkOptions options;           // the old defaults: 1000 / 10000 / 1024
//     options.progress = [](const perf::Progress &p) { ... };  // <= 10 Hz, a benchmark thread
//     options.cancel = token;                         // exec::CancellationToken
//     Result<perf::CacheBenchmarkResult> r = perf::CacheBenchmark(options).run();
//     QJsonObject json = r->toJson();                 // docs/schemas/cache_benchmark.schema.json
//
// Thread: run() blocks the calling thread (run it off the GUI thread) and uses `threads` extra
// std::threads when threads > 1. The progress callback is called on one benchmark thread at a
// time, at most 10 times a second on `progressClock` (plus a final report per run).
//
// What one configuration does (memory_only: no disk tier; disk_only: memory tier disabled,
// maxEntries 0; tiered: both), in a fresh temporary directory removed afterwards:
//   1. populate: set keys "benchmark:key:<i>" (0 <= i < keyCount), values of valueSize seeded
//      random bytes, tag "benchmark:tag:<i / 10>" (groups of 10 keys), TTL 3600 s (no expiry
//      during a run). The memory tier holds max(10000, 2 * keyCount) entries (headroom for its
//      shards), the disk tier the default 100 MiB: the key set fits, as in the old tool.
//   2. operations, each `warmup` untimed calls first, then `iterations` timed ones:
//        get                 80 % existing keys (exactly: a seeded shuffle), 20 % missing keys
//                            ("benchmark:key:<keyCount + j>"), keys drawn by the distribution
//        set                 existing keys by the distribution (overwrites)
//        delete              distinct keys in a seeded order, so every call removes a key
//        invalidate_pattern  "benchmark:key:<g>[0-9]$" (exactly the 10 keys of group g >= 1)
//        invalidate_tag      "benchmark:tag:<g>" (the same 10 keys)
//      The destructive ones run in rounds of distinct keys or groups; the removed keys are set
//      again between rounds and after the operation, outside the timed window.
//   3. workloads read_heavy (get 0.9, set 0.1), write_heavy (get 0.3, set 0.6, delete 0.1),
//      balanced (get 0.6, set 0.3, delete 0.05, invalidate 0.05 = invalidate_tag): exact
//      counts of each kind in a seeded shuffle; keys by the distribution; every workload starts
//      from the full key set; get keys 80 % existing / 20 % missing as above.
// Key draws, the 80/20 split and the workload mixes are made before the clock starts (at most
// 2^20 per thread and phase, reused cyclically beyond, so memory stays bounded).
// Latency: each timed call between two steady_clock reads, into an HDR histogram (ns). Throughput:
// timed calls / wall-clock time of the timed windows (all threads), not 1000 / mean.
// Hit rate: the benchmark counts the hits get() answered; `cache_lookups`/`cache_hits` are the
// CacheManager's own counters over the same window (equal with one thread).
// Disk writes are write-behind (DiskTier): set/delete latency on disk is the enqueue, and the
// commit happens in the tier's writer thread (bounded by its 65536-op backpressure).
// Not a load test (opsdeck-loadtest), not a hit-ratio model (HitRatioSimulator does trace mode).
#pragma once

#include "core/cache/cachemanager.h"
#include "core/cache/cachetypes.h"
#include "core/exec/cancellationtoken.h"
#include "core/perf/hitratiosimulator.h"
#include "core/perf/runinfo.h"
#include "core/perf/tracegenerator.h"
#include "core/support/clock.h"
#include "core/support/latencyhistogram.h"
#include "core/support/result.h"

#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QMap>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

namespace opsdeck::perf {

inline constexpr int kCacheBenchmarkSchemaVersion = 1;

struct KeyDistribution
{
    enum class Kind { Uniform, Zipf };
    Kind kind = Kind::Uniform;
    double exponent = 0.0; // Zipf's s (> 0)

    // "uniform" or "zipf:1.1" (s > 0 and <= 10); "invalid_distribution" otherwise.
    static Result<KeyDistribution> parse(const QString &text);
    QString toString() const; // "uniform", "zipf:1.1"
};

// The key ids [0, keyCount) the benchmark asks for: `count` draws by the distribution, the same
// for the same seed (TraceGenerator's streams). Zipf ranks map to scattered keys.
Trace drawBenchmarkKeys(const KeyDistribution &distribution, quint32 keyCount, qint64 count,
                        quint64 seed);

enum class CacheConfiguration { MemoryOnly, DiskOnly, Tiered };
QString toString(CacheConfiguration configuration); // "memory_only", "disk_only", "tiered"
std::optional<CacheConfiguration> cacheConfigurationFromString(QStringView text);
QList<CacheConfiguration> allCacheConfigurations();

// The operation and workload names, in run order.
QStringList cacheBenchmarkOperationNames(); // get, set, delete, invalidate_pattern, invalidate_tag
QStringList cacheBenchmarkWorkloadNames();  // read_heavy, write_heavy, balanced

struct CacheBenchmarkOptions
{
    qint64 iterations = 1000;
    qint64 keyCount = 10000; // at least 20 (two groups of 10 for the invalidations)
    qint64 valueSize = 1024; // bytes, >= 1
    qint64 warmup = -1;      // untimed calls before each operation/workload; -1 = iterations / 10
    QList<CacheConfiguration> configurations = allCacheConfigurations();
    int threads = 1;
    KeyDistribution distribution;
    quint64 seed = 1;
    cache::Policy policy = cache::Policy::Adaptive; // both tiers
    QString tempParent; // where the fresh temporary directory is made; empty = QDir::tempPath()

    ProgressCallback progress;
    const Clock *progressClock = nullptr; // nullptr = Clock::system(); only for progress timing
    exec::CancellationToken cancel;

    qint64 effectiveWarmup() const { return warmup >= 0 ? warmup : iterations / 10; }
    // "invalid_argument" naming the field, or ok.
    Status validate() const;
    // The options as the result's "config" object.
    QJsonObject toJson() const;
};

// One operation or workload in one configuration.
struct OperationResult
{
    QString name;
    HistogramSnapshot latencyNs; // timed calls only
    double wallSeconds = 0.0;    // the timed windows' wall-clock time
    quint64 lookups = 0;         // get calls counted by the benchmark
    quint64 hits = 0;            // get calls that returned a value
    quint64 existingLookups = 0; // get calls for keys that were populated
    quint64 cacheLookups = 0;    // CacheManager's lookups over the timed window
    quint64 cacheHits = 0;
    qint64 keysRemoved = 0;      // delete / invalidations: keys the cache reported removed
    qint64 errors = 0;           // calls the cache refused (set errors, invalid patterns)
    QMap<QString, qint64> operationCounts;         // workloads: timed calls per kind
    QMap<QString, HistogramSnapshot> perKindNs;   // workloads: latency per kind

    qint64 count() const { return qint64(latencyNs.count()); }
    double operationsPerSecond() const;
    double hitRate() const { return lookups == 0 ? 0.0 : double(hits) / double(lookups); }
    // The old fields (ms) plus ours; see docs/schemas/cache_benchmark.schema.json.
    QJsonObject toJson() const;
};

struct ConfigurationResult
{
    CacheConfiguration configuration = CacheConfiguration::Tiered;
    QList<OperationResult> operations;
    QList<OperationResult> workloads;
    cache::CacheStats finalStats;
    QJsonObject cacheSettings; // memory_max_size, disk_enabled, disk_max_size, ...
    bool tempDirRemoved = false;
    QString tempDir; // the directory that was used (gone when tempDirRemoved)
    double seconds = 0.0;
};

struct CacheBenchmarkResult
{
    QJsonObject config; // CacheBenchmarkOptions::toJson()
    RunInfo run;
    QList<ConfigurationResult> configurations;

    const ConfigurationResult *find(CacheConfiguration configuration) const;
    QJsonObject toJson() const;
    QString summaryText() const; // the human table
    // kind, name, configuration, count, min_ms, avg_ms, median_ms, p95_ms, p99_ms, max_ms,
    // operations_per_second, hit_rate, wall_time_ms
    static QStringList csvHeader();
    QList<QStringList> csvRows() const;
};

// The figures a baseline comparison checks in an operations-mode result: for every operation and
// workload of every configuration in `current`: median and p95 (lower is better) and
// operations_per_second (higher). In trace mode: every policy's hit ratio (higher).
QList<BaselineFigure> cacheBenchmarkBaselineFigures(const QJsonObject &current);

class CacheBenchmark final
{
public:
    explicit CacheBenchmark(CacheBenchmarkOptions options);

    // Errors: "invalid_argument" (options), "cancelled", "cache_open_failed",
    // "temp_dir_failed", "disk_tier_unavailable".
    Result<CacheBenchmarkResult> run();

private:
    CacheBenchmarkOptions m_options;
};

// ---- Trace mode ------------------------------------------------------------------------------

// The named synthetic traces of bench_cache: zipf-1.0, zipf-0.9, loop-1.5x, shifting, plus uniform.
QStringList namedTraceNames();
// The spec of a named trace: keyCount keys; length 0 = the trace's default (5,000,000 for the
// Zipf ones and uniform, 1,500,000 for the loop, whose length is 1.5 x capacity keys); seed
// nullopt = the trace's own (1, 2, 0, 3, 4). "unknown_trace" lists the names.
Result<TraceSpec> namedTraceSpec(const QString &name, quint32 keyCount, qint64 capacity,
                                 qint64 length = 0, std::optional<quint64> seed = std::nullopt);

struct TraceFile
{
    Trace trace;
    quint32 distinctKeys = 0;
    qint64 skippedLines = 0; // empty lines
};
// One key per line (trailing CR and surrounding whitespace trimmed; empty lines skipped); keys are
// numbered in order of first appearance. "trace_file_unreadable", "trace_file_empty",
// "trace_file_too_large" (more than 2^32 - 2 requests or distinct keys).
Result<TraceFile> readTraceFile(const QString &path);

struct TraceComparisonOptions
{
    QString traceName;  // one of namedTraceNames(), or
    QString traceFile;  // a file of keys (exactly one of the two)
    qint64 capacity = 100;
    quint32 keyCount = 10000; // named traces
    qint64 length = 0;        // named traces; 0 = default
    std::optional<quint64> seed;
    int threads = 1;
    ProgressCallback progress;
    const Clock *progressClock = nullptr;
    exec::CancellationToken cancel;
};

struct TraceComparisonResult
{
    QString name;        // trace name or file path
    QString description; // TraceSpec::describe() or "file(<path>)"
    qint64 requests = 0;
    quint32 distinctKeys = 0;
    qint64 capacity = 0;
    // lru, lfu, fifo, ttl, adaptive, static (best static top-k), belady: all from the same trace.
    QList<QPair<QString, HitRatio>> ratios;
    QJsonObject config;
    RunInfo run;
    double seconds = 0.0;

    std::optional<HitRatio> ratio(const QString &policy) const;
    QJsonObject toJson() const;
    QString summaryText() const;
    static QStringList csvHeader(); // policy, hits, requests, hit_ratio, vs_lru_points, of_belady
    QList<QStringList> csvRows() const;
};

// Errors: "invalid_argument", "unknown_trace", the readTraceFile() errors, "cancelled".
Result<TraceComparisonResult> runTraceComparison(const TraceComparisonOptions &options);

} // namespace opsdeck::perf

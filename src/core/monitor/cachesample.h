// CacheSample: one typed sample of the "cache" metrics category (the CacheManager's tiers and the
// preloader), as the PerformanceMonitor takes it each tick. A plain value; copy freely. Counters
// are cumulative since the cache opened; `interval` holds what changed since the previous sample.
#pragma once

#include <QtCore/QString>
#include <QtCore/QtGlobal>

#include <optional>

namespace opsdeck {

// The preloader's figures the old system reported under cache.preloader, plus its learning.
struct PreloaderSample
{
    int tasks = 0;
    int runningTasks = 0;
    quint64 preloadCount = 0;      // values loaded and stored by tasks
    quint64 preloadErrorCount = 0; // failed task runs
    QString startupPhase;          // NOT_STARTED, WARMING, READY, DEGRADED
    int startupProgress = 0;       // 0..100
    int startupTasks = 0;
    int startupFailed = 0;
    quint64 predictions = 0; // refreshes issued by the access predictor
    quint64 predictionHits = 0;
};

// Changes between two consecutive successful cache samples.
struct CacheInterval
{
    double seconds = 0;     // monotonic time between the two samples
    quint64 lookups = 0;    // logical lookups (each get counts once, whatever tiers it tried)
    quint64 hits = 0;       // ... answered by any tier
    quint64 memoryLookups = 0;
    quint64 memoryHits = 0;
    quint64 diskLookups = 0;
    quint64 diskHits = 0;
    quint64 evictions = 0;  // size and expiry evictions, both tiers
    quint64 loads = 0;      // loader calls
    quint64 loadErrors = 0;
    std::optional<quint64> preloadErrors; // nullopt when the preloader did not answer both times

    static double rate(quint64 part, quint64 whole) { return whole ? double(part) / double(whole) : 0.0; }
    double hitRate() const { return rate(hits, lookups); }
    double memoryHitRate() const { return rate(memoryHits, memoryLookups); }
    double diskHitRate() const { return rate(diskHits, diskLookups); }
    double lookupsPerSecond() const { return seconds > 0 ? double(lookups) / seconds : 0.0; }
};

struct CacheSample
{
    qint64 timestampMs = 0; // wall time, epoch milliseconds

    qint64 memorySize = 0;    // entries
    qint64 memoryMaxSize = 0; // entries; 0 = the memory tier is off
    qint64 memoryBytes = 0;
    qint64 memoryMaxBytes = 0; // 0 = no byte budget
    quint64 memoryHitCount = 0;
    quint64 memoryMissCount = 0;

    bool diskEnabled = false;
    qint64 diskEntries = 0;
    qint64 diskSize = 0;    // payload bytes (disk_size counts bytes, as disk_max_size)
    qint64 diskMaxSize = 0; // bytes
    qint64 diskFileBytes = 0;
    quint64 diskHitCount = 0;
    quint64 diskMissCount = 0;
    quint64 diskErrors = 0;

    quint64 evictionCount = 0; // size and expiry evictions, both tiers
    quint64 lookups = 0;
    quint64 hits = 0;
    quint64 misses = 0;
    quint64 loads = 0;
    quint64 loadErrors = 0;
    QString invalidationStrategy;

    std::optional<PreloaderSample> preloader; // nullopt: no preloader, or its stats failed
    QString preloaderError;                   // why, when preloader is nullopt
    std::optional<CacheInterval> interval;    // nullopt on the first sample after a gap

    static double ratio(double part, double whole) { return whole > 0 ? part / whole : 0.0; }
    double memoryUsage() const { return ratio(double(memorySize), double(memoryMaxSize)); }
    double diskUsage() const { return ratio(double(diskSize), double(diskMaxSize)); }
    double memoryHitRate() const { return ratio(double(memoryHitCount), double(memoryHitCount + memoryMissCount)); }
    double diskHitRate() const { return ratio(double(diskHitCount), double(diskHitCount + diskMissCount)); }
    double hitRate() const { return ratio(double(hits), double(lookups)); }
};

} // namespace opsdeck

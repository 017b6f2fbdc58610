#include "core/monitor/metricssampling.h"

#include <QtCore/QJsonArray>

#include <algorithm>

namespace opsdeck::sampling {

namespace {

quint64 delta(quint64 earlier, quint64 later)
{
    return later >= earlier ? later - earlier : later;
}

double nsToMs(qint64 ns)
{
    return double(ns) / 1e6;
}

// The non-empty snapshots merged (idle priorities and apis cost nothing; a single busy one is
// used as it is, without a copy).
class Merged
{
public:
    template<typename Range> explicit Merged(const Range &snapshots)
    {
        for (const HistogramSnapshot &snapshot : snapshots) {
            if (snapshot.isEmpty())
                continue;
            if (!m_single) {
                m_single = &snapshot;
            } else {
                if (m_merged.isEmpty())
                    m_merged = *m_single;
                m_merged.merge(snapshot);
            }
        }
    }
    const HistogramSnapshot &get() const
    {
        return m_merged.isEmpty() && m_single ? *m_single : m_merged;
    }

private:
    const HistogramSnapshot *m_single = nullptr;
    HistogramSnapshot m_merged;
};

// Reuses `previous`'s string when equal, so the ring does not hold one copy per sample.
QString shared(const QString &value, const QString *previous)
{
    return previous && *previous == value ? *previous : value;
}

void set(MetricValues &values, const QString &name, double value)
{
    values.insert(name, value);
}

} // namespace

CacheSample cacheSample(qint64 timestampMs, const cache::CacheStats &stats)
{
    CacheSample s;
    s.timestampMs = timestampMs;
    s.memorySize = stats.memory.entries;
    s.memoryMaxSize = stats.memory.maxEntries;
    s.memoryBytes = stats.memory.bytes;
    s.memoryMaxBytes = stats.memory.maxBytes;
    s.memoryHitCount = stats.memory.hits;
    s.memoryMissCount = stats.memory.misses;
    s.diskEnabled = stats.disk.enabled;
    s.diskEntries = stats.disk.entries;
    s.diskSize = stats.disk.bytes;
    s.diskMaxSize = stats.disk.maxBytes;
    s.diskFileBytes = stats.disk.fileBytes;
    s.diskHitCount = stats.disk.hits;
    s.diskMissCount = stats.disk.misses;
    s.diskErrors = stats.disk.errors;
    s.evictionCount = stats.memory.evictions() + stats.disk.evictions();
    s.lookups = stats.lookups;
    s.hits = stats.hits;
    s.misses = stats.misses;
    s.loads = stats.loads;
    s.loadErrors = stats.loadErrors;
    s.invalidationStrategy = cache::toString(stats.policy);
    return s;
}

PreloaderSample preloaderSample(const cache::PreloaderStats &stats)
{
    PreloaderSample p;
    p.tasks = stats.tasks;
    p.runningTasks = stats.runningTasks;
    p.preloadCount = stats.preloadCount;
    p.preloadErrorCount = stats.preloadErrorCount;
    p.startupPhase = cache::toString(stats.startupPhase);
    p.startupProgress = stats.startupProgress;
    p.startupTasks = stats.startupTasks;
    p.startupFailed = stats.startupFailed;
    p.predictions = stats.learning.predictions;
    p.predictionHits = stats.learning.predictionHits;
    return p;
}

HttpSample httpSample(qint64 timestampMs, const http::HttpPoolStats &stats)
{
    HttpSample s;
    s.timestampMs = timestampMs;
    s.clients = stats.clients;
    s.workers = stats.workers;
    s.poolSize = stats.poolSize;
    s.requests = stats.requests;
    s.completed = stats.completed;
    s.attempts = stats.attempts;
    s.retries = stats.retries;
    s.errors = stats.errors;
    s.errorRate = stats.errorRate;
    s.inFlight = stats.inFlight;
    s.queued = stats.queued;
    s.waitingRetry = stats.waitingRetry;
    s.bytesIn = stats.bytesIn;
    s.bytesOut = stats.bytesOut;
    s.rateLimitedApis = stats.rateLimitedApis;
    return s;
}

SchedulerSample schedulerSample(const QJsonObject &json, const SchedulerSample *previous)
{
    SchedulerSample s;
    if (json.isEmpty())
        return s;
    s.present = true;
    s.trackedKeys = json.value(QLatin1StringView("tracked_keys")).toInt();
    s.decisions = quint64(std::max(0.0, json.value(QLatin1StringView("decisions")).toDouble()));
    s.minInterval = json.value(QLatin1StringView("min_interval")).toDouble();
    s.maxInterval = json.value(QLatin1StringView("max_interval")).toDouble();
    const QJsonObject weights = json.value(QLatin1StringView("weights")).toObject();
    s.weightPerformance = weights.value(QLatin1StringView("performance")).toDouble();
    s.weightMarket = weights.value(QLatin1StringView("market")).toDouble();
    s.weightSystem = weights.value(QLatin1StringView("system")).toDouble();
    s.hasLoadSource = json.value(QLatin1StringView("has_load_source")).toBool();
    s.hasMarketSource = json.value(QLatin1StringView("has_market_source")).toBool();
    const QJsonArray keys = json.value(QLatin1StringView("keys")).toArray();
    const std::vector<SchedulerKeySample> &oldKeys
        = previous ? previous->keyList() : std::vector<SchedulerKeySample>{};
    std::vector<SchedulerKeySample> list;
    list.reserve(size_t(keys.size()));
    for (qsizetype i = 0; i < keys.size(); ++i) {
        const QJsonObject k = keys.at(i).toObject();
        const SchedulerKeySample *old = size_t(i) < oldKeys.size() ? &oldKeys[size_t(i)] : nullptr;
        SchedulerKeySample key;
        key.agentId = shared(k.value(QLatin1StringView("agent_id")).toString(),
                             old ? &old->agentId : nullptr);
        key.taskType = shared(k.value(QLatin1StringView("task_type")).toString(),
                              old ? &old->taskType : nullptr);
        key.runs = k.value(QLatin1StringView("runs")).toInt();
        key.meanDurationMs = k.value(QLatin1StringView("mean_duration_ms")).toDouble();
        key.timeouts = k.value(QLatin1StringView("timeouts")).toInt();
        key.errors = k.value(QLatin1StringView("errors")).toInt();
        key.reliability = k.value(QLatin1StringView("reliability")).toDouble(1.0);
        key.lastInterval = k.value(QLatin1StringView("last_interval")).toDouble();
        list.push_back(std::move(key));
    }
    if (previous && previous->keys && *previous->keys == list)
        s.keys = previous->keys;
    else if (!list.empty())
        s.keys = std::make_shared<const std::vector<SchedulerKeySample>>(std::move(list));
    return s;
}

ExecutionSample executionSample(qint64 timestampMs, const exec::ExecStats &stats,
                                const ExecutionSample *previous)
{
    ExecutionSample s;
    s.timestampMs = timestampMs;
    s.running = stats.running;
    s.maxConcurrentTasks = stats.maxConcurrentTasks;
    s.queuedTasks = stats.queuedTasks;
    for (size_t p = 0; p < s.queuedByPriority.size() && p < stats.queuedByPriority.size(); ++p)
        s.queuedByPriority[p] = stats.queuedByPriority[p];
    s.delayedTasks = stats.delayedTasks;
    s.runningTasks = stats.runningTasks;
    s.agentsTracked = stats.agentsTracked;
    s.agentsSeenTotal = stats.agentsSeenTotal;
    s.tasksSubmitted = stats.tasksSubmitted;
    s.tasksCompleted = stats.tasksCompleted;
    s.tasksFailed = stats.tasksFailed;
    s.tasksTimedOut = stats.tasksTimedOut;
    s.tasksExpired = stats.tasksExpired;
    s.tasksCancelled = stats.tasksCancelled;
    s.tasksOverrunning = stats.tasksOverrunning;
    s.cyclesSkipped = stats.cyclesSkipped;
    s.averageExecutionTime = stats.averageExecutionTime;
    s.scheduler = schedulerSample(stats.schedulerStats, previous ? &previous->scheduler : nullptr);
    return s;
}

CacheInterval cacheInterval(const CacheSample &previous, const CacheSample &current, double seconds)
{
    CacheInterval i;
    i.seconds = seconds;
    i.lookups = delta(previous.lookups, current.lookups);
    i.hits = std::min(delta(previous.hits, current.hits), i.lookups);
    i.memoryHits = delta(previous.memoryHitCount, current.memoryHitCount);
    i.memoryLookups = i.memoryHits + delta(previous.memoryMissCount, current.memoryMissCount);
    i.diskHits = delta(previous.diskHitCount, current.diskHitCount);
    i.diskLookups = i.diskHits + delta(previous.diskMissCount, current.diskMissCount);
    i.evictions = delta(previous.evictionCount, current.evictionCount);
    i.loads = delta(previous.loads, current.loads);
    i.loadErrors = delta(previous.loadErrors, current.loadErrors);
    if (previous.preloader && current.preloader)
        i.preloadErrors = delta(previous.preloader->preloadErrorCount,
                                current.preloader->preloadErrorCount);
    return i;
}

HttpInterval httpInterval(const HttpSample &previous, const HttpSample &current, double seconds,
                          const QHash<QString, HistogramSnapshot> *latencyDeltas)
{
    HttpInterval i;
    i.seconds = seconds;
    i.requests = delta(previous.completed, current.completed);
    i.errors = std::min(delta(previous.errors, current.errors), i.requests);
    i.attempts = delta(previous.attempts, current.attempts);
    i.retries = delta(previous.retries, current.retries);
    if (latencyDeltas) {
        const Merged merged(*latencyDeltas);
        const HistogramSnapshot &latency = merged.get();
        if (latency.isEmpty())
            return i; // nothing finished: no percentiles (null), rather than zeros
        i.latencyP50Ms = nsToMs(latency.valueAtPercentile(50));
        i.latencyP90Ms = nsToMs(latency.valueAtPercentile(90));
        i.latencyP99Ms = nsToMs(latency.valueAtPercentile(99));
        i.latencyMaxMs = nsToMs(latency.max());
    }
    return i;
}

ExecutionInterval executionInterval(const ExecutionSample &previous, const ExecutionSample &current,
                                    double seconds, const exec::ExecStats &deltas)
{
    ExecutionInterval i;
    i.seconds = seconds;
    i.completed = delta(previous.tasksCompleted, current.tasksCompleted);
    i.failed = delta(previous.tasksFailed, current.tasksFailed);
    i.timedOut = delta(previous.tasksTimedOut, current.tasksTimedOut);
    i.expired = delta(previous.tasksExpired, current.tasksExpired);
    i.submitted = delta(previous.tasksSubmitted, current.tasksSubmitted);
    const Merged mergedWait(deltas.queueWait);
    const Merged mergedRun(deltas.runTime);
    const HistogramSnapshot &wait = mergedWait.get();
    const HistogramSnapshot &run = mergedRun.get();
    i.started = wait.count();
    i.finished = run.count();
    i.waitP50Ms = nsToMs(wait.valueAtPercentile(50));
    i.waitP99Ms = nsToMs(wait.valueAtPercentile(99));
    i.waitMaxMs = nsToMs(wait.max());
    i.runP50Ms = nsToMs(run.valueAtPercentile(50));
    i.runP99Ms = nsToMs(run.valueAtPercentile(99));
    i.runMaxMs = nsToMs(run.max());
    for (size_t p = 0; p < i.waitP99MsByPriority.size() && p < deltas.queueWait.size(); ++p) {
        const HistogramSnapshot &w = deltas.queueWait[p];
        i.startedByPriority[p] = w.count();
        i.waitP99MsByPriority[p] = w.isEmpty() ? 0.0 : nsToMs(w.valueAtPercentile(99));
    }
    return i;
}

void addSystemValues(MetricValues &values, const SystemSample &sample)
{
    const ProcessStats &p = sample.process;
    const HostStats &h = sample.system;
    set(values, QStringLiteral("system.process.cpu_percent"), p.cpuPercent);
    set(values, QStringLiteral("system.process.cpu_seconds_total"), p.cpuSecondsTotal);
    set(values, QStringLiteral("system.process.memory_percent"), p.memoryPercent);
    set(values, QStringLiteral("system.process.memory_rss"), double(p.memoryRss));
    set(values, QStringLiteral("system.process.memory_vms"), double(p.memoryVms));
    set(values, QStringLiteral("system.process.threads"), p.threads);
    set(values, QStringLiteral("system.process.open_fds"), p.openFds);
    set(values, QStringLiteral("system.system.cpu_percent"), h.cpuPercent);
    set(values, QStringLiteral("system.system.memory_percent"), h.memoryPercent);
    set(values, QStringLiteral("system.system.memory_available"), double(h.memoryAvailable));
    set(values, QStringLiteral("system.system.disk_percent"), h.diskPercent);
    set(values, QStringLiteral("system.system.disk_free"), double(h.diskFree));
}

void addCacheValues(MetricValues &values, const CacheSample &sample)
{
    set(values, QStringLiteral("cache.memory_size"), double(sample.memorySize));
    set(values, QStringLiteral("cache.disk_size"), double(sample.diskSize));
    set(values, QStringLiteral("cache.memory_usage"), sample.memoryUsage());
    if (sample.diskEnabled)
        set(values, QStringLiteral("cache.disk_usage"), sample.diskUsage());
    if (sample.preloader) {
        set(values, QStringLiteral("cache.preloader.running_tasks"), sample.preloader->runningTasks);
        set(values, QStringLiteral("cache.preloader.startup_progress"),
            sample.preloader->startupProgress);
    }
    if (!sample.interval)
        return;
    const CacheInterval &i = *sample.interval;
    set(values, QStringLiteral("cache.lookups"), double(i.lookups));
    set(values, QStringLiteral("cache.lookups_per_second"), i.lookupsPerSecond());
    set(values, QStringLiteral("cache.memory_lookups"), double(i.memoryLookups));
    set(values, QStringLiteral("cache.disk_lookups"), double(i.diskLookups));
    set(values, QStringLiteral("cache.evictions"), double(i.evictions));
    set(values, QStringLiteral("cache.load_errors"), double(i.loadErrors));
    if (i.lookups > 0)
        set(values, QStringLiteral("cache.hit_rate"), i.hitRate());
    if (i.memoryLookups > 0)
        set(values, QStringLiteral("cache.memory_hit_rate"), i.memoryHitRate());
    if (i.diskLookups > 0)
        set(values, QStringLiteral("cache.disk_hit_rate"), i.diskHitRate());
    if (i.preloadErrors)
        set(values, QStringLiteral("cache.preloader.preload_errors"), double(*i.preloadErrors));
}

void addHttpValues(MetricValues &values, const HttpSample &sample)
{
    set(values, QStringLiteral("http.rate_limited_apis"), double(sample.rateLimitedApis.size()));
    set(values, QStringLiteral("http.clients"), sample.clients);
    set(values, QStringLiteral("http.in_flight"), sample.inFlight);
    set(values, QStringLiteral("http.queued"), sample.queued);
    if (sample.requests > 0)
        set(values, QStringLiteral("http.error_rate_total"), sample.errorRate);
    if (!sample.interval)
        return;
    const HttpInterval &i = *sample.interval;
    set(values, QStringLiteral("http.requests"), double(i.requests));
    set(values, QStringLiteral("http.requests_per_second"), i.requestsPerSecond());
    set(values, QStringLiteral("http.errors"), double(i.errors));
    set(values, QStringLiteral("http.retries"), double(i.retries));
    if (i.requests > 0) {
        set(values, QStringLiteral("http.error_rate"), i.errorRate());
        if (i.latencyP99Ms) {
            set(values, QStringLiteral("http.latency_p50_ms"), *i.latencyP50Ms);
            set(values, QStringLiteral("http.latency_p99_ms"), *i.latencyP99Ms);
            set(values, QStringLiteral("http.latency_max_ms"), *i.latencyMaxMs);
        }
    }
}

void addExecutionValues(MetricValues &values, const ExecutionSample &sample)
{
    set(values, QStringLiteral("execution.running"), sample.running ? 1.0 : 0.0);
    set(values, QStringLiteral("execution.queued_tasks"), sample.queuedTasks);
    set(values, QStringLiteral("execution.running_tasks"), sample.runningTasks);
    set(values, QStringLiteral("execution.agents_tracked"), sample.agentsTracked);
    set(values, QStringLiteral("execution.tasks_overrunning"), sample.tasksOverrunning);
    if (!sample.interval)
        return;
    const ExecutionInterval &i = *sample.interval;
    set(values, QStringLiteral("execution.tasks_per_second"), i.tasksPerSecond());
    set(values, QStringLiteral("execution.finished"), double(i.finished));
    set(values, QStringLiteral("execution.timeouts"), double(i.timedOut));
    set(values, QStringLiteral("execution.failed"), double(i.failed));
    set(values, QStringLiteral("execution.expired"), double(i.expired));
    if (i.started > 0) {
        set(values, QStringLiteral("execution.wait_p99_ms"), i.waitP99Ms);
        if (i.startedByPriority[0] > 0)
            set(values, QStringLiteral("execution.critical_wait_p99_ms"), i.waitP99MsByPriority[0]);
    }
    if (i.finished > 0)
        set(values, QStringLiteral("execution.run_p99_ms"), i.runP99Ms);
}

} // namespace opsdeck::sampling

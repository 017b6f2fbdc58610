#include "core/monitor/metricsjson.h"

#include <QtCore/QDateTime>
#include <QtCore/QTimeZone>

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

namespace opsdeck::metricsjson {

namespace {

// Percentages and rates are reported with two decimals: more is noise, and it keeps JSON short.
double rounded(double value)
{
    if (!std::isfinite(value))
        return 0.0;
    return std::round(value * 100.0) / 100.0;
}

// Rates (0..1) keep four decimals (0.01 %), durations in ms three (1 µs).
double roundedTo(double value, double scale)
{
    if (!std::isfinite(value))
        return 0.0;
    return std::round(value * scale) / scale;
}
double rate(double value)
{
    return roundedTo(value, 1e4);
}
double ms(double value)
{
    return roundedTo(value, 1e3);
}
QJsonValue rateOrNull(quint64 part, quint64 whole)
{
    return whole == 0 ? QJsonValue(QJsonValue::Null) : QJsonValue(rate(double(part) / double(whole)));
}
QJsonValue msOrNull(const std::optional<double> &value)
{
    return value ? QJsonValue(ms(*value)) : QJsonValue(QJsonValue::Null);
}
double count(quint64 value)
{
    return double(value); // JSON numbers are doubles; exact below 2^53
}

// Matches TaskPriority's names (CRITICAL 0 .. IDLE 4).
const std::array<QString, ExecutionInterval::kPriorities> &priorityNames()
{
    static const std::array<QString, ExecutionInterval::kPriorities> names{
        QStringLiteral("CRITICAL"), QStringLiteral("HIGH"), QStringLiteral("NORMAL"),
        QStringLiteral("LOW"), QStringLiteral("IDLE")};
    return names;
}

template<typename T> QJsonObject byPriority(const std::array<T, ExecutionInterval::kPriorities> &values)
{
    QJsonObject object;
    for (size_t p = 0; p < values.size(); ++p) {
        if constexpr (std::is_floating_point_v<T>)
            object.insert(priorityNames()[p], ms(values[p]));
        else
            object.insert(priorityNames()[p], double(values[p]));
    }
    return object;
}

void insertTimestamp(QJsonObject &object, qint64 epochMs)
{
    object.insert(QStringLiteral("timestamp"), isoTimestamp(epochMs));
    object.insert(QStringLiteral("timestamp_ms"), epochMs);
}

QJsonObject preloaderJson(const CacheSample &sample)
{
    if (!sample.preloader)
        return QJsonObject{{QStringLiteral("error"), sample.preloaderError}};
    const PreloaderSample &p = *sample.preloader;
    return QJsonObject{
        {QStringLiteral("tasks"), p.tasks},
        {QStringLiteral("running_tasks"), p.runningTasks},
        {QStringLiteral("preload_count"), count(p.preloadCount)},
        {QStringLiteral("preload_error_count"), count(p.preloadErrorCount)},
        {QStringLiteral("startup_phase"), p.startupPhase},
        {QStringLiteral("startup_progress"), p.startupProgress},
        {QStringLiteral("startup_tasks"), p.startupTasks},
        {QStringLiteral("startup_failed"), p.startupFailed},
        {QStringLiteral("predictions"), count(p.predictions)},
        {QStringLiteral("prediction_hits"), count(p.predictionHits)},
    };
}

QJsonValue cacheIntervalJson(const std::optional<CacheInterval> &interval)
{
    if (!interval)
        return QJsonValue(QJsonValue::Null);
    const CacheInterval &i = *interval;
    return QJsonObject{
        {QStringLiteral("seconds"), ms(i.seconds)},
        {QStringLiteral("lookups"), count(i.lookups)},
        {QStringLiteral("hits"), count(i.hits)},
        {QStringLiteral("hit_rate"), rateOrNull(i.hits, i.lookups)},
        {QStringLiteral("memory_lookups"), count(i.memoryLookups)},
        {QStringLiteral("memory_hits"), count(i.memoryHits)},
        {QStringLiteral("memory_hit_rate"), rateOrNull(i.memoryHits, i.memoryLookups)},
        {QStringLiteral("disk_lookups"), count(i.diskLookups)},
        {QStringLiteral("disk_hits"), count(i.diskHits)},
        {QStringLiteral("disk_hit_rate"), rateOrNull(i.diskHits, i.diskLookups)},
        {QStringLiteral("evictions"), count(i.evictions)},
        {QStringLiteral("loads"), count(i.loads)},
        {QStringLiteral("load_errors"), count(i.loadErrors)},
        {QStringLiteral("lookups_per_second"), ms(i.lookupsPerSecond())},
        {QStringLiteral("preload_errors"),
         i.preloadErrors ? QJsonValue(count(*i.preloadErrors)) : QJsonValue(QJsonValue::Null)},
    };
}

QJsonValue httpIntervalJson(const std::optional<HttpInterval> &interval)
{
    if (!interval)
        return QJsonValue(QJsonValue::Null);
    const HttpInterval &i = *interval;
    return QJsonObject{
        {QStringLiteral("seconds"), ms(i.seconds)},
        {QStringLiteral("requests"), count(i.requests)},
        {QStringLiteral("errors"), count(i.errors)},
        {QStringLiteral("error_rate"), rateOrNull(i.errors, i.requests)},
        {QStringLiteral("attempts"), count(i.attempts)},
        {QStringLiteral("retries"), count(i.retries)},
        {QStringLiteral("requests_per_second"), ms(i.requestsPerSecond())},
        {QStringLiteral("latency_p50_ms"), msOrNull(i.latencyP50Ms)},
        {QStringLiteral("latency_p90_ms"), msOrNull(i.latencyP90Ms)},
        {QStringLiteral("latency_p99_ms"), msOrNull(i.latencyP99Ms)},
        {QStringLiteral("latency_max_ms"), msOrNull(i.latencyMaxMs)},
    };
}

QJsonValue executionIntervalJson(const std::optional<ExecutionInterval> &interval)
{
    if (!interval)
        return QJsonValue(QJsonValue::Null);
    const ExecutionInterval &i = *interval;
    return QJsonObject{
        {QStringLiteral("seconds"), ms(i.seconds)},
        {QStringLiteral("finished"), count(i.finished)},
        {QStringLiteral("started"), count(i.started)},
        {QStringLiteral("completed"), count(i.completed)},
        {QStringLiteral("failed"), count(i.failed)},
        {QStringLiteral("timed_out"), count(i.timedOut)},
        {QStringLiteral("expired"), count(i.expired)},
        {QStringLiteral("submitted"), count(i.submitted)},
        {QStringLiteral("tasks_per_second"), ms(i.tasksPerSecond())},
        {QStringLiteral("queue_wait_p50_ms"), ms(i.waitP50Ms)},
        {QStringLiteral("queue_wait_p99_ms"), ms(i.waitP99Ms)},
        {QStringLiteral("queue_wait_max_ms"), ms(i.waitMaxMs)},
        {QStringLiteral("run_p50_ms"), ms(i.runP50Ms)},
        {QStringLiteral("run_p99_ms"), ms(i.runP99Ms)},
        {QStringLiteral("run_max_ms"), ms(i.runMaxMs)},
        {QStringLiteral("queue_wait_p99_ms_by_priority"), byPriority(i.waitP99MsByPriority)},
        {QStringLiteral("started_by_priority"), byPriority(i.startedByPriority)},
    };
}

QJsonObject schedulerJson(const SchedulerSample &s)
{
    if (!s.present)
        return QJsonObject{};
    QJsonArray keys;
    for (const SchedulerKeySample &k : s.keyList()) {
        keys.append(QJsonObject{
            {QStringLiteral("agent_id"), k.agentId},
            {QStringLiteral("task_type"), k.taskType},
            {QStringLiteral("runs"), k.runs},
            {QStringLiteral("mean_duration_ms"), ms(k.meanDurationMs)},
            {QStringLiteral("timeouts"), k.timeouts},
            {QStringLiteral("errors"), k.errors},
            {QStringLiteral("reliability"), rate(k.reliability)},
            {QStringLiteral("last_interval"), ms(k.lastInterval)},
        });
    }
    return QJsonObject{
        {QStringLiteral("tracked_keys"), s.trackedKeys},
        {QStringLiteral("decisions"), count(s.decisions)},
        {QStringLiteral("min_interval"), s.minInterval},
        {QStringLiteral("max_interval"), s.maxInterval},
        {QStringLiteral("weights"),
         QJsonObject{{QStringLiteral("performance"), s.weightPerformance},
                     {QStringLiteral("market"), s.weightMarket},
                     {QStringLiteral("system"), s.weightSystem}}},
        {QStringLiteral("has_load_source"), s.hasLoadSource},
        {QStringLiteral("has_market_source"), s.hasMarketSource},
        {QStringLiteral("keys"), keys},
    };
}

// The newest `limit` samples of a series, oldest first, then this tick's error sample if any.
template<typename T>
QJsonArray seriesJson(const SampleSeries<T> &series, const QString &error, const QString &category,
                      qint64 snapshotMs, int limit)
{
    QJsonArray out;
    const auto size = static_cast<qsizetype>(series.size());
    const qsizetype room = error.isEmpty() ? limit : limit - 1;
    for (qsizetype i = std::max<qsizetype>(0, size - room); i < size; ++i)
        out.append(sampleJson(series[size_t(i)]));
    if (!error.isEmpty())
        out.append(errorSample(snapshotMs, error));
    else if (out.isEmpty())
        out.append(errorSample(snapshotMs,
                               QStringLiteral("No %1 sample collected yet").arg(category)));
    return out;
}

} // namespace

const QStringList &categories()
{
    static const QStringList names{QStringLiteral("system"), QStringLiteral("cache"),
                                   QStringLiteral("http"), QStringLiteral("execution")};
    return names;
}

QString isoTimestamp(qint64 epochMs)
{
    return QDateTime::fromMSecsSinceEpoch(epochMs, QTimeZone::utc())
        .toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss.zzz'Z'"));
}

QJsonObject systemSample(const SystemSample &sample)
{
    const ProcessStats &p = sample.process;
    const HostStats &s = sample.system;
    const QJsonObject process{
        {QStringLiteral("cpu_percent"), rounded(p.cpuPercent)},
        {QStringLiteral("cpu_seconds_total"), rounded(p.cpuSecondsTotal)},
        {QStringLiteral("memory_rss"), p.memoryRss},
        {QStringLiteral("memory_vms"), p.memoryVms},
        {QStringLiteral("memory_percent"), rounded(p.memoryPercent)},
        {QStringLiteral("threads"), p.threads},
        {QStringLiteral("open_fds"), p.openFds},
        {QStringLiteral("start_time"), isoTimestamp(p.startTimeMs)},
        {QStringLiteral("start_time_ms"), p.startTimeMs},
    };
    const QJsonObject system{
        {QStringLiteral("cpu_percent"), rounded(s.cpuPercent)},
        {QStringLiteral("cpu_count"), s.cpuCount},
        {QStringLiteral("memory_total"), s.memoryTotal},
        {QStringLiteral("memory_available"), s.memoryAvailable},
        {QStringLiteral("memory_percent"), rounded(s.memoryPercent)},
        {QStringLiteral("disk_total"), s.diskTotal},
        {QStringLiteral("disk_used"), s.diskUsed},
        {QStringLiteral("disk_free"), s.diskFree},
        {QStringLiteral("disk_percent"), rounded(s.diskPercent)},
    };
    return QJsonObject{
        {QStringLiteral("timestamp"), isoTimestamp(sample.timestampMs)},
        {QStringLiteral("timestamp_ms"), sample.timestampMs},
        {QStringLiteral("process"), process},
        {QStringLiteral("system"), system},
        // Flat fields old clients read: the host's view, as the old system reported them.
        {QStringLiteral("cpu_percent"), rounded(s.cpuPercent)},
        {QStringLiteral("memory_percent"), rounded(s.memoryPercent)},
        {QStringLiteral("disk_percent"), rounded(s.diskPercent)},
    };
}

QJsonObject cacheSample(const CacheSample &s)
{
    QJsonObject o{
        {QStringLiteral("memory_size"), s.memorySize},
        {QStringLiteral("memory_max_size"), s.memoryMaxSize},
        {QStringLiteral("memory_usage"), rate(s.memoryUsage())},
        {QStringLiteral("memory_bytes"), s.memoryBytes},
        {QStringLiteral("memory_max_bytes"), s.memoryMaxBytes},
        {QStringLiteral("memory_hit_count"), count(s.memoryHitCount)},
        {QStringLiteral("memory_miss_count"), count(s.memoryMissCount)},
        {QStringLiteral("memory_hit_rate"), rate(s.memoryHitRate())},
        {QStringLiteral("disk_enabled"), s.diskEnabled},
        {QStringLiteral("disk_entries"), s.diskEntries},
        {QStringLiteral("disk_size"), s.diskSize},
        {QStringLiteral("disk_max_size"), s.diskMaxSize},
        {QStringLiteral("disk_usage"), rate(s.diskUsage())},
        {QStringLiteral("disk_file_bytes"), s.diskFileBytes},
        {QStringLiteral("disk_hit_count"), count(s.diskHitCount)},
        {QStringLiteral("disk_miss_count"), count(s.diskMissCount)},
        {QStringLiteral("disk_hit_rate"), rate(s.diskHitRate())},
        {QStringLiteral("disk_errors"), count(s.diskErrors)},
        {QStringLiteral("eviction_count"), count(s.evictionCount)},
        {QStringLiteral("invalidation_strategy"), s.invalidationStrategy},
        {QStringLiteral("lookups"), count(s.lookups)},
        {QStringLiteral("hits"), count(s.hits)},
        {QStringLiteral("misses"), count(s.misses)},
        {QStringLiteral("hit_rate"), rate(s.hitRate())},
        {QStringLiteral("loads"), count(s.loads)},
        {QStringLiteral("load_errors"), count(s.loadErrors)},
        {QStringLiteral("preloader"), preloaderJson(s)},
        {QStringLiteral("interval"), cacheIntervalJson(s.interval)},
    };
    insertTimestamp(o, s.timestampMs);
    return o;
}

QJsonObject httpSample(const HttpSample &s)
{
    QJsonObject o{
        {QStringLiteral("clients"), s.clients},
        {QStringLiteral("requests"), count(s.requests)},
        {QStringLiteral("errors"), count(s.errors)},
        {QStringLiteral("error_rate"), rate(s.errorRate)},
        {QStringLiteral("rate_limited_apis"), QJsonArray::fromStringList(s.rateLimitedApis)},
        {QStringLiteral("workers"), s.workers},
        {QStringLiteral("pool_size"), s.poolSize},
        {QStringLiteral("completed"), count(s.completed)},
        {QStringLiteral("attempts"), count(s.attempts)},
        {QStringLiteral("retries"), count(s.retries)},
        {QStringLiteral("in_flight"), s.inFlight},
        {QStringLiteral("queued"), s.queued},
        {QStringLiteral("waiting_retry"), s.waitingRetry},
        {QStringLiteral("bytes_in"), count(s.bytesIn)},
        {QStringLiteral("bytes_out"), count(s.bytesOut)},
        {QStringLiteral("interval"), httpIntervalJson(s.interval)},
    };
    insertTimestamp(o, s.timestampMs);
    return o;
}

QJsonObject executionSample(const ExecutionSample &s)
{
    QJsonObject o{
        {QStringLiteral("running"), s.running},
        {QStringLiteral("queued_tasks"), s.queuedTasks},
        {QStringLiteral("running_tasks"), s.runningTasks},
        {QStringLiteral("agents_tracked"), s.agentsTracked},
        {QStringLiteral("scheduler"), schedulerJson(s.scheduler)},
        // Flat fields old clients read.
        {QStringLiteral("tasks_completed"), count(s.tasksCompleted)},
        {QStringLiteral("tasks_failed"), count(s.tasksFailed)},
        {QStringLiteral("average_execution_time"), roundedTo(s.averageExecutionTime, 1e6)},
        {QStringLiteral("max_concurrent_tasks"), s.maxConcurrentTasks},
        {QStringLiteral("queued_by_priority"), byPriority(s.queuedByPriority)},
        {QStringLiteral("delayed_tasks"), s.delayedTasks},
        {QStringLiteral("agents_seen_total"), s.agentsSeenTotal},
        {QStringLiteral("tasks_submitted"), count(s.tasksSubmitted)},
        {QStringLiteral("tasks_timed_out"), count(s.tasksTimedOut)},
        {QStringLiteral("tasks_expired"), count(s.tasksExpired)},
        {QStringLiteral("tasks_cancelled"), count(s.tasksCancelled)},
        {QStringLiteral("tasks_overrunning"), s.tasksOverrunning},
        {QStringLiteral("cycles_skipped"), count(s.cyclesSkipped)},
        {QStringLiteral("interval"), executionIntervalJson(s.interval)},
    };
    insertTimestamp(o, s.timestampMs);
    return o;
}

QJsonObject sampleJson(const SystemSample &sample)
{
    return systemSample(sample);
}
QJsonObject sampleJson(const CacheSample &sample)
{
    return cacheSample(sample);
}
QJsonObject sampleJson(const HttpSample &sample)
{
    return httpSample(sample);
}
QJsonObject sampleJson(const ExecutionSample &sample)
{
    return executionSample(sample);
}

QJsonObject currentSampleJson(const MetricsSnapshot &snapshot, const QString &category)
{
    const QJsonArray samples = categorySamples(snapshot, category, 1);
    return samples.isEmpty() ? errorSample(snapshot.timestampMs, QStringLiteral("No samples"))
                             : samples.last().toObject();
}

QJsonObject errorSample(qint64 epochMs, const QString &message)
{
    return QJsonObject{{QStringLiteral("timestamp"), isoTimestamp(epochMs)},
                       {QStringLiteral("timestamp_ms"), epochMs},
                       {QStringLiteral("error"), message}};
}

QJsonArray categorySamples(const MetricsSnapshot &snapshot, const QString &category, int limit)
{
    limit = std::max(limit, 1);
    const qint64 at = snapshot.timestampMs;
    if (category == u"system")
        return seriesJson(snapshot.system, snapshot.systemError, category, at, limit);
    if (category == u"cache")
        return seriesJson(snapshot.cache, snapshot.cacheError, category, at, limit);
    if (category == u"http")
        return seriesJson(snapshot.http, snapshot.httpError, category, at, limit);
    if (category == u"execution")
        return seriesJson(snapshot.execution, snapshot.executionError, category, at, limit);
    return QJsonArray{errorSample(at, QStringLiteral("Unknown metrics category \"%1\"").arg(category))};
}

QJsonObject metricsDocument(const MetricsSnapshot &snapshot, const QString &category, int limit,
                            qint64 nowMs)
{
    QJsonObject metrics;
    if (category.isEmpty()) {
        for (const QString &name : categories())
            metrics.insert(name, categorySamples(snapshot, name, limit));
    } else {
        metrics.insert(category, categorySamples(snapshot, category, limit));
    }
    return QJsonObject{{QStringLiteral("timestamp"), isoTimestamp(nowMs)},
                       {QStringLiteral("timestamp_ms"), nowMs},
                       {QStringLiteral("metrics"), metrics}};
}

QJsonObject errorDocument(const Error &error)
{
    QJsonObject inner{{QStringLiteral("code"), error.code},
                      {QStringLiteral("message"), error.message}};
    if (!error.details.isEmpty())
        inner.insert(QStringLiteral("details"), error.details);
    return QJsonObject{{QStringLiteral("error"), inner}};
}

} // namespace opsdeck::metricsjson

#include "core/monitor/performancemonitor.h"

#include "core/monitor/metricssampling.h"
#include "core/support/logging.h"

#include <QtCore/QElapsedTimer>

#include <algorithm>
#include <cmath>
#include <exception>

#include <time.h>

namespace opsdeck {

namespace {

qint64 threadCpuNs()
{
    timespec ts{};
    if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double secondsBetween(Clock::MonoTime earlier, Clock::MonoTime later)
{
    return std::max(0.0, std::chrono::duration<double>(later - earlier).count());
}

QString absentMessage(const char *category)
{
    return QStringLiteral("No %1 metrics: the component is not running")
        .arg(QLatin1StringView(category));
}

// Calls a provider; an exception becomes an error whose message names no internal detail (the
// API serves it), while the log gets the exception's text.
template<typename T, typename F> Result<T> callSource(const F &provider, const char *what)
{
    try {
        return provider();
    } catch (const std::exception &e) {
        qCWarning(lcMonitor, "The %s stats provider threw: %s", what, e.what());
    } catch (...) {
        qCWarning(lcMonitor, "The %s stats provider threw a non-standard exception", what);
    }
    return fail(QStringLiteral("stats_failed"),
                QStringLiteral("The %1 statistics are unavailable: reading them failed.")
                    .arg(QLatin1StringView(what)));
}

// Logs when a category starts failing, changes its reason or recovers (not once per tick).
void noteError(const char *category, QString &last, const QString &now)
{
    if (now == last)
        return;
    if (!now.isEmpty())
        qCWarning(lcMonitor, "%s metrics: %s", category, qUtf8Printable(now));
    else
        qCInfo(lcMonitor, "%s metrics available again", category);
    last = now;
}

void setError(MetricValues &values, const char *category, const QString &error)
{
    values.insert(QLatin1StringView(category) + QLatin1StringView(".error"),
                  error.isEmpty() ? 0.0 : 1.0);
}

} // namespace

PerformanceMonitor::PerformanceMonitor(SystemProbe::Options probeOptions,
                                       Settings settings,
                                       const Clock &clock,
                                       QObject *parent)
    : QObject(parent)
    , m_probe(std::make_unique<SystemProbe>(std::move(probeOptions), clock))
    , m_settings(settings)
    , m_clock(clock)
    , m_timer(new QTimer(this))
{
    qRegisterMetaType<SnapshotPtr>();
    qRegisterMetaType<Settings>();
    m_timer->setTimerType(Qt::PreciseTimer);
    connect(m_timer, &QTimer::timeout, this, &PerformanceMonitor::sampleNow);
}

PerformanceMonitor::~PerformanceMonitor() = default;

SnapshotPtr PerformanceMonitor::latestSnapshot() const
{
    QMutexLocker lock(&m_latestMutex);
    return m_latest;
}

int PerformanceMonitor::ringCapacity() const
{
    const double interval = std::max(m_settings.collectionIntervalSeconds, 0.001);
    const double capacity = std::ceil(m_settings.memoryRetentionSeconds / interval);
    return static_cast<int>(std::clamp(capacity, 1.0, 10'000'000.0));
}

void PerformanceMonitor::setSources(MetricsSources sources)
{
    QMutexLocker lock(&m_sourcesMutex);
    m_sources = std::move(sources);
}

PerformanceMonitor::TickCost PerformanceMonitor::lastTickCost() const
{
    return TickCost{m_tickWallNs.load(), m_tickCpuNs.load(), m_totalCpuNs.load(), m_ticks.load()};
}

void PerformanceMonitor::start()
{
    if (m_running.exchange(true))
        return;
    qCInfo(lcMonitor, "Monitor started: collection interval %.3f s, %d samples kept in memory",
           m_settings.collectionIntervalSeconds, ringCapacity());
    // The first sample at once, so the API and the chart have data after one round trip.
    sampleNow();
    m_timer->start(static_cast<int>(std::lround(m_settings.collectionIntervalSeconds * 1000.0)));
}

void PerformanceMonitor::stop()
{
    if (!m_running.exchange(false))
        return;
    m_timer->stop();
    publish(newSnapshot(m_clock.wallMsecs()));
    // The monitor thread's own cost, for the "≤ 0.5 % of one core" budget (thread CPU clock).
    const quint64 ticks = m_ticks.load();
    qCInfo(lcMonitor, "Monitor stopped after %llu ticks: %.3f ms thread CPU per tick on average",
           qulonglong(ticks), ticks ? double(m_totalCpuNs.load()) / double(ticks) / 1e6 : 0.0);
}

void PerformanceMonitor::sampleNow()
{
    QElapsedTimer wall;
    wall.start();
    const qint64 cpuStart = threadCpuNs();
    const qint64 nowMs = m_clock.wallMsecs();
    const Clock::MonoTime now = m_clock.monotonic();

    MetricValues values;
    values.reserve(80);
    sampleSystem(values);
    {
        QMutexLocker lock(&m_sourcesMutex);
        sampleCache(values, nowMs, now);
        sampleHttp(values, nowMs, now);
        sampleExecution(values, nowMs, now);
    }
    trimRings();

    const qint64 cpuNs = threadCpuNs() - cpuStart;
    const qint64 totalCpuNs = m_totalCpuNs.load() + cpuNs;
    values.insert(QStringLiteral("monitor.tick_ms"), double(wall.nsecsElapsed()) / 1e6);
    values.insert(QStringLiteral("monitor.thread_cpu_seconds"), double(totalCpuNs) / 1e9);
    m_lastValues = std::move(values);
    std::shared_ptr<MetricsSnapshot> snapshot = newSnapshot(nowMs);

    m_tickWallNs.store(wall.nsecsElapsed());
    m_tickCpuNs.store(threadCpuNs() - cpuStart);
    m_totalCpuNs.store(m_totalCpuNs.load() + m_tickCpuNs.load());
    m_ticks.fetch_add(1);
    publish(std::move(snapshot));
}

void PerformanceMonitor::sampleSystem(MetricValues &values)
{
    QString error;
    Result<SystemSample> sample = m_probe->sample();
    if (sample) {
        sampling::addSystemValues(values, *sample);
        m_system.push_back(std::move(*sample));
    } else {
        error = sample.error().message;
    }
    setError(values, "system", error);
    noteError("system", m_systemError, error);
}

void PerformanceMonitor::sampleCache(MetricValues &values, qint64 nowMs, Clock::MonoTime now)
{
    QString error;
    if (!m_sources.cache) {
        error = absentMessage("cache");
    } else if (Result<cache::CacheStats> stats
               = callSource<cache::CacheStats>(m_sources.cache, "cache");
               !stats) {
        error = stats.error().message;
    } else {
        CacheSample sample = sampling::cacheSample(nowMs, *stats);
        if (!m_sources.preloader) {
            sample.preloaderError = absentMessage("preloader");
        } else if (Result<cache::PreloaderStats> preloader
                   = callSource<cache::PreloaderStats>(m_sources.preloader, "preloader");
                   preloader) {
            sample.preloader = sampling::preloaderSample(*preloader);
        } else {
            sample.preloaderError = preloader.error().message;
        }
        if (m_cacheStart.at && !m_cache.empty())
            sample.interval = sampling::cacheInterval(m_cache.back(), sample,
                                                      secondsBetween(*m_cacheStart.at, now));
        m_cacheStart.at = now;
        sampling::addCacheValues(values, sample);
        m_cache.push_back(std::move(sample));
    }
    if (!error.isEmpty())
        m_cacheStart.at.reset();
    setError(values, "cache", error);
    noteError("cache", m_cacheError, error);
}

void PerformanceMonitor::sampleHttp(MetricValues &values, qint64 nowMs, Clock::MonoTime now)
{
    QString error;
    if (!m_sources.http) {
        error = absentMessage("http");
    } else if (Result<http::HttpPoolStats> stats
               = callSource<http::HttpPoolStats>(m_sources.http, "http");
               !stats) {
        error = stats.error().message;
    } else {
        HttpSample sample = sampling::httpSample(nowMs, *stats);
        // Taken every tick, so the next interval's deltas start here even on a first sample.
        std::optional<QHash<QString, HistogramSnapshot>> deltas;
        if (m_sources.httpLatencyDeltas) {
            Result<QHash<QString, HistogramSnapshot>> taken
                = callSource<QHash<QString, HistogramSnapshot>>(m_sources.httpLatencyDeltas,
                                                                 "http latency");
            if (taken)
                deltas = std::move(*taken);
        }
        if (m_httpStart.at && !m_http.empty())
            sample.interval = sampling::httpInterval(m_http.back(), sample,
                                                     secondsBetween(*m_httpStart.at, now),
                                                     deltas ? &*deltas : nullptr);
        m_httpStart.at = now;
        sampling::addHttpValues(values, sample);
        m_http.push_back(std::move(sample));
    }
    if (!error.isEmpty())
        m_httpStart.at.reset();
    setError(values, "http", error);
    noteError("http", m_httpError, error);
}

void PerformanceMonitor::sampleExecution(MetricValues &values, qint64 nowMs, Clock::MonoTime now)
{
    QString error;
    if (!m_sources.execution) {
        error = absentMessage("execution");
    } else if (Result<exec::ExecStats> stats
               = callSource<exec::ExecStats>(m_sources.execution, "execution");
               !stats) {
        error = stats.error().message;
    } else {
        ExecutionSample sample = sampling::executionSample(
            nowMs, *stats, m_execution.empty() ? nullptr : &m_execution.back());
        if (m_executionStart.at && !m_execution.empty())
            sample.interval = sampling::executionInterval(
                m_execution.back(), sample, secondsBetween(*m_executionStart.at, now), *stats);
        m_executionStart.at = now;
        sampling::addExecutionValues(values, sample);
        m_execution.push_back(std::move(sample));
    }
    if (!error.isEmpty())
        m_executionStart.at.reset();
    setError(values, "execution", error);
    noteError("execution", m_executionError, error);
}

void PerformanceMonitor::trimRings()
{
    const auto capacity = static_cast<size_t>(ringCapacity());
    m_system.truncateFront(capacity);
    m_cache.truncateFront(capacity);
    m_http.truncateFront(capacity);
    m_execution.truncateFront(capacity);
}

void PerformanceMonitor::applySettings(Settings settings)
{
    if (settings == m_settings)
        return;
    m_settings = settings;
    trimRings();
    if (m_timer->isActive())
        m_timer->start(static_cast<int>(std::lround(settings.collectionIntervalSeconds * 1000.0)));
    qCInfo(lcMonitor, "Monitor settings applied: interval %.3f s, %d samples kept",
           settings.collectionIntervalSeconds, ringCapacity());
}

std::shared_ptr<MetricsSnapshot> PerformanceMonitor::newSnapshot(qint64 nowMs)
{
    auto snapshot = std::make_shared<MetricsSnapshot>();
    snapshot->sequence = ++m_sequence;
    snapshot->timestampMs = nowMs;
    snapshot->monitorRunning = m_running.load();
    snapshot->collectionIntervalSeconds = m_settings.collectionIntervalSeconds;
    constexpr auto keep = static_cast<size_t>(MetricsSnapshot::kMaxSamplesPerCategory);
    snapshot->system = m_system.newest(keep);
    snapshot->cache = m_cache.newest(keep);
    snapshot->http = m_http.newest(keep);
    snapshot->execution = m_execution.newest(keep);
    snapshot->systemError = m_systemError;
    snapshot->cacheError = m_cacheError;
    snapshot->httpError = m_httpError;
    snapshot->executionError = m_executionError;
    snapshot->latestValues = m_lastValues;
    return snapshot;
}

void PerformanceMonitor::publish(std::shared_ptr<MetricsSnapshot> snapshot)
{
    SnapshotPtr published = std::move(snapshot);
    {
        QMutexLocker lock(&m_latestMutex);
        m_latest = published;
    }
    Q_EMIT snapshotPublished(published);
}

} // namespace opsdeck

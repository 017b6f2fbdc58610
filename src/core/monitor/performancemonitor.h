// PerformanceMonitor: samples every metric category (system from its SystemProbe; cache, http and
// execution from the MetricsSources providers) on one tick (`collection_interval`), keeps typed
// samples in bounded rings (memory retention / interval per category), and publishes immutable
// snapshots with the flat MetricValues of the tick. A missing, failing or throwing source fails
// only its own category that tick. Lives in the "monitor" thread (the Runtime moves it there);
// call its slots through queued invocations. latestSnapshot(), isRunning(), setSources() and
// lastTickCost() are safe from any thread. It is not a metrics exporter: the serializer
// (metricsjson) and the API turn snapshots into bytes.
#pragma once

#include "core/monitor/metricssnapshot.h"
#include "core/monitor/metricssources.h"
#include "core/monitor/systemprobe.h"
#include "core/support/clock.h"

#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <atomic>
#include <memory>
#include <optional>

namespace opsdeck {

class PerformanceMonitor final : public QObject
{
    Q_OBJECT

public:
    struct Settings
    {
        double collectionIntervalSeconds = 1.0;
        double memoryRetentionSeconds = 3600.0; // raw samples kept in memory
        bool operator==(const Settings &) const = default;
    };

    PerformanceMonitor(SystemProbe::Options probeOptions,
                       Settings settings,
                       const Clock &clock = Clock::system(),
                       QObject *parent = nullptr);
    ~PerformanceMonitor() override;

    // Thread-safe. Null until the first tick.
    SnapshotPtr latestSnapshot() const;
    bool isRunning() const { return m_running.load(); }
    // Samples the ring of each category can hold (memory retention / interval).
    int ringCapacity() const;
    // Replaces the providers; takes effect at the next tick (a sampling tick in progress
    // finishes with the old ones first). Empty providers: those categories are absent.
    void setSources(MetricsSources sources);

    // What the last tick cost the monitor thread (sampling every category, building the
    // snapshot and its values; not the receivers of snapshotPublished).
    struct TickCost
    {
        qint64 wallNs = 0;          // elapsed time of the last tick
        qint64 threadCpuNs = 0;     // CPU time of the last tick (this thread only)
        qint64 totalThreadCpuNs = 0; // CPU time of every tick so far
        quint64 ticks = 0;
    };
    TickCost lastTickCost() const;

public Q_SLOTS:
    void start();
    void stop();
    // Takes one sample of every category now and publishes a snapshot (the timer calls it).
    void sampleNow();
    // Applied live: a new interval restarts the timer; a smaller retention trims the ring.
    void applySettings(opsdeck::PerformanceMonitor::Settings settings);

Q_SIGNALS:
    void snapshotPublished(opsdeck::SnapshotPtr snapshot);

private:
    // Per category: when the last successful sample was taken (for the interval figures);
    // nullopt after a failure, so the next success starts a fresh interval.
    struct IntervalStart
    {
        std::optional<Clock::MonoTime> at;
    };

    // Each samples one category into its ring and `values`, and records this tick's error.
    void sampleSystem(MetricValues &values);
    void sampleCache(MetricValues &values, qint64 nowMs, Clock::MonoTime now);
    void sampleHttp(MetricValues &values, qint64 nowMs, Clock::MonoTime now);
    void sampleExecution(MetricValues &values, qint64 nowMs, Clock::MonoTime now);
    void trimRings();
    void publish(std::shared_ptr<MetricsSnapshot> snapshot);
    // Snapshot fields every publication carries (sequence, times, the rings' newest samples).
    std::shared_ptr<MetricsSnapshot> newSnapshot(qint64 nowMs);

    std::unique_ptr<SystemProbe> m_probe;
    Settings m_settings;
    const Clock &m_clock;
    QTimer *m_timer = nullptr;
    // The rings, oldest first; their chunks are shared with the published snapshots.
    SampleSeries<SystemSample> m_system;
    SampleSeries<CacheSample> m_cache;
    SampleSeries<HttpSample> m_http;
    SampleSeries<ExecutionSample> m_execution;
    IntervalStart m_cacheStart, m_httpStart, m_executionStart;
    // The last tick's errors, kept for the snapshot stop() publishes.
    QString m_systemError, m_cacheError, m_httpError, m_executionError;
    MetricValues m_lastValues;
    quint64 m_sequence = 0;
    std::atomic<bool> m_running{false};

    mutable QMutex m_sourcesMutex; // held while the providers run (monitor thread)
    MetricsSources m_sources;

    std::atomic<qint64> m_tickWallNs{0};
    std::atomic<qint64> m_tickCpuNs{0};
    std::atomic<qint64> m_totalCpuNs{0};
    std::atomic<quint64> m_ticks{0};

    mutable QMutex m_latestMutex;
    SnapshotPtr m_latest;
};

} // namespace opsdeck

Q_DECLARE_METATYPE(opsdeck::PerformanceMonitor::Settings)

// PerformanceMonitor: samples every metric category on one tick (`collection_interval`), keeps
// typed samples in a bounded ring, and publishes immutable snapshots. Lives in the "monitor"
// thread (the Runtime moves it there); call its slots through queued invocations.
// latestSnapshot() and isRunning() are safe from any thread. It is not a metrics exporter: the
// serializer (metricsjson) and the API turn snapshots into bytes.
#pragma once

#include "core/monitor/metricssnapshot.h"
#include "core/monitor/systemprobe.h"
#include "core/support/clock.h"

#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <deque>
#include <memory>

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
    // Samples the ring can hold (memory retention / interval).
    int ringCapacity() const;

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
    void publish(QString systemError);

    std::unique_ptr<SystemProbe> m_probe;
    Settings m_settings;
    const Clock &m_clock;
    QTimer *m_timer = nullptr;
    std::deque<SystemSample> m_system; // the ring, oldest first
    quint64 m_sequence = 0;
    std::atomic<bool> m_running{false};

    mutable QMutex m_latestMutex;
    SnapshotPtr m_latest;
};

} // namespace opsdeck

Q_DECLARE_METATYPE(opsdeck::PerformanceMonitor::Settings)

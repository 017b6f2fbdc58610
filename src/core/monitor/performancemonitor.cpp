#include "core/monitor/performancemonitor.h"

#include "core/support/logging.h"

#include <algorithm>
#include <cmath>

namespace opsdeck {

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
    publish(QString());
    qCInfo(lcMonitor, "Monitor stopped");
}

void PerformanceMonitor::sampleNow()
{
    QString systemError;
    Result<SystemSample> sample = m_probe->sample();
    if (sample) {
        m_system.push_back(*sample);
        const auto capacity = static_cast<size_t>(ringCapacity());
        while (m_system.size() > capacity)
            m_system.pop_front();
    } else {
        systemError = sample.error().message;
        qCWarning(lcMonitor, "System sample failed: %s", qUtf8Printable(systemError));
    }
    publish(systemError);
}

void PerformanceMonitor::applySettings(Settings settings)
{
    if (settings == m_settings)
        return;
    m_settings = settings;
    const auto capacity = static_cast<size_t>(ringCapacity());
    while (m_system.size() > capacity)
        m_system.pop_front();
    if (m_timer->isActive())
        m_timer->start(static_cast<int>(std::lround(settings.collectionIntervalSeconds * 1000.0)));
    qCInfo(lcMonitor, "Monitor settings applied: interval %.3f s, %d samples kept",
           settings.collectionIntervalSeconds, ringCapacity());
}

void PerformanceMonitor::publish(QString systemError)
{
    auto snapshot = std::make_shared<MetricsSnapshot>();
    snapshot->sequence = ++m_sequence;
    snapshot->timestampMs = m_clock.wallMsecs();
    snapshot->monitorRunning = m_running.load();
    snapshot->collectionIntervalSeconds = m_settings.collectionIntervalSeconds;
    const size_t keep = std::min(m_system.size(),
                                 static_cast<size_t>(MetricsSnapshot::kMaxSamplesPerCategory));
    snapshot->system.assign(m_system.end() - static_cast<std::ptrdiff_t>(keep), m_system.end());
    snapshot->systemError = std::move(systemError);

    SnapshotPtr published = std::move(snapshot);
    {
        QMutexLocker lock(&m_latestMutex);
        m_latest = published;
    }
    Q_EMIT snapshotPublished(published);
}

} // namespace opsdeck

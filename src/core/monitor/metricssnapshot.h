// MetricsSnapshot: what the monitor publishes once per tick. Immutable once published and shared
// as std::shared_ptr<const MetricsSnapshot> across threads (GUI, API, alerts, history), so readers
// never lock the monitor and never see a half-written sample. The sample series share their
// memory with the monitor's ring (SampleSeries), so a snapshot costs a few pointer copies.
#pragma once

#include "core/monitor/cachesample.h"
#include "core/monitor/executionsample.h"
#include "core/monitor/httpsample.h"
#include "core/monitor/metricvalues.h"
#include "core/monitor/sampleseries.h"
#include "core/monitor/systemsample.h"

#include <QtCore/QMetaType>
#include <QtCore/QString>

#include <memory>

namespace opsdeck {

struct MetricsSnapshot
{
    // At most this many samples per category travel in a snapshot (the API's largest limit).
    static constexpr int kMaxSamplesPerCategory = 1000;

    quint64 sequence = 0;   // 1 for the first published snapshot, +1 per tick
    qint64 timestampMs = 0; // wall time of the tick, epoch ms
    bool monitorRunning = false;
    double collectionIntervalSeconds = 1.0;

    // Successful samples of each category, oldest first; never mutated once published.
    SampleSeries<SystemSample> system;
    SampleSeries<CacheSample> cache;
    SampleSeries<HttpSample> http;
    SampleSeries<ExecutionSample> execution;
    // Why this tick's sample of a category failed (the old system's {timestamp, error} sample, at
    // timestampMs); empty when it succeeded. An absent component fails every tick.
    QString systemError;
    QString cacheError;
    QString httpError;
    QString executionError;

    // This tick's flat numeric view (names and units: metricvalues.h).
    MetricValues latestValues;

    const SystemSample *latestSystem() const { return system.empty() ? nullptr : &system.back(); }
    // The newest sample when this tick's succeeded; null when it failed (see *Error).
    const SystemSample *currentSystem() const { return systemError.isEmpty() ? latestSystem() : nullptr; }
    const CacheSample *currentCache() const { return cacheError.isEmpty() && !cache.empty() ? &cache.back() : nullptr; }
    const HttpSample *currentHttp() const { return httpError.isEmpty() && !http.empty() ? &http.back() : nullptr; }
    const ExecutionSample *currentExecution() const
    {
        return executionError.isEmpty() && !execution.empty() ? &execution.back() : nullptr;
    }
    // The error of a category by name ("system", "cache", "http", "execution"); empty otherwise.
    QString errorOf(const QString &category) const
    {
        if (category == u"system")
            return systemError;
        if (category == u"cache")
            return cacheError;
        if (category == u"http")
            return httpError;
        if (category == u"execution")
            return executionError;
        return {};
    }
};

using SnapshotPtr = std::shared_ptr<const MetricsSnapshot>;

} // namespace opsdeck

Q_DECLARE_METATYPE(opsdeck::SnapshotPtr)

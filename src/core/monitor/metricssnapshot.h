// MetricsSnapshot: what the monitor publishes once per tick. Immutable once published and shared
// as std::shared_ptr<const MetricsSnapshot> across threads (GUI, API, exporters), so readers
// never lock the monitor and never see a half-written sample.
#pragma once

#include "core/monitor/systemsample.h"

#include <QtCore/QMetaType>
#include <QtCore/QString>

#include <memory>
#include <vector>

namespace opsdeck {

struct MetricsSnapshot
{
    // At most this many samples per category travel in a snapshot (the API's largest limit).
    static constexpr int kMaxSamplesPerCategory = 1000;

    quint64 sequence = 0;   // 1 for the first published snapshot, +1 per tick
    qint64 timestampMs = 0; // wall time of the tick, epoch ms
    bool monitorRunning = false;
    double collectionIntervalSeconds = 1.0;

    // Oldest first. Shared between consecutive snapshots only through copies: never mutated.
    std::vector<SystemSample> system;
    // Why the last system sample failed, if it did (the old system's {timestamp, error} sample).
    QString systemError;

    const SystemSample *latestSystem() const { return system.empty() ? nullptr : &system.back(); }
};

using SnapshotPtr = std::shared_ptr<const MetricsSnapshot>;

} // namespace opsdeck

Q_DECLARE_METATYPE(opsdeck::SnapshotPtr)

#include "core/runtime/monitorloadsource.h"

#include "core/monitor/performancemonitor.h"

#include <algorithm>

namespace opsdeck {

std::optional<exec::SystemLoad> MonitorLoadSource::currentLoad() const
{
    const SnapshotPtr snapshot = m_monitor.latestSnapshot();
    const SystemSample *sample = snapshot ? snapshot->latestSystem() : nullptr;
    if (!sample)
        return std::nullopt;
    exec::SystemLoad load;
    load.cpu = std::clamp(sample->system.cpuPercent / 100.0, 0.0, 1.0);
    load.memory = std::clamp(sample->system.memoryPercent / 100.0, 0.0, 1.0);
    return load;
}

} // namespace opsdeck

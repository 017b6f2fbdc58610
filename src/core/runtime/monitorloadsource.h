// MonitorLoadSource: the adaptive scheduler's system load, read from the PerformanceMonitor's
// latest snapshot: cpu = host CPU % / 100, memory = host memory % / 100. The monitor has no
// network or I/O utilisation yet, so those stay at the neutral 0.5 (they then move S neither
// way). Cheap (a mutex and a shared_ptr copy): the engine calls it under its lock. Any thread.
#pragma once

#include "core/exec/adaptivescheduler.h"

namespace opsdeck {

class PerformanceMonitor;

class MonitorLoadSource final : public exec::LoadSource
{
public:
    explicit MonitorLoadSource(const PerformanceMonitor &monitor)
        : m_monitor(monitor)
    {}

    std::optional<exec::SystemLoad> currentLoad() const override;

private:
    const PerformanceMonitor &m_monitor;
};

} // namespace opsdeck

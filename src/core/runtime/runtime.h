// Runtime: builds the runtime's parts from one RuntimeConfig, owns their threads, starts them
// and stops them in order, and applies configuration changes live where a part supports it.
// Parts are passed down by reference (no singletons). Created, started and stopped on the main
// thread; the parts it owns live in their own threads (the monitor in "monitor").
#pragma once

#include "core/monitor/performancemonitor.h"
#include "core/runtime/runtimeconfig.h"
#include "core/support/clock.h"

#include <QtCore/QObject>
#include <QtCore/QThread>

#include <memory>

namespace opsdeck {

class DataDir;

class Runtime final : public QObject
{
    Q_OBJECT

public:
    Runtime(RuntimeConfig config, const DataDir &dataDir, const Clock &clock = Clock::system());
    ~Runtime() override;

    void start();
    // Stops every part and joins its thread. Idempotent.
    void stop();
    bool isRunning() const { return m_running; }

    const RuntimeConfig &config() const { return m_config; }
    PerformanceMonitor &monitor() { return *m_monitor; }
    const PerformanceMonitor &monitor() const { return *m_monitor; }
    const Clock &clock() const { return m_clock; }

    // Applies every live key of `next` now and keeps the rest for the next start. Returns the
    // "section/key" names that changed but need a restart.
    QStringList applyConfig(const RuntimeConfig &next);

    static PerformanceMonitor::Settings monitorSettings(const RuntimeConfig &config);

private:
    RuntimeConfig m_config;
    const Clock &m_clock;
    QThread m_monitorThread;
    std::unique_ptr<PerformanceMonitor> m_monitor;
    bool m_running = false;
};

} // namespace opsdeck

// Runtime: builds the runtime's parts from one RuntimeConfig, owns their threads, starts them
// and stops them in order, and applies configuration changes live where a part supports it.
// Parts are passed down by reference (no singletons). Created, started and stopped on the main
// thread; the parts it owns live in their own threads (the monitor in "monitor", the cache's
// disk tier and maintenance tick in theirs).
#pragma once

#include "core/cache/cachemanager.h"
#include "core/cache/cachepreloadtarget.h"
#include "core/cache/preloader.h"
#include "core/support/executor.h"
#include "core/http/httppool.h"
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
    // Stops every part and joins its thread. Idempotent; a stopped runtime is not restarted.
    void stop();
    bool isRunning() const { return m_running; }

    const RuntimeConfig &config() const { return m_config; }
    PerformanceMonitor &monitor() { return *m_monitor; }
    cache::CacheManager &cache() { return *m_cache; }
    cache::Preloader &preloader() { return *m_preloader; }
    Executor &executor() { return m_executor; }
    // Valid until stop(): the pool's threads are joined there.
    http::HttpPool &httpPool() { return *m_http; }
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
    QString m_cacheFile;
    std::unique_ptr<cache::CacheManager> m_cache;
    // Background work until the execution engine lands (issue 5): the preloader's loads.
    ThreadPoolExecutor m_executor{4};
    std::unique_ptr<cache::CachePreloadTarget> m_preloadTarget;
    std::unique_ptr<cache::Preloader> m_preloader;
    std::unique_ptr<http::HttpPool> m_http; // its dispatcher and worker threads start with it
    bool m_running = false;
};

} // namespace opsdeck

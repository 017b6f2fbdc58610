// Runtime: builds the runtime's parts from one RuntimeConfig, owns their threads, starts them
// in dependency order (cache, engine, preloader, monitor, agents) and stops them in reverse,
// and applies configuration changes live where a part supports it. The agents trade on paper
// against the market at [market] market_base_url, or the embedded simulator whose URL the
// application passes in (setSimulatorUrl) before start().
// Parts are passed down by reference (no singletons). Created, started and stopped on the main
// thread; the parts it owns live in their own threads (the monitor in "monitor", the cache's
// disk tier and maintenance tick in theirs).
#pragma once

#include "core/agents/agentregistry.h"
#include "core/agents/marketconditiontracker.h"
#include "core/agents/marketdataclient.h"
#include "core/agents/paperportfolio.h"
#include "core/cache/cachemanager.h"
#include "core/cache/cachepreloadtarget.h"
#include "core/cache/preloader.h"
#include "core/exec/adaptivescheduler.h"
#include "core/exec/executionengine.h"
#include "core/http/httppool.h"
#include "core/monitor/alertengine.h"
#include "core/monitor/eventlog.h"
#include "core/monitor/historystore.h"
#include "core/monitor/performancemonitor.h"
#include "core/runtime/monitorloadsource.h"
#include "core/runtime/runtimeconfig.h"
#include "core/support/clock.h"
#include "core/support/executor.h"

#include <QtCore/QObject>
#include <QtCore/QThread>
#include <QtCore/QUrl>

#include <atomic>
#include <memory>
#include <optional>

namespace opsdeck {

class DataDir;

class Runtime final : public QObject
{
    Q_OBJECT

public:
    Runtime(RuntimeConfig config, const DataDir &dataDir, const Clock &clock = Clock::system());
    ~Runtime() override;

    // Before start(): where the embedded market simulator listens (used when [market]
    // market_base_url is empty).
    void setSimulatorUrl(const QUrl &url) { m_simulatorUrl = url; }
    // Errors (the runtime is then stopped again): "portfolio_*" when portfolio.db cannot be
    // opened, "invalid_agent_config" for an agent the registry refuses.
    Status start();
    // Stops every part and joins its thread (agents first, within about 2 s with requests in
    // flight). Idempotent; a stopped runtime is not restarted.
    void stop();
    bool isRunning() const { return m_running; }

    const RuntimeConfig &config() const { return m_config; }
    PerformanceMonitor &monitor() { return *m_monitor; }
    cache::CacheManager &cache() { return *m_cache; }
    cache::Preloader &preloader() { return *m_preloader; }
    // The execution engine runs agent cycles and the preloader's loads (its Executor face).
    exec::ExecutionEngine &engine() { return *m_engine; }
    Executor &executor() { return *m_engine; }
    exec::AdaptiveScheduler &scheduler() { return *m_scheduler; }
    // Valid after start(): the agents and what they share.
    agents::AgentRegistry &agents() { return *m_registry; }
    agents::PaperPortfolio &portfolio() { return *m_portfolio; }
    agents::MarketDataClient &marketData() { return *m_marketData; }
    // Any thread (the REST API): start / stop one agent by id. Errors: "unknown_agent",
    // "agents_unavailable" (before start() or after stop()), "engine_stopped", the agent's own
    // start error.
    Status startAgent(const QString &id);
    Status stopAgent(const QString &id);
    // Any thread: every agent's (or one agent's) JSON with its schedule; nullopt while the
    // agents do not exist (before start(), after stop()) or for an unknown id.
    std::optional<QJsonArray> agentsJson() const;
    std::optional<QJsonObject> agentJson(const QString &id) const;
    // Valid until stop(): the pool's threads are joined there.
    http::HttpPool &httpPool() { return *m_http; }
    const PerformanceMonitor &monitor() const { return *m_monitor; }
    // Alerts evaluated on every monitor tick (thread-safe); history.db (queries from any
    // thread; writes in the monitor thread); the event log behind GET /events (any thread).
    AlertEngine &alerts() { return *m_alerts; }
    HistoryStore &history() { return *m_history; }
    EventLog &events() { return *m_events; }
    const Clock &clock() const { return m_clock; }

    // Applies every live key of `next` now and keeps the rest for the next start. Returns the
    // "section/key" names that changed but need a restart.
    QStringList applyConfig(const RuntimeConfig &next);
    // The agents' market base URL: [market] market_base_url, else the simulator's.
    QUrl marketUrl() const;

    static PerformanceMonitor::Settings monitorSettings(const RuntimeConfig &config);

private:
    MetricsSources metricsSources();
    void openHistoryAndAlerts();
    Status startAgents();
    void logSummary() const;

    RuntimeConfig m_config;
    const Clock &m_clock;
    QThread m_monitorThread;
    std::unique_ptr<PerformanceMonitor> m_monitor;
    std::unique_ptr<EventLog> m_events;
    std::unique_ptr<HistoryStore> m_history;
    std::unique_ptr<AlertEngine> m_alerts;
    QString m_cacheFile;
    std::unique_ptr<cache::CacheManager> m_cache;
    std::unique_ptr<http::HttpPool> m_http; // its dispatcher and worker threads start with it
    // Declared before the engine, so that its destructor (which waits for task bodies) runs
    // while everything a cycle may touch still exists.
    QString m_portfolioFile;
    QUrl m_simulatorUrl;
    std::unique_ptr<agents::MarketConditionTracker> m_conditions;
    std::unique_ptr<agents::MarketDataClient> m_marketData;
    std::unique_ptr<agents::PaperPortfolio> m_portfolio;
    std::unique_ptr<agents::AgentRegistry> m_registry;
    std::atomic<bool> m_agentsReady{false}; // m_registry and the rest are set and not yet stopping
    std::unique_ptr<MonitorLoadSource> m_loadSource;
    std::unique_ptr<exec::AdaptiveScheduler> m_scheduler;
    std::unique_ptr<exec::ExecutionEngine> m_engine; // its pool and timer threads start in start()
    std::unique_ptr<cache::CachePreloadTarget> m_preloadTarget;
    std::unique_ptr<cache::Preloader> m_preloader;
    bool m_running = false;
};

} // namespace opsdeck

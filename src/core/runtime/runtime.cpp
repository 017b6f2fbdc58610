#include "core/runtime/runtime.h"

#include "core/runtime/datadir.h"
#include "core/monitor/monitorpipeline.h"
#include "core/support/logging.h"

#include <QtCore/QJsonArray>
#include <QtCore/QMetaObject>

namespace opsdeck {

Runtime::Runtime(RuntimeConfig config, const DataDir &dataDir, const Clock &clock)
    : m_config(std::move(config))
    , m_clock(clock)
{
    SystemProbe::Options probe;
    probe.diskPath = dataDir.path();
    m_monitor = std::make_unique<PerformanceMonitor>(probe, monitorSettings(m_config), m_clock);
    m_monitorThread.setObjectName(QStringLiteral("monitor"));
    m_events = std::make_unique<EventLog>(1000, m_clock);
    m_history = std::make_unique<HistoryStore>(dataDir.filePath(QStringLiteral("history.db")),
                                               HistoryStore::settingsFrom(m_config.monitor), m_clock);
    m_alerts = std::make_unique<AlertEngine>(m_clock);
    m_cacheFile = dataDir.filePath(QStringLiteral("cache.db"));
    m_cache = std::make_unique<cache::CacheManager>(
        cache::CacheSettings::fromConfig(m_config.cache, m_cacheFile), m_clock);
    m_http = std::make_unique<http::HttpPool>(http::HttpPoolSettings::fromConfig(m_config.http),
                                              m_clock);
    m_loadSource = std::make_unique<MonitorLoadSource>(*m_monitor);
    m_scheduler = std::make_unique<exec::AdaptiveScheduler>();
    m_scheduler->setLoadSource(m_loadSource.get());
    m_engine = std::make_unique<exec::ExecutionEngine>(m_config.exec, m_clock);
    m_engine->setCycleServices(m_cache.get(), m_http.get());
    m_engine->setAdaptiveScheduler(m_scheduler.get());
    m_preloadTarget = std::make_unique<cache::CachePreloadTarget>(*m_cache);
    m_preloader = std::make_unique<cache::Preloader>(*m_preloadTarget, *m_engine,
                                                     cache::PreloaderSettings{}, m_clock);
    m_portfolioFile = dataDir.filePath(QStringLiteral("portfolio.db"));
    m_conditions = std::make_unique<agents::MarketConditionTracker>();
    m_scheduler->setMarketConditionSource(m_conditions.get());
    m_monitor->setSources(metricsSources());
}

// The monitor's providers over the parts this runtime owns. stop() replaces them with empty
// ones (inside the monitor thread) before any part goes away.
MetricsSources Runtime::metricsSources()
{
    MetricsSources sources;
    sources.cache = [cache = m_cache.get()] { return cache->stats(); };
    sources.preloader = [preloader = m_preloader.get()] { return preloader->stats(); };
    sources.http = [pool = m_http.get()] { return pool->stats(); };
    sources.httpLatencyDeltas = [pool = m_http.get()] { return pool->latencyDeltas(); };
    // The engine carries the adaptive scheduler's stats; the monitor is its one delta consumer.
    sources.execution = [engine = m_engine.get()] { return engine->takeIntervalStats(); };
    return sources;
}

// history.db and the alert rules, then the per-tick pipeline (monitorpipeline.h).
void Runtime::openHistoryAndAlerts()
{
    m_alerts->setBaseRules(AlertEngine::defaultRules(m_config.monitor));
    if (Status opened = m_history->open(); !opened) {
        qCWarning(lcRuntime, "History: %s; running without history.db",
                  qUtf8Printable(opened.error().message));
    } else if (Status attached = m_alerts->attachStore(m_history.get()); !attached) {
        qCWarning(lcRuntime, "Alerts: %s", qUtf8Printable(attached.error().message));
    }
    connectMonitorPipeline(*m_monitor, *m_history, *m_alerts, m_events.get());
}

Runtime::~Runtime()
{
    stop();
}

PerformanceMonitor::Settings Runtime::monitorSettings(const RuntimeConfig &config)
{
    PerformanceMonitor::Settings settings;
    settings.collectionIntervalSeconds = config.monitor.collectionInterval;
    settings.memoryRetentionSeconds = config.monitor.memoryRetention;
    return settings;
}

// One line at shutdown with what the run did (users read it; the whole-process tests check it).
void Runtime::logSummary() const
{
    const cache::CacheStats cache = m_cache->stats();
    const http::HttpPoolStats http = m_http->stats();
    quint64 completed = 0;
    quint64 failed = 0;
    if (m_registry) {
        for (const auto &agent : m_registry->agents()) {
            const exec::AgentMetrics metrics = agent->metrics();
            completed += metrics.cyclesCompleted;
            failed += metrics.cyclesFailed;
        }
    }
    qCInfo(lcRuntime,
           "Summary: cache %llu lookups, %llu hits (%.1f %%); HTTP %llu requests, %llu attempts, "
           "%llu retries, %llu failed; agent cycles %llu completed, %llu failed",
           qulonglong(cache.lookups), qulonglong(cache.hits), cache.hitRate() * 100.0,
           qulonglong(http.requests), qulonglong(http.attempts), qulonglong(http.retries),
           qulonglong(http.errors), qulonglong(completed), qulonglong(failed));
}

QUrl Runtime::marketUrl() const
{
    return m_config.market.baseUrl.isEmpty() ? m_simulatorUrl : QUrl(m_config.market.baseUrl);
}

Status Runtime::start()
{
    if (m_running)
        return ok();
    m_running = true;
    if (Status opened = m_cache->open(); !opened)
        qCWarning(lcRuntime, "Cache: %s", qUtf8Printable(opened.error().message));
    if (Status started = m_engine->start(); !started)
        qCWarning(lcRuntime, "Engine: %s", qUtf8Printable(started.error().message));
    m_preloader->start();
    openHistoryAndAlerts();
    m_monitor->moveToThread(&m_monitorThread);
    m_monitorThread.start();
    QMetaObject::invokeMethod(m_monitor.get(), &PerformanceMonitor::start, Qt::QueuedConnection);
    if (Status agentsStarted = startAgents(); !agentsStarted) {
        stop();
        return agentsStarted;
    }
    qCInfo(lcRuntime, "Runtime started");
    return ok();
}

Status Runtime::startAgents()
{
    m_marketData = std::make_unique<agents::MarketDataClient>(
        agents::MarketDataSettings::fromConfig(m_config.market, m_simulatorUrl), m_cache.get(),
        m_http.get());
    agents::PortfolioSettings portfolio;
    portfolio.path = m_portfolioFile;
    m_portfolio = std::make_unique<agents::PaperPortfolio>(portfolio, m_clock);
    Status opened = m_portfolio->open();
    if (!opened && opened.error().code == u"portfolio_corrupt") {
        // Moved aside (the message names the copy); start with an empty portfolio.
        qCWarning(lcRuntime, "%s", qUtf8Printable(opened.error().message));
        opened = m_portfolio->open();
    }
    if (!opened)
        return opened;
    m_registry = std::make_unique<agents::AgentRegistry>(
        agents::AgentServices{m_marketData.get(), m_portfolio.get(), m_conditions.get()});
    QHash<QString, agents::AgentOptions> options;
    for (const AgentConfig &agent : m_config.agents)
        options.insert(agent.id, agent.options);
    if (Status added = m_registry->addAll(m_config.agents, options); !added)
        return added;
    m_agentsReady.store(true, std::memory_order_release);
    for (const auto &agent : m_registry->agents()) {
        if (!agent->config().enabled) {
            qCInfo(lcRuntime, "Agent %s is disabled", qUtf8Printable(agent->id()));
            continue;
        }
        if (Status started = startAgent(agent->id()); !started) {
            qCWarning(lcRuntime, "Agent %s: %s", qUtf8Printable(agent->id()),
                      qUtf8Printable(started.error().message));
        }
    }
    qCInfo(lcRuntime, "%lld agent(s) against %s", qlonglong(m_registry->size()),
           qUtf8Printable(marketUrl().toDisplayString()));
    return ok();
}

namespace {

tl::unexpected<Error> agentsUnavailable()
{
    return fail(QStringLiteral("agents_unavailable"),
                QStringLiteral("The agents are not running (the runtime is starting or stopping)."));
}

} // namespace

std::optional<QJsonArray> Runtime::agentsJson() const
{
    if (!m_agentsReady.load(std::memory_order_acquire))
        return std::nullopt;
    QJsonArray list;
    for (const auto &agent : m_registry->agents()) {
        // nullopt only if stop() began meanwhile; then the list is as far as it got.
        if (const std::optional<QJsonObject> json = agentJson(agent->id()))
            list.append(*json);
    }
    return list;
}

std::optional<QJsonObject> Runtime::agentJson(const QString &id) const
{
    if (!m_agentsReady.load(std::memory_order_acquire))
        return std::nullopt;
    const std::shared_ptr<agents::TradingAgent> agent = m_registry->find(id);
    if (!agent)
        return std::nullopt;
    QJsonObject json = agent->toJson();
    if (const std::optional<exec::AgentCycleStats> cycles = m_engine->agentCycleStats(id))
        json.insert(QStringLiteral("schedule"), cycles->toJson());
    return json;
}

Status Runtime::startAgent(const QString &id)
{
    if (!m_agentsReady.load(std::memory_order_acquire))
        return agentsUnavailable();
    const std::shared_ptr<agents::TradingAgent> agent = m_registry->find(id);
    if (!agent)
        return fail(QStringLiteral("unknown_agent"), QStringLiteral("No agent \"%1\".").arg(id));
    if (agent->status() == exec::AgentStatus::Running)
        return ok();
    if (Status started = agent->start(); !started)
        return started;
    exec::AgentScheduleOptions schedule;
    schedule.adaptive = true; // the scheduler stretches or shortens the configured interval
    Status scheduled = m_engine->scheduleAgentCycle(agent, agent->cyclePriority(), schedule);
    if (!scheduled && scheduled.error().code == u"already_scheduled") {
        m_engine->unscheduleAgent(id); // a stopped agent's old schedule
        scheduled = m_engine->scheduleAgentCycle(agent, agent->cyclePriority(), schedule);
    }
    if (!scheduled) {
        agent->stop();
        return scheduled;
    }
    m_events->append(QStringLiteral("agent_started"), {{QStringLiteral("agent"), id}});
    return ok();
}

Status Runtime::stopAgent(const QString &id)
{
    if (!m_agentsReady.load(std::memory_order_acquire))
        return agentsUnavailable();
    const std::shared_ptr<agents::TradingAgent> agent = m_registry->find(id);
    if (!agent)
        return fail(QStringLiteral("unknown_agent"), QStringLiteral("No agent \"%1\".").arg(id));
    agent->stop();
    m_engine->unscheduleAgent(id);
    m_events->append(QStringLiteral("agent_stopped"), {{QStringLiteral("agent"), id}});
    return ok();
}

void Runtime::stop()
{
    if (!m_running)
        return;
    m_running = false;
    logSummary();
    // Agents first: no new cycles; the running ones see their tokens fire below.
    m_agentsReady.store(false, std::memory_order_release);
    if (m_registry) {
        for (const auto &agent : m_registry->agents()) {
            m_engine->unscheduleAgent(agent->id());
            agent->stop();
        }
    }
    QThread *owner = QThread::currentThread();
    PerformanceMonitor *monitor = m_monitor.get();
    QMetaObject::invokeMethod(
        monitor,
        [monitor, owner] {
            monitor->stop();
            monitor->setSources({}); // no tick may read a part after this
            monitor->moveToThread(owner); // destroyed on the owning thread
        },
        Qt::BlockingQueuedConnection);
    m_monitorThread.quit();
    m_monitorThread.wait();
    disconnect(m_monitor.get(), &PerformanceMonitor::snapshotPublished, m_monitor.get(), nullptr);
    m_history->close();
    m_preloader->stop();
    // Requests in flight fail with "shutdown" now (so cycles waiting on them return), and so do
    // any a cycle still makes; the pool object lives on until no task can use it.
    m_http->shutdown();
    // Tokens fire, queued work is dropped.
    const exec::StopReport report = m_engine->stop(std::chrono::seconds(1));
    for (const exec::TaskInfo &task : report.overrunning) {
        qCWarning(lcRuntime, "Engine: task %llu (%s/%s) still running after the stop wait",
                  qulonglong(task.id), qUtf8Printable(task.agentId), qUtf8Printable(task.taskType));
    }
    const bool idle = m_engine->waitForIdle(std::chrono::seconds(1));
    m_cache->stop();
    if (idle) {
        if (m_portfolio)
            m_portfolio->close();
        m_http.reset(); // joins its threads
    } else {
        // A body ignores its token: leave what it may touch to the destructor, which waits for
        // it first (the engine is destroyed before the pool and the portfolio).
        qCWarning(lcRuntime, "Engine: tasks still running; the HTTP pool stays until they end");
    }
    qCInfo(lcRuntime, "Runtime stopped");
}

QStringList Runtime::applyConfig(const RuntimeConfig &next)
{
    QStringList needsRestart;
    const QStringList changed = m_config.changedKeys(next);
    const QStringList restartKeys = RuntimeConfig::restartRequiredKeys();
    for (const QString &name : changed) {
        const QString key = name.section(u'/', 1);
        if (name.startsWith(u"agent.") || restartKeys.contains(key))
            needsRestart.append(name);
    }
    const PerformanceMonitor::Settings settings = monitorSettings(next);
    if (m_running) {
        QMetaObject::invokeMethod(
            m_monitor.get(),
            [monitor = m_monitor.get(), settings] { monitor->applySettings(settings); },
            Qt::QueuedConnection);
    } else {
        m_monitor->applySettings(settings);
    }
    m_cache->applySettings(cache::CacheSettings::fromConfig(next.cache, m_cacheFile));
    if (m_http)
        m_http->applyConfig(next.http);
    m_engine->applyConfig(next.exec);
    m_alerts->setBaseRules(AlertEngine::defaultRules(next.monitor));
    m_history->applySettings(HistoryStore::settingsFrom(next.monitor));
    m_config = next;
    m_events->append(QStringLiteral("config_reloaded"),
                     {{QStringLiteral("changed"), QJsonArray::fromStringList(changed)},
                      {QStringLiteral("restart_required"), QJsonArray::fromStringList(needsRestart)}});
    qCInfo(lcRuntime, "Configuration applied: %lld changed, %lld need a restart",
           qlonglong(changed.size()), qlonglong(needsRestart.size()));
    return needsRestart;
}

} // namespace opsdeck

// TradingAgent: what the built-in agents share on top of exec::Agent: the services they trade
// through (market data, the shared paper portfolio, the market-condition tracker), the per-agent
// request counters, an error count and the metrics JSON (the old system's names). Thread-safe as
// exec::Agent is; cycles run on the engine's threads (one at a time per agent).
//
//     auto agent = registry.find(u"mm1"_s);
//     engine.scheduleAgentCycle(agent, agent->cyclePriority());
//     QJsonObject json = agent->toJson();   // GET /agents
//
// Subclasses implement tradingCycle() with their decision logic kept in a pure strategy class.
#pragma once

#include "core/agents/marketdataclient.h"
#include "core/exec/agent.h"

#include <QtCore/QJsonObject>

#include <atomic>
#include <memory>
#include <mutex>

namespace opsdeck::agents {

class PaperPortfolio;
class MarketConditionTracker;

// Non-owning; each must outlive the agents. `conditions` may be null.
struct AgentServices
{
    MarketDataClient *market = nullptr;
    PaperPortfolio *portfolio = nullptr;
    MarketConditionTracker *conditions = nullptr;
};

class TradingAgent : public exec::Agent
{
public:
    TradingAgent(AgentConfig config, AgentServices services);

    virtual QString typeName() const = 0;
    // The priority its cycles should be scheduled at and its HTTP requests use: the config's
    // (the guardian: always CRITICAL).
    virtual TaskPriority cyclePriority() const { return config().priority; }
    virtual QJsonObject settingsJson() const = 0;
    // Type-specific counters merged into metricsJson() (the guardian's positions_closed, ...).
    virtual QJsonObject extraMetrics() const { return {}; }

    // {"positions_opened","total_profit","win_rate","api_calls","errors","cycles_completed",
    //  "cycles_failed","last_cycle_time", ...more: realized_pnl, unrealized_pnl, cache_hits,
    //  open_positions, round_trips, fills, fees, cycles_rejected, last_cycle_duration_ms,
    //  last_error}
    QJsonObject metricsJson() const;
    // {"id","type","symbol","status","priority","interval","enabled","settings","metrics",
    //  "last_decision"}
    QJsonObject toJson() const;

    quint64 errorCount() const { return m_errors.load(); }
    std::shared_ptr<const RequestCounters> requestCounters() const { return m_counters; }
    QJsonObject lastDecision() const;

protected:
    Result<QJsonObject> cycle(const exec::CycleContext &context) final;
    virtual Result<QJsonObject> tradingCycle(const exec::CycleContext &context) = 0;

    CallOptions callOptions(const exec::CycleContext &context) const;
    static qint64 nowMs(const exec::CycleContext &context);
    void noteError(const Error &error); // a non-fatal error inside a cycle (counted, logged)

    const AgentServices m_services;

private:
    std::shared_ptr<RequestCounters> m_counters = std::make_shared<RequestCounters>();
    std::atomic<quint64> m_errors{0};
    mutable std::mutex m_decisionMutex;
    QJsonObject m_lastDecision;
};

} // namespace opsdeck::agents

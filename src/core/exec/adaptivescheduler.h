// AdaptiveScheduler: the next interval of an agent's cycles from its recent performance, the
// market and the system load (the old system's inputs and weights, with the formulas pinned):
//
//   reliability = max(floor, 1 − min(0.1·timeouts, 0.5) − min(0.1·errors, 0.5))   (last 10 runs)
//   P = clamp(mean duration / target, 0.5, 2) / reliability,  target = target_utilization × base
//       (no history: P = 1)
//   M = 1.5 − activity,  activity = (volatility + trading_volume) / 2   (no source: defaults 0.5)
//   S = 0.5 + overall load,  overall = mean(cpu, memory, network, io)  (no source: 0.5)
//   interval = clamp(base × (0.4·P + 0.4·M + 0.2·S), min_interval, max_interval)
//
// so the neutral state (mean duration == target, no failures, activity 0.5, load 0.5) returns the
// base interval. Thread-safe (one mutex); the sources are called with it released.
#pragma once

#include "core/support/clock.h"

#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QString>

#include <deque>
#include <mutex>
#include <optional>

namespace opsdeck::exec {

// System load in 0..1 per resource (the monitor's samples, percent / 100).
struct SystemLoad
{
    double cpu = 0.5;
    double memory = 0.5;
    double network = 0.5;
    double io = 0.5;
    double overall() const { return (cpu + memory + network + io) / 4.0; }
};

// An agent's market as the old system described it; defaults are its defaults.
struct MarketCondition
{
    double volatility = 0.5;    // 0..1
    double tradingVolume = 0.5; // 0..1
    double trend = 0.0;         // −1..1 (recorded, not used by the interval formula)
    double liquidity = 0.5;     // 0..1 (recorded, not used by the interval formula)
    double activity() const { return (volatility + tradingVolume) / 2.0; }
};

// Where the scheduler reads system load: implemented over the PerformanceMonitor's snapshots.
class LoadSource
{
public:
    virtual ~LoadSource() = default;
    // The latest load, or nullopt when none is known yet. Called from any thread.
    virtual std::optional<SystemLoad> currentLoad() const = 0;
};

// Where the scheduler reads an agent's market condition: implemented by the agents over their
// market data. Called from any thread.
class MarketConditionSource
{
public:
    virtual ~MarketConditionSource() = default;
    virtual std::optional<MarketCondition> marketCondition(const QString &agentId) const = 0;
};

enum class RunOutcome { Completed, Failed, TimedOut };

struct AdaptiveSchedulerConfig
{
    double minInterval = 1.0;    // seconds
    double maxInterval = 3600.0; // seconds
    double weightPerformance = 0.4;
    double weightMarket = 0.4;
    double weightSystem = 0.2;
    int historySize = 10;           // runs kept per (agent, task type)
    double targetUtilization = 0.1; // neutral mean duration as a fraction of the base interval
    double reliabilityFloor = 0.25; // keeps P finite (≤ 8) when every run fails
};

class AdaptiveScheduler
{
public:
    struct Decision
    {
        double interval = 0;    // seconds, clamped
        double performance = 1; // P
        double market = 1;      // M
        double system = 1;      // S
        double reliability = 1;
    };

    explicit AdaptiveScheduler(AdaptiveSchedulerConfig config = AdaptiveSchedulerConfig());
    Q_DISABLE_COPY_MOVE(AdaptiveScheduler)

    // The sources must outlive the scheduler (or be reset to null first).
    void setLoadSource(const LoadSource *source);
    void setMarketConditionSource(const MarketConditionSource *source);

    void recordRun(const QString &agentId,
                   const QString &taskType,
                   Clock::Duration duration,
                   RunOutcome outcome);

    double reliability(const QString &agentId, const QString &taskType) const;
    Decision decide(const QString &agentId, const QString &taskType, double baseSeconds) const;
    double nextInterval(const QString &agentId, const QString &taskType, double baseSeconds) const
    {
        return decide(agentId, taskType, baseSeconds).interval;
    }

    // {"tracked_keys","decisions","min_interval","max_interval","weights":{...},
    //  "keys":[{"agent_id","task_type","runs","mean_duration_ms","timeouts","errors",
    //           "reliability","last_interval"}]}
    QJsonObject stats() const;

private:
    struct History
    {
        std::deque<std::pair<Clock::Duration, RunOutcome>> runs;
        mutable double lastInterval = 0; // written by the const decide()
    };
    static QString keyOf(const QString &agentId, const QString &taskType);
    double reliabilityLocked(const History &history) const;

    const AdaptiveSchedulerConfig m_config;
    mutable std::mutex m_mutex;
    QHash<QString, History> m_history; // key "agent\x1ftype"
    const LoadSource *m_load = nullptr;
    const MarketConditionSource *m_market = nullptr;
    mutable quint64 m_decisions = 0;
};

} // namespace opsdeck::exec

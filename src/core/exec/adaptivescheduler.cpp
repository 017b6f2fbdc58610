#include "core/exec/adaptivescheduler.h"

#include <QtCore/QJsonArray>

#include <algorithm>

namespace opsdeck::exec {

AdaptiveScheduler::AdaptiveScheduler(AdaptiveSchedulerConfig config)
    : m_config(config)
{}

void AdaptiveScheduler::setLoadSource(const LoadSource *source)
{
    std::lock_guard lock(m_mutex);
    m_load = source;
}

void AdaptiveScheduler::setMarketConditionSource(const MarketConditionSource *source)
{
    std::lock_guard lock(m_mutex);
    m_market = source;
}

QString AdaptiveScheduler::keyOf(const QString &agentId, const QString &taskType)
{
    return agentId + QChar(0x1f) + taskType;
}

void AdaptiveScheduler::recordRun(const QString &agentId,
                                  const QString &taskType,
                                  Clock::Duration duration,
                                  RunOutcome outcome)
{
    std::lock_guard lock(m_mutex);
    History &h = m_history[keyOf(agentId, taskType)];
    h.runs.emplace_back(duration, outcome);
    while (int(h.runs.size()) > std::max(1, m_config.historySize))
        h.runs.pop_front();
}

double AdaptiveScheduler::reliabilityLocked(const History &history) const
{
    int timeouts = 0;
    int errors = 0;
    for (const auto &[duration, outcome] : history.runs) {
        timeouts += outcome == RunOutcome::TimedOut ? 1 : 0;
        errors += outcome == RunOutcome::Failed ? 1 : 0;
    }
    const double r = 1.0 - std::min(0.1 * timeouts, 0.5) - std::min(0.1 * errors, 0.5);
    return std::max(r, m_config.reliabilityFloor);
}

double AdaptiveScheduler::reliability(const QString &agentId, const QString &taskType) const
{
    std::lock_guard lock(m_mutex);
    const auto it = m_history.constFind(keyOf(agentId, taskType));
    return it == m_history.cend() ? 1.0 : reliabilityLocked(*it);
}

AdaptiveScheduler::Decision
AdaptiveScheduler::decide(const QString &agentId, const QString &taskType, double baseSeconds) const
{
    const LoadSource *loadSource = nullptr;
    const MarketConditionSource *marketSource = nullptr;
    Decision d;
    double ratio = 1.0;
    {
        std::lock_guard lock(m_mutex);
        loadSource = m_load;
        marketSource = m_market;
        const auto it = m_history.constFind(keyOf(agentId, taskType));
        if (it != m_history.cend() && !it->runs.empty()) {
            d.reliability = reliabilityLocked(*it);
            double sum = 0;
            for (const auto &run : it->runs)
                sum += std::chrono::duration<double>(run.first).count();
            const double mean = sum / double(it->runs.size());
            const double target = m_config.targetUtilization * baseSeconds;
            ratio = target > 0 ? mean / target : 1.0;
        }
    }
    d.performance = std::clamp(ratio, 0.5, 2.0) / d.reliability;

    MarketCondition market;
    if (marketSource) {
        if (const auto m = marketSource->marketCondition(agentId))
            market = *m;
    }
    d.market = 1.5 - std::clamp(market.activity(), 0.0, 1.0);

    SystemLoad load;
    if (loadSource) {
        if (const auto l = loadSource->currentLoad())
            load = *l;
    }
    d.system = 0.5 + std::clamp(load.overall(), 0.0, 1.0);

    const double factor = m_config.weightPerformance * d.performance
                          + m_config.weightMarket * d.market + m_config.weightSystem * d.system;
    d.interval = std::clamp(baseSeconds * factor, m_config.minInterval, m_config.maxInterval);

    std::lock_guard lock(m_mutex);
    ++m_decisions;
    const auto it = m_history.constFind(keyOf(agentId, taskType));
    if (it != m_history.cend())
        it->lastInterval = d.interval;
    return d;
}

QJsonObject AdaptiveScheduler::stats() const
{
    std::lock_guard lock(m_mutex);
    QJsonArray keys;
    for (auto it = m_history.cbegin(); it != m_history.cend(); ++it) {
        const QStringList parts = it.key().split(QChar(0x1f));
        int timeouts = 0;
        int errors = 0;
        double sum = 0;
        for (const auto &[duration, outcome] : it->runs) {
            timeouts += outcome == RunOutcome::TimedOut ? 1 : 0;
            errors += outcome == RunOutcome::Failed ? 1 : 0;
            sum += std::chrono::duration<double, std::milli>(duration).count();
        }
        keys.append(QJsonObject{
            {QStringLiteral("agent_id"), parts.value(0)},
            {QStringLiteral("task_type"), parts.value(1)},
            {QStringLiteral("runs"), int(it->runs.size())},
            {QStringLiteral("mean_duration_ms"), it->runs.empty() ? 0.0 : sum / it->runs.size()},
            {QStringLiteral("timeouts"), timeouts},
            {QStringLiteral("errors"), errors},
            {QStringLiteral("reliability"), reliabilityLocked(*it)},
            {QStringLiteral("last_interval"), it->lastInterval}});
    }
    return {{QStringLiteral("tracked_keys"), int(m_history.size())},
            {QStringLiteral("decisions"), double(m_decisions)},
            {QStringLiteral("min_interval"), m_config.minInterval},
            {QStringLiteral("max_interval"), m_config.maxInterval},
            {QStringLiteral("weights"),
             QJsonObject{{QStringLiteral("performance"), m_config.weightPerformance},
                         {QStringLiteral("market"), m_config.weightMarket},
                         {QStringLiteral("system"), m_config.weightSystem}}},
            {QStringLiteral("has_load_source"), m_load != nullptr},
            {QStringLiteral("has_market_source"), m_market != nullptr},
            {QStringLiteral("keys"), keys}};
}

} // namespace opsdeck::exec

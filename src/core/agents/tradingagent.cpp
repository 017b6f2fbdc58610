#include "core/agents/tradingagent.h"

#include "core/agents/paperportfolio.h"
#include "core/support/logging.h"

namespace opsdeck::agents {

TradingAgent::TradingAgent(AgentConfig config, AgentServices services)
    : exec::Agent(std::move(config))
    , m_services(services)
{}

Result<QJsonObject> TradingAgent::cycle(const exec::CycleContext &context)
{
    if (!m_services.market || !m_services.portfolio) {
        const Error e{QStringLiteral("agent_not_configured"),
                      QStringLiteral("Agent %1 has no market data client or portfolio.").arg(id()),
                      {}};
        m_errors.fetch_add(1);
        return tl::unexpected(e);
    }
    Result<QJsonObject> result = tradingCycle(context);
    if (!result) {
        m_errors.fetch_add(1);
    } else {
        std::lock_guard lock(m_decisionMutex);
        m_lastDecision = *result;
    }
    return result;
}

CallOptions TradingAgent::callOptions(const exec::CycleContext &context) const
{
    return CallOptions::from(context, cyclePriority(), m_counters);
}

qint64 TradingAgent::nowMs(const exec::CycleContext &context)
{
    return (context.clock ? *context.clock : Clock::system()).wallMsecs();
}

void TradingAgent::noteError(const Error &error)
{
    m_errors.fetch_add(1);
    qCInfo(lcAgents).noquote()
        << QStringLiteral("agent %1: %2 (%3)").arg(id(), error.message, error.code);
}

QJsonObject TradingAgent::lastDecision() const
{
    std::lock_guard lock(m_decisionMutex);
    return m_lastDecision;
}

QJsonObject TradingAgent::metricsJson() const
{
    QJsonObject m = metrics().toJson(); // cycles_completed, cycles_failed, last_cycle_time, ...
    AgentTradingStats stats;
    if (m_services.portfolio)
        stats = m_services.portfolio->agentStats(id());
    const QJsonObject trading = stats.toJson();
    for (auto it = trading.constBegin(); it != trading.constEnd(); ++it)
        m.insert(it.key(), it.value());
    m.insert(QStringLiteral("api_calls"), double(m_counters->apiCalls.load()));
    m.insert(QStringLiteral("cache_hits"), double(m_counters->cacheHits.load()));
    m.insert(QStringLiteral("request_errors"), double(m_counters->errors.load()));
    m.insert(QStringLiteral("errors"), double(m_errors.load()));
    const QJsonObject extra = extraMetrics();
    for (auto it = extra.constBegin(); it != extra.constEnd(); ++it)
        m.insert(it.key(), it.value());
    return m;
}

QJsonObject TradingAgent::toJson() const
{
    return {{QStringLiteral("id"), id()},
            {QStringLiteral("type"), typeName()},
            {QStringLiteral("symbol"), config().symbol},
            {QStringLiteral("status"), exec::toString(status())},
            {QStringLiteral("priority"), toString(cyclePriority())},
            {QStringLiteral("interval"), config().interval},
            {QStringLiteral("enabled"), config().enabled},
            {QStringLiteral("settings"), settingsJson()},
            {QStringLiteral("metrics"), metricsJson()},
            {QStringLiteral("last_decision"), lastDecision()}};
}

} // namespace opsdeck::agents

// StopLossGuardianAgent ("stop_loss_guardian"): guards every open position of the shared paper
// portfolio (all agents, all symbols). Its cycles and every HTTP request they make run at
// CRITICAL priority (cyclePriority() ignores the config), so a check never queues behind NORMAL
// work. Per cycle: the mark of each symbol with an open position (ticker/price, one symbol
// weight 2 or all weight 4), the StopLossRule on each position, and for a triggered one an
// exit: the book, POST /api/v3/order/test (a MARKET order; a refusal is counted, the paper
// exit still happens: protecting the book matters more), and the portfolio's taker fill.
// Runs on the engine's threads, one cycle at a time.
#pragma once

#include "core/agents/stoplossrule.h"
#include "core/agents/tradingagent.h"

namespace opsdeck::agents {

class StopLossGuardianAgent final : public TradingAgent
{
public:
    static constexpr const char *kTypeName = "stop_loss_guardian";

    StopLossGuardianAgent(AgentConfig config, AgentServices services, StopLossSettings settings);

    QString typeName() const override { return QLatin1String(kTypeName); }
    TaskPriority cyclePriority() const override { return TaskPriority::Critical; }
    QJsonObject settingsJson() const override { return m_settings.toJson(); }
    const StopLossSettings &settings() const { return m_settings; }
    quint64 positionsClosed() const { return m_closed.load(); }
    QJsonObject extraMetrics() const override;

protected:
    Result<QJsonObject> tradingCycle(const exec::CycleContext &context) override;

private:
    const StopLossSettings m_settings;
    std::atomic<quint64> m_closed{0};
    std::atomic<quint64> m_checks{0};
};

} // namespace opsdeck::agents

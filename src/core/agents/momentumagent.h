// MomentumAgent ("momentum"): reads the last closed candles (/api/v3/klines, cached per candle
// window), compares a fast and a slow moving average (MomentumStrategy) and trades on a crossing
// with taker orders: validated by POST /api/v3/order/test (never a real order), filled by the
// paper portfolio against the order book (slippage by walking the levels, taker fee).
// Runs on the engine's threads, one cycle at a time.
#pragma once

#include "core/agents/momentumstrategy.h"
#include "core/agents/tradingagent.h"

namespace opsdeck::agents {

class MomentumAgent final : public TradingAgent
{
public:
    static constexpr const char *kTypeName = "momentum";

    MomentumAgent(AgentConfig config, AgentServices services, MomentumSettings settings);

    QString typeName() const override { return QLatin1String(kTypeName); }
    QJsonObject settingsJson() const override { return m_settings.toJson(); }
    const MomentumSettings &settings() const { return m_settings; }

protected:
    Result<QJsonObject> tradingCycle(const exec::CycleContext &context) override;

private:
    const MomentumSettings m_settings;
};

} // namespace opsdeck::agents

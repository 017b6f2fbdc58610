// MarketMakerAgent ("market_maker"): quotes a bid and an ask around the order-book mid with a
// spread and an inventory skew (MarketMakerStrategy), validates each new quote with
// POST /api/v3/order/test (never a real order) and rests it in the paper portfolio, where
// trades printed after it crosses fill it (the portfolio's fill model). Per cycle: symbol rules
// (cached 1 h), the book (30 s), recent trades (300 s), then the fills, marks and quotes.
// Runs on the engine's threads, one cycle at a time.
#pragma once

#include "core/agents/marketmakerstrategy.h"
#include "core/agents/tradingagent.h"

namespace opsdeck::agents {

class MarketMakerAgent final : public TradingAgent
{
public:
    static constexpr const char *kTypeName = "market_maker";

    MarketMakerAgent(AgentConfig config, AgentServices services, MarketMakerSettings settings);

    QString typeName() const override { return QLatin1String(kTypeName); }
    QJsonObject settingsJson() const override { return m_settings.toJson(); }
    const MarketMakerSettings &settings() const { return m_settings; }

protected:
    Result<QJsonObject> tradingCycle(const exec::CycleContext &context) override;
    void onStop() override; // withdraws its resting quotes

private:
    const MarketMakerSettings m_settings;
};

} // namespace opsdeck::agents

// MomentumStrategy: the momentum trader's decisions as pure functions of closed candles and the
// agent's position (no I/O, so it is tested on recorded klines).
//
//   fast = SMA(closes, fast_period), slow = SMA(closes, slow_period)  (of the last closed candles)
//   gap  = (fast / slow − 1) in bps
//   gap ≥ +threshold_bps → Bullish;  gap ≤ −threshold_bps → Bearish;  otherwise Neutral
//   Bullish and not long → BUY: close any short, then open trade_notional / price long
//   Bearish and long     → SELL the long (and, with allow_short, open a short of the same size)
//   Neutral, or already on the signal's side → hold
#pragma once

#include "core/agents/agentoptions.h"
#include "core/agents/marketdata.h"

#include <QtCore/QJsonObject>

#include <optional>

namespace opsdeck::agents {

struct MomentumSettings
{
    QString interval = QStringLiteral("1m"); // kline_interval
    int fastPeriod = 5;                      // fast_period
    int slowPeriod = 20;                     // slow_period (> fast_period)
    double thresholdBps = 5;                 // threshold_bps
    double tradeNotional = 200;              // trade_notional, quote currency
    bool allowShort = false;                 // allow_short
    int depthLimit = 100;                    // depth_limit

    static Result<MomentumSettings> fromOptions(const QString &agentId,
                                                const AgentOptions &options);
    QJsonObject toJson() const;
};

enum class MomentumSignal { Neutral, Bullish, Bearish };
QString toString(MomentumSignal signal); // "neutral", "bullish", "bearish"

struct MomentumReading
{
    bool enough = false; // at least slow_period closes
    double fast = 0;
    double slow = 0;
    double gapBps = 0;
    MomentumSignal signal = MomentumSignal::Neutral;
};

// What to do: a taker order of `quantity` on `side` (quantity before lot rounding).
struct MomentumOrder
{
    Side side = Side::Buy;
    double quantity = 0;
    QString reason;
};

class MomentumStrategy
{
public:
    static MomentumReading read(const QList<Kline> &klines, const MomentumSettings &settings);
    static std::optional<MomentumOrder> decide(const MomentumReading &reading,
                                               double positionQuantity,
                                               double price,
                                               const MomentumSettings &settings);
};

} // namespace opsdeck::agents

// StopLossRule: the stop-loss guardian's decision as a pure function of a position and a mark
// price (no I/O, so it is tested on recorded prices).
//
//   loss         = −quantity × (mark − average price)        (> 0 when the position loses)
//   loss_percent = loss / (|quantity| × average price) × 100
//   triggered when loss_percent ≥ max_loss_percent (0 = off) or loss ≥ max_loss_absolute
//   (0 = off). Realised PnL of earlier trips does not count: the rule guards the open position.
#pragma once

#include "core/agents/agentoptions.h"
#include "core/agents/paperportfolio.h"

#include <QtCore/QJsonObject>

#include <optional>

namespace opsdeck::agents {

struct StopLossSettings
{
    double maxLossPercent = 2.0; // max_loss_percent, of the position's cost basis; 0 = off
    double maxLossAbsolute = 0;  // max_loss_absolute, quote currency; 0 = off
    int depthLimit = 100;        // depth_limit: the book the exit walks

    static Result<StopLossSettings> fromOptions(const QString &agentId,
                                                const AgentOptions &options);
    QJsonObject toJson() const;
};

struct StopLossTrigger
{
    double loss = 0;        // quote currency, > 0
    double lossPercent = 0; // of the cost basis
    QString reason;         // "max_loss_percent" or "max_loss_absolute"
};

class StopLossRule
{
public:
    static std::optional<StopLossTrigger>
    check(const Position &position, double markPrice, const StopLossSettings &settings);
};

} // namespace opsdeck::agents

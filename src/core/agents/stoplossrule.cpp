#include "core/agents/stoplossrule.h"

#include <cmath>

namespace opsdeck::agents {

Result<StopLossSettings> StopLossSettings::fromOptions(const QString &agentId,
                                                       const AgentOptions &options)
{
    StopLossSettings s;
    OptionReader r(agentId, options);
    s.maxLossPercent = r.number(QStringLiteral("max_loss_percent"), s.maxLossPercent, 0, 100);
    s.maxLossAbsolute = r.number(QStringLiteral("max_loss_absolute"), s.maxLossAbsolute, 0, 1e12);
    s.depthLimit = r.integer(QStringLiteral("depth_limit"), s.depthLimit, 1, 5000);
    if (auto bad = r.finish())
        return tl::unexpected(*bad);
    if (s.maxLossPercent <= 0 && s.maxLossAbsolute <= 0) {
        return tl::unexpected(agentConfigError(
            agentId, QStringLiteral("max_loss_percent"),
            QStringLiteral("max_loss_percent and max_loss_absolute are both 0: the guardian "
                           "would never act.")));
    }
    return s;
}

QJsonObject StopLossSettings::toJson() const
{
    return {{QStringLiteral("max_loss_percent"), maxLossPercent},
            {QStringLiteral("max_loss_absolute"), maxLossAbsolute},
            {QStringLiteral("depth_limit"), depthLimit}};
}

std::optional<StopLossTrigger>
StopLossRule::check(const Position &position, double markPrice, const StopLossSettings &settings)
{
    if (!position.isOpen() || !(markPrice > 0) || !(position.averagePrice > 0))
        return std::nullopt;
    StopLossTrigger t;
    t.loss = -position.quantity * (markPrice - position.averagePrice);
    if (t.loss <= 0)
        return std::nullopt;
    t.lossPercent = t.loss / position.costBasis() * 100.0;
    // A hair of tolerance so a loss of exactly the limit (2 % in decimal prices) triggers.
    if (settings.maxLossPercent > 0 && t.lossPercent >= settings.maxLossPercent - 1e-9) {
        t.reason = QStringLiteral("max_loss_percent");
        return t;
    }
    if (settings.maxLossAbsolute > 0 && t.loss >= settings.maxLossAbsolute - 1e-9) {
        t.reason = QStringLiteral("max_loss_absolute");
        return t;
    }
    return std::nullopt;
}

} // namespace opsdeck::agents

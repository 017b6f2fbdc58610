#include "core/agents/marketmakerstrategy.h"

#include <algorithm>
#include <cmath>

namespace opsdeck::agents {

Result<MarketMakerSettings> MarketMakerSettings::fromOptions(const QString &agentId,
                                                             const AgentOptions &options)
{
    MarketMakerSettings s;
    OptionReader r(agentId, options);
    s.spreadBps = r.number(QStringLiteral("spread_bps"), s.spreadBps, 0.1, 10'000);
    s.quoteNotional = r.number(QStringLiteral("quote_notional"), s.quoteNotional, 0.000001, 1e9);
    s.maxInventoryNotional = r.number(QStringLiteral("max_inventory_notional"),
                                      s.maxInventoryNotional, 0.000001, 1e12);
    s.skewBps = r.number(QStringLiteral("skew_bps"), s.skewBps, 0, 10'000);
    s.requoteBps = r.number(QStringLiteral("requote_bps"), s.requoteBps, 0, 10'000);
    s.depthLimit = r.integer(QStringLiteral("depth_limit"), s.depthLimit, 1, 5000);
    s.tradesLimit = r.integer(QStringLiteral("trades_limit"), s.tradesLimit, 1, 1000);
    if (auto bad = r.finish())
        return tl::unexpected(*bad);
    return s;
}

QJsonObject MarketMakerSettings::toJson() const
{
    return {{QStringLiteral("spread_bps"), spreadBps},
            {QStringLiteral("quote_notional"), quoteNotional},
            {QStringLiteral("max_inventory_notional"), maxInventoryNotional},
            {QStringLiteral("skew_bps"), skewBps},
            {QStringLiteral("requote_bps"), requoteBps},
            {QStringLiteral("depth_limit"), depthLimit},
            {QStringLiteral("trades_limit"), tradesLimit}};
}

QJsonObject MarketMakerQuotes::toJson() const
{
    auto side = [](const std::optional<QuoteIntent> &q) -> QJsonValue {
        if (!q)
            return QJsonValue();
        return QJsonObject{{QStringLiteral("price"), q->price},
                           {QStringLiteral("quantity"), q->quantity}};
    };
    return {{QStringLiteral("mid"), mid},
            {QStringLiteral("reservation"), reservation},
            {QStringLiteral("inventory"), inventory},
            {QStringLiteral("bid"), side(bid)},
            {QStringLiteral("ask"), side(ask)}};
}

MarketMakerQuotes MarketMakerStrategy::quote(const OrderBook &book,
                                             double positionQuantity,
                                             const SymbolRules &rules,
                                             const MarketMakerSettings &settings)
{
    MarketMakerQuotes out;
    if (!book.isValid())
        return out;
    out.mid = book.mid();
    out.inventory
        = std::clamp(positionQuantity * out.mid / settings.maxInventoryNotional, -1.0, 1.0);
    out.reservation = out.mid * (1 - out.inventory * settings.skewBps / 10'000.0);
    const double half = settings.spreadBps / 2 / 10'000.0;
    const double tick = rules.tickSize > 0 ? rules.tickSize : 0.0;

    const double quantity = rules.roundQuantity(settings.quoteNotional / out.mid);
    const bool sizeOk = quantity > 0 && quantity * out.mid >= rules.minNotional;
    if (!sizeOk)
        return out;

    if (out.inventory < 1.0) {
        double bid = rules.roundPrice(out.reservation * (1 - half), Side::Buy);
        bid = std::min(bid, rules.roundPrice(book.bestAsk() - tick, Side::Buy));
        if (bid > 0 && quantity * bid >= rules.minNotional)
            out.bid = QuoteIntent{Side::Buy, bid, quantity};
    }
    if (out.inventory > -1.0) {
        double ask = rules.roundPrice(out.reservation * (1 + half), Side::Sell);
        ask = std::max(ask, rules.roundPrice(book.bestBid() + tick, Side::Sell));
        out.ask = QuoteIntent{Side::Sell, ask, quantity};
    }
    return out;
}

bool MarketMakerStrategy::needsRequote(const QList<Quote> &resting,
                                       const MarketMakerQuotes &wanted,
                                       const MarketMakerSettings &settings)
{
    auto find = [&resting](Side side) -> const Quote * {
        for (const Quote &q : resting) {
            if (q.side == side)
                return &q;
        }
        return nullptr;
    };
    for (const auto &[side, intent] :
         {std::pair{Side::Buy, wanted.bid}, std::pair{Side::Sell, wanted.ask}}) {
        const Quote *q = find(side);
        if (bool(q) != intent.has_value())
            return true;
        if (!q)
            continue;
        if (std::abs(q->price - intent->price) / intent->price * 10'000.0 > settings.requoteBps)
            return true;
        // A partly filled quote keeps resting with what is left: size alone never requotes.
    }
    return false;
}

} // namespace opsdeck::agents

// MarketMakerStrategy: the market maker's decisions as a pure function of an order book, the
// agent's inventory and the symbol's rules (no I/O, so it is tested on recorded books).
//
//   mid         = (best bid + best ask) / 2
//   inventory   = clamp(position × mid / max_inventory_notional, −1, 1)
//   reservation = mid × (1 − inventory × skew_bps / 10⁴)        (long → quotes move down)
//   bid, ask    = reservation × (1 ∓ spread_bps / 2 / 10⁴), rounded to the tick (bid down, ask
//                 up), kept passive: bid ≤ best ask − tick, ask ≥ best bid + tick
//   quantity    = quote_notional / mid rounded down to the lot step (at least min_qty and the
//                 minimum notional, else that side is not quoted)
//   no bid when inventory ≥ 1, no ask when inventory ≤ −1 (at the inventory limit).
// Resting quotes are replaced only when a side's price moved more than requote_bps (or a side
// appears or disappears), so they keep their place and can fill.
#pragma once

#include "core/agents/agentoptions.h"
#include "core/agents/marketdata.h"
#include "core/agents/paperportfolio.h"

#include <QtCore/QJsonObject>

#include <optional>

namespace opsdeck::agents {

struct MarketMakerSettings
{
    double spreadBps = 10;      // spread_bps: full width of our quotes around the reservation
    double quoteNotional = 100; // quote_notional: size of each quote, quote currency
    double maxInventoryNotional = 1000; // max_inventory_notional
    double skewBps = 5;                 // skew_bps: reservation shift at full inventory
    double requoteBps = 2;              // requote_bps
    int depthLimit = 100;               // depth_limit (weight 5 up to 100)
    int tradesLimit = 500;              // trades_limit

    static Result<MarketMakerSettings> fromOptions(const QString &agentId,
                                                   const AgentOptions &options);
    QJsonObject toJson() const;
};

struct QuoteIntent
{
    Side side = Side::Buy;
    double price = 0;
    double quantity = 0;
};

struct MarketMakerQuotes
{
    double mid = 0;
    double reservation = 0;
    double inventory = 0; // −1..1
    std::optional<QuoteIntent> bid;
    std::optional<QuoteIntent> ask;

    QJsonObject toJson() const;
};

class MarketMakerStrategy
{
public:
    static MarketMakerQuotes quote(const OrderBook &book,
                                   double positionQuantity,
                                   const SymbolRules &rules,
                                   const MarketMakerSettings &settings);
    // Whether the resting quotes (of one agent and symbol) should be replaced by `wanted`.
    static bool needsRequote(const QList<Quote> &resting,
                             const MarketMakerQuotes &wanted,
                             const MarketMakerSettings &settings);
};

} // namespace opsdeck::agents

// PaperPortfolio: the paper-trading book every agent shares: resting quotes, positions per
// (agent, symbol), fills, realised and unrealised PnL and per-agent round-trip statistics.
// Thread-safe (one mutex; agents call it from the engine's threads at once). Persists every
// change at once (write-through, one small transaction) to an SQLite file, `portfolio.db` in the
// data dir, so positions and statistics survive restarts; an empty path keeps it in memory.
//
//     PaperPortfolio portfolio({dataDir + u"/portfolio.db"_s});
//     if (auto opened = portfolio.open(); !opened) ... // "portfolio_corrupt": moved aside
//     portfolio.executeTaker(u"mom1"_s, u"BTCUSDT"_s, Side::Buy, 0.01, book, nowMs);
//
// The fill model (documented in docs/ARCHITECTURE.md, "Agents"):
//  - A resting quote (limit order) fills only from trades printed after it was placed
//    (trade time > placement time, each trade seen once per quote): a BUY at p fills when a trade
//    prints strictly below p, a SELL when one prints strictly above (a trade *at* p does not fill
//    it: the quote would be behind the queue; `fillOnTouch` changes that). The filled quantity is
//    min(remaining, trade quantity), at the quote's price, with the maker fee.
//  - A taker (market) order walks the book's levels from the best price (asks for a BUY, bids for
//    a SELL), each level at most its quantity, plus `extraSlippageBps` on every level; what the
//    book cannot fill is reported as unfilled (never invented). The taker fee is charged on the
//    notional. Liquidity is not consumed: two agents walking the same snapshot both get it.
//  - Fees are in the quote currency and lower realised PnL. Positions are signed (a SELL from
//    flat opens a short); average-cost accounting; a flip closes the old position and opens a
//    new one. A round trip ends when a position returns to zero; it is a win when its realised
//    PnL (fees included) is positive. win rate = wins / round trips.
//  - Unrealised PnL = quantity × (mark − average price); marks are the last mid (or price) given
//    to markToMarket().
//
// It is not an exchange: nothing here sends orders anywhere.
#pragma once

#include "core/agents/marketdata.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QString>

#include <memory>
#include <mutex>
#include <optional>

namespace opsdeck::agents {

struct PortfolioSettings
{
    QString path;                 // SQLite file; empty: memory only
    double makerFeeRate = 0.0002; // 0.02 %
    double takerFeeRate = 0.001;  // 0.1 % (the exchange's standard spot rate)
    double extraSlippageBps = 0;  // added to every level a taker order walks
    bool fillOnTouch = false;     // true: a trade at the quote's price fills it too
    qint64 fillsKept = 100'000;   // rows of fill history kept in the file (newest)
};

struct Position
{
    QString agentId;
    QString symbol;
    double quantity = 0;     // signed: > 0 long, < 0 short
    double averagePrice = 0; // of the open quantity
    double realizedPnl = 0;  // lifetime of this (agent, symbol), fees included
    double fees = 0;         // lifetime
    double tripPnl = 0;      // realised in the current round trip, fees included
    double markPrice = 0;    // 0: never marked
    qint64 openedAtMs = 0;   // when the current round trip opened
    qint64 updatedAtMs = 0;

    bool isOpen() const;
    double unrealizedPnl() const; // 0 when not marked
    double costBasis() const;     // |quantity| × average price
    QJsonObject toJson() const;
    static Position fromJson(const QJsonObject &o);
};

struct Quote
{
    qint64 id = 0;
    QString agentId;
    QString symbol;
    Side side = Side::Buy;
    double price = 0;
    double quantity = 0; // remaining
    qint64 placedAtMs = 0;
    qint64 lastTradeId = -1; // trades up to this id were seen

    QJsonObject toJson() const;
    static Quote fromJson(const QJsonObject &o);
};

struct Fill
{
    QString agentId;
    QString symbol;
    Side side = Side::Buy;
    double price = 0;
    double quantity = 0;
    double fee = 0;
    bool maker = false;
    double realizedPnl = 0; // realised by this fill (fee included)
    qint64 timeMs = 0;
    qint64 quoteId = 0; // the quote it filled; 0 for taker fills

    QJsonObject toJson() const;
};

// Lifetime statistics of one agent (across restarts).
struct AgentTradingStats
{
    quint64 positionsOpened = 0;
    quint64 roundTrips = 0; // closed round trips
    quint64 wins = 0;       // ... with a positive realised PnL
    quint64 fills = 0;
    double realizedPnl = 0; // fees included
    double fees = 0;
    double unrealizedPnl = 0; // of its open positions now (not stored)
    int openPositions = 0;    // now (not stored)

    double winRate() const { return roundTrips == 0 ? 0.0 : double(wins) / double(roundTrips); }
    double totalProfit() const { return realizedPnl + unrealizedPnl; }
    // {"positions_opened","open_positions","round_trips","wins","win_rate","fills",
    //  "realized_pnl","unrealized_pnl","total_profit","fees"}
    QJsonObject toJson() const;
};

struct TakerResult
{
    double requested = 0;
    double filled = 0;
    double averagePrice = 0; // 0 when nothing filled
    double fee = 0;
    double slippageBps = 0; // average price vs the book's mid, against the taker
    double realizedPnl = 0;
    QList<Fill> fills; // one per level walked

    double unfilled() const { return requested - filled; }
};

class PaperPortfolio
{
public:
    explicit PaperPortfolio(PortfolioSettings settings, const Clock &clock = Clock::system());
    Q_DISABLE_COPY_MOVE(PaperPortfolio)
    ~PaperPortfolio();

    // Opens (creating, or migrating forward by PRAGMA user_version) the file and loads it.
    // Errors: "portfolio_corrupt" (the file was moved aside to <path>.corrupt-<stamp>, named in
    // details.moved_to; open() again starts an empty portfolio), "portfolio_newer_version" (a
    // file from a newer OpsDeck: left alone), "portfolio_io_error".
    // A second open() while open is a no-op.
    Status open();
    // Closes the file (later changes stay in memory only); open() again reloads it.
    void close();
    bool isPersistent() const;
    static constexpr int kSchemaVersion = 1;

    // --- Quotes (resting limit orders) ---
    qint64 placeQuote(const QString &agentId,
                      const QString &symbol,
                      Side side,
                      double price,
                      double quantity,
                      qint64 placedAtMs);
    int cancelQuotes(const QString &agentId, const QString &symbol); // returns how many
    QList<Quote> quotes(const QString &agentId = {}, const QString &symbol = {}) const;

    // --- The fill model ---
    // Fills the resting quotes of `symbol` from trades (any order; sorted by time and id here).
    QList<Fill> matchTrades(const QString &symbol, const QList<Trade> &trades);
    // Error "no_liquidity" when the book's side is empty; "invalid_argument" for quantity <= 0.
    Result<TakerResult> executeTaker(const QString &agentId,
                                     const QString &symbol,
                                     Side side,
                                     double quantity,
                                     const OrderBook &book,
                                     qint64 timeMs);
    // A taker order for the whole open quantity (the stop-loss guardian's exit).
    // Error "no_position" when flat.
    Result<TakerResult> closePosition(const QString &agentId,
                                      const QString &symbol,
                                      const OrderBook &book,
                                      qint64 timeMs);
    void markToMarket(const QString &symbol, double price);

    // --- Reading ---
    std::optional<Position> position(const QString &agentId, const QString &symbol) const;
    double netQuantity(const QString &agentId, const QString &symbol) const;
    QList<Position> positions(const QString &agentId = {}) const; // sorted by agent, symbol
    QList<Position> openPositions() const;
    AgentTradingStats agentStats(const QString &agentId) const;
    QList<Fill> recentFills(int limit = 50) const; // newest last, this session only
    quint64 persistErrors() const;
    const PortfolioSettings &settings() const { return m_settings; }
    // {"persistent","path","positions":[...],"quotes":[...],"agents":{id: stats}}
    QJsonObject toJson() const;

private:
    struct Db;
    using Key = std::pair<QString, QString>; // agent, symbol

    Fill applyFillLocked(const QString &agentId,
                         const QString &symbol,
                         Side side,
                         double price,
                         double quantity,
                         bool maker,
                         qint64 timeMs,
                         qint64 quoteId);
    AgentTradingStats statsLocked(const QString &agentId) const;
    void persistLocked(const QList<Key> &positions,
                       const QStringList &agents,
                       const QList<qint64> &quotesChanged,
                       const QList<Fill> &fills);
    Status loadLocked();

    const PortfolioSettings m_settings;
    const Clock &m_clock;
    mutable std::mutex m_mutex;
    std::unique_ptr<Db> m_db;
    QHash<QString, QHash<QString, Position>> m_positions; // agent -> symbol -> position
    QHash<qint64, Quote> m_quotes;
    QHash<QString, AgentTradingStats> m_stats;
    QList<Fill> m_recentFills;
    qint64 m_nextQuoteId = 1;
    quint64 m_persistErrors = 0;
    bool m_opened = false;
};

} // namespace opsdeck::agents

// MarketSimulator: the embedded exchange's market data as a pure function of (seed, symbol,
// simulated time). Prices follow a geometric Brownian motion with compound-Poisson jumps on a
// 100 ms grid, built as a Brownian bridge (and a Poisson/Gaussian split tree for the jumps) over
// 2^32 buckets each side of an anchor, so any instant costs O(32) hash draws and never replays
// history. Order book, recent trades and klines are derived from the price deterministically.
// The formulas are in docs/ARCHITECTURE.md ("Market simulator").
//
//     MarketSimulator sim(MarketSimulator::Settings::fromConfig(config.market), clock);
//     const double p = sim.priceAt(*sim.spec(u"BTCUSDT"), sim.nowMs());
//
// Immutable after construction: every method is const and thread-safe. Not a server (see
// MarketServer) and not an order matcher: nothing is ever executed.
#pragma once

#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

namespace opsdeck {
class Clock;
struct MarketConfig;
} // namespace opsdeck

namespace opsdeck::market {

// One tradable symbol: exchange filters and the parameters of its price process.
struct SymbolSpec
{
    QString symbol;          // "BTCUSDT"
    QString baseAsset;       // "BTC"
    QString quoteAsset;      // "USDT"
    double initialPrice = 100.0;   // S0: the price at the anchor instant
    double annualVolatility = 0.6; // sigma of the diffusion, per sqrt(year)
    double logDriftPerYear = 0.0;  // mu in log space (0 keeps the median at S0)
    double jumpsPerDay = 4.0;      // lambda of the jump process
    double jumpSigma = 0.01;       // standard deviation of one jump in log price
    double tickSize = 0.01;        // PRICE_FILTER
    double minPrice = 0.01;
    double maxPrice = 1'000'000.0;
    double stepSize = 0.00001;     // LOT_SIZE
    double minQty = 0.00001;
    double maxQty = 9000.0;
    double minNotional = 5.0;      // NOTIONAL (quote asset)
    double maxNotional = 9'000'000.0;
    double spreadBps = 1.0;        // quoted spread around the mid, basis points
    double tradesPerSecond = 5.0;
    double volumePerSecond = 0.5;  // base asset traded per second on average

    // Presets for BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT, XRPUSDT, DOGEUSDT, ADAUSDT; any other
    // name gets parameters derived from a hash of the name (price 0.5..2000, tick ~1e-5 of it).
    static SymbolSpec forSymbol(const QString &symbol);
};

struct BookLevel
{
    double price = 0;
    double qty = 0;
};

struct OrderBook
{
    qint64 lastUpdateId = 0; // the 100 ms bucket index since the grid start: grows with time
    QList<BookLevel> bids;   // best (highest) first
    QList<BookLevel> asks;   // best (lowest) first
};

struct Trade
{
    qint64 id = 0;
    double price = 0;
    double qty = 0;
    qint64 timeMs = 0;
    bool isBuyerMaker = false;
};

struct Kline
{
    qint64 openTime = 0;
    qint64 closeTime = 0; // openTime + interval - 1
    double open = 0;
    double high = 0;
    double low = 0;
    double close = 0;
    double volume = 0;
    double quoteVolume = 0;
    qint64 trades = 0;
    double takerBuyBaseVolume = 0;
    double takerBuyQuoteVolume = 0;
};

class MarketSimulator final
{
public:
    static constexpr qint64 kBucketMs = 100;                 // the price changes every 100 ms
    static constexpr qint64 kAnchorMs = 1'767'225'600'000;   // 2026-01-01T00:00:00Z: price = S0
    static constexpr qint64 kHorizonBuckets = qint64(1) << 32; // each side (~13.6 years)

    struct Settings
    {
        quint64 seed = 42;
        QList<SymbolSpec> symbols; // empty: BTCUSDT, ETHUSDT, SOLUSDT

        // seed and symbols from [market]; each symbol's spec from SymbolSpec::forSymbol.
        static Settings fromConfig(const MarketConfig &config);
    };

    // The clock gives "now" for the endpoints; it must outlive the simulator.
    MarketSimulator(Settings settings, const Clock &clock);

    quint64 seed() const { return m_seed; }
    qint64 nowMs() const;
    const QList<SymbolSpec> &symbols() const { return m_symbols; }
    const SymbolSpec *spec(QStringView symbol) const;

    // The mid price at a time (constant within a 100 ms bucket), not rounded to the tick.
    double priceAt(const SymbolSpec &spec, qint64 timeMs) const;
    // The mid rounded to the symbol's tick (what /api/v3/ticker/price serves).
    double tickerPrice(const SymbolSpec &spec, qint64 timeMs) const;
    // Best bid and ask quoted around the mid at a time.
    std::pair<double, double> bestBidAsk(const SymbolSpec &spec, qint64 timeMs) const;

    OrderBook orderBook(const SymbolSpec &spec, int limit, qint64 timeMs) const;
    // The latest `limit` trades at or before timeMs, oldest first (as the exchange returns them).
    QList<Trade> recentTrades(const SymbolSpec &spec, int limit, qint64 timeMs) const;

    // Exchange interval names (1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w) in milliseconds.
    static std::optional<qint64> intervalMs(QStringView name);
    static QStringList intervalNames();
    // The open time of the kline of this interval containing timeMs (1w starts on Monday).
    static qint64 alignToInterval(qint64 timeMs, qint64 intervalMs);

    // One kline; if it contains nowMs it is partial (closes at the price of nowMs).
    Kline kline(const SymbolSpec &spec, qint64 openTime, qint64 intervalMs, qint64 nowMs) const;
    // Klines as /api/v3/klines selects them: open times >= startTime (aligned up) and <=
    // min(endTime, now); with no startTime the latest `limit` ones. Oldest first.
    QList<Kline> klines(const SymbolSpec &spec,
                        qint64 intervalMs,
                        std::optional<qint64> startTime,
                        std::optional<qint64> endTime,
                        int limit,
                        qint64 nowMs) const;

    // The bucket index of a time (floor division), relative to the anchor.
    static qint64 bucketOf(qint64 timeMs);

private:
    double logPriceDeviation(const SymbolSpec &spec, quint64 symbolKey, qint64 bucket) const;
    double bridge(quint64 symbolKey, qint64 bucket) const;
    double jumps(const SymbolSpec &spec, quint64 symbolKey, qint64 bucket) const;

    quint64 m_seed;
    QList<SymbolSpec> m_symbols;
    const Clock &m_clock;
};

// Exchange number formatting: fixed 8 decimals ("43251.17000000").
QString formatDecimal(double value);
double roundToStep(double value, double step);

} // namespace opsdeck::market

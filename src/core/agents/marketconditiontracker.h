// MarketConditionTracker: the adaptive scheduler's MarketConditionSource, fed by the agents'
// market data (prices, candles, order books) per symbol. Thread-safe (one mutex): agents record
// from the engine's threads, the scheduler reads from any thread.
//
//     tracker.bindAgent(u"mm1"_s, u"BTCUSDT"_s);
//     tracker.recordBook(book);                       // in the agent's cycle
//     scheduler.setMarketConditionSource(&tracker);
//
// The formulas (pinned; each maps the "normal" market to the old system's neutral 0.5):
//   returns   = log returns of the candle closes (when at least 3 are known), else of the
//               price samples (mids and tickers, the last `maxSamples`)
//   volatility = clamp(stddev(returns) in bps / (2 · neutralVolatilityBps), 0, 1)
//   trading_volume = r / (1 + r), r = last candle volume / mean candle volume (0.5 at the mean)
//   trend      = clamp((last / first − 1) in bps / trendScaleBps, −1, 1) over the same series
//   liquidity  = 1 / (1 + spread bps / neutralSpreadBps)      (0.5 at the neutral spread)
// A value without data keeps the old default (volatility 0.5, volume 0.5, trend 0, liquidity
// 0.5); a symbol without any data gives nullopt, so the scheduler uses its own defaults.
#pragma once

#include "core/agents/marketdata.h"
#include "core/exec/adaptivescheduler.h"

#include <QtCore/QHash>
#include <QtCore/QJsonObject>

#include <deque>
#include <mutex>

namespace opsdeck::agents {

struct MarketConditionSettings
{
    int maxSamples = 60;
    double neutralVolatilityBps = 10; // per-sample return stddev that reads as 0.5
    double trendScaleBps = 100;       // a move this large over the window reads as ±1
    double neutralSpreadBps = 5;      // a spread this wide reads as liquidity 0.5
};

class MarketConditionTracker final : public exec::MarketConditionSource
{
public:
    explicit MarketConditionTracker(MarketConditionSettings settings = {});

    // Which symbol an agent trades (its condition is the symbol's).
    void bindAgent(const QString &agentId, const QString &symbol);
    void recordPrice(const QString &symbol, qint64 timeMs, double price);
    void recordBook(const OrderBook &book, qint64 timeMs); // spread, and the mid as a price sample
    void recordKlines(const QString &symbol, const QList<Kline> &klines);

    std::optional<exec::MarketCondition> marketCondition(const QString &agentId) const override;
    std::optional<exec::MarketCondition> conditionOf(const QString &symbol) const;
    // {"symbols": {sym: {"volatility","trading_volume","trend","liquidity","samples"}}}
    QJsonObject toJson() const;

    // The pure formula over a price series, candle volumes and a spread (nullopt: unknown).
    static exec::MarketCondition compute(const QList<double> &prices,
                                         const QList<double> &volumes,
                                         std::optional<double> spreadBps,
                                         const MarketConditionSettings &settings);

private:
    struct SymbolState
    {
        std::deque<std::pair<qint64, double>> samples; // time, price
        QList<double> closes;
        QList<double> volumes;
        std::optional<double> spreadBps;
    };
    std::optional<exec::MarketCondition> conditionLocked(const QString &symbol) const;

    const MarketConditionSettings m_settings;
    mutable std::mutex m_mutex;
    QHash<QString, QString> m_agentSymbols;
    QHash<QString, SymbolState> m_symbols;
};

} // namespace opsdeck::agents

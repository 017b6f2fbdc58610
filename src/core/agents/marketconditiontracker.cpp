#include "core/agents/marketconditiontracker.h"

#include <algorithm>
#include <cmath>

namespace opsdeck::agents {

MarketConditionTracker::MarketConditionTracker(MarketConditionSettings settings)
    : m_settings(settings)
{}

void MarketConditionTracker::bindAgent(const QString &agentId, const QString &symbol)
{
    std::lock_guard lock(m_mutex);
    m_agentSymbols.insert(agentId, symbol);
}

void MarketConditionTracker::recordPrice(const QString &symbol, qint64 timeMs, double price)
{
    if (!(price > 0))
        return;
    std::lock_guard lock(m_mutex);
    SymbolState &s = m_symbols[symbol];
    // One sample per instant: a cached answer read twice is not a second observation.
    if (!s.samples.empty() && s.samples.back().first >= timeMs) {
        if (s.samples.back().first == timeMs)
            s.samples.back().second = price;
        return;
    }
    s.samples.emplace_back(timeMs, price);
    while (int(s.samples.size()) > std::max(3, m_settings.maxSamples))
        s.samples.pop_front();
}

void MarketConditionTracker::recordBook(const OrderBook &book, qint64 timeMs)
{
    if (!book.isValid())
        return;
    {
        std::lock_guard lock(m_mutex);
        m_symbols[book.symbol].spreadBps = book.spreadBps();
    }
    recordPrice(book.symbol, timeMs, book.mid());
}

void MarketConditionTracker::recordKlines(const QString &symbol, const QList<Kline> &klines)
{
    std::lock_guard lock(m_mutex);
    SymbolState &s = m_symbols[symbol];
    s.closes.clear();
    s.volumes.clear();
    for (const Kline &k : klines) {
        s.closes.append(k.close);
        s.volumes.append(k.volume);
    }
}

exec::MarketCondition MarketConditionTracker::compute(const QList<double> &prices,
                                                      const QList<double> &volumes,
                                                      std::optional<double> spreadBps,
                                                      const MarketConditionSettings &settings)
{
    exec::MarketCondition c; // the old defaults: 0.5, 0.5, 0, 0.5
    if (prices.size() >= 3) {
        QList<double> returns;
        for (qsizetype i = 1; i < prices.size(); ++i) {
            if (prices.at(i - 1) > 0 && prices.at(i) > 0)
                returns.append(std::log(prices.at(i) / prices.at(i - 1)) * 10'000.0);
        }
        if (returns.size() >= 2) {
            double mean = 0;
            for (double r : std::as_const(returns))
                mean += r;
            mean /= double(returns.size());
            double var = 0;
            for (double r : std::as_const(returns))
                var += (r - mean) * (r - mean);
            const double stdBps = std::sqrt(var / double(returns.size() - 1));
            c.volatility = std::clamp(stdBps / (2 * settings.neutralVolatilityBps), 0.0, 1.0);
        }
        const double moveBps = (prices.last() / prices.first() - 1) * 10'000.0;
        c.trend = std::clamp(moveBps / settings.trendScaleBps, -1.0, 1.0);
    }
    if (volumes.size() >= 2) {
        double mean = 0;
        for (double v : volumes)
            mean += v;
        mean /= double(volumes.size());
        if (mean > 0) {
            const double r = volumes.last() / mean;
            c.tradingVolume = r / (1 + r);
        }
    }
    if (spreadBps && *spreadBps >= 0)
        c.liquidity = 1 / (1 + *spreadBps / settings.neutralSpreadBps);
    return c;
}

std::optional<exec::MarketCondition>
MarketConditionTracker::conditionLocked(const QString &symbol) const
{
    const auto it = m_symbols.constFind(symbol);
    if (it == m_symbols.constEnd())
        return std::nullopt;
    QList<double> prices;
    if (it->closes.size() >= 3) {
        prices = it->closes;
    } else {
        for (const auto &[time, price] : it->samples)
            prices.append(price);
    }
    return compute(prices, it->volumes, it->spreadBps, m_settings);
}

std::optional<exec::MarketCondition>
MarketConditionTracker::marketCondition(const QString &agentId) const
{
    std::lock_guard lock(m_mutex);
    const auto it = m_agentSymbols.constFind(agentId);
    if (it == m_agentSymbols.constEnd())
        return std::nullopt;
    return conditionLocked(*it);
}

std::optional<exec::MarketCondition>
MarketConditionTracker::conditionOf(const QString &symbol) const
{
    std::lock_guard lock(m_mutex);
    return conditionLocked(symbol);
}

QJsonObject MarketConditionTracker::toJson() const
{
    std::lock_guard lock(m_mutex);
    QJsonObject symbols;
    for (auto it = m_symbols.constBegin(); it != m_symbols.constEnd(); ++it) {
        const auto c = conditionLocked(it.key());
        if (!c)
            continue;
        symbols.insert(it.key(), QJsonObject{{QStringLiteral("volatility"), c->volatility},
                                             {QStringLiteral("trading_volume"), c->tradingVolume},
                                             {QStringLiteral("trend"), c->trend},
                                             {QStringLiteral("liquidity"), c->liquidity},
                                             {QStringLiteral("samples"), int(it->samples.size())},
                                             {QStringLiteral("candles"), int(it->closes.size())}});
    }
    return {{QStringLiteral("symbols"), symbols}};
}

} // namespace opsdeck::agents

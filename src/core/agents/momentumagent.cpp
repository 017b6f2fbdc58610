#include "core/agents/momentumagent.h"

#include "core/agents/marketconditiontracker.h"
#include "core/agents/paperportfolio.h"

namespace opsdeck::agents {

MomentumAgent::MomentumAgent(AgentConfig config, AgentServices services, MomentumSettings settings)
    : TradingAgent(std::move(config), services)
    , m_settings(std::move(settings))
{}

Result<QJsonObject> MomentumAgent::tradingCycle(const exec::CycleContext &context)
{
    const QString symbol = config().symbol;
    const CallOptions call = callOptions(context);
    MarketDataClient &market = *m_services.market;
    PaperPortfolio &portfolio = *m_services.portfolio;
    const qint64 now = nowMs(context);

    // One more candle than the slow average needs, so the reading has a previous close.
    const auto klines
        = market.closedKlines(symbol, m_settings.interval, m_settings.slowPeriod + 1, now, call);
    if (!klines)
        return tl::unexpected(klines.error());
    if (m_services.conditions)
        m_services.conditions->recordKlines(symbol, *klines);
    const MomentumReading reading = MomentumStrategy::read(*klines, m_settings);
    const double position = portfolio.netQuantity(id(), symbol);
    const double lastClose = klines->isEmpty() ? 0.0 : klines->last().close;

    QJsonObject out{{QStringLiteral("signal"), toString(reading.signal)},
                    {QStringLiteral("fast_ma"), reading.fast},
                    {QStringLiteral("slow_ma"), reading.slow},
                    {QStringLiteral("gap_bps"), reading.gapBps},
                    {QStringLiteral("candles"), int(klines->size())},
                    {QStringLiteral("position"), position}};
    const auto order = MomentumStrategy::decide(reading, position, lastClose, m_settings);
    if (!order) {
        out.insert(QStringLiteral("action"), QStringLiteral("hold"));
        return out;
    }

    const auto rules = market.symbolRules(symbol, call);
    if (!rules)
        return tl::unexpected(rules.error());
    const auto book = market.orderBook(symbol, m_settings.depthLimit, call);
    if (!book)
        return tl::unexpected(book.error());
    portfolio.markToMarket(symbol, book->mid());
    if (m_services.conditions)
        m_services.conditions->recordBook(*book, now);

    const double quantity = rules->roundQuantity(order->quantity);
    if (quantity <= 0 || quantity * book->mid() < rules->minNotional) {
        out.insert(QStringLiteral("action"), QStringLiteral("hold"));
        out.insert(QStringLiteral("reason"),
                   QStringLiteral("order below the symbol's minimum size"));
        return out;
    }
    OrderTestRequest test;
    test.symbol = symbol;
    test.side = order->side;
    test.limit = false;
    test.quantity = quantity;
    test.rules = *rules;
    if (const Status valid = market.testOrder(test, call); !valid)
        return tl::unexpected(valid.error());
    const auto filled = portfolio.executeTaker(id(), symbol, order->side, quantity, *book, now);
    if (!filled)
        return tl::unexpected(filled.error());
    out.insert(QStringLiteral("action"), toString(order->side));
    out.insert(QStringLiteral("reason"), order->reason);
    out.insert(QStringLiteral("quantity"), quantity);
    out.insert(QStringLiteral("filled"), filled->filled);
    out.insert(QStringLiteral("average_price"), filled->averagePrice);
    out.insert(QStringLiteral("slippage_bps"), filled->slippageBps);
    out.insert(QStringLiteral("fee"), filled->fee);
    out.insert(QStringLiteral("position"), portfolio.netQuantity(id(), symbol));
    return out;
}

} // namespace opsdeck::agents

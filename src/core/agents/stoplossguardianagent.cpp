#include "core/agents/stoplossguardianagent.h"

#include "core/agents/marketconditiontracker.h"
#include "core/agents/paperportfolio.h"

#include <QtCore/QJsonArray>
#include <QtCore/QSet>

namespace opsdeck::agents {

StopLossGuardianAgent::StopLossGuardianAgent(AgentConfig config,
                                             AgentServices services,
                                             StopLossSettings settings)
    : TradingAgent(std::move(config), services)
    , m_settings(settings)
{}

QJsonObject StopLossGuardianAgent::extraMetrics() const
{
    return {{QStringLiteral("positions_closed"), double(m_closed.load())},
            {QStringLiteral("position_checks"), double(m_checks.load())}};
}

Result<QJsonObject> StopLossGuardianAgent::tradingCycle(const exec::CycleContext &context)
{
    const CallOptions call = callOptions(context); // CRITICAL
    MarketDataClient &market = *m_services.market;
    PaperPortfolio &portfolio = *m_services.portfolio;
    const qint64 now = nowMs(context);

    const QList<Position> open = portfolio.openPositions();
    QStringList symbols;
    for (const Position &p : open) {
        if (!symbols.contains(p.symbol))
            symbols.append(p.symbol);
    }
    QHash<QString, double> marks;
    if (symbols.size() > 2) {
        const auto all = market.allTickerPrices(call);
        if (!all)
            return tl::unexpected(all.error());
        for (const TickerPrice &t : *all) {
            if (symbols.contains(t.symbol))
                marks.insert(t.symbol, t.price);
        }
    } else {
        for (const QString &symbol : std::as_const(symbols)) {
            const auto t = market.tickerPrice(symbol, call);
            if (!t)
                return tl::unexpected(t.error());
            marks.insert(symbol, t->price);
        }
    }
    for (auto it = marks.constBegin(); it != marks.constEnd(); ++it) {
        portfolio.markToMarket(it.key(), it.value());
        if (m_services.conditions)
            m_services.conditions->recordPrice(it.key(), now, it.value());
    }

    QJsonArray closed;
    QJsonArray failed;
    for (const Position &p : open) {
        m_checks.fetch_add(1);
        const auto trigger = StopLossRule::check(p, marks.value(p.symbol), m_settings);
        if (!trigger)
            continue;
        const auto book = market.orderBook(p.symbol, m_settings.depthLimit, call);
        if (!book) {
            noteError(book.error());
            failed.append(QJsonObject{{QStringLiteral("agent_id"), p.agentId},
                                      {QStringLiteral("symbol"), p.symbol},
                                      {QStringLiteral("error"), book.error().message}});
            continue;
        }
        if (const auto rules = market.symbolRules(p.symbol, call); rules) {
            OrderTestRequest test;
            test.symbol = p.symbol;
            test.side = p.quantity > 0 ? Side::Sell : Side::Buy;
            test.limit = false;
            test.quantity = std::max(rules->roundQuantity(std::abs(p.quantity)), rules->minQty);
            test.rules = *rules;
            if (const Status valid = market.testOrder(test, call); !valid)
                noteError(valid.error());
        } else {
            noteError(rules.error());
        }
        const auto exit = portfolio.closePosition(p.agentId, p.symbol, *book, now);
        if (!exit) {
            if (exit.error().code != u"no_position") // closed by its owner meanwhile
                noteError(exit.error());
            continue;
        }
        m_closed.fetch_add(1);
        closed.append(QJsonObject{{QStringLiteral("agent_id"), p.agentId},
                                  {QStringLiteral("symbol"), p.symbol},
                                  {QStringLiteral("reason"), trigger->reason},
                                  {QStringLiteral("loss"), trigger->loss},
                                  {QStringLiteral("loss_percent"), trigger->lossPercent},
                                  {QStringLiteral("quantity"), exit->filled},
                                  {QStringLiteral("average_price"), exit->averagePrice},
                                  {QStringLiteral("realized_pnl"), exit->realizedPnl}});
    }
    return QJsonObject{{QStringLiteral("checked"), int(open.size())},
                       {QStringLiteral("symbols"), QJsonArray::fromStringList(symbols)},
                       {QStringLiteral("closed"), closed},
                       {QStringLiteral("failed"), failed},
                       {QStringLiteral("positions_closed_total"), double(m_closed.load())},
                       {QStringLiteral("checks_total"), double(m_checks.load())}};
}

} // namespace opsdeck::agents

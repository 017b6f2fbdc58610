#include "core/agents/marketmakeragent.h"

#include "core/agents/marketconditiontracker.h"
#include "core/agents/paperportfolio.h"

#include <QtCore/QJsonArray>

namespace opsdeck::agents {

MarketMakerAgent::MarketMakerAgent(AgentConfig config,
                                   AgentServices services,
                                   MarketMakerSettings settings)
    : TradingAgent(std::move(config), services)
    , m_settings(settings)
{}

void MarketMakerAgent::onStop()
{
    if (m_services.portfolio)
        m_services.portfolio->cancelQuotes(id(), config().symbol);
}

Result<QJsonObject> MarketMakerAgent::tradingCycle(const exec::CycleContext &context)
{
    const QString symbol = config().symbol;
    const CallOptions call = callOptions(context);
    MarketDataClient &market = *m_services.market;
    PaperPortfolio &portfolio = *m_services.portfolio;

    const auto rules = market.symbolRules(symbol, call);
    if (!rules)
        return tl::unexpected(rules.error());
    const auto book = market.orderBook(symbol, m_settings.depthLimit, call);
    if (!book)
        return tl::unexpected(book.error());
    const qint64 now = nowMs(context);
    if (m_services.conditions)
        m_services.conditions->recordBook(*book, now);

    // Fills first: trades printed since our quotes were placed.
    QJsonArray fillsJson;
    if (const auto trades = market.recentTrades(symbol, m_settings.tradesLimit, call); trades) {
        for (const Fill &f : portfolio.matchTrades(symbol, *trades))
            fillsJson.append(f.toJson());
    } else {
        noteError(trades.error()); // quoting goes on; fills wait for the next cycle
    }
    portfolio.markToMarket(symbol, book->mid());

    const double inventory = portfolio.netQuantity(id(), symbol);
    const MarketMakerQuotes wanted
        = MarketMakerStrategy::quote(*book, inventory, *rules, m_settings);
    const QList<Quote> resting = portfolio.quotes(id(), symbol);
    const bool requote = MarketMakerStrategy::needsRequote(resting, wanted, m_settings);
    QJsonArray placed;
    QJsonArray rejected;
    if (requote) {
        portfolio.cancelQuotes(id(), symbol);
        for (const auto &intent : {wanted.bid, wanted.ask}) {
            if (!intent)
                continue;
            if (context.token.isCancelled())
                return fail(QStringLiteral("cancelled"),
                            QStringLiteral("The cycle was cancelled."));
            OrderTestRequest order;
            order.symbol = symbol;
            order.side = intent->side;
            order.limit = true;
            order.quantity = intent->quantity;
            order.price = intent->price;
            order.rules = *rules;
            const QJsonObject intentJson{{QStringLiteral("side"), toString(intent->side)},
                                         {QStringLiteral("price"), intent->price},
                                         {QStringLiteral("quantity"), intent->quantity}};
            if (const Status valid = market.testOrder(order, call); !valid) {
                noteError(valid.error());
                QJsonObject r = intentJson;
                r.insert(QStringLiteral("error"), valid.error().message);
                rejected.append(r);
                continue;
            }
            portfolio.placeQuote(id(), symbol, intent->side, intent->price, intent->quantity, now);
            placed.append(intentJson);
        }
    }
    return QJsonObject{{QStringLiteral("quotes"), wanted.toJson()},
                       {QStringLiteral("requoted"), requote},
                       {QStringLiteral("placed"), placed},
                       {QStringLiteral("rejected"), rejected},
                       {QStringLiteral("fills"), fillsJson},
                       {QStringLiteral("position"), portfolio.netQuantity(id(), symbol)}};
}

} // namespace opsdeck::agents

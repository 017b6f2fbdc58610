// The three built-in agents, each running real cycles against recorded market data served on
// loopback (FaultServer) through the cache, the HTTP pool and the paper portfolio: what they
// decide, what they trade, what they count; the guardian at CRITICAL. Time moves by ManualClock.
#include "recordedmarket.h"

#include "core/agents/marketconditiontracker.h"
#include "core/agents/marketmakeragent.h"
#include "core/agents/momentumagent.h"
#include "core/agents/paperportfolio.h"
#include "core/agents/stoplossguardianagent.h"

#include <QtCore/QJsonArray>
#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::agents;
using namespace std::chrono_literals;
using opsdeck::test::RecordedMarket;
using opsdeck::test::SeenRequest;

namespace {

const QString kBtc = QStringLiteral("BTCUSDT");
const QString kEth = QStringLiteral("ETHUSDT");

AgentConfig configOf(const char *id,
                     const char *type,
                     const QString &symbol,
                     TaskPriority priority = TaskPriority::Normal)
{
    AgentConfig c;
    c.id = QLatin1String(id);
    c.type = QLatin1String(type);
    c.symbol = symbol;
    c.priority = priority;
    return c;
}

bool near(double a, double b, double eps = 1e-9)
{
    return qAbs(a - b) <= eps * std::max(1.0, qAbs(b));
}

int countPath(const QList<SeenRequest> &seen, const char *path)
{
    int n = 0;
    for (const SeenRequest &r : seen)
        n += r.path == QLatin1String(path) ? 1 : 0;
    return n;
}

struct Rig
{
    RecordedMarket market;
    std::unique_ptr<MarketDataClient> client = market.makeClient();
    PaperPortfolio portfolio{PortfolioSettings()};
    MarketConditionTracker conditions;
    AgentServices services{client.get(), &portfolio, &conditions};

    Rig()
    {
        (void)portfolio.open();
        market.serveDefaults();
    }

    Result<QJsonObject> cycle(exec::Agent &agent, quint64 n = 1)
    {
        exec::CycleContext ctx;
        ctx.cache = &market.cache;
        ctx.pool = &market.pool;
        ctx.clock = &market.clock;
        ctx.cycleNumber = n;
        ctx.deadline = market.clock.monotonic() + std::chrono::seconds(30);
        return agent.runCycle(ctx);
    }
};

} // namespace

class TestTradingAgents : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void marketMakerQuotesFillsAndCounts()
    {
        Rig rig;
        MarketMakerAgent mm(configOf("mm", "market_maker", kBtc), rig.services,
                            MarketMakerSettings());
        rig.conditions.bindAgent(mm.id(), kBtc);
        QVERIFY(mm.start());

        // Cycle 1: rules, book, trades (nothing rests yet), then both quotes validated and placed.
        const auto first = rig.cycle(mm, 1);
        QVERIFY2(first.has_value(), why(first));
        QCOMPARE(first->value(QStringLiteral("placed")).toArray().size(), 2);
        QVERIFY(first->value(QStringLiteral("fills")).toArray().isEmpty());
        const QList<Quote> quotes = rig.portfolio.quotes(mm.id(), kBtc);
        QCOMPARE(quotes.size(), 2);
        QCOMPARE(quotes.at(0).price, 49975.0);
        QCOMPARE(quotes.at(1).price, 50025.0);
        QVERIFY(quotes.at(0).side == Side::Buy);
        QCOMPARE(quotes.at(0).placedAtMs, rig.market.clock.wallMsecs());
        QList<SeenRequest> seen = rig.market.seen();
        QCOMPARE(seen.size(), 5);
        QCOMPARE(countPath(seen, "/api/v3/order/test"), 2);
        for (const SeenRequest &r : seen)
            QVERIFY(r.priority == TaskPriority::Normal);
        QCOMPARE(rig.market.server.requests().at(3).body,
                 QByteArray("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00200"
                            "&price=49975.00"));

        // Cycle 2, 10 s later: everything from the cache; the recorded trades printed after the
        // quotes cross both (bid: 1004 + 1005, ask: 1006): one winning round trip.
        rig.market.clock.advance(10s);
        rig.market.clearSeen();
        const auto second = rig.cycle(mm, 2);
        QVERIFY2(second.has_value(), why(second));
        QCOMPARE(second->value(QStringLiteral("fills")).toArray().size(), 3);
        QVERIFY(second->value(QStringLiteral("requoted")).toBool()); // both sides filled
        seen = rig.market.seen();
        QCOMPARE(countPath(seen, "/api/v3/depth") + countPath(seen, "/api/v3/trades")
                     + countPath(seen, "/api/v3/exchangeInfo"),
                 0);
        QCOMPARE(countPath(seen, "/api/v3/order/test"), 2);

        const QJsonObject m = mm.metricsJson();
        QCOMPARE(m.value(QStringLiteral("positions_opened")).toInt(), 1);
        QCOMPARE(m.value(QStringLiteral("win_rate")).toDouble(), 1.0);
        const double fees = 0.0002 * (49975.0 + 50025.0) * 0.002;
        QVERIFY(near(m.value(QStringLiteral("total_profit")).toDouble(), 0.1 - fees));
        QCOMPARE(m.value(QStringLiteral("api_calls")).toInt(), 7); // 3 GETs + 4 validations
        QCOMPARE(m.value(QStringLiteral("cache_hits")).toInt(), 3);
        QCOMPARE(m.value(QStringLiteral("errors")).toInt(), 0);
        QCOMPARE(m.value(QStringLiteral("cycles_completed")).toInt(), 2);
        QCOMPARE(m.value(QStringLiteral("cycles_failed")).toInt(), 0);
        QVERIFY(m.value(QStringLiteral("last_cycle_time")).isString());
        QCOMPARE(qint64(m.value(QStringLiteral("last_cycle_time_ms")).toDouble()),
                 rig.market.clock.wallMsecs());

        // Cycle 3, same book: the new quotes rest where they are (no requote, no validation).
        rig.market.clock.advance(1s);
        rig.market.clearSeen();
        const auto third = rig.cycle(mm, 3);
        QVERIFY(third.has_value());
        QVERIFY(!third->value(QStringLiteral("requoted")).toBool());
        QCOMPARE(countPath(rig.market.seen(), "/api/v3/order/test"), 0);

        // The book's mid feeds the market condition: liquidity from the 0.2 bps spread.
        const auto condition = rig.conditions.marketCondition(mm.id());
        QVERIFY(condition.has_value());
        QVERIFY(condition->liquidity > 0.9);

        const QJsonObject json = mm.toJson();
        QCOMPARE(json.value(QStringLiteral("type")).toString(), QStringLiteral("market_maker"));
        QCOMPARE(json.value(QStringLiteral("status")).toString(), QStringLiteral("RUNNING"));
        QVERIFY(json.value(QStringLiteral("settings"))
                    .toObject()
                    .contains(QStringLiteral("spread_bps")));
        mm.stop();
        QVERIFY(rig.portfolio.quotes(mm.id()).isEmpty()); // withdrawn on stop
    }

    void marketMakerRefusedQuoteIsCounted()
    {
        Rig rig;
        rig.market.serveBytes("/api/v3/order/test",
                              R"({"code":-1013,"msg":"Filter failure: PRICE_FILTER"})", 400);
        MarketMakerAgent mm(configOf("mm", "market_maker", kBtc), rig.services,
                            MarketMakerSettings());
        QVERIFY(mm.start());
        const auto r = rig.cycle(mm);
        QVERIFY(r.has_value()); // the cycle goes on
        QCOMPARE(r->value(QStringLiteral("rejected")).toArray().size(), 2);
        QVERIFY(rig.portfolio.quotes().isEmpty());
        QCOMPARE(mm.errorCount(), 2u);
        QCOMPARE(mm.metricsJson().value(QStringLiteral("errors")).toInt(), 2);
    }

    void marketMakerFailsCleanlyWithoutABook()
    {
        Rig rig;
        rig.market.serveBytes("/api/v3/depth",
                              R"({"code":-1003,"msg":"Too much request weight used."})", 418);
        MarketMakerAgent mm(configOf("mm", "market_maker", kBtc), rig.services,
                            MarketMakerSettings());
        QVERIFY(mm.start());
        const auto r = rig.cycle(mm);
        QVERIFY(!r);
        QCOMPARE(r.error().code, QStringLiteral("market_http_error"));
        const QJsonObject m = mm.metricsJson();
        QCOMPARE(m.value(QStringLiteral("cycles_failed")).toInt(), 1);
        QCOMPARE(m.value(QStringLiteral("errors")).toInt(), 1);
        QCOMPARE(m.value(QStringLiteral("request_errors")).toInt(), 1);
    }

    void momentumBuysOnTheBullishCrossAndSellsOnTheBearish()
    {
        Rig rig;
        rig.market.serve("/api/v3/depth", "depth_ethusdt.json");
        MomentumAgent mom(configOf("mom", "momentum", kEth), rig.services, MomentumSettings());
        rig.conditions.bindAgent(mom.id(), kEth);
        QVERIFY(mom.start());

        const auto buy = rig.cycle(mom, 1);
        QVERIFY2(buy.has_value(), why(buy));
        QCOMPARE(buy->value(QStringLiteral("signal")).toString(), QStringLiteral("bullish"));
        QCOMPARE(buy->value(QStringLiteral("action")).toString(), QStringLiteral("BUY"));
        // 200 USDT at the last close 3030 = 0.0660066 → lot step 0.0001 → 0.066 ETH, at the ask.
        QVERIFY(near(buy->value(QStringLiteral("quantity")).toDouble(), 0.066));
        QVERIFY(near(buy->value(QStringLiteral("average_price")).toDouble(), 3030.05));
        QVERIFY(near(rig.portfolio.netQuantity(mom.id(), kEth), 0.066));
        QCOMPARE(countPath(rig.market.seen(), "/api/v3/order/test"), 1);
        QCOMPARE(rig.market.server.requests().last().body,
                 QByteArray("symbol=ETHUSDT&side=BUY&type=MARKET&quantity=0.0660"));
        QVERIFY(rig.conditions.marketCondition(mom.id())->trend > 0.99);

        // Same candle window, still bullish and long: hold, and no request at all.
        rig.market.clock.advance(10s);
        rig.market.clearSeen();
        const auto hold = rig.cycle(mom, 2);
        QVERIFY(hold.has_value());
        QCOMPARE(hold->value(QStringLiteral("action")).toString(), QStringLiteral("hold"));
        QVERIFY(rig.market.seen().isEmpty());

        // The next minute's candles turn bearish: sell the long at the bid.
        rig.market.serve("/api/v3/klines", "klines_ethusdt_bearish.json");
        rig.market.clock.advance(60s);
        const auto sell = rig.cycle(mom, 3);
        QVERIFY2(sell.has_value(), why(sell));
        QCOMPARE(sell->value(QStringLiteral("action")).toString(), QStringLiteral("SELL"));
        QVERIFY(near(sell->value(QStringLiteral("average_price")).toDouble(), 3029.95));
        QVERIFY(near(rig.portfolio.netQuantity(mom.id(), kEth), 0));

        const QJsonObject m = mom.metricsJson();
        QCOMPARE(m.value(QStringLiteral("positions_opened")).toInt(), 1);
        QCOMPARE(m.value(QStringLiteral("round_trips")).toInt(), 1);
        QCOMPARE(m.value(QStringLiteral("win_rate")).toDouble(), 0.0); // spread + fees: a loss
        const double pnl = (3029.95 - 3030.05) * 0.066 - 0.001 * (3030.05 + 3029.95) * 0.066;
        QVERIFY(near(m.value(QStringLiteral("total_profit")).toDouble(), pnl));
        QCOMPARE(m.value(QStringLiteral("cycles_completed")).toInt(), 3);
    }

    void momentumHoldsOnAFlatMarket()
    {
        Rig rig;
        rig.market.serve("/api/v3/klines", "klines_ethusdt_flat.json");
        MomentumAgent mom(configOf("mom", "momentum", kEth), rig.services, MomentumSettings());
        QVERIFY(mom.start());
        const auto r = rig.cycle(mom);
        QVERIFY(r.has_value());
        QCOMPARE(r->value(QStringLiteral("signal")).toString(), QStringLiteral("neutral"));
        QCOMPARE(r->value(QStringLiteral("action")).toString(), QStringLiteral("hold"));
        const QList<SeenRequest> seen = rig.market.seen();
        QCOMPARE(seen.size(), 1);
        QCOMPARE(seen.first().path, QStringLiteral("/api/v3/klines"));
        QCOMPARE(seen.first().query.queryItemValue(QStringLiteral("limit")), QStringLiteral("21"));
        QVERIFY(rig.portfolio.positions().isEmpty());
    }

    void guardianClosesALosingPositionAtCritical()
    {
        Rig rig;
        // Another agent holds 0.01 BTC bought at the recorded ask (50000.50).
        QVERIFY(
            rig.portfolio.executeTaker(QStringLiteral("mm"), kBtc, Side::Buy, 0.01,
                                       *parseOrderBook(kBtc, test::fixture("depth_btcusdt.json")),
                                       rig.market.clock.wallMsecs()));
        StopLossGuardianAgent guard(configOf("guard", "stop_loss_guardian", kBtc), rig.services,
                                    StopLossSettings());
        QVERIFY(guard.cyclePriority() == TaskPriority::Critical);
        QVERIFY(guard.start());

        // −1 % (ticker 49500): marked, not closed.
        const auto calm = rig.cycle(guard, 1);
        QVERIFY2(calm.has_value(), why(calm));
        QCOMPARE(calm->value(QStringLiteral("checked")).toInt(), 1);
        QVERIFY(calm->value(QStringLiteral("closed")).toArray().isEmpty());
        QVERIFY(near(rig.portfolio.position(QStringLiteral("mm"), kBtc)->markPrice, 49500));
        QVERIFY(rig.portfolio.agentStats(QStringLiteral("mm")).unrealizedPnl < 0);

        // −2.2 % (ticker 48900, the book fell too): closed at the fallen bid.
        rig.market.serve("/api/v3/ticker/price", "ticker_btcusdt_drop.json");
        rig.market.serve("/api/v3/depth", "depth_btcusdt_drop.json");
        rig.market.clock.advance(3s); // past the 2 s ticker TTL
        rig.market.clearSeen();
        const auto fired = rig.cycle(guard, 2);
        QVERIFY2(fired.has_value(), why(fired));
        const QJsonArray closed = fired->value(QStringLiteral("closed")).toArray();
        QCOMPARE(closed.size(), 1);
        const QJsonObject c = closed.first().toObject();
        QCOMPARE(c.value(QStringLiteral("agent_id")).toString(), QStringLiteral("mm"));
        QCOMPARE(c.value(QStringLiteral("reason")).toString(), QStringLiteral("max_loss_percent"));
        QVERIFY(near(c.value(QStringLiteral("average_price")).toDouble(), 48899.5));
        QVERIFY(near(rig.portfolio.netQuantity(QStringLiteral("mm"), kBtc), 0));
        const AgentTradingStats owner = rig.portfolio.agentStats(QStringLiteral("mm"));
        QCOMPARE(owner.roundTrips, 1u);
        QCOMPARE(owner.wins, 0u);
        QVERIFY(owner.realizedPnl < -10);

        // Every request of the guardian ran at CRITICAL: ticker, book, rules, validation.
        const QList<SeenRequest> seen = rig.market.seen();
        QVERIFY(!seen.isEmpty());
        for (const SeenRequest &r : seen)
            QVERIFY2(r.priority == TaskPriority::Critical, qPrintable(r.path));
        QCOMPARE(countPath(seen, "/api/v3/ticker/price"), 1);
        QCOMPARE(countPath(seen, "/api/v3/order/test"), 1);
        QCOMPARE(rig.market.server.requests().last().body,
                 QByteArray("symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.01000"));

        const QJsonObject m = guard.metricsJson();
        QCOMPARE(m.value(QStringLiteral("positions_closed")).toInt(), 1);
        QCOMPARE(m.value(QStringLiteral("positions_opened")).toInt(), 0);
        QCOMPARE(m.value(QStringLiteral("errors")).toInt(), 0);
        QCOMPARE(guard.toJson().value(QStringLiteral("priority")).toString(),
                 QStringLiteral("CRITICAL"));

        // Nothing open: a check makes no request.
        rig.market.clearSeen();
        const auto idle = rig.cycle(guard, 3);
        QVERIFY(idle.has_value());
        QCOMPARE(idle->value(QStringLiteral("checked")).toInt(), 0);
        QVERIFY(rig.market.seen().isEmpty());
    }

    void guardianUsesOneTickerCallForManySymbols()
    {
        Rig rig;
        rig.market.serve("/api/v3/ticker/price", "ticker_all.json");
        OrderBook flat;
        flat.bids = {BookLevel{100, 1000}};
        flat.asks = {BookLevel{100, 1000}};
        for (const char *s : {"BTCUSDT", "ETHUSDT", "SOLUSDT"}) {
            flat.symbol = QLatin1String(s);
            QVERIFY(rig.portfolio.executeTaker(QStringLiteral("mom"), QLatin1String(s), Side::Buy,
                                               1, flat, 1));
        }
        StopLossSettings s;
        s.maxLossPercent = 50; // longs from 100, all marked higher: this is about the marks
        StopLossGuardianAgent guard(configOf("guard", "stop_loss_guardian", kBtc), rig.services, s);
        QVERIFY(guard.start());
        const auto r = rig.cycle(guard);
        QVERIFY2(r.has_value(), why(r));
        const QList<SeenRequest> seen = rig.market.seen();
        QCOMPARE(seen.size(), 1);
        QCOMPARE(seen.first().weight, 4.0); // all symbols
        QVERIFY(!seen.first().query.hasQueryItem(QStringLiteral("symbol")));
        QVERIFY(near(
            rig.portfolio.position(QStringLiteral("mom"), QStringLiteral("SOLUSDT"))->markPrice,
            150));
    }

    void notRunningCyclesAreRejected()
    {
        Rig rig;
        MomentumAgent mom(configOf("mom", "momentum", kEth), rig.services, MomentumSettings());
        const auto r = rig.cycle(mom);
        QVERIFY(!r);
        QCOMPARE(r.error().code, QStringLiteral("agent_not_running"));
        QVERIFY(rig.market.seen().isEmpty());
    }

    void missingServicesAreAnError()
    {
        Rig rig;
        MomentumAgent mom(configOf("mom", "momentum", kEth), AgentServices(), MomentumSettings());
        QVERIFY(mom.start());
        const auto r = rig.cycle(mom);
        QVERIFY(!r);
        QCOMPARE(r.error().code, QStringLiteral("agent_not_configured"));
        QCOMPARE(mom.errorCount(), 1u);
    }
};

QTEST_GUILESS_MAIN(TestTradingAgents)
#include "tst_tradingagents.moc"

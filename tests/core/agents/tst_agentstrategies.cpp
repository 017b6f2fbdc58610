// The agents' decisions as pure functions on recorded market data: the market maker's quotes on
// the recorded book, the momentum reading on recorded klines, the stop-loss rule on prices.
#include "agenttestdata.h"

#include "core/agents/marketmakerstrategy.h"
#include "core/agents/momentumstrategy.h"
#include "core/agents/stoplossrule.h"

#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::agents;
using opsdeck::test::fixture;

namespace {

bool near(double a, double b, double eps = 1e-9)
{
    return qAbs(a - b) <= eps * std::max(1.0, qAbs(b));
}

OrderBook btcBook()
{
    auto b = parseOrderBook(QStringLiteral("BTCUSDT"), fixture("depth_btcusdt.json"));
    return b ? *b : OrderBook();
}

SymbolRules rulesOf(const char *symbol)
{
    auto r = parseSymbolRules(QLatin1String(symbol), fixture("exchangeinfo.json"));
    return r ? *r : SymbolRules();
}

QList<Kline> klinesOf(const char *name)
{
    auto k = parseKlines(fixture(name));
    return k ? *k : QList<Kline>();
}

Position position(double quantity, double average)
{
    Position p;
    p.agentId = QStringLiteral("a");
    p.symbol = QStringLiteral("BTCUSDT");
    p.quantity = quantity;
    p.averagePrice = average;
    return p;
}

} // namespace

class TestAgentStrategies : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // --- market maker
    // -----------------------------------------------------------------------------

    void marketMakerQuotes_data()
    {
        QTest::addColumn<double>("inventory"); // BTC held
        QTest::addColumn<double>("bid");       // 0: no bid
        QTest::addColumn<double>("ask");       // 0: no ask
        // mid 50000, spread 10 bps (±5), skew 5 bps at the 1000 USDT inventory limit.
        QTest::newRow("flat") << 0.0 << 49975.00 << 50025.00;
        // 0.01 BTC = 500 USDT: inventory 0.5, reservation 49987.5.
        QTest::newRow("half long skews down") << 0.01 << 49962.50 << 50012.50;
        QTest::newRow("half short skews up") << -0.01 << 49987.49 << 50037.51;
        QTest::newRow("at the long limit: no bid") << 0.02 << 0.0 << 49999.99;
        QTest::newRow("at the short limit: no ask") << -0.03 << 49999.98 << 0.0;
    }

    void marketMakerQuotes()
    {
        QFETCH(double, inventory);
        QFETCH(double, bid);
        QFETCH(double, ask);
        const MarketMakerQuotes q = MarketMakerStrategy::quote(
            btcBook(), inventory, rulesOf("BTCUSDT"), MarketMakerSettings());
        QCOMPARE(q.mid, 50000.0);
        QCOMPARE(q.bid.has_value(), bid > 0);
        QCOMPARE(q.ask.has_value(), ask > 0);
        if (q.bid) {
            QVERIFY2(near(q.bid->price, bid), qPrintable(QString::number(q.bid->price, 'f', 4)));
            QVERIFY(near(q.bid->quantity, 0.002)); // 100 USDT at 50000, lot step 0.00001
            QVERIFY(q.bid->side == Side::Buy);
        }
        if (q.ask) {
            QVERIFY2(near(q.ask->price, ask), qPrintable(QString::number(q.ask->price, 'f', 4)));
            QVERIFY(q.ask->side == Side::Sell);
        }
    }

    void marketMakerStaysPassive()
    {
        // A spread narrower than the book's keeps both quotes inside it, never crossing.
        MarketMakerSettings s;
        s.spreadBps = 0.1;
        const OrderBook book = btcBook();
        const MarketMakerQuotes q = MarketMakerStrategy::quote(book, 0, rulesOf("BTCUSDT"), s);
        QVERIFY(q.bid && q.ask);
        QVERIFY(q.bid->price < book.bestAsk());
        QVERIFY(q.ask->price > book.bestBid());
        QVERIFY(q.bid->price < q.ask->price);
    }

    void marketMakerRespectsMinimumSize()
    {
        MarketMakerSettings s;
        s.quoteNotional = 1; // 0.00002 BTC = 1 USDT < the 5 USDT minimum notional
        const MarketMakerQuotes q = MarketMakerStrategy::quote(btcBook(), 0, rulesOf("BTCUSDT"), s);
        QVERIFY(!q.bid && !q.ask);
        const MarketMakerQuotes none
            = MarketMakerStrategy::quote(OrderBook(), 0, rulesOf("BTCUSDT"), MarketMakerSettings());
        QVERIFY(!none.bid && !none.ask);
        QCOMPARE(none.mid, 0.0);
    }

    void marketMakerRequote()
    {
        const MarketMakerSettings s;
        const MarketMakerQuotes wanted
            = MarketMakerStrategy::quote(btcBook(), 0, rulesOf("BTCUSDT"), s);
        auto quote = [](Side side, double price) {
            Quote q;
            q.side = side;
            q.price = price;
            q.quantity = 0.002;
            return q;
        };
        QVERIFY(MarketMakerStrategy::needsRequote({}, wanted, s));
        QVERIFY(!MarketMakerStrategy::needsRequote(
            {quote(Side::Buy, 49975), quote(Side::Sell, 50025)}, wanted, s));
        // 1 bp away: within requote_bps (2).
        QVERIFY(!MarketMakerStrategy::needsRequote(
            {quote(Side::Buy, 49970), quote(Side::Sell, 50025)}, wanted, s));
        // 3 bps away.
        QVERIFY(MarketMakerStrategy::needsRequote(
            {quote(Side::Buy, 49960), quote(Side::Sell, 50025)}, wanted, s));
        // One side filled (gone).
        QVERIFY(MarketMakerStrategy::needsRequote({quote(Side::Sell, 50025)}, wanted, s));
        // A partly filled quote keeps resting.
        Quote partial = quote(Side::Buy, 49975);
        partial.quantity = 0.0005;
        QVERIFY(!MarketMakerStrategy::needsRequote({partial, quote(Side::Sell, 50025)}, wanted, s));
    }

    // --- momentum --------------------------------------------------------------------------------

    void momentumReadings_data()
    {
        QTest::addColumn<QString>("fixtureName");
        QTest::addColumn<int>("signal");
        QTest::addColumn<double>("gapBps");
        // bullish: fast = mean(3006..3030 by 6) = 3018, slow = (14·3000 + 18092) / 20 = 3004.6.
        QTest::newRow("bullish") << QStringLiteral("klines_ethusdt_bullish.json")
                                 << int(MomentumSignal::Bullish) << (3018.0 / 3004.6 - 1) * 1e4;
        QTest::newRow("bearish") << QStringLiteral("klines_ethusdt_bearish.json")
                                 << int(MomentumSignal::Bearish) << (2982.0 / 2995.4 - 1) * 1e4;
        QTest::newRow("flat") << QStringLiteral("klines_ethusdt_flat.json")
                              << int(MomentumSignal::Neutral) << -1.0; // |gap| < 1 bp
    }

    void momentumReadings()
    {
        QFETCH(QString, fixtureName);
        QFETCH(int, signal);
        QFETCH(double, gapBps);
        const QList<Kline> klines = klinesOf(fixtureName.toUtf8().constData());
        QCOMPARE(klines.size(), 21);
        const MomentumReading r = MomentumStrategy::read(klines, MomentumSettings());
        QVERIFY(r.enough);
        QVERIFY2(int(r.signal) == signal, qPrintable(toString(r.signal)));
        if (gapBps >= 0 || signal != int(MomentumSignal::Neutral))
            QVERIFY2(near(r.gapBps, gapBps, 1e-6), qPrintable(QString::number(r.gapBps)));
        else
            QVERIFY(qAbs(r.gapBps) < 1.0);
    }

    void momentumNeedsEnoughCandles()
    {
        QList<Kline> klines = klinesOf("klines_ethusdt_bullish.json").mid(0, 10);
        const MomentumReading r = MomentumStrategy::read(klines, MomentumSettings());
        QVERIFY(!r.enough);
        QVERIFY(!MomentumStrategy::decide(r, 0, 3000, MomentumSettings()));
    }

    void momentumDecisions_data()
    {
        QTest::addColumn<QString>("fixtureName");
        QTest::addColumn<double>("position");
        QTest::addColumn<bool>("allowShort");
        QTest::addColumn<QString>("side"); // empty: hold
        QTest::addColumn<double>("quantity");
        const QString bull = QStringLiteral("klines_ethusdt_bullish.json");
        const QString bear = QStringLiteral("klines_ethusdt_bearish.json");
        const QString flat = QStringLiteral("klines_ethusdt_flat.json");
        // trade_notional 200 at the last close (3030 bullish, 2970 bearish).
        QTest::newRow("bullish, flat: buy")
            << bull << 0.0 << false << QStringLiteral("BUY") << 200 / 3030.0;
        QTest::newRow("bullish, long: hold") << bull << 0.066 << false << QString() << 0.0;
        QTest::newRow("bullish, short: cover and buy")
            << bull << -0.05 << true << QStringLiteral("BUY") << 0.05 + 200 / 3030.0;
        QTest::newRow("bearish, long: sell it")
            << bear << 0.066 << false << QStringLiteral("SELL") << 0.066;
        QTest::newRow("bearish, flat, long-only: hold") << bear << 0.0 << false << QString() << 0.0;
        QTest::newRow("bearish, flat, shorts allowed")
            << bear << 0.0 << true << QStringLiteral("SELL") << 200 / 2970.0;
        QTest::newRow("bearish, long, shorts allowed")
            << bear << 0.066 << true << QStringLiteral("SELL") << 0.066 + 200 / 2970.0;
        QTest::newRow("bearish, short: hold") << bear << -0.05 << true << QString() << 0.0;
        QTest::newRow("neutral, long: hold") << flat << 0.066 << false << QString() << 0.0;
    }

    void momentumDecisions()
    {
        QFETCH(QString, fixtureName);
        QFETCH(double, position);
        QFETCH(bool, allowShort);
        QFETCH(QString, side);
        QFETCH(double, quantity);
        MomentumSettings s;
        s.allowShort = allowShort;
        const QList<Kline> klines = klinesOf(fixtureName.toUtf8().constData());
        const MomentumReading r = MomentumStrategy::read(klines, s);
        const auto order = MomentumStrategy::decide(r, position, klines.last().close, s);
        QCOMPARE(order.has_value(), !side.isEmpty());
        if (order) {
            QCOMPARE(toString(order->side), side);
            QVERIFY2(near(order->quantity, quantity), qPrintable(QString::number(order->quantity)));
            QVERIFY(!order->reason.isEmpty());
        }
    }

    // --- stop loss
    // ---------------------------------------------------------------------------------

    void stopLoss_data()
    {
        QTest::addColumn<double>("quantity");
        QTest::addColumn<double>("average");
        QTest::addColumn<double>("mark");
        QTest::addColumn<double>("maxPercent");
        QTest::addColumn<double>("maxAbsolute");
        QTest::addColumn<QString>("reason"); // empty: no trigger
        // The recorded tickers: 48900 (−2.2 % from 50000) and 49500 (−1 %).
        QTest::newRow("long, −2.2 %")
            << 0.01 << 50000.0 << 48900.0 << 2.0 << 0.0 << QStringLiteral("max_loss_percent");
        QTest::newRow("long, −1 %") << 0.01 << 50000.0 << 49500.0 << 2.0 << 0.0 << QString();
        QTest::newRow("long, exactly −2 %")
            << 0.01 << 50000.0 << 49000.0 << 2.0 << 0.0 << QStringLiteral("max_loss_percent");
        QTest::newRow("long, in profit") << 0.01 << 50000.0 << 52000.0 << 2.0 << 0.0 << QString();
        QTest::newRow("short, price up 2.2 %")
            << -0.01 << 48900.0 << 49975.8 << 2.0 << 0.0 << QStringLiteral("max_loss_percent");
        QTest::newRow("short, price down")
            << -0.01 << 50000.0 << 48900.0 << 2.0 << 0.0 << QString();
        QTest::newRow("absolute 5 USDT, lost 5")
            << 0.01 << 50000.0 << 49500.0 << 2.0 << 5.0 << QStringLiteral("max_loss_absolute");
        QTest::newRow("absolute only, lost 4")
            << 0.01 << 50000.0 << 49600.0 << 0.0 << 5.0 << QString();
        QTest::newRow("flat position") << 0.0 << 50000.0 << 40000.0 << 2.0 << 0.0 << QString();
        QTest::newRow("no mark") << 0.01 << 50000.0 << 0.0 << 2.0 << 0.0 << QString();
    }

    void stopLoss()
    {
        QFETCH(double, quantity);
        QFETCH(double, average);
        QFETCH(double, mark);
        QFETCH(double, maxPercent);
        QFETCH(double, maxAbsolute);
        QFETCH(QString, reason);
        StopLossSettings s;
        s.maxLossPercent = maxPercent;
        s.maxLossAbsolute = maxAbsolute;
        const auto t = StopLossRule::check(position(quantity, average), mark, s);
        QCOMPARE(t.has_value(), !reason.isEmpty());
        if (t) {
            QCOMPARE(t->reason, reason);
            QVERIFY(near(t->loss, -quantity * (mark - average)));
            QVERIFY(near(t->lossPercent, t->loss / (qAbs(quantity) * average) * 100));
        }
    }
};

QTEST_GUILESS_MAIN(TestAgentStrategies)
#include "tst_agentstrategies.moc"

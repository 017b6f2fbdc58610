// The adaptive scheduler's MarketConditionSource over the agents' market data: the pinned
// formulas, on recorded klines and books, and the per-agent binding.
#include "agenttestdata.h"

#include "core/agents/marketconditiontracker.h"
#include "core/exec/adaptivescheduler.h"

#include <QtTest/QTest>

#include <cmath>

using namespace opsdeck;
using namespace opsdeck::agents;
using opsdeck::test::fixture;

namespace {

QList<Kline> klinesOf(const char *name)
{
    auto k = parseKlines(fixture(name));
    return k ? *k : QList<Kline>();
}

} // namespace

class TestMarketConditionTracker : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void noDataGivesNothing()
    {
        MarketConditionTracker tracker;
        QVERIFY(!tracker.marketCondition(QStringLiteral("mm")));
        tracker.bindAgent(QStringLiteral("mm"), QStringLiteral("BTCUSDT"));
        QVERIFY(!tracker.marketCondition(QStringLiteral("mm")));
        QVERIFY(!tracker.conditionOf(QStringLiteral("BTCUSDT")));
    }

    void defaultsWhereUnknown()
    {
        const exec::MarketCondition c = MarketConditionTracker::compute({}, {}, std::nullopt, {});
        QCOMPARE(c.volatility, 0.5);
        QCOMPARE(c.tradingVolume, 0.5);
        QCOMPARE(c.trend, 0.0);
        QCOMPARE(c.liquidity, 0.5);
    }

    void neutralValues()
    {
        MarketConditionSettings s;
        // Spread at the neutral 5 bps → 0.5; last volume at the mean → 0.5.
        const exec::MarketCondition c = MarketConditionTracker::compute({}, {2, 1, 3, 2}, 5.0, s);
        QCOMPARE(c.liquidity, 0.5);
        QCOMPARE(c.tradingVolume, 0.5);
        // Returns alternating ±10 bps: stddev ≈ 10.x bps (sample), near the neutral 0.5.
        QList<double> prices{100};
        for (int i = 0; i < 40; ++i)
            prices.append(prices.last() * (i % 2 ? 1.001 : 1 / 1.001));
        const exec::MarketCondition v
            = MarketConditionTracker::compute(prices, {}, std::nullopt, s);
        QVERIFY2(qAbs(v.volatility - 0.5) < 0.02, qPrintable(QString::number(v.volatility)));
        QVERIFY(qAbs(v.trend) < 0.01);
    }

    void recordedBullishKlines()
    {
        MarketConditionTracker tracker;
        tracker.bindAgent(QStringLiteral("mom"), QStringLiteral("ETHUSDT"));
        tracker.recordKlines(QStringLiteral("ETHUSDT"), klinesOf("klines_ethusdt_bullish.json"));
        const auto c = tracker.marketCondition(QStringLiteral("mom"));
        QVERIFY(c.has_value());
        // +1 % over the window: trend = 100 bps / 100 bps = 1.
        QVERIFY2(qAbs(c->trend - 1.0) < 1e-9, qPrintable(QString::number(c->trend)));
        // The volumes rise 10..30: the last (30) over the mean (20) → 0.6.
        QVERIFY(qAbs(c->tradingVolume - 0.6) < 1e-9);
        QVERIFY(c->volatility > 0 && c->volatility < 1);
        QCOMPARE(c->liquidity, 0.5); // no book yet

        tracker.recordKlines(QStringLiteral("ETHUSDT"), klinesOf("klines_ethusdt_bearish.json"));
        QVERIFY(tracker.marketCondition(QStringLiteral("mom"))->trend < -0.99);
        tracker.recordKlines(QStringLiteral("ETHUSDT"), klinesOf("klines_ethusdt_flat.json"));
        const auto flat = tracker.marketCondition(QStringLiteral("mom"));
        QVERIFY(qAbs(flat->trend) < 0.01);
        // ±0.5 on 3000 alternating: returns ≈ ±3.3 bps, stddev ≈ 3.4 bps → ≈ 0.17.
        QVERIFY(flat->volatility < 0.25);
    }

    void recordedBookGivesLiquidityAndPrice()
    {
        MarketConditionTracker tracker;
        tracker.bindAgent(QStringLiteral("mm"), QStringLiteral("BTCUSDT"));
        auto book = parseOrderBook(QStringLiteral("BTCUSDT"), fixture("depth_btcusdt.json"));
        QVERIFY(book.has_value());
        tracker.recordBook(*book, 1000);
        const auto c = tracker.marketCondition(QStringLiteral("mm"));
        QVERIFY(c.has_value());
        // Spread 0.2 bps: 1 / (1 + 0.2 / 5).
        QVERIFY(qAbs(c->liquidity - 1 / 1.04) < 1e-9);
        QCOMPARE(c->volatility, 0.5); // one sample is not a series
    }

    void priceSamplesDedupeAndBound()
    {
        MarketConditionSettings s;
        s.maxSamples = 5;
        MarketConditionTracker tracker(s);
        for (int i = 0; i < 20; ++i)
            tracker.recordPrice(QStringLiteral("X"), i, 100 + i);
        tracker.recordPrice(QStringLiteral("X"), 19, 500); // same instant: replaces
        tracker.recordPrice(QStringLiteral("X"), 3, 1);    // older: ignored
        const QJsonObject json = tracker.toJson();
        const QJsonObject x = json.value(QStringLiteral("symbols"))
                                  .toObject()
                                  .value(QStringLiteral("X"))
                                  .toObject();
        QCOMPARE(x.value(QStringLiteral("samples")).toInt(), 5);
        // 115..118 then 500: strongly up.
        QCOMPARE(tracker.conditionOf(QStringLiteral("X"))->trend, 1.0);
    }

    void feedsTheAdaptiveScheduler()
    {
        MarketConditionTracker tracker;
        tracker.bindAgent(QStringLiteral("mom"), QStringLiteral("ETHUSDT"));
        exec::AdaptiveScheduler scheduler;
        scheduler.setMarketConditionSource(&tracker);
        const double neutral
            = scheduler.nextInterval(QStringLiteral("mom"), QStringLiteral("cycle"), 10);
        // A very active market (high volatility, rising volume) shortens the interval.
        QList<Kline> klines = klinesOf("klines_ethusdt_bullish.json");
        for (qsizetype i = 0; i < klines.size(); ++i) {
            klines[i].close = 3000 * (i % 2 ? 1.01 : 0.99);
            klines[i].volume = i == klines.size() - 1 ? 1000 : 1;
        }
        tracker.recordKlines(QStringLiteral("ETHUSDT"), klines);
        const double active
            = scheduler.nextInterval(QStringLiteral("mom"), QStringLiteral("cycle"), 10);
        QVERIFY2(active < neutral, qPrintable(QStringLiteral("%1 vs %2").arg(active).arg(neutral)));
        scheduler.setMarketConditionSource(nullptr);
    }
};

QTEST_GUILESS_MAIN(TestMarketConditionTracker)
#include "tst_marketconditiontracker.moc"

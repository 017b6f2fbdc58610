// MarketSimulator: prices, book, trades and klines are a pure function of (seed, symbol, time),
// checked on a ManualClock; the price process has the documented statistics.
#include "core/runtime/runtimeconfig.h"
#include "core/support/clock.h"
#include "market/marketsimulator.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace opsdeck;
using namespace opsdeck::market;

namespace {

MarketSimulator::Settings settings(quint64 seed, QStringList symbols = {})
{
    MarketConfig config;
    config.seed = qint64(seed);
    if (!symbols.isEmpty())
        config.symbols = symbols;
    return MarketSimulator::Settings::fromConfig(config);
}

bool sameBook(const OrderBook &a, const OrderBook &b)
{
    if (a.lastUpdateId != b.lastUpdateId || a.bids.size() != b.bids.size()
        || a.asks.size() != b.asks.size())
        return false;
    for (qsizetype i = 0; i < a.bids.size(); ++i) {
        if (a.bids[i].price != b.bids[i].price || a.bids[i].qty != b.bids[i].qty)
            return false;
    }
    for (qsizetype i = 0; i < a.asks.size(); ++i) {
        if (a.asks[i].price != b.asks[i].price || a.asks[i].qty != b.asks[i].qty)
            return false;
    }
    return true;
}

bool sameKline(const Kline &a, const Kline &b)
{
    return a.openTime == b.openTime && a.closeTime == b.closeTime && a.open == b.open
           && a.high == b.high && a.low == b.low && a.close == b.close && a.volume == b.volume
           && a.trades == b.trades && a.takerBuyBaseVolume == b.takerBuyBaseVolume;
}

} // namespace

class TstMarketSimulator : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultSymbolsAndConfig()
    {
        ManualClock clock;
        MarketSimulator sim(settings(42), clock);
        QCOMPARE(sim.symbols().size(), 3);
        QVERIFY(sim.spec(u"BTCUSDT"));
        QVERIFY(sim.spec(u"ETHUSDT"));
        QVERIFY(sim.spec(u"SOLUSDT"));
        QVERIFY(!sim.spec(u"DOGEUSDT"));

        MarketSimulator more(settings(42, {QStringLiteral("BTCUSDT"), QStringLiteral("adausdt"),
                                           QStringLiteral("FOOBARUSDT")}),
                             clock);
        QCOMPARE(more.symbols().size(), 3);
        const SymbolSpec *foo = more.spec(u"FOOBARUSDT");
        QVERIFY(foo);
        QCOMPARE(foo->baseAsset, QStringLiteral("FOOBAR"));
        QCOMPARE(foo->quoteAsset, QStringLiteral("USDT"));
        QVERIFY(foo->initialPrice >= 0.5 && foo->initialPrice <= 2000);
        QVERIFY(foo->tickSize > 0 && foo->tickSize <= foo->initialPrice * 1e-4);
        QVERIFY(more.spec(u"ADAUSDT")); // names are upper-cased
        QCOMPARE(more.priceAt(*more.spec(u"BTCUSDT"), clock.wallMsecs()),
                 sim.priceAt(*sim.spec(u"BTCUSDT"), clock.wallMsecs()));
    }

    void priceAtAnchorIsInitialPrice()
    {
        ManualClock clock;
        MarketSimulator sim(settings(7), clock);
        const SymbolSpec &btc = *sim.spec(u"BTCUSDT");
        QCOMPARE(sim.priceAt(btc, MarketSimulator::kAnchorMs), btc.initialPrice);
        // Constant within a 100 ms bucket, and it moves between buckets.
        QCOMPARE(sim.priceAt(btc, MarketSimulator::kAnchorMs + 12'345'600),
                 sim.priceAt(btc, MarketSimulator::kAnchorMs + 12'345'699));
        QVERIFY(sim.priceAt(btc, MarketSimulator::kAnchorMs + 12'345'600)
                != sim.priceAt(btc, MarketSimulator::kAnchorMs + 12'345'700));
    }

    void sameSeedAndTimeGiveSameData()
    {
        ManualClock clockA;
        ManualClock clockB;
        MarketSimulator a(settings(1234), clockA);
        MarketSimulator b(settings(1234), clockB);
        // b is queried in another order and after other work: nothing depends on history.
        for (const SymbolSpec &spec : b.symbols())
            (void)b.recentTrades(spec, 50, clockB.wallMsecs() - 3'600'000);
        const qint64 t = clockA.wallMsecs();
        for (const SymbolSpec &spec : a.symbols()) {
            const SymbolSpec &other = *b.spec(spec.symbol);
            for (qint64 dt : {qint64(0), qint64(-86'400'000) * 400, qint64(1), qint64(999'999'937)})
                QCOMPARE(a.priceAt(spec, t + dt), b.priceAt(other, t + dt));
            QVERIFY(sameBook(a.orderBook(spec, 500, t), b.orderBook(other, 500, t)));
            const QList<Trade> ta = a.recentTrades(spec, 1000, t);
            const QList<Trade> tb = b.recentTrades(other, 1000, t);
            QCOMPARE(ta.size(), 1000);
            QCOMPARE(tb.size(), 1000);
            for (qsizetype i = 0; i < ta.size(); ++i) {
                QCOMPARE(ta[i].id, tb[i].id);
                QCOMPARE(ta[i].price, tb[i].price);
                QCOMPARE(ta[i].qty, tb[i].qty);
                QCOMPARE(ta[i].timeMs, tb[i].timeMs);
                QCOMPARE(ta[i].isBuyerMaker, tb[i].isBuyerMaker);
            }
            const QList<Kline> ka = a.klines(spec, 60'000, std::nullopt, std::nullopt, 200, t);
            const QList<Kline> kb = b.klines(other, 60'000, std::nullopt, std::nullopt, 200, t);
            QCOMPARE(ka.size(), 200);
            for (qsizetype i = 0; i < ka.size(); ++i)
                QVERIFY(sameKline(ka[i], kb[i]));
        }
    }

    void differentSeedsDiffer()
    {
        ManualClock clock;
        MarketSimulator a(settings(1), clock);
        MarketSimulator b(settings(2), clock);
        const qint64 t = clock.wallMsecs();
        for (const SymbolSpec &spec : a.symbols()) {
            QVERIFY(a.priceAt(spec, t) != b.priceAt(*b.spec(spec.symbol), t));
            QVERIFY(!sameBook(a.orderBook(spec, 20, t), b.orderBook(*b.spec(spec.symbol), 20, t)));
        }
        // Symbols are independent streams too.
        const double btc = a.priceAt(*a.spec(u"BTCUSDT"), t) / a.spec(u"BTCUSDT")->initialPrice;
        const double eth = a.priceAt(*a.spec(u"ETHUSDT"), t) / a.spec(u"ETHUSDT")->initialPrice;
        QVERIFY(btc != eth);
    }

    void returnsHaveTheDocumentedStatistics()
    {
        // One-second log returns over 20,000 s: mean ~0, standard deviation as sigma*sqrt(dt)
        // plus the jumps' share, fat tails from the jumps only.
        ManualClock clock;
        MarketSimulator sim(settings(99), clock);
        const SymbolSpec &btc = *sim.spec(u"BTCUSDT");
        const qint64 start = clock.wallMsecs();
        const int n = 20'000;
        double sum = 0;
        double sumSq = 0;
        double previous = std::log(sim.priceAt(btc, start));
        for (int i = 1; i <= n; ++i) {
            const double now = std::log(sim.priceAt(btc, start + qint64(i) * 1000));
            const double r = now - previous;
            previous = now;
            sum += r;
            sumSq += r * r;
        }
        const double mean = sum / n;
        const double sd = std::sqrt(sumSq / n - mean * mean);
        const double yearMs = 365.25 * 86'400'000.0;
        const double diffusion = btc.annualVolatility * std::sqrt(1000.0 / yearMs);
        const double jumpVar = btc.jumpsPerDay * (1000.0 / 86'400'000.0) * btc.jumpSigma * btc.jumpSigma;
        const double expected = std::sqrt(diffusion * diffusion + jumpVar);
        qInfo("1 s log returns: mean %.3g, sd %.4g (expected %.4g)", mean, sd, expected);
        QVERIFY(std::abs(mean) < 4 * expected / std::sqrt(double(n)) + 1e-9);
        QVERIFY2(sd > 0.8 * expected && sd < 1.25 * expected, qPrintable(QString::number(sd)));

        // Over a year the price stays in a plausible range around S0 (no blow-up, no zero).
        for (qint64 day = -400; day <= 400; day += 20) {
            const double p = sim.priceAt(btc, MarketSimulator::kAnchorMs + day * 86'400'000);
            QVERIFY(p > btc.initialPrice / 20 && p < btc.initialPrice * 20);
        }
    }

    void orderBookIsOrderedAroundThePrice()
    {
        ManualClock clock;
        MarketSimulator sim(settings(5), clock);
        for (const SymbolSpec &spec : sim.symbols()) {
            const qint64 t = clock.wallMsecs();
            const OrderBook book = sim.orderBook(spec, 5000, t);
            // A coarse tick on a cheap symbol ends the bid side before zero: fewer levels.
            const bool room = 5000 * 2 * spec.tickSize < sim.priceAt(spec, t) * 0.9;
            if (room)
                QCOMPARE(book.bids.size(), 5000);
            QVERIFY(book.bids.size() >= 1000);
            QCOMPARE(book.asks.size(), 5000);
            const double mid = sim.priceAt(spec, t);
            QVERIFY(book.bids.first().price <= mid);
            QVERIFY(book.asks.first().price >= mid);
            QVERIFY(book.bids.first().price < book.asks.first().price);
            for (qsizetype i = 1; i < book.bids.size(); ++i) {
                QVERIFY(book.bids[i].price < book.bids[i - 1].price);
                QVERIFY(book.asks[i].price > book.asks[i - 1].price);
            }
            for (const BookLevel &level : book.bids) {
                QVERIFY(level.qty >= spec.minQty);
                const double ticks = level.price / spec.tickSize;
                QVERIFY(std::abs(ticks - std::round(ticks)) < 1e-6);
            }
            // A smaller limit is a prefix of the larger book.
            const OrderBook small = sim.orderBook(spec, 5, t);
            for (int i = 0; i < 5; ++i)
                QCOMPARE(small.bids[i].price, book.bids[i].price);
            clock.advance(std::chrono::seconds(1));
            QVERIFY(sim.orderBook(spec, 5, clock.wallMsecs()).lastUpdateId > book.lastUpdateId);
        }
    }

    void tradesAreRecentOrderedAndAtTheBook()
    {
        ManualClock clock;
        MarketSimulator sim(settings(11), clock);
        const SymbolSpec &eth = *sim.spec(u"ETHUSDT");
        const qint64 t = clock.wallMsecs();
        const QList<Trade> trades = sim.recentTrades(eth, 500, t);
        QCOMPARE(trades.size(), 500);
        for (qsizetype i = 0; i < trades.size(); ++i) {
            QVERIFY(trades[i].timeMs <= t);
            QVERIFY(trades[i].qty >= eth.minQty);
            if (i > 0) {
                QVERIFY(trades[i].id > trades[i - 1].id);
                QVERIFY(trades[i].timeMs >= trades[i - 1].timeMs);
            }
            const auto [bid, ask] = sim.bestBidAsk(eth, trades[i].timeMs);
            QCOMPARE(trades[i].price, trades[i].isBuyerMaker ? bid : ask);
        }
        // The newest trades of a later time extend the list: ids of a moment never change.
        clock.advance(std::chrono::seconds(10));
        const QList<Trade> later = sim.recentTrades(eth, 1000, clock.wallMsecs());
        bool found = false;
        for (const Trade &trade : later) {
            if (trade.id == trades.last().id) {
                QCOMPARE(trade.price, trades.last().price);
                found = true;
            }
        }
        QVERIFY(found);
    }

    void intervals_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<qint64>("ms");
        const qint64 m = 60'000;
        const QList<QPair<const char *, qint64>> rows{
            {"1s", 1000},  {"1m", m},       {"3m", 3 * m},   {"5m", 5 * m},    {"15m", 15 * m},
            {"30m", 30 * m}, {"1h", 60 * m}, {"2h", 120 * m}, {"4h", 240 * m}, {"6h", 360 * m},
            {"8h", 480 * m}, {"12h", 720 * m}, {"1d", 1440 * m}, {"3d", 3 * 1440 * m},
            {"1w", 7 * 1440 * m}};
        for (const auto &[name, ms] : rows)
            QTest::newRow(name) << QString::fromLatin1(name) << ms;
    }

    void intervals()
    {
        QFETCH(QString, name);
        QFETCH(qint64, ms);
        QCOMPARE(MarketSimulator::intervalMs(name), std::optional<qint64>(ms));
        QVERIFY(MarketSimulator::intervalNames().contains(name));
    }

    void unknownIntervals()
    {
        for (const char *bad : {"", "1", "2s", "1M", "1H", "60m", "1d "})
            QVERIFY(!MarketSimulator::intervalMs(QString::fromLatin1(bad)));
    }

    void weeklyKlinesOpenOnMonday()
    {
        const qint64 week = 7 * 86'400'000LL;
        const qint64 open = MarketSimulator::alignToInterval(1'798'761'600'000, week); // Fri 2027-01-01
        const QDateTime dt = QDateTime::fromMSecsSinceEpoch(open, Qt::UTC);
        QCOMPARE(dt.date().dayOfWeek(), 1);
        QCOMPARE(dt.time(), QTime(0, 0));
    }

    void klinesAggregateThePrice()
    {
        ManualClock clock(1'798'761'600'000 + 37'500); // 37.5 s into a minute
        MarketSimulator sim(settings(3), clock);
        const SymbolSpec &sol = *sim.spec(u"SOLUSDT");
        const qint64 now = clock.wallMsecs();

        // 1s klines are exact: open/close at the bucket prices, high/low over all ten buckets.
        const QList<Kline> seconds = sim.klines(sol, 1000, std::nullopt, std::nullopt, 60, now);
        QCOMPARE(seconds.size(), 60);
        QCOMPARE(seconds.last().openTime, now - 500);
        for (const Kline &k : seconds) {
            QCOMPARE(k.closeTime, k.openTime + 999);
            QVERIFY(k.low <= std::min(k.open, k.close) && k.high >= std::max(k.open, k.close));
            double hi = 0;
            double lo = 1e300;
            for (qint64 t = k.openTime; t <= std::min(k.closeTime, now); t += 100) {
                const double p = roundToStep(sim.priceAt(sol, t), sol.tickSize);
                hi = std::max(hi, p);
                lo = std::min(lo, p);
            }
            QCOMPARE(k.high, hi);
            QCOMPARE(k.low, lo);
            QVERIFY(k.volume > 0);
            QVERIFY(k.takerBuyBaseVolume <= k.volume);
        }
        // Consecutive 1m klines: each opens at the previous close's next bucket; the current
        // one is partial and closes at the current price.
        const QList<Kline> minutes = sim.klines(sol, 60'000, std::nullopt, std::nullopt, 10, now);
        QCOMPARE(minutes.size(), 10);
        QCOMPARE(minutes.last().openTime, now - 37'500);
        QCOMPARE(minutes.last().close, roundToStep(sim.priceAt(sol, now), sol.tickSize));
        for (qsizetype i = 1; i < minutes.size(); ++i)
            QCOMPARE(minutes[i].openTime, minutes[i - 1].closeTime + 1);

        // startTime aligns up, endTime bounds the open time, limit bounds the count.
        const qint64 base = minutes.first().openTime;
        QList<Kline> ranged = sim.klines(sol, 60'000, base + 1, std::nullopt, 3, now);
        QCOMPARE(ranged.size(), 3);
        QCOMPARE(ranged.first().openTime, base + 60'000);
        ranged = sim.klines(sol, 60'000, base, base + 120'000, 500, now);
        QCOMPARE(ranged.size(), 3);
        QVERIFY(sameKline(ranged[1], minutes[1]));
        ranged = sim.klines(sol, 60'000, std::nullopt, base + 60'000, 2, now);
        QCOMPARE(ranged.size(), 2);
        QCOMPARE(ranged.last().openTime, base + 60'000);
        // Nothing from the future.
        QVERIFY(sim.klines(sol, 60'000, now + 120'000, std::nullopt, 10, now).isEmpty());

        // A finished kline does not change when the clock moves on.
        clock.advance(std::chrono::minutes(5));
        const QList<Kline> again = sim.klines(sol, 60'000, base, std::nullopt, 9, clock.wallMsecs());
        for (int i = 0; i < 9; ++i)
            QVERIFY(sameKline(again[i], minutes[i]));
    }

    void largestAnswersAreComputedQuickly()
    {
        // Informational (benchmarks judge speed): the server thread computes these inline.
        ManualClock clock;
        MarketSimulator sim(settings(8), clock);
        const SymbolSpec &btc = *sim.spec(u"BTCUSDT");
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(sim.klines(btc, 60'000, std::nullopt, std::nullopt, 1000, clock.wallMsecs()).size(), 1000);
        const qint64 klinesMs = timer.restart();
        QCOMPARE(sim.orderBook(btc, 5000, clock.wallMsecs()).asks.size(), 5000);
        const qint64 bookMs = timer.restart();
        QCOMPARE(sim.recentTrades(btc, 1000, clock.wallMsecs()).size(), 1000);
        const qint64 tradesMs = timer.restart();
        qInfo("1000 1m klines %lld ms, 5000-level book %lld ms, 1000 trades %lld ms", klinesMs,
              bookMs, tradesMs);
    }

    void formatting()
    {
        QCOMPARE(formatDecimal(43251.17), QStringLiteral("43251.17000000"));
        QCOMPARE(formatDecimal(0.00001), QStringLiteral("0.00001000"));
        QCOMPARE(formatDecimal(-0.0), QStringLiteral("0.00000000"));
        QCOMPARE(roundToStep(1.23456, 0.01), 1.23);
    }
};

QTEST_GUILESS_MAIN(TstMarketSimulator)
#include "tst_marketsimulator.moc"

// Parsers of the Binance shapes and the symbol rules' rounding, on recorded responses.
#include "agenttestdata.h"

#include "core/agents/marketdata.h"

#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::agents;
using opsdeck::test::fixture;

class TestMarketData : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void orderBookFromRecordedDepth()
    {
        const auto book = parseOrderBook(QStringLiteral("BTCUSDT"), fixture("depth_btcusdt.json"));
        QVERIFY2(book.has_value(), why(book));
        QCOMPARE(book->symbol, QStringLiteral("BTCUSDT"));
        QCOMPARE(book->lastUpdateId, 1027024);
        QCOMPARE(book->bids.size(), 20);
        QCOMPARE(book->asks.size(), 20);
        QCOMPARE(book->bestBid(), 49999.5);
        QCOMPARE(book->bestAsk(), 50000.5);
        QCOMPARE(book->mid(), 50000.0);
        QVERIFY(qAbs(book->spreadBps() - 0.2) < 1e-9);
        QCOMPARE(book->bids.at(1).price, 49999.0);
        QCOMPARE(book->bids.at(1).quantity, 0.1);
        // Within 1 bp (±5): the first 10 levels of each side (0.05·k BTC).
        QVERIFY(book->depthNotional(1.0) > 0);
    }

    void tradesFromRecordedTrades()
    {
        const auto trades = parseTrades(fixture("trades_btcusdt.json"));
        QVERIFY2(trades.has_value(), why(trades));
        QCOMPARE(trades->size(), 6);
        QCOMPARE(trades->first().id, 1001);
        QCOMPARE(trades->first().price, 49970.0);
        QCOMPARE(trades->first().quantity, 0.01);
        QCOMPARE(trades->first().timeMs, opsdeck::test::kFixtureTimeMs - 5000);
        QVERIFY(trades->first().buyerIsMaker);
        QVERIFY(!trades->last().buyerIsMaker);
    }

    void klinesFromRecordedKlines()
    {
        const auto klines = parseKlines(fixture("klines_ethusdt_bullish.json"));
        QVERIFY2(klines.has_value(), why(klines));
        QCOMPARE(klines->size(), 21);
        QCOMPARE(klines->last().close, 3030.0);
        QCOMPARE(klines->last().closeTimeMs - klines->last().openTimeMs, 59'999);
        QCOMPARE(klines->first().volume, 10.0);
        QCOMPARE(klines->first().trades, 100);
    }

    void tickerOneAndAll()
    {
        const auto one = parseTickerPrices(fixture("ticker_btcusdt_drop.json"));
        QVERIFY(one.has_value());
        QCOMPARE(one->size(), 1);
        QCOMPARE(one->first().price, 48900.0);
        const auto all = parseTickerPrices(fixture("ticker_all.json"));
        QVERIFY(all.has_value());
        QCOMPARE(all->size(), 3);
        QCOMPARE(all->at(2).symbol, QStringLiteral("SOLUSDT"));
    }

    void symbolRulesFromExchangeInfo()
    {
        const auto rules
            = parseSymbolRules(QStringLiteral("BTCUSDT"), fixture("exchangeinfo.json"));
        QVERIFY2(rules.has_value(), why(rules));
        QCOMPARE(rules->status, QStringLiteral("TRADING"));
        QCOMPARE(rules->tickSize, 0.01);
        QCOMPARE(rules->stepSize, 0.00001);
        QCOMPARE(rules->minQty, 0.00001);
        QCOMPARE(rules->minNotional, 5.0);
        const auto eth = parseSymbolRules(QStringLiteral("ETHUSDT"), fixture("exchangeinfo.json"));
        QVERIFY(eth.has_value());
        QCOMPARE(eth->stepSize, 0.0001);
        const auto missing
            = parseSymbolRules(QStringLiteral("DOGEUSDT"), fixture("exchangeinfo.json"));
        QVERIFY(!missing.has_value());
        QCOMPARE(missing.error().code, QStringLiteral("market_unknown_symbol"));
    }

    void serverTime()
    {
        const auto t = parseServerTime(fixture("time.json"));
        QVERIFY(t.has_value());
        QCOMPARE(*t, opsdeck::test::kFixtureTimeMs);
    }

    void badResponses_data()
    {
        QTest::addColumn<QByteArray>("kind");
        QTest::addColumn<QByteArray>("json");
        QTest::newRow("depth not json") << QByteArray("depth") << QByteArray("{oops");
        QTest::newRow("depth no asks") << QByteArray("depth") << QByteArray(R"({"bids":[]})");
        QTest::newRow("depth bad level")
            << QByteArray("depth") << QByteArray(R"({"bids":[["x","1"]],"asks":[]})");
        QTest::newRow("trades object") << QByteArray("trades") << QByteArray(R"({"id":1})");
        QTest::newRow("trade no price")
            << QByteArray("trades") << QByteArray(R"([{"id":1,"qty":"1","time":5}])");
        QTest::newRow("kline short") << QByteArray("klines") << QByteArray(R"([[1,"2","3"]])");
        QTest::newRow("ticker no price")
            << QByteArray("ticker") << QByteArray(R"({"symbol":"BTCUSDT"})");
        QTest::newRow("time missing") << QByteArray("time") << QByteArray(R"({"x":1})");
    }

    void badResponses()
    {
        QFETCH(QByteArray, kind);
        QFETCH(QByteArray, json);
        std::optional<Error> error;
        if (kind == "depth") {
            if (auto r = parseOrderBook(QStringLiteral("BTCUSDT"), json); !r)
                error = r.error();
        } else if (kind == "trades") {
            if (auto r = parseTrades(json); !r)
                error = r.error();
        } else if (kind == "klines") {
            if (auto r = parseKlines(json); !r)
                error = r.error();
        } else if (kind == "ticker") {
            if (auto r = parseTickerPrices(json); !r)
                error = r.error();
        } else {
            if (auto r = parseServerTime(json); !r)
                error = r.error();
        }
        QVERIFY(error.has_value());
        QCOMPARE(error->code, QStringLiteral("market_bad_response"));
    }

    void numbersAcceptedWhereStringsExpected()
    {
        const auto book = parseOrderBook(QStringLiteral("X"),
                                         R"({"lastUpdateId":1,"bids":[[10.5,2]],"asks":[[11,1]]})");
        QVERIFY(book.has_value());
        QCOMPARE(book->mid(), 10.75);
    }

    void rounding_data()
    {
        QTest::addColumn<double>("price");
        QTest::addColumn<bool>("buy");
        QTest::addColumn<double>("expected");
        QTest::newRow("buy down") << 49975.004 << true << 49975.00;
        QTest::newRow("sell up") << 49975.004 << false << 49975.01;
        QTest::newRow("exact buy") << 49975.01 << true << 49975.01;
        QTest::newRow("exact sell") << 49975.01 << false << 49975.01;
        QTest::newRow("never below a tick") << 0.001 << true << 0.01;
    }

    void rounding()
    {
        QFETCH(double, price);
        QFETCH(bool, buy);
        QFETCH(double, expected);
        const auto rules
            = parseSymbolRules(QStringLiteral("BTCUSDT"), fixture("exchangeinfo.json"));
        QVERIFY(rules.has_value());
        const double got = rules->roundPrice(price, buy ? Side::Buy : Side::Sell);
        QVERIFY2(qAbs(got - expected) < 1e-9, qPrintable(QString::number(got, 'f', 8)));
    }

    void quantityAndFormatting()
    {
        const auto rules
            = parseSymbolRules(QStringLiteral("BTCUSDT"), fixture("exchangeinfo.json"));
        QVERIFY(rules.has_value());
        QVERIFY(qAbs(rules->roundQuantity(0.0020004) - 0.002) < 1e-12);
        QVERIFY(qAbs(rules->roundQuantity(0.0029999) - 0.00299) < 1e-12);
        QCOMPARE(rules->roundQuantity(0.000001), 0.0);
        QCOMPARE(rules->formatPrice(49975.0), QStringLiteral("49975.00"));
        QCOMPARE(rules->formatQuantity(0.002), QStringLiteral("0.00200"));
        QCOMPARE(decimalsForStep(0.001), 3);
        QCOMPARE(decimalsForStep(1.0), 0);
        QCOMPARE(decimalsForStep(0.00000001), 8);
        QCOMPARE(toString(Side::Buy), QStringLiteral("BUY"));
        QCOMPARE(toString(opposite(Side::Buy)), QStringLiteral("SELL"));
    }
};

QTEST_GUILESS_MAIN(TestMarketData)
#include "tst_marketdata.moc"

// MarketDataClient against a real loopback server (the FaultServer serving recorded Binance
// responses): cache hits avoid HTTP requests, the guide's TTLs (configurable), the exchange's
// weights and the weight limit on one api name per market, priority passed through, the
// exchange's error shape, and order/test as the only order path.
#include "recordedmarket.h"

#include "core/http/httppoolstats.h"

#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::agents;
using namespace std::chrono_literals;
using opsdeck::test::RecordedMarket;
using opsdeck::test::SeenRequest;

namespace {

const QString kBtc = QStringLiteral("BTCUSDT");

CallOptions withCounters(std::shared_ptr<RequestCounters> counters,
                         TaskPriority priority = TaskPriority::Normal)
{
    CallOptions o;
    o.counters = std::move(counters);
    o.priority = priority;
    return o;
}

} // namespace

class TestMarketDataClient : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void depthWeights_data()
    {
        QTest::addColumn<int>("limit");
        QTest::addColumn<int>("weight");
        QTest::newRow("1") << 1 << 5;
        QTest::newRow("100") << 100 << 5;
        QTest::newRow("101") << 101 << 25;
        QTest::newRow("500") << 500 << 25;
        QTest::newRow("501") << 501 << 50;
        QTest::newRow("1000") << 1000 << 50;
        QTest::newRow("1001") << 1001 << 250;
        QTest::newRow("5000") << 5000 << 250;
    }

    void depthWeights()
    {
        QFETCH(int, limit);
        QFETCH(int, weight);
        QCOMPARE(MarketDataSettings::depthWeight(limit), weight);
    }

    void defaultsAreTheGuides()
    {
        const MarketDataSettings s;
        QCOMPARE(s.orderBookTtl, 30.0);
        QCOMPARE(s.recentTradesTtl, 300.0);
        QCOMPARE(s.klinesTtl, 3600.0);
        QCOMPARE(s.weightLimitPerMinute, 6000.0);
        MarketDataSettings named
            = MarketDataSettings::forBaseUrl(QUrl(QStringLiteral("https://api.binance.com")));
        QCOMPARE(named.effectiveApiName(), QStringLiteral("market:api.binance.com:443"));
        named.apiName = QStringLiteral("binance");
        QCOMPARE(named.effectiveApiName(), QStringLiteral("binance"));
    }

    void settingsFromConfig()
    {
        MarketConfig config;
        config.weightLimit = 600;
        config.weightWindow = 30;
        const QUrl sim(QStringLiteral("http://127.0.0.1:4242"));
        const MarketDataSettings embedded = MarketDataSettings::fromConfig(config, sim);
        QCOMPARE(embedded.baseUrl, sim);
        QCOMPARE(embedded.weightLimitPerMinute, 1200.0);
        QCOMPARE(embedded.effectiveApiName(), QStringLiteral("market:127.0.0.1:4242"));
        config.baseUrl = QStringLiteral("https://api.binance.com");
        const MarketDataSettings real = MarketDataSettings::fromConfig(config, sim);
        QCOMPARE(real.baseUrl, QUrl(QStringLiteral("https://api.binance.com")));
        QCOMPARE(real.weightLimitPerMinute, 6000.0);
    }

    void cacheHitsAvoidRequests()
    {
        RecordedMarket market;
        QVERIFY(market.port != 0);
        market.serveDefaults();
        auto client = market.makeClient();
        auto counters = std::make_shared<RequestCounters>();

        for (int i = 0; i < 3; ++i) {
            const auto book = client->orderBook(kBtc, 100, withCounters(counters));
            QVERIFY2(book.has_value(), why(book));
            QCOMPARE(book->mid(), 50000.0);
        }
        QCOMPARE(market.server.requestCount(), 1);
        QCOMPARE(counters->apiCalls.load(), 1u);
        QCOMPARE(counters->cacheHits.load(), 2u);

        // Another caller (another agent) shares the entry: a hit for it, no request.
        auto other = std::make_shared<RequestCounters>();
        QVERIFY(client->orderBook(kBtc, 100, withCounters(other)));
        QCOMPARE(other->apiCalls.load(), 0u);
        QCOMPARE(other->cacheHits.load(), 1u);
        QCOMPARE(market.server.requestCount(), 1);

        // A different limit is a different key.
        QVERIFY(client->orderBook(kBtc, 500, withCounters(counters)));
        QCOMPARE(market.server.requestCount(), 2);

        // The order book lives 30 s: at 29 s still cached, after 30 s fetched again.
        market.clock.advance(29s);
        QVERIFY(client->orderBook(kBtc, 100, withCounters(counters)));
        QCOMPARE(market.server.requestCount(), 2);
        market.clock.advance(2s);
        QVERIFY(client->orderBook(kBtc, 100, withCounters(counters)));
        QCOMPARE(market.server.requestCount(), 3);
        QCOMPARE(counters->apiCalls.load(), 3u);
        QVERIFY(market.cache.stats().hits >= 4);
    }

    void guideTtlsPerKind()
    {
        RecordedMarket market;
        market.serveDefaults();
        auto client = market.makeClient();
        const CallOptions call;
        QVERIFY(client->recentTrades(kBtc, 500, call));
        QVERIFY(client->symbolRules(kBtc, call));
        QCOMPARE(market.server.requestCount(), 2);
        market.clock.advance(299s); // trades live 300 s, exchangeInfo 3600 s
        QVERIFY(client->recentTrades(kBtc, 500, call));
        QVERIFY(client->symbolRules(kBtc, call));
        QCOMPARE(market.server.requestCount(), 2);
        market.clock.advance(2s);
        QVERIFY(client->recentTrades(kBtc, 500, call));
        QVERIFY(client->symbolRules(kBtc, call));
        QCOMPARE(market.server.requestCount(), 3);
    }

    void ttlsAreConfigurable()
    {
        RecordedMarket market;
        market.serveDefaults();
        MarketDataSettings s = market.settings();
        s.orderBookTtl = 5;
        s.recentTradesTtl = 1;
        auto client = market.makeClient(s);
        QVERIFY(client->orderBook(kBtc, 100, {}));
        QVERIFY(client->recentTrades(kBtc, 500, {}));
        market.clock.advance(2s);
        QVERIFY(client->orderBook(kBtc, 100, {}));
        QVERIFY(client->recentTrades(kBtc, 500, {}));
        QCOMPARE(market.server.requestCount(), 3); // only the trades again
        market.clock.advance(4s);
        QVERIFY(client->orderBook(kBtc, 100, {}));
        QCOMPARE(market.server.requestCount(), 4);
    }

    void withoutCacheEveryCallIsARequest()
    {
        RecordedMarket market;
        market.serveDefaults();
        auto client = market.makeClient(market.settings(), false);
        auto counters = std::make_shared<RequestCounters>();
        QVERIFY(client->orderBook(kBtc, 100, withCounters(counters)));
        QVERIFY(client->orderBook(kBtc, 100, withCounters(counters)));
        QCOMPARE(market.server.requestCount(), 2);
        QCOMPARE(counters->apiCalls.load(), 2u);
        QCOMPARE(counters->cacheHits.load(), 0u);
    }

    void weightsLimitAndApiName()
    {
        RecordedMarket market;
        market.serveDefaults();
        auto client = market.makeClient();
        const CallOptions call;
        QVERIFY(client->orderBook(kBtc, 100, call));
        QVERIFY(client->orderBook(kBtc, 500, call));
        QVERIFY(client->orderBook(kBtc, 1000, call));
        QVERIFY(client->orderBook(kBtc, 5000, call));
        QVERIFY(client->recentTrades(kBtc, 500, call));
        QVERIFY(client->closedKlines(QStringLiteral("ETHUSDT"), QStringLiteral("1m"), 21,
                                     market.clock.wallMsecs(), call));
        QVERIFY(client->tickerPrice(kBtc, call));
        market.serve("/api/v3/ticker/price", "ticker_all.json");
        QVERIFY(client->allTickerPrices(call));
        QVERIFY(client->symbolRules(kBtc, call));
        QVERIFY(client->serverTime(call));
        const auto rules = client->symbolRules(kBtc, call);
        QVERIFY(rules.has_value());
        OrderTestRequest order;
        order.symbol = kBtc;
        order.quantity = 0.002;
        order.price = 49975;
        order.rules = *rules;
        QVERIFY(client->testOrder(order, call));

        const QList<SeenRequest> seen = market.seen();
        QCOMPARE(seen.size(), 11);
        const QList<std::pair<QString, double>> expected{
            {QStringLiteral("/api/v3/depth"), 5},
            {QStringLiteral("/api/v3/depth"), 25},
            {QStringLiteral("/api/v3/depth"), 50},
            {QStringLiteral("/api/v3/depth"), 250},
            {QStringLiteral("/api/v3/trades"), 25},
            {QStringLiteral("/api/v3/klines"), 2},
            {QStringLiteral("/api/v3/ticker/price"), 2},
            {QStringLiteral("/api/v3/ticker/price"), 4},
            {QStringLiteral("/api/v3/exchangeInfo"), 20},
            {QStringLiteral("/api/v3/time"), 1},
            {QStringLiteral("/api/v3/order/test"), 1}};
        const QString api = QStringLiteral("market:127.0.0.1:%1").arg(market.port);
        QCOMPARE(client->apiName(), api);
        for (int i = 0; i < seen.size(); ++i) {
            QCOMPARE(seen.at(i).path, expected.at(i).first);
            QCOMPARE(seen.at(i).weight, expected.at(i).second);
            QCOMPARE(seen.at(i).rateLimit.value_or(0), 6000.0);
            QCOMPARE(seen.at(i).apiName, api);
        }
        // The pool's limiter for that api carries the exchange's REQUEST_WEIGHT limit.
        bool found = false;
        for (const http::HttpApiStats &a : market.pool.stats().apis) {
            if (a.name == api) {
                found = true;
                QCOMPARE(a.rateLimitPerMinute, 6000.0);
                QCOMPARE(a.errors, 0u);
            }
        }
        QVERIFY(found);
        QCOMPARE(market.server.requestCount(), 11);
    }

    void weightLimitIsConfigurable()
    {
        RecordedMarket market;
        market.serveDefaults();
        MarketDataSettings s = market.settings();
        s.weightLimitPerMinute = 1200;
        s.apiName = QStringLiteral("sim");
        auto client = market.makeClient(s);
        QVERIFY(client->orderBook(kBtc, 100, {}));
        QCOMPARE(market.seen().first().rateLimit.value_or(0), 1200.0);
        QCOMPARE(market.seen().first().apiName, QStringLiteral("sim"));
    }

    void priorityPassedThrough()
    {
        RecordedMarket market;
        market.serveDefaults();
        auto client = market.makeClient();
        QVERIFY(client->tickerPrice(kBtc, withCounters(nullptr, TaskPriority::Critical)));
        QVERIFY(client->orderBook(kBtc, 100, withCounters(nullptr, TaskPriority::Low)));
        const QList<SeenRequest> seen = market.seen();
        QCOMPARE(seen.size(), 2);
        QVERIFY(seen.at(0).priority == TaskPriority::Critical);
        QVERIFY(seen.at(1).priority == TaskPriority::Low);
    }

    void klinesWindowAlignedToTheInterval()
    {
        RecordedMarket market;
        market.serveDefaults();
        auto client = market.makeClient();
        const qint64 start = market.clock.wallMsecs(); // a whole minute
        const auto k = client->closedKlines(QStringLiteral("ETHUSDT"), QStringLiteral("1m"), 21,
                                            start + 10'000, {});
        QVERIFY2(k.has_value(), why(k));
        QCOMPARE(k->size(), 21);
        QCOMPARE(market.seen().first().query.queryItemValue(QStringLiteral("endTime")),
                 QString::number(start - 1));
        QCOMPARE(market.seen().first().query.queryItemValue(QStringLiteral("interval")),
                 QStringLiteral("1m"));
        // Later in the same minute: the same window, from the cache.
        QVERIFY(client->closedKlines(QStringLiteral("ETHUSDT"), QStringLiteral("1m"), 21,
                                     start + 59'000, {}));
        QCOMPARE(market.server.requestCount(), 1);
        // The next minute: a new window.
        QVERIFY(client->closedKlines(QStringLiteral("ETHUSDT"), QStringLiteral("1m"), 21,
                                     start + 61'000, {}));
        QCOMPARE(market.server.requestCount(), 2);
        QCOMPARE(market.seen().last().query.queryItemValue(QStringLiteral("endTime")),
                 QString::number(start + 60'000 - 1));
        const auto bad
            = client->closedKlines(QStringLiteral("ETHUSDT"), QStringLiteral("7m"), 21, start, {});
        QVERIFY(!bad);
        QCOMPARE(bad.error().code, QStringLiteral("invalid_argument"));
    }

    void exchangeErrorsAreNotCached()
    {
        RecordedMarket market;
        market.serveBytes("/api/v3/depth", R"({"code":-1121,"msg":"Invalid symbol."})", 400);
        auto client = market.makeClient();
        auto counters = std::make_shared<RequestCounters>();
        const auto book = client->orderBook(QStringLiteral("NOPE"), 100, withCounters(counters));
        QVERIFY(!book);
        QCOMPARE(book.error().code, QStringLiteral("market_http_error"));
        QVERIFY(book.error().message.contains(QStringLiteral("Invalid symbol.")));
        QCOMPARE(book.error().details.value(QStringLiteral("exchange_code")).toInt(), -1121);
        QCOMPARE(book.error().details.value(QStringLiteral("status")).toInt(), 400);
        QVERIFY(!client->orderBook(QStringLiteral("NOPE"), 100, withCounters(counters)));
        QCOMPARE(market.server.requestCount(), 2);
        QCOMPARE(counters->errors.load(), 2u);
        // A body that is not the exchange's shape is a parse error, counted too.
        market.serveBytes("/api/v3/depth", R"({"bids":"x"})");
        const auto garbled = client->orderBook(kBtc, 100, withCounters(counters));
        QVERIFY(!garbled);
        QCOMPARE(garbled.error().code, QStringLiteral("market_bad_response"));
        QCOMPARE(counters->errors.load(), 3u);
    }

    void cancelledTokenFailsBeforeAnyRequest()
    {
        RecordedMarket market;
        market.serveDefaults();
        auto client = market.makeClient();
        CallOptions call;
        call.token = exec::CancellationToken();
        call.token->cancel();
        const auto book = client->orderBook(kBtc, 100, call);
        QVERIFY(!book);
        QCOMPARE(book.error().code, QStringLiteral("cancelled"));
        QCOMPARE(market.server.requestCount(), 0);
    }

    void orderTestIsTheOnlyOrderPath()
    {
        RecordedMarket market;
        market.serveDefaults();
        auto client = market.makeClient();
        const auto rules = client->symbolRules(kBtc, {});
        QVERIFY(rules.has_value());
        OrderTestRequest limit;
        limit.symbol = kBtc;
        limit.side = Side::Buy;
        limit.quantity = 0.002;
        limit.price = 49975;
        limit.rules = *rules;
        QVERIFY(client->testOrder(limit, {}));
        OrderTestRequest taker = limit;
        taker.limit = false;
        taker.side = Side::Sell;
        QVERIFY(client->testOrder(taker, {}));
        // Twice the same order: never cached, two validations.
        QVERIFY(client->testOrder(taker, {}));

        const QList<test::RecordedRequest> requests = market.server.requests();
        QCOMPARE(requests.size(), 4);
        int posts = 0;
        for (const test::RecordedRequest &r : requests) {
            QVERIFY(r.path != "/api/v3/order"); // never a real order
            if (r.method == "POST") {
                ++posts;
                QCOMPARE(r.path, QByteArray("/api/v3/order/test"));
                QVERIFY(r.header("content-type").startsWith("application/x-www-form-urlencoded"));
            }
        }
        QCOMPARE(posts, 3);
        QCOMPARE(requests.at(1).body,
                 QByteArray("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00200"
                            "&price=49975.00"));
        QCOMPARE(requests.at(2).body,
                 QByteArray("symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.00200"));

        market.serveBytes("/api/v3/order/test",
                          R"({"code":-1013,"msg":"Filter failure: NOTIONAL"})", 400);
        const Status refused = client->testOrder(limit, {});
        QVERIFY(!refused);
        QVERIFY(refused.error().message.contains(QStringLiteral("NOTIONAL")));
    }

    // A test order executes nothing, so a 429 (or a 503) on it is retried like a GET; the
    // whole-process test found quotes failing on the first 429 while GETs waited it out.
    void orderTestIsRetriedAfter429()
    {
        RecordedMarket market(/*retryCount=*/2);
        market.serveDefaults();
        auto client = market.makeClient();
        const auto rules = client->symbolRules(kBtc, {});
        QVERIFY(rules.has_value());
        // Rules are tried in order: the 429 first, once; then the recorded answer.
        market.server.clearRules();
        market.server.addRule(
            test::FaultRule::tooManyRequests("0").onPath("/api/v3/order/test").forNext(1));
        market.server.addRule(test::FaultRule::status(200)
                                  .onPath("/api/v3/order/test")
                                  .withBody("{}", "application/json"));
        market.server.resetCounters();
        OrderTestRequest order;
        order.symbol = kBtc;
        order.side = Side::Buy;
        order.quantity = 0.002;
        order.price = 49975;
        order.rules = *rules;
        const Status sent = client->testOrder(order, {});
        QVERIFY2(sent, sent ? "" : qPrintable(sent.error().message));
        QCOMPARE(market.server.requestCount(), 2);
    }
};

QTEST_GUILESS_MAIN(TestMarketDataClient)
#include "tst_marketdataclient.moc"

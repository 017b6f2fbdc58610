// MarketService through real sockets on 127.0.0.1 with QNetworkAccessManager: the exchange's
// endpoints and shapes, every endpoint's validation, weights and 429 with Retry-After (on a
// ManualClock), and fault injection (latency, jitter, error rate, stalls) on real time with
// tolerances scaled by OPSDECK_TIME_FACTOR. The control endpoint is loopback-only.
#include "core/support/clock.h"
#include "market/marketservice.h"
#include "support/testutil.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QLoggingCategory>
#include <QtCore/QUrlQuery>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkInterface>
#include <QtNetwork/QNetworkReply>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <memory>

using namespace opsdeck;
using namespace opsdeck::market;

namespace {

struct Answer
{
    int status = -1;
    QByteArray body;
    QByteArray usedWeight;
    QByteArray retryAfter;
    QByteArray allow;
    qint64 elapsedMs = 0;
    bool finished = false;

    QJsonObject object() const { return QJsonDocument::fromJson(body).object(); }
    QJsonArray array() const { return QJsonDocument::fromJson(body).array(); }
    int code() const { return object().value(QStringLiteral("code")).toInt(); }
};

constexpr qint64 kStartMs = 1'798'761'615'000; // 2027-01-01T00:00:15Z: 45 s left in the minute

} // namespace

class TstMarketServer : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ManualClock> m_clock;
    std::unique_ptr<MarketService> m_service;
    std::unique_ptr<QNetworkAccessManager> m_nam;
    quint16 m_port = 0;

    void startService(FaultSettings faults = {}, QHostAddress bind = QHostAddress(QHostAddress::LocalHost))
    {
        m_service.reset();
        MarketServer::Settings settings;
        settings.bindAddress = bind;
        settings.port = 0;
        settings.faults = faults;
        settings.market.seed = 42;
        m_service = std::make_unique<MarketService>(settings, *m_clock);
        const Result<quint16> port = m_service->start();
        QVERIFY2(port.has_value(), qPrintable(port ? QString() : port.error().message));
        m_port = *port;
    }

    QNetworkReply *send(const QByteArray &method, const QString &target, const QByteArray &body = {},
                        const QByteArray &contentType = {}, const QString &host = QStringLiteral("127.0.0.1"))
    {
        QNetworkRequest request(QUrl(QStringLiteral("http://%1:%2%3").arg(host).arg(m_port).arg(target)));
        request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        if (!contentType.isEmpty())
            request.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
        return m_nam->sendCustomRequest(request, method, body);
    }

    static Answer collect(QNetworkReply *reply, const QElapsedTimer &timer, int timeoutMs = 5000)
    {
        Answer a;
        if (!reply->isFinished()) {
            QSignalSpy spy(reply, &QNetworkReply::finished);
            spy.wait(test::scaledMs(timeoutMs));
        }
        a.finished = reply->isFinished();
        a.elapsedMs = timer.elapsed();
        a.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        a.body = reply->readAll();
        a.usedWeight = reply->rawHeader("X-MBX-USED-WEIGHT-1M");
        a.retryAfter = reply->rawHeader("Retry-After");
        a.allow = reply->rawHeader("Allow");
        reply->deleteLater();
        return a;
    }

    Answer call(const QByteArray &method, const QString &target, const QByteArray &body = {},
                const QByteArray &contentType = {})
    {
        QElapsedTimer timer;
        timer.start();
        return collect(send(method, target, body, contentType), timer);
    }

    Answer get(const QString &target) { return call("GET", target); }

private Q_SLOTS:
    void initTestCase()
    {
        // One "listening" line per started server would bury the test output.
        QLoggingCategory::setFilterRules(QStringLiteral("opsdeck.market.info=false"));
    }

    void init()
    {
        m_clock = std::make_unique<ManualClock>(kStartMs);
        m_nam = std::make_unique<QNetworkAccessManager>();
        startService();
    }

    void cleanup()
    {
        m_nam.reset();
        if (m_service)
            QVERIFY(m_service->stop());
        m_service.reset();
        m_clock.reset();
    }

    void endpointsAnswerInTheExchangeShape()
    {
        Answer a = get(QStringLiteral("/api/v3/time"));
        QCOMPARE(a.status, 200);
        QCOMPARE(a.object().value(QStringLiteral("serverTime")).toInteger(), kStartMs);
        QCOMPARE(a.usedWeight, QByteArray("1"));

        a = get(QStringLiteral("/api/v3/ping"));
        QCOMPARE(a.status, 200);
        QCOMPARE(a.body, QByteArray("{}"));

        a = get(QStringLiteral("/api/v3/exchangeInfo"));
        QCOMPARE(a.status, 200);
        const QJsonObject info = a.object();
        QCOMPARE(info.value(QStringLiteral("timezone")).toString(), QStringLiteral("UTC"));
        const QJsonArray limits = info.value(QStringLiteral("rateLimits")).toArray();
        QCOMPARE(limits.first().toObject().value(QStringLiteral("rateLimitType")).toString(),
                 QStringLiteral("REQUEST_WEIGHT"));
        QCOMPARE(limits.first().toObject().value(QStringLiteral("limit")).toInt(), 6000);
        const QJsonArray symbols = info.value(QStringLiteral("symbols")).toArray();
        QCOMPARE(symbols.size(), 3);
        QStringList filterTypes;
        for (const QJsonValue &f : symbols.first().toObject().value(QStringLiteral("filters")).toArray())
            filterTypes << f.toObject().value(QStringLiteral("filterType")).toString();
        QCOMPARE(filterTypes, (QStringList{QStringLiteral("PRICE_FILTER"), QStringLiteral("LOT_SIZE"),
                                           QStringLiteral("NOTIONAL")}));
        QCOMPARE(symbols.first().toObject().value(QStringLiteral("filters")).toArray().first()
                     .toObject().value(QStringLiteral("tickSize")).toString(),
                 QStringLiteral("0.01000000"));

        a = get(QStringLiteral("/api/v3/ticker/price?symbol=BTCUSDT"));
        QCOMPARE(a.status, 200);
        QCOMPARE(a.object().value(QStringLiteral("symbol")).toString(), QStringLiteral("BTCUSDT"));
        const QString price = a.object().value(QStringLiteral("price")).toString();
        QVERIFY(price.toDouble() > 0);
        QCOMPARE(price.section(u'.', 1).size(), 8);
        const double btc = price.toDouble();
        QCOMPARE(get(QStringLiteral("/api/v3/ticker/price")).array().size(), 3);
        a = get(QStringLiteral("/api/v3/ticker/price?symbols=%5B%22ETHUSDT%22,%22BTCUSDT%22%5D"));
        QCOMPARE(a.status, 200);
        QCOMPARE(a.array().size(), 2);
        QCOMPARE(a.array().at(0).toObject().value(QStringLiteral("symbol")).toString(), QStringLiteral("ETHUSDT"));

        a = get(QStringLiteral("/api/v3/depth?symbol=BTCUSDT"));
        QCOMPARE(a.status, 200);
        const QJsonObject book = a.object();
        QVERIFY(book.value(QStringLiteral("lastUpdateId")).toInteger() > 0);
        const QJsonArray bids = book.value(QStringLiteral("bids")).toArray();
        const QJsonArray asks = book.value(QStringLiteral("asks")).toArray();
        QCOMPARE(bids.size(), 100);
        QCOMPARE(asks.size(), 100);
        QVERIFY(bids.first().toArray().at(0).isString());
        QVERIFY(bids.first().toArray().at(1).isString());
        QVERIFY(bids.first().toArray().at(0).toString().toDouble() <= btc + 0.01);
        QVERIFY(asks.first().toArray().at(0).toString().toDouble() >= btc - 0.01);

        a = get(QStringLiteral("/api/v3/trades?symbol=ETHUSDT"));
        QCOMPARE(a.status, 200);
        const QJsonArray trades = a.array();
        QCOMPARE(trades.size(), 500);
        const QJsonObject trade = trades.last().toObject();
        for (const char *key : {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"})
            QVERIFY2(trade.contains(QLatin1String(key)), key);
        QVERIFY(trade.value(QStringLiteral("price")).isString());
        QVERIFY(trade.value(QStringLiteral("time")).toInteger() <= kStartMs);

        a = get(QStringLiteral("/api/v3/klines?symbol=SOLUSDT&interval=1m"));
        QCOMPARE(a.status, 200);
        const QJsonArray klines = a.array();
        QCOMPARE(klines.size(), 500);
        const QJsonArray k = klines.last().toArray();
        QCOMPARE(k.size(), 12);
        QCOMPARE(k.at(0).toInteger(), kStartMs - 15'000);
        QCOMPARE(k.at(6).toInteger(), kStartMs - 15'000 + 59'999);
        for (int i : {1, 2, 3, 4, 5, 7, 9, 10, 11})
            QVERIFY(k.at(i).isString());
        QVERIFY(k.at(8).isDouble());
        QVERIFY(k.at(2).toString().toDouble() >= k.at(3).toString().toDouble());

        a = call("POST", QStringLiteral("/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT"
                                        "&timeInForce=GTC&quantity=0.001&price=50000.00"));
        QCOMPARE(a.status, 200);
        QCOMPARE(a.body, QByteArray("{}"));
        a = call("POST", QStringLiteral("/api/v3/order/test"),
                 "symbol=ETHUSDT&side=SELL&type=MARKET&quantity=0.5", "application/x-www-form-urlencoded");
        QCOMPARE(a.status, 200);
        QCOMPARE(a.body, QByteArray("{}"));
        a = call("POST", QStringLiteral("/api/v3/order/test?symbol=ETHUSDT&side=SELL"),
                 "type=MARKET&quoteOrderQty=100&computeCommissionRates=true",
                 "application/x-www-form-urlencoded");
        QCOMPARE(a.status, 200);
        QVERIFY(a.object().contains(QStringLiteral("standardCommissionForOrder")));
    }

    void sameClockSameAnswers()
    {
        const QStringList targets{QStringLiteral("/api/v3/depth?symbol=BTCUSDT&limit=50"),
                                  QStringLiteral("/api/v3/trades?symbol=SOLUSDT&limit=100"),
                                  QStringLiteral("/api/v3/klines?symbol=ETHUSDT&interval=5m&limit=50")};
        QList<QByteArray> first;
        for (const QString &t : targets)
            first << get(t).body;
        startService(); // a new server, same seed, same clock
        for (qsizetype i = 0; i < targets.size(); ++i)
            QCOMPARE(get(targets[i]).body, first[i]);
        m_clock->advance(std::chrono::seconds(2));
        QVERIFY(get(targets[0]).body != first[0]);
    }

    void validation_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QString>("target");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<int>("status");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("msgPart");

        auto row = [](const char *name, const char *method, const char *target, int status,
                      int code, const char *msg, const char *body = "") {
            QTest::newRow(name) << QByteArray(method) << QString::fromLatin1(target)
                                << QByteArray(body) << status << code << QString::fromLatin1(msg);
        };
        // time, exchangeInfo, ticker/price
        row("time unknown param", "GET", "/api/v3/time?foo=1", 400, -1104, "Not all sent parameters were read");
        row("exchangeInfo bad symbol", "GET", "/api/v3/exchangeInfo?symbol=NOPEUSDT", 400, -1121, "Invalid symbol.");
        row("exchangeInfo ok", "GET", "/api/v3/exchangeInfo?symbol=ETHUSDT", 200, 0, "");
        row("ticker invalid symbol", "GET", "/api/v3/ticker/price?symbol=NOPEUSDT", 400, -1121, "Invalid symbol.");
        row("ticker lower case", "GET", "/api/v3/ticker/price?symbol=btcusdt", 400, -1100, "parameter 'symbol'");
        row("ticker empty symbol", "GET", "/api/v3/ticker/price?symbol=", 400, -1105, "was empty");
        row("ticker symbols not json", "GET", "/api/v3/ticker/price?symbols=BTCUSDT", 400, -1100, "parameter 'symbols'");
        row("ticker symbols unknown", "GET", "/api/v3/ticker/price?symbols=%5B%22BTCUSDT%22,%22NOPEUSDT%22%5D", 400, -1121, "Invalid symbol.");
        row("ticker both", "GET", "/api/v3/ticker/price?symbol=BTCUSDT&symbols=%5B%22BTCUSDT%22%5D", 400, -1128, "Combination");
        // depth
        row("depth no symbol", "GET", "/api/v3/depth", 400, -1102, "Mandatory parameter 'symbol'");
        row("depth empty symbol", "GET", "/api/v3/depth?symbol=", 400, -1102, "Mandatory parameter 'symbol'");
        row("depth illegal symbol", "GET", "/api/v3/depth?symbol=BTC%2FUSDT", 400, -1100, "parameter 'symbol'");
        row("depth unknown symbol", "GET", "/api/v3/depth?symbol=NOPEUSDT", 400, -1121, "Invalid symbol.");
        row("depth limit text", "GET", "/api/v3/depth?symbol=BTCUSDT&limit=ten", 400, -1100, "parameter 'limit'");
        row("depth limit negative", "GET", "/api/v3/depth?symbol=BTCUSDT&limit=-5", 400, -1100, "parameter 'limit'");
        row("depth limit 0", "GET", "/api/v3/depth?symbol=BTCUSDT&limit=0", 400, -1130, "parameter 'limit'");
        row("depth limit 5001", "GET", "/api/v3/depth?symbol=BTCUSDT&limit=5001", 400, -1130, "parameter 'limit'");
        row("depth limit 5000", "GET", "/api/v3/depth?symbol=BTCUSDT&limit=5000", 200, 0, "");
        row("depth limit 1", "GET", "/api/v3/depth?symbol=BTCUSDT&limit=1", 200, 0, "");
        row("depth duplicate", "GET", "/api/v3/depth?symbol=BTCUSDT&symbol=ETHUSDT", 400, -1101, "Duplicate");
        row("depth unknown param", "GET", "/api/v3/depth?symbol=BTCUSDT&limt=5", 400, -1104, "read '1' parameter(s) but was sent '2'");
        // trades
        row("trades no symbol", "GET", "/api/v3/trades?limit=5", 400, -1102, "'symbol'");
        row("trades limit 1001", "GET", "/api/v3/trades?symbol=BTCUSDT&limit=1001", 400, -1130, "'limit'");
        row("trades limit 1000", "GET", "/api/v3/trades?symbol=BTCUSDT&limit=1000", 200, 0, "");
        row("trades limit decimal", "GET", "/api/v3/trades?symbol=BTCUSDT&limit=1.5", 400, -1100, "'limit'");
        // klines
        row("klines no interval", "GET", "/api/v3/klines?symbol=BTCUSDT", 400, -1102, "'interval'");
        row("klines no symbol", "GET", "/api/v3/klines?interval=1m", 400, -1102, "'symbol'");
        row("klines bad interval", "GET", "/api/v3/klines?symbol=BTCUSDT&interval=2m", 400, -1120, "Invalid interval.");
        row("klines month unsupported", "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1M", 400, -1120, "Invalid interval.");
        row("klines limit 1001", "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001", 400, -1130, "'limit'");
        row("klines bad startTime", "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=yesterday", 400, -1100, "'startTime'");
        row("klines bad endTime", "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=1e12", 400, -1100, "'endTime'");
        row("klines start after end", "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=2000&endTime=1000", 400, -1023, "Start time is greater");
        row("klines ok", "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=1000", 200, 0, "");
        // order/test
        row("order nothing", "POST", "/api/v3/order/test", 400, -1102, "'symbol'");
        row("order no side", "POST", "/api/v3/order/test?symbol=BTCUSDT", 400, -1102, "'side'");
        row("order bad side", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=HOLD&type=LIMIT", 400, -1117, "Invalid side.");
        row("order no type", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY", 400, -1102, "'type'");
        row("order bad type", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=ICEBERG", 400, -1116, "Invalid orderType.");
        row("order limit no tif", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.001&price=50000", 400, -1102, "'timeInForce'");
        row("order bad tif", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=DAY&quantity=0.001&price=50000", 400, -1115, "Invalid timeInForce.");
        row("order market tif", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&timeInForce=GTC&quantity=0.001", 400, -1106, "'timeInForce' sent when not required");
        row("order limit no price", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001", 400, -1102, "'price'");
        row("order limit no qty", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=50000", 400, -1102, "'quantity'");
        row("order market price", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&price=50000", 400, -1106, "'price' sent when not required");
        row("order market no qty", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET", 400, -1102, "'quantity' or 'quoteOrderQty'");
        row("order market both qty", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&quoteOrderQty=100", 400, -1106, "'quoteOrderQty'");
        row("order stop no stopPrice", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=SELL&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.001&price=50000", 400, -1102, "'stopPrice'");
        row("order limit stopPrice", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&stopPrice=49000", 400, -1106, "'stopPrice'");
        row("order qty text", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=lots", 400, -1100, "'quantity'");
        row("order qty precision", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.123456789", 400, -1111, "too much precision");
        row("order price tick", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000.005", 400, -1013, "Filter failure: PRICE_FILTER");
        row("order price above max", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=2000000", 400, -1013, "Filter failure: PRICE_FILTER");
        row("order qty below min", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000001&price=50000", 400, -1013, "Filter failure: LOT_SIZE");
        row("order qty step", "POST", "/api/v3/order/test?symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01005&price=3000", 400, -1013, "Filter failure: LOT_SIZE");
        row("order notional", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00001&price=100", 400, -1013, "Filter failure: NOTIONAL");
        row("order market notional", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=1", 400, -1013, "Filter failure: NOTIONAL");
        row("order unknown param", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&leverage=10", 400, -1104, "Not all sent parameters");
        row("order bad timestamp", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&timestamp=now", 400, -1100, "'timestamp'");
        row("order duplicate in body", "POST", "/api/v3/order/test?symbol=BTCUSDT", 400, -1101, "Duplicate", "symbol=ETHUSDT");
        row("order stop ok", "POST", "/api/v3/order/test?symbol=BTCUSDT&side=SELL&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.001&price=50000&stopPrice=50100.5&timestamp=1798761615000&signature=abc", 200, 0, "");
        row("order body ok", "POST", "/api/v3/order/test", 200, 0, "", "symbol=SOLUSDT&side=BUY&type=LIMIT_MAKER&quantity=1.5&price=100.01");
    }

    void validation()
    {
        QFETCH(QByteArray, method);
        QFETCH(QString, target);
        QFETCH(QByteArray, body);
        QFETCH(int, status);
        QFETCH(int, code);
        QFETCH(QString, msgPart);
        const Answer a = call(method, target, body,
                              body.isEmpty() ? QByteArray() : QByteArray("application/x-www-form-urlencoded"));
        QVERIFY2(a.status == status, a.body.constData());
        QVERIFY(!a.usedWeight.isEmpty());
        if (status == 200)
            return;
        const QJsonObject o = a.object();
        QCOMPARE(o.keys(), (QStringList{QStringLiteral("code"), QStringLiteral("msg")}));
        QCOMPARE(o.value(QStringLiteral("code")).toInt(), code);
        QVERIFY2(o.value(QStringLiteral("msg")).toString().contains(msgPart), a.body.constData());
    }

    void routingErrors()
    {
        Answer a = get(QStringLiteral("/api/v3/nothing"));
        QCOMPARE(a.status, 404);
        QCOMPARE(a.code(), -1000);
        QCOMPARE(a.usedWeight, QByteArray("0")); // unknown paths cost nothing
        a = call("POST", QStringLiteral("/api/v3/time"));
        QCOMPARE(a.status, 405);
        QVERIFY(a.allow.contains("GET"));
        a = get(QStringLiteral("/api/v3/order/test"));
        QCOMPARE(a.status, 405);
        QVERIFY(a.allow.contains("POST"));
        a = call("HEAD", QStringLiteral("/api/v3/time"));
        QCOMPARE(a.status, 200);
        QVERIFY(a.body.isEmpty());
        // The keep-alive connection is still in step after HEAD.
        QCOMPARE(get(QStringLiteral("/api/v3/ping")).body, QByteArray("{}"));
    }

    void weights_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QString>("target");
        QTest::addColumn<int>("weight");
        QTest::newRow("ping") << QByteArray("GET") << QStringLiteral("/api/v3/ping") << 1;
        QTest::newRow("time") << QByteArray("GET") << QStringLiteral("/api/v3/time") << 1;
        QTest::newRow("exchangeInfo") << QByteArray("GET") << QStringLiteral("/api/v3/exchangeInfo") << 20;
        QTest::newRow("ticker one") << QByteArray("GET") << QStringLiteral("/api/v3/ticker/price?symbol=BTCUSDT") << 2;
        QTest::newRow("ticker all") << QByteArray("GET") << QStringLiteral("/api/v3/ticker/price") << 4;
        QTest::newRow("ticker symbols") << QByteArray("GET") << QStringLiteral("/api/v3/ticker/price?symbols=%5B%22BTCUSDT%22%5D") << 4;
        QTest::newRow("depth default") << QByteArray("GET") << QStringLiteral("/api/v3/depth?symbol=BTCUSDT") << 5;
        QTest::newRow("depth 100") << QByteArray("GET") << QStringLiteral("/api/v3/depth?symbol=BTCUSDT&limit=100") << 5;
        QTest::newRow("depth 101") << QByteArray("GET") << QStringLiteral("/api/v3/depth?symbol=BTCUSDT&limit=101") << 25;
        QTest::newRow("depth 500") << QByteArray("GET") << QStringLiteral("/api/v3/depth?symbol=BTCUSDT&limit=500") << 25;
        QTest::newRow("depth 1000") << QByteArray("GET") << QStringLiteral("/api/v3/depth?symbol=BTCUSDT&limit=1000") << 50;
        QTest::newRow("depth 5000") << QByteArray("GET") << QStringLiteral("/api/v3/depth?symbol=BTCUSDT&limit=5000") << 250;
        QTest::newRow("trades") << QByteArray("GET") << QStringLiteral("/api/v3/trades?symbol=BTCUSDT") << 25;
        QTest::newRow("klines") << QByteArray("GET") << QStringLiteral("/api/v3/klines?symbol=BTCUSDT&interval=1h") << 2;
        QTest::newRow("order/test") << QByteArray("POST") << QStringLiteral("/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001") << 1;
        QTest::newRow("order/test commission") << QByteArray("POST") << QStringLiteral("/api/v3/order/test?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&computeCommissionRates=true") << 20;
        QTest::newRow("invalid request still costs") << QByteArray("GET") << QStringLiteral("/api/v3/depth?symbol=NOPE") << 5;
    }

    void weights()
    {
        QFETCH(QByteArray, method);
        QFETCH(QString, target);
        QFETCH(int, weight);
        const int before = get(QStringLiteral("/api/v3/ping")).usedWeight.toInt();
        const Answer a = call(method, target);
        QCOMPARE(a.usedWeight.toInt(), before + weight);
    }

    void weightLimitAnswers429WithRetryAfter()
    {
        FaultSettings f;
        f.weightLimit = 30;
        QVERIFY(m_service->setFaults(f).has_value());
        QCOMPARE(get(QStringLiteral("/api/v3/exchangeInfo")).usedWeight, QByteArray("20"));
        for (int i = 0; i < 5; ++i)
            QCOMPARE(get(QStringLiteral("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=2")).status, 200);
        Answer a = get(QStringLiteral("/api/v3/trades?symbol=BTCUSDT")); // 25 more: over
        QCOMPARE(a.status, 429);
        QCOMPARE(a.code(), -1003);
        QVERIFY(a.object().value(QStringLiteral("msg")).toString().contains(QStringLiteral("30 request weight per 1 MINUTE")));
        QCOMPARE(a.retryAfter, QByteArray("45")); // the clock is 15 s into its minute
        QCOMPARE(a.usedWeight, QByteArray("30"));
        a = get(QStringLiteral("/api/v3/time"));
        QCOMPARE(a.status, 429);
        QCOMPARE(m_service->stats().rateLimited, quint64(2));
        // The control endpoint is never limited.
        QCOMPARE(get(QStringLiteral("/control/faults")).status, 200);

        m_clock->advance(std::chrono::seconds(44));
        QCOMPARE(get(QStringLiteral("/api/v3/time")).retryAfter, QByteArray("1"));
        m_clock->advance(std::chrono::seconds(1));
        a = get(QStringLiteral("/api/v3/trades?symbol=BTCUSDT&limit=5"));
        QCOMPARE(a.status, 200);
        QCOMPARE(a.usedWeight, QByteArray("25"));

        // A short window (for tests and the integration run) says so in exchangeInfo.
        f.weightWindowMs = 5000;
        f.weightLimit = 1000;
        QVERIFY(m_service->setFaults(f).has_value());
        const QJsonObject limit = get(QStringLiteral("/api/v3/exchangeInfo")).object()
                                      .value(QStringLiteral("rateLimits")).toArray().first().toObject();
        QCOMPARE(limit.value(QStringLiteral("interval")).toString(), QStringLiteral("SECOND"));
        QCOMPARE(limit.value(QStringLiteral("intervalNum")).toInt(), 5);
    }

    void latencyIsInjectedWithoutBlocking()
    {
        // Long enough that a loaded machine still answers the control request first.
        const int latency = 1500;
        FaultSettings f;
        f.latencyMs = latency;
        QVERIFY(m_service->setFaults(f).has_value());
        QElapsedTimer timer;
        timer.start();
        QNetworkReply *slow = send("GET", QStringLiteral("/api/v3/time"));
        // While that answer is held back, the thread serves the control endpoint at once.
        QTRY_VERIFY_WITH_TIMEOUT(m_service->stats().delayed >= 1, test::scaledMs(1000));
        const Answer control = get(QStringLiteral("/control/faults"));
        QCOMPARE(control.status, 200);
        QVERIFY2(!slow->isFinished(), qPrintable(QString::number(timer.elapsed())));
        QVERIFY2(control.elapsedMs < latency, qPrintable(QString::number(control.elapsedMs)));
        const Answer a = collect(slow, timer);
        QCOMPARE(a.status, 200);
        qInfo("latency %d ms: measured %lld ms; control answered in %lld ms meanwhile", latency,
              a.elapsedMs, control.elapsedMs);
        QVERIFY2(a.elapsedMs >= latency, qPrintable(QString::number(a.elapsedMs)));
        QVERIFY2(a.elapsedMs < latency + test::scaledMs(700), qPrintable(QString::number(a.elapsedMs)));
        QCOMPARE(m_service->stats().delayed, quint64(1));
    }

    void jitterStaysInRange()
    {
        FaultSettings f;
        f.latencyMs = 50;
        f.jitterMs = 100;
        QVERIFY(m_service->setFaults(f).has_value());
        qint64 low = 1'000'000;
        qint64 high = 0;
        for (int i = 0; i < 12; ++i) {
            const Answer a = get(QStringLiteral("/api/v3/ping"));
            QCOMPARE(a.status, 200);
            low = std::min(low, a.elapsedMs);
            high = std::max(high, a.elapsedMs);
        }
        qInfo("latency 50 ms + jitter 0..100 ms: measured %lld..%lld ms", low, high);
        QVERIFY(low >= 50);
        QVERIFY(high < 150 + test::scaledMs(400));
        QVERIFY(high - low >= 10); // the jitter varies
    }

    void errorRateIsTheFraction()
    {
        FaultSettings f;
        f.errorRate = 0.3;
        QVERIFY(m_service->setFaults(f).has_value());
        int errors500 = 0;
        int errors503 = 0;
        const int n = 300;
        for (int i = 0; i < n; ++i) {
            const Answer a = get(QStringLiteral("/api/v3/ping"));
            if (a.status == 500) {
                ++errors500;
                QCOMPARE(a.code(), -1000);
            } else if (a.status == 503) {
                ++errors503;
                QCOMPARE(a.code(), -1001);
            } else {
                QCOMPARE(a.status, 200);
            }
            QVERIFY(!a.usedWeight.isEmpty());
        }
        const double rate = double(errors500 + errors503) / n;
        qInfo("error rate 0.3: measured %.3f (%d x 500, %d x 503)", rate, errors500, errors503);
        QVERIFY(rate > 0.2 && rate < 0.4);
        QVERIFY(errors500 > 0 && errors503 > 0);
        QCOMPARE(m_service->stats().injectedErrors, quint64(errors500 + errors503));

        f.errorRate = 1.0;
        f.errorStatus = 503;
        QVERIFY(m_service->setFaults(f).has_value());
        for (int i = 0; i < 10; ++i)
            QCOMPARE(get(QStringLiteral("/api/v3/time")).status, 503);
        QCOMPARE(get(QStringLiteral("/control/faults")).status, 200); // control is exempt
    }

    void stallsPauseTheServer()
    {
        FaultSettings f;
        f.stallMs = 300;
        f.stallEverySeconds = 1.0;
        f.weightLimit = 1'000'000'000; // the ManualClock stands still: one window for the whole test
        QVERIFY(m_service->setFaults(f).has_value());
        // Sequential requests for 2.2 s cross two stalls (at 0.7..1.0 s and 1.7..2.0 s).
        QElapsedTimer total;
        total.start();
        qint64 longest = 0;
        int slow = 0;
        int count = 0;
        while (total.elapsed() < 2200) {
            const Answer a = get(QStringLiteral("/api/v3/ping"));
            QCOMPARE(a.status, 200);
            ++count;
            longest = std::max(longest, a.elapsedMs);
            if (a.elapsedMs >= 150)
                ++slow;
        }
        qInfo("stall 300 ms every 1 s: %d requests, %d held, longest %lld ms", count, slow, longest);
        QVERIFY2(longest >= 200, qPrintable(QString::number(longest)));
        QVERIFY(longest < 300 + test::scaledMs(400));
        QVERIFY(slow >= 1 && slow <= 3);
        QVERIFY(count > slow * 3); // most requests are not held
    }

    void controlEndpoint()
    {
        Answer a = get(QStringLiteral("/control/faults"));
        QCOMPARE(a.status, 200);
        QCOMPARE(a.object(), FaultSettings{}.toJson());

        a = call("PUT", QStringLiteral("/control/faults"), R"({"latency_ms":5,"weight_limit":100})",
                 "application/json");
        QCOMPARE(a.status, 200);
        QCOMPARE(a.object().value(QStringLiteral("latency_ms")).toInt(), 5);
        QCOMPARE(m_service->faults().latencyMs, 5);
        QCOMPARE(m_service->faults().weightLimit, 100);

        a = call("PUT", QStringLiteral("/control/faults"), R"({"error_rate":2})", "application/json");
        QCOMPARE(a.status, 400);
        QCOMPARE(a.object().value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString(),
                 QStringLiteral("invalid_fault_settings"));
        QCOMPARE(m_service->faults().errorRate, 0.0); // unchanged
        a = call("PUT", QStringLiteral("/control/faults"), "latency=5", "application/json");
        QCOMPARE(a.status, 400);
        a = call("POST", QStringLiteral("/control/faults"), "{}", "application/json");
        QCOMPARE(a.status, 405);
        QVERIFY(a.allow.contains("PUT"));

        a = get(QStringLiteral("/control/stats"));
        QCOMPARE(a.status, 200);
        QVERIFY(a.object().value(QStringLiteral("requests")).toInteger() >= 5);

        a = call("DELETE", QStringLiteral("/control/faults"));
        QCOMPARE(a.status, 200);
        QCOMPARE(m_service->faults(), FaultSettings{});

        // A foreign Host (DNS rebinding) is refused; so is a foreign peer.
        const QByteArray raw = test::rawHttp(
            m_port, "GET /control/faults HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
            test::scaledMs(3000));
        QCOMPARE(test::httpStatus(raw), 403);

        MarketServer offline(MarketServer::Settings{}, *m_clock);
        api::ApiRequest request;
        request.method = "PUT";
        request.path = QStringLiteral("/control/faults");
        request.headers = {{"host", "127.0.0.1"}};
        request.body = R"({"latency_ms":1000})";
        QCOMPARE(offline.handle(request, QHostAddress(QStringLiteral("192.0.2.7"))).status, 403);
        QCOMPARE(offline.faults().latencyMs, 0);
        QCOMPARE(offline.handle(request, QHostAddress(QHostAddress::LocalHost)).status, 200);
        QCOMPARE(offline.handle(request, QHostAddress(QHostAddress::LocalHostIPv6)).status, 200);
        QCOMPARE(offline.faults().latencyMs, 1000);
    }

    void controlRefusesARealNonLoopbackPeer()
    {
        QHostAddress external;
        for (const QHostAddress &address : QNetworkInterface::allAddresses()) {
            if (address.protocol() == QAbstractSocket::IPv4Protocol && !address.isLoopback()) {
                external = address;
                break;
            }
        }
        if (external.isNull())
            QSKIP("This machine has no non-loopback IPv4 address.");
        startService({}, QHostAddress(QHostAddress::AnyIPv4));
        QElapsedTimer timer;
        timer.start();
        Answer a = collect(send("GET", QStringLiteral("/control/faults"), {}, {}, external.toString()), timer);
        QCOMPARE(a.status, 403);
        timer.restart();
        a = collect(send("GET", QStringLiteral("/api/v3/time"), {}, {}, external.toString()), timer);
        QCOMPARE(a.status, 200); // the market data itself is served to whoever may connect
    }

    void answersOnOneConnectionStayInOrder()
    {
        FaultSettings f;
        f.jitterMs = 120;
        QVERIFY(m_service->setFaults(f).has_value());
        const QByteArray host = "Host: 127.0.0.1\r\n";
        QByteArray requests;
        for (const char *target : {"/api/v3/ping", "/api/v3/time", "/api/v3/ticker/price?symbol=BTCUSDT",
                                   "/api/v3/depth?symbol=BTCUSDT&limit=5", "/api/v3/trades?symbol=ETHUSDT&limit=1"})
            requests += "GET " + QByteArray(target) + " HTTP/1.1\r\n" + host + "\r\n";
        requests += "GET /api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1 HTTP/1.1\r\n" + host
                    + "Connection: close\r\n\r\n";
        const QByteArray raw = test::rawHttp(m_port, requests, test::scaledMs(5000));
        QCOMPARE(raw.count("HTTP/1.1 200"), 6);
        const QList<QByteArray> markers{"{}", "serverTime", "\"price\"", "lastUpdateId", "isBuyerMaker", "[["};
        qsizetype pos = 0;
        for (const QByteArray &marker : markers) {
            const qsizetype at = raw.indexOf(marker, pos);
            QVERIFY2(at > pos, marker.constData());
            pos = at;
        }
    }

    void stopIsBoundedWithAnswersHeld()
    {
        FaultSettings f;
        f.latencyMs = 10'000;
        QVERIFY(m_service->setFaults(f).has_value());
        QElapsedTimer timer;
        timer.start();
        QNetworkReply *held = send("GET", QStringLiteral("/api/v3/time"));
        QTRY_VERIFY_WITH_TIMEOUT(m_service->stats().delayed >= 1, test::scaledMs(2000));
        QElapsedTimer stopping;
        stopping.start();
        QVERIFY(m_service->stop(test::scaledMs(2000)));
        QVERIFY2(stopping.elapsed() < test::scaledMs(1000), qPrintable(QString::number(stopping.elapsed())));
        QVERIFY(!m_service->isRunning());
        const Answer a = collect(held, timer);
        QVERIFY(a.finished);
        QVERIFY(a.status != 200);
        QVERIFY(m_service->stop()); // idempotent
    }

    void portInUseIsReported()
    {
        MarketServer::Settings settings;
        settings.port = m_port;
        MarketService second(settings, *m_clock);
        const Result<quint16> r = second.start();
        QVERIFY(!r.has_value());
        QCOMPARE(r.error().code, QStringLiteral("port_in_use"));
        QVERIFY(!second.isRunning());
        QVERIFY(m_service->baseUrl().startsWith(QStringLiteral("http://127.0.0.1:")));
        QCOMPARE(m_service->port(), m_port);
    }
};

QTEST_GUILESS_MAIN(TstMarketServer)
#include "tst_marketserver.moc"

// Tests for HttpRequest: query encoding ('+' and spaces percent-encoded, the URL's own query
// kept), the api name fallback, methods and idempotency, and the QNetworkRequest the workers send.
#include "core/http/httprequest.h"
#include "core/http/httpworker.h"

#include <QtTest/QTest>

using namespace opsdeck::http;
using namespace Qt::StringLiterals;

class TestHttpRequest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void queryIsAppendedAndEncoded();
    void apiNameFallsBackToHost();
    void methodsAndIdempotency();
    void builders();
    void networkRequestCarriesHeadersAndSwitches();
};

void TestHttpRequest::queryIsAppendedAndEncoded()
{
    HttpRequest request = HttpRequest::get(QUrl(u"http://example.test/v3/klines?symbol=BTCUSDT"_s));
    QCOMPARE(request.effectiveUrl(), request.url);
    request.query.addQueryItem(u"interval"_s, u"1m"_s);
    request.query.addQueryItem(u"note"_s, u"a+b c&d=e"_s);
    QCOMPARE(request.effectiveUrl().toString(QUrl::FullyEncoded),
             u"http://example.test/v3/klines?symbol=BTCUSDT&interval=1m&note=a%2Bb%20c%26d%3De"_s);
}

void TestHttpRequest::apiNameFallsBackToHost()
{
    HttpRequest request = HttpRequest::get(QUrl(u"https://api.binance.test/x"_s));
    QCOMPARE(request.effectiveApiName(), u"api.binance.test"_s);
    request.apiName = u"binance"_s;
    QCOMPARE(request.effectiveApiName(), u"binance"_s);
}

void TestHttpRequest::methodsAndIdempotency()
{
    HttpRequest request;
    request.method = "delete";
    QCOMPARE(request.normalizedMethod(), QByteArray("DELETE"));
    QVERIFY(request.isIdempotent());
    request.method = "Post";
    QVERIFY(!request.isIdempotent());
    QVERIFY(HttpRequest::isIdempotentMethod("TRACE"));
    QVERIFY(!HttpRequest::isIdempotentMethod("CONNECT"));
    QVERIFY(!HttpRequest::isIdempotentMethod(""));
}

void TestHttpRequest::builders()
{
    const HttpRequest post
        = HttpRequest::post(QUrl(u"http://x.test/o"_s), "{}", "application/json", u"x"_s);
    QCOMPARE(post.method, QByteArray("POST"));
    QCOMPARE(post.body, QByteArray("{}"));
    QCOMPARE(post.headers.size(), 1);
    QCOMPARE(post.headers.first().second, QByteArray("application/json"));
    QCOMPARE(post.apiName, u"x"_s);
    QVERIFY(post.priority == opsdeck::TaskPriority::Normal);
    QVERIFY(!post.retryNonIdempotent);
    QVERIFY(post.http2);
}

void TestHttpRequest::networkRequestCarriesHeadersAndSwitches()
{
    HttpRequest request = HttpRequest::get(QUrl(u"http://x.test/a"_s));
    request.headers.emplaceBack("X-MBX-APIKEY", "k");
    request.http2 = false;
    request.body = "a=1";
    const QNetworkRequest net = HttpWorker::buildRequest(request, "OpsDeck/test");
    QCOMPARE(net.url(), request.url);
    QCOMPARE(net.rawHeader("X-MBX-APIKEY"), QByteArray("k"));
    QCOMPARE(net.rawHeader("User-Agent"), QByteArray("OpsDeck/test"));
    QCOMPARE(net.attribute(QNetworkRequest::Http2AllowedAttribute).toBool(), false);
    QCOMPARE(net.header(QNetworkRequest::ContentTypeHeader).toByteArray(),
             QByteArray("application/x-www-form-urlencoded"));
    QCOMPARE(net.transferTimeout(), 0);
    request.headers.emplaceBack("content-type", "text/plain");
    QCOMPARE(HttpWorker::buildRequest(request, {}).rawHeader("Content-Type"),
             QByteArray("text/plain"));
}

QTEST_GUILESS_MAIN(TestHttpRequest)
#include "tst_httprequest.moc"

// Tests for HttpResponse and HttpErrorKind: JSON content types, header lookup, ok(), and the
// error-code strings that Error::code carries.
#include "core/http/httpresponse.h"

#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::http;
using namespace Qt::StringLiterals;

class TestHttpResponse : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void jsonContentTypes_data();
    void jsonContentTypes();
    void headerLookupIgnoresCase();
    void okMeansTwoOrThreeHundred();
    void errorKindNamesRoundTrip();
};

void TestHttpResponse::jsonContentTypes_data()
{
    QTest::addColumn<QByteArray>("type");
    QTest::addColumn<bool>("json");
    QTest::newRow("plain") << QByteArray("application/json") << true;
    QTest::newRow("charset") << QByteArray("application/json; charset=utf-8") << true;
    QTest::newRow("case") << QByteArray("Application/JSON") << true;
    QTest::newRow("problem") << QByteArray("application/problem+json") << true;
    QTest::newRow("text/json") << QByteArray("text/json") << true;
    QTest::newRow("text") << QByteArray("text/plain") << false;
    QTest::newRow("html") << QByteArray("text/html; charset=utf-8") << false;
    QTest::newRow("empty") << QByteArray() << false;
    QTest::newRow("bare +json") << QByteArray("+json") << false;
    QTest::newRow("jsonp") << QByteArray("application/javascript") << false;
}

void TestHttpResponse::jsonContentTypes()
{
    QFETCH(QByteArray, type);
    QFETCH(bool, json);
    QCOMPARE(isJsonContentType(type), json);
}

void TestHttpResponse::headerLookupIgnoresCase()
{
    HttpResponse response;
    response.headers
        = {{"Content-Type", "application/json"}, {"Retry-After", "5"}, {"retry-after", "6"}};
    QCOMPARE(response.header("retry-after"), QByteArray("5"));
    QCOMPARE(response.header("CONTENT-TYPE"), QByteArray("application/json"));
    QVERIFY(response.header("X-Missing").isEmpty());
}

void TestHttpResponse::okMeansTwoOrThreeHundred()
{
    HttpResponse response;
    for (const auto &[status, ok] : {std::pair{200, true},
                                     {204, true},
                                     {304, true},
                                     {199, false},
                                     {400, false},
                                     {503, false},
                                     {0, false}}) {
        response.status = status;
        QCOMPARE(response.ok(), ok);
    }
}

void TestHttpResponse::errorKindNamesRoundTrip()
{
    QStringList names;
    for (int i = 0; i < kHttpErrorKindCount; ++i) {
        const auto kind = HttpErrorKind(i);
        const QString name = toString(kind);
        QVERIFY(!name.isEmpty());
        QVERIFY(!names.contains(name));
        names.append(name);
        QVERIFY(httpErrorKindOf(Error{name, {}, {}}) == kind);
    }
    QCOMPARE(toString(HttpErrorKind::RateLimited), u"rate_limited"_s);
    QCOMPARE(toString(HttpErrorKind::Connection), u"connection_error"_s);
    QVERIFY(httpErrorKindOf(Error{u"something_else"_s, {}, {}}) == HttpErrorKind::Connection);
}

QTEST_GUILESS_MAIN(TestHttpResponse)
#include "tst_httpresponse.moc"

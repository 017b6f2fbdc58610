// Tests for parseHttpDate() and parseRetryAfter(): the three HTTP-date forms, the RFC 850 century
// rule and Retry-After in seconds and dates, all against a ManualClock's wall time.
#include "core/http/httpdate.h"
#include "core/support/clock.h"

#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::http;
using namespace std::chrono_literals;

namespace {
constexpr qint64 k1994 = 784'111'777'000; // Sun, 06 Nov 1994 08:49:37 GMT
} // namespace

class TestHttpDate : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesEachForm_data();
    void parsesEachForm();
    void rejectsMalformed_data();
    void rejectsMalformed();
    void rfc850CenturyFollowsNow();
    void retryAfterSeconds_data();
    void retryAfterSeconds();
    void retryAfterDates_data();
    void retryAfterDates();
    void retryAfterPastDateIsZero();
};

void TestHttpDate::parsesEachForm_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("rfc1123") << QByteArray("Sun, 06 Nov 1994 08:49:37 GMT") << k1994;
    QTest::newRow("rfc850") << QByteArray("Sunday, 06-Nov-94 08:49:37 GMT") << k1994;
    QTest::newRow("asctime") << QByteArray("Sun Nov  6 08:49:37 1994") << k1994;
    QTest::newRow("asctime two-digit day") << QByteArray("Sun Nov 06 08:49:37 1994") << k1994;
    QTest::newRow("lower case") << QByteArray("sun, 06 nov 1994 08:49:37 gmt") << k1994;
    QTest::newRow("UTC zone") << QByteArray("Sun, 06 Nov 1994 08:49:37 UTC") << k1994;
    QTest::newRow("numeric zone") << QByteArray("Sun, 06 Nov 1994 09:49:37 +0100") << k1994;
    QTest::newRow("negative zone") << QByteArray("Sun, 06 Nov 1994 07:19:37 -0130") << k1994;
    QTest::newRow("padded") << QByteArray("  Sun, 06 Nov 1994 08:49:37 GMT \t") << k1994;
    QTest::newRow("one-digit day") << QByteArray("Sun, 6 Nov 1994 08:49:37 GMT") << k1994;
    QTest::newRow("leap second") << QByteArray("Sun, 06 Nov 1994 08:49:60 GMT")
                                 << k1994 - 37'000 + 59'000;
}

void TestHttpDate::parsesEachForm()
{
    QFETCH(QByteArray, text);
    QFETCH(qint64, expected);
    const ManualClock clock;
    const auto parsed = parseHttpDate(text, clock.wallMsecs());
    QVERIFY2(parsed.has_value(), text.constData());
    QCOMPARE(*parsed, expected);
}

void TestHttpDate::rejectsMalformed_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("garbage") << QByteArray("soon");
    QTest::newRow("bad day") << QByteArray("Sun, 32 Nov 1994 08:49:37 GMT");
    QTest::newRow("bad month") << QByteArray("Sun, 06 Noo 1994 08:49:37 GMT");
    QTest::newRow("bad hour") << QByteArray("Sun, 06 Nov 1994 24:49:37 GMT");
    QTest::newRow("bad time") << QByteArray("Sun, 06 Nov 1994 8:49:37 GMT");
    QTest::newRow("bad zone") << QByteArray("Sun, 06 Nov 1994 08:49:37 CET");
    QTest::newRow("30 February") << QByteArray("Mon, 30 Feb 2026 00:00:00 GMT");
    QTest::newRow("missing year") << QByteArray("Sun, 06 Nov 08:49:37 GMT");
    QTest::newRow("asctime 2-digit year") << QByteArray("Sun Nov  6 08:49:37 94");
}

void TestHttpDate::rejectsMalformed()
{
    QFETCH(QByteArray, text);
    const ManualClock clock;
    QVERIFY(!parseHttpDate(text, clock.wallMsecs()).has_value());
}

void TestHttpDate::rfc850CenturyFollowsNow()
{
    const ManualClock clock; // 2027-01-01
    // 2077 is at most 50 years ahead: kept; 2078 would be more: the previous century.
    const auto y77 = parseHttpDate("Friday, 01-Jan-77 00:00:00 GMT", clock.wallMsecs());
    const auto y78 = parseHttpDate("Saturday, 01-Jan-78 00:00:00 GMT", clock.wallMsecs());
    const auto y26 = parseHttpDate("Thursday, 31-Dec-26 23:59:59 GMT", clock.wallMsecs());
    QVERIFY(y77 && y78 && y26);
    QCOMPARE(QDateTime::fromMSecsSinceEpoch(*y77, Qt::UTC).date().year(), 2077);
    QCOMPARE(QDateTime::fromMSecsSinceEpoch(*y78, Qt::UTC).date().year(), 1978);
    QCOMPARE(*y26, clock.wallMsecs() - 1000);
}

void TestHttpDate::retryAfterSeconds_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<qint64>("expectedMs"); // -1: rejected
    QTest::newRow("120") << QByteArray("120") << qint64(120'000);
    QTest::newRow("0") << QByteArray("0") << qint64(0);
    QTest::newRow("spaces") << QByteArray(" 2 ") << qint64(2'000);
    QTest::newRow("fraction") << QByteArray("1.5") << qint64(1'500);
    QTest::newRow("negative") << QByteArray("-1") << qint64(-1);
    QTest::newRow("exponent") << QByteArray("1e3") << qint64(-1);
    QTest::newRow("word") << QByteArray("later") << qint64(-1);
    QTest::newRow("empty") << QByteArray("") << qint64(-1);
    QTest::newRow("huge is capped")
        << QByteArray("99999999999") << qint64(365LL * 24 * 3600 * 1000);
}

void TestHttpDate::retryAfterSeconds()
{
    QFETCH(QByteArray, value);
    QFETCH(qint64, expectedMs);
    const ManualClock clock;
    const auto wait = parseRetryAfter(value, clock.wallMsecs());
    if (expectedMs < 0) {
        QVERIFY(!wait.has_value());
    } else {
        QVERIFY(wait.has_value());
        QCOMPARE(wait->count(), expectedMs);
    }
}

void TestHttpDate::retryAfterDates_data()
{
    QTest::addColumn<QByteArray>("value");
    // 30 s after the ManualClock's 2027-01-01T00:00:00Z, a Friday.
    QTest::newRow("rfc1123") << QByteArray("Fri, 01 Jan 2027 00:00:30 GMT");
    QTest::newRow("rfc850") << QByteArray("Friday, 01-Jan-27 00:00:30 GMT");
    QTest::newRow("asctime") << QByteArray("Fri Jan  1 00:00:30 2027");
}

void TestHttpDate::retryAfterDates()
{
    QFETCH(QByteArray, value);
    ManualClock clock;
    auto wait = parseRetryAfter(value, clock.wallMsecs());
    QVERIFY(wait.has_value());
    QCOMPARE(*wait, 30s);
    // The wait is relative to the wall clock, which moves on.
    clock.advance(12s);
    wait = parseRetryAfter(value, clock.wallMsecs());
    QVERIFY(wait.has_value());
    QCOMPARE(*wait, 18s);
}

void TestHttpDate::retryAfterPastDateIsZero()
{
    const ManualClock clock;
    const auto wait = parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", clock.wallMsecs());
    QVERIFY(wait.has_value());
    QCOMPARE(wait->count(), 0);
}

QTEST_GUILESS_MAIN(TestHttpDate)
#include "tst_httpdate.moc"

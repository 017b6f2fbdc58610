// Tests for RetryPolicy: what is retried (kinds, statuses, methods, count), full-jitter
// exponential backoff with an injected random source, the caps, and Retry-After handling.
// Pure logic: no clock, no network.
#include "core/http/retrypolicy.h"

#include <QtTest/QTest>

using namespace opsdeck::http;
using namespace std::chrono_literals;

namespace {

RetryPolicy::Settings settingsOf(int retryCount, std::chrono::milliseconds base)
{
    RetryPolicy::Settings settings;
    settings.retryCount = retryCount;
    settings.baseDelay = base;
    return settings;
}

RetryPolicy::Attempt statusAttempt(int status, int attemptsSoFar = 1)
{
    RetryPolicy::Attempt attempt;
    attempt.kind = status >= 400 ? HttpErrorKind::HttpStatus : HttpErrorKind::None;
    attempt.status = status;
    attempt.attemptsSoFar = attemptsSoFar;
    return attempt;
}

RetryPolicy::Random fixed(double value)
{
    return [value] {
        return value;
    };
}

} // namespace

class TestRetryPolicy : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void retryableOutcomes_data();
    void retryableOutcomes();
    void nonIdempotentIsNotRetried();
    void retryCountLimitsAttempts();
    void retryCountOverride();
    void backoffIsExponentialFullJitter();
    void backoffIsCapped();
    void backoffSpreadsUniformly();
    void retryAfterIsHonoured();
    void retryAfterBeyondDeadlineFailsRateLimited();
    void retryAfterBeyondMaximumFailsRateLimited();
    void retryAfterOnlyFor429And503();
    void noTimeLeftFailsOnTheDeadline();
};

void TestRetryPolicy::retryableOutcomes_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("retryable");
    QTest::newRow("connection") << int(HttpErrorKind::Connection) << 0 << true;
    QTest::newRow("timeout") << int(HttpErrorKind::Timeout) << 0 << true;
    QTest::newRow("429") << int(HttpErrorKind::HttpStatus) << 429 << true;
    QTest::newRow("502") << int(HttpErrorKind::HttpStatus) << 502 << true;
    QTest::newRow("503") << int(HttpErrorKind::HttpStatus) << 503 << true;
    QTest::newRow("504") << int(HttpErrorKind::HttpStatus) << 504 << true;
    QTest::newRow("500") << int(HttpErrorKind::HttpStatus) << 500 << false;
    QTest::newRow("404") << int(HttpErrorKind::HttpStatus) << 404 << false;
    QTest::newRow("200") << int(HttpErrorKind::None) << 200 << false;
    QTest::newRow("deadline") << int(HttpErrorKind::DeadlineExceeded) << 0 << false;
    QTest::newRow("rate limited") << int(HttpErrorKind::RateLimited) << 0 << false;
    QTest::newRow("circuit open") << int(HttpErrorKind::CircuitOpen) << 0 << false;
    QTest::newRow("invalid") << int(HttpErrorKind::InvalidRequest) << 0 << false;
}

void TestRetryPolicy::retryableOutcomes()
{
    QFETCH(int, kind);
    QFETCH(int, status);
    QFETCH(bool, retryable);
    QCOMPARE(RetryPolicy::isRetryable(HttpErrorKind(kind), status), retryable);
    const RetryPolicy policy(settingsOf(3, 10ms), fixed(0.5));
    RetryPolicy::Attempt attempt;
    attempt.kind = HttpErrorKind(kind);
    attempt.status = status;
    QCOMPARE(policy.decide(attempt).action == RetryPolicy::Action::Retry, retryable);
}

void TestRetryPolicy::nonIdempotentIsNotRetried()
{
    QVERIFY(HttpRequest::isIdempotentMethod("GET"));
    QVERIFY(HttpRequest::isIdempotentMethod("head"));
    QVERIFY(HttpRequest::isIdempotentMethod("PUT"));
    QVERIFY(HttpRequest::isIdempotentMethod("DELETE"));
    QVERIFY(HttpRequest::isIdempotentMethod("OPTIONS"));
    QVERIFY(!HttpRequest::isIdempotentMethod("POST"));
    QVERIFY(!HttpRequest::isIdempotentMethod("PATCH"));

    const RetryPolicy policy(settingsOf(3, 10ms), fixed(0.5));
    RetryPolicy::Attempt attempt = statusAttempt(503);
    attempt.retryAllowedForMethod = false;
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::Finish);
    attempt.kind = HttpErrorKind::Connection;
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::Finish);
}

void TestRetryPolicy::retryCountLimitsAttempts()
{
    const RetryPolicy policy(settingsOf(3, 10ms), fixed(0.5));
    for (int attempts = 1; attempts <= 3; ++attempts)
        QCOMPARE(policy.decide(statusAttempt(503, attempts)).action, RetryPolicy::Action::Retry);
    QCOMPARE(policy.decide(statusAttempt(503, 4)).action, RetryPolicy::Action::Finish);
}

void TestRetryPolicy::retryCountOverride()
{
    const RetryPolicy policy(settingsOf(3, 10ms), fixed(0.5));
    RetryPolicy::Attempt attempt = statusAttempt(503);
    attempt.retryCountOverride = 0;
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::Finish);
    attempt.retryCountOverride = 5;
    attempt.attemptsSoFar = 5;
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::Retry);
}

void TestRetryPolicy::backoffIsExponentialFullJitter()
{
    const RetryPolicy top(settingsOf(10, 100ms), fixed(1.0));
    QCOMPARE(top.backoff(1), RetryPolicy::Duration(100ms));
    QCOMPARE(top.backoff(2), RetryPolicy::Duration(200ms));
    QCOMPARE(top.backoff(3), RetryPolicy::Duration(400ms));
    QCOMPARE(top.backoff(4), RetryPolicy::Duration(800ms));
    QCOMPARE(top.decide(statusAttempt(502, 3)).delay, RetryPolicy::Duration(400ms));
    const RetryPolicy half(settingsOf(10, 100ms), fixed(0.5));
    QCOMPARE(half.backoff(3), RetryPolicy::Duration(200ms));
    const RetryPolicy bottom(settingsOf(10, 100ms), fixed(0.0));
    QCOMPARE(bottom.backoff(3), RetryPolicy::Duration(0));
}

void TestRetryPolicy::backoffIsCapped()
{
    const RetryPolicy policy(settingsOf(100, 1000ms), fixed(1.0));
    QCOMPARE(policy.backoff(5), RetryPolicy::Duration(16s));
    QCOMPARE(policy.backoff(6), RetryPolicy::Duration(30s)); // 32 s, capped at 30 s
    QCOMPARE(policy.backoff(60), RetryPolicy::Duration(30s));
    QCOMPARE(policy.backoff(5, RetryPolicy::Duration(3s)), RetryPolicy::Duration(3s));
    RetryPolicy::Attempt attempt = statusAttempt(503, 5);
    attempt.remaining = 2500ms;
    QCOMPARE(policy.decide(attempt).delay, RetryPolicy::Duration(2500ms));
}

void TestRetryPolicy::backoffSpreadsUniformly()
{
    const RetryPolicy policy(settingsOf(10, 100ms)); // the real random source
    double sum = 0;
    RetryPolicy::Duration low = 1h;
    RetryPolicy::Duration high{0};
    constexpr int kSamples = 4000;
    for (int i = 0; i < kSamples; ++i) {
        const RetryPolicy::Duration d = policy.backoff(3); // uniform in [0, 400 ms]
        QVERIFY(d >= RetryPolicy::Duration(0) && d <= RetryPolicy::Duration(400ms));
        sum += double(d.count());
        low = std::min(low, d);
        high = std::max(high, d);
    }
    const double meanMs = sum / kSamples / 1e6;
    QVERIFY2(meanMs > 185 && meanMs < 215, qPrintable(QString::number(meanMs)));
    QVERIFY(low < RetryPolicy::Duration(20ms));
    QVERIFY(high > RetryPolicy::Duration(380ms));
}

void TestRetryPolicy::retryAfterIsHonoured()
{
    const RetryPolicy policy(settingsOf(3, 10ms), fixed(0.5));
    RetryPolicy::Attempt attempt = statusAttempt(429);
    attempt.retryAfter = 2000ms;
    RetryPolicy::Decision decision = policy.decide(attempt);
    QCOMPARE(decision.action, RetryPolicy::Action::Retry);
    QCOMPARE(decision.delay, RetryPolicy::Duration(2s));
    attempt.remaining = 5s;
    decision = policy.decide(attempt);
    QCOMPARE(decision.action, RetryPolicy::Action::Retry);
    QCOMPARE(decision.delay, RetryPolicy::Duration(2s));
}

void TestRetryPolicy::retryAfterBeyondDeadlineFailsRateLimited()
{
    const RetryPolicy policy(settingsOf(3, 10ms), fixed(0.5));
    RetryPolicy::Attempt attempt = statusAttempt(429);
    attempt.retryAfter = 2000ms;
    attempt.remaining = 1999ms;
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::FailRateLimited);
}

void TestRetryPolicy::retryAfterBeyondMaximumFailsRateLimited()
{
    RetryPolicy::Settings settings = settingsOf(3, 10ms);
    settings.maxRetryAfter = 10s;
    const RetryPolicy policy(settings, fixed(0.5));
    RetryPolicy::Attempt attempt = statusAttempt(503);
    attempt.retryAfter = 11s;
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::FailRateLimited);
    attempt.retryAfter = 10s;
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::Retry);
}

void TestRetryPolicy::retryAfterOnlyFor429And503()
{
    const RetryPolicy policy(settingsOf(3, 100ms), fixed(1.0));
    RetryPolicy::Attempt attempt = statusAttempt(502);
    attempt.retryAfter = 5s;
    const RetryPolicy::Decision decision = policy.decide(attempt);
    QCOMPARE(decision.action, RetryPolicy::Action::Retry);
    QCOMPARE(decision.delay, RetryPolicy::Duration(100ms));
}

void TestRetryPolicy::noTimeLeftFailsOnTheDeadline()
{
    const RetryPolicy policy(settingsOf(3, 100ms), fixed(1.0));
    RetryPolicy::Attempt attempt = statusAttempt(503);
    attempt.remaining = RetryPolicy::Duration(0);
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::FailDeadline);
    // Not retryable anyway: the outcome stands.
    attempt = statusAttempt(404);
    attempt.remaining = RetryPolicy::Duration(0);
    QCOMPARE(policy.decide(attempt).action, RetryPolicy::Action::Finish);
}

QTEST_GUILESS_MAIN(TestRetryPolicy)
#include "tst_retrypolicy.moc"

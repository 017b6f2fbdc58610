// Tests for CircuitBreaker on a ManualClock: opens after consecutive failures, half-opens for
// one probe, closes on success, re-opens for longer on a failed probe.
#include "core/http/circuitbreaker.h"
#include "core/support/clock.h"

#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::http;
using namespace std::chrono_literals;

namespace {

CircuitBreaker::Settings settingsOf(int threshold)
{
    CircuitBreaker::Settings settings;
    settings.failureThreshold = threshold;
    settings.openDuration = 1000ms;
    settings.maxOpenDuration = 3000ms;
    return settings;
}

} // namespace

class TestCircuitBreaker : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void opensAfterConsecutiveFailures();
    void successResetsTheCount();
    void halfOpensForExactlyOneProbe();
    void probeSuccessCloses();
    void probeFailureReopensForLonger();
    void lateFailuresWhileOpenChangeNothing();
    void zeroThresholdDisables();
    void stateNames();
};

void TestCircuitBreaker::opensAfterConsecutiveFailures()
{
    const ManualClock clock;
    CircuitBreaker breaker(settingsOf(3), clock);
    breaker.recordFailure();
    breaker.recordFailure();
    QCOMPARE(breaker.state(), CircuitBreaker::State::Closed);
    QVERIFY(breaker.tryAcquire());
    breaker.recordFailure();
    QCOMPARE(breaker.state(), CircuitBreaker::State::Open);
    QVERIFY(!breaker.tryAcquire());
    QCOMPARE(breaker.openUntil() - clock.monotonic(), Clock::Duration(1s));
}

void TestCircuitBreaker::successResetsTheCount()
{
    const ManualClock clock;
    CircuitBreaker breaker(settingsOf(3), clock);
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    QCOMPARE(breaker.state(), CircuitBreaker::State::Closed);
    QCOMPARE(breaker.consecutiveFailures(), 2);
}

void TestCircuitBreaker::halfOpensForExactlyOneProbe()
{
    ManualClock clock;
    CircuitBreaker breaker(settingsOf(1), clock);
    breaker.recordFailure();
    clock.advance(999ms);
    QCOMPARE(breaker.state(), CircuitBreaker::State::Open);
    clock.advance(1ms);
    QCOMPARE(breaker.state(), CircuitBreaker::State::HalfOpen);
    QVERIFY(breaker.tryAcquire());
    QVERIFY(breaker.isProbeInFlight());
    QVERIFY(!breaker.tryAcquire());
    breaker.releaseProbe();
    QVERIFY(breaker.tryAcquire());
}

void TestCircuitBreaker::probeSuccessCloses()
{
    ManualClock clock;
    CircuitBreaker breaker(settingsOf(1), clock);
    breaker.recordFailure();
    clock.advance(1s);
    QVERIFY(breaker.tryAcquire());
    breaker.recordSuccess(true);
    QCOMPARE(breaker.state(), CircuitBreaker::State::Closed);
    QVERIFY(breaker.tryAcquire());
    QVERIFY(breaker.tryAcquire());
    // And the open time starts from the beginning again.
    breaker.recordFailure();
    QCOMPARE(breaker.openUntil() - clock.monotonic(), Clock::Duration(1s));
}

void TestCircuitBreaker::probeFailureReopensForLonger()
{
    ManualClock clock;
    CircuitBreaker breaker(settingsOf(1), clock);
    breaker.recordFailure();
    for (const auto expected : {2s, 3s, 3s}) { // doubled, then capped
        clock.advance(breaker.openUntil() - clock.monotonic());
        QVERIFY(breaker.tryAcquire());
        breaker.recordFailure(true);
        QCOMPARE(breaker.state(), CircuitBreaker::State::Open);
        QCOMPARE(breaker.openUntil() - clock.monotonic(), Clock::Duration(expected));
    }
}

void TestCircuitBreaker::lateFailuresWhileOpenChangeNothing()
{
    ManualClock clock;
    CircuitBreaker breaker(settingsOf(1), clock);
    breaker.recordFailure();
    const Clock::MonoTime until = breaker.openUntil();
    clock.advance(500ms);
    breaker.recordFailure();
    QCOMPARE(breaker.openUntil(), until);
    clock.advance(500ms);
    QVERIFY(breaker.tryAcquire());
    breaker.recordFailure(false); // an older attempt, not the probe
    QVERIFY(breaker.isProbeInFlight());
    QCOMPARE(breaker.state(), CircuitBreaker::State::HalfOpen);
}

void TestCircuitBreaker::zeroThresholdDisables()
{
    const ManualClock clock;
    CircuitBreaker breaker(settingsOf(0), clock);
    for (int i = 0; i < 100; ++i)
        breaker.recordFailure();
    QCOMPARE(breaker.state(), CircuitBreaker::State::Closed);
}

void TestCircuitBreaker::stateNames()
{
    QCOMPARE(CircuitBreaker::toString(CircuitBreaker::State::Closed), u"closed");
    QCOMPARE(CircuitBreaker::toString(CircuitBreaker::State::Open), u"open");
    QCOMPARE(CircuitBreaker::toString(CircuitBreaker::State::HalfOpen), u"half_open");
}

QTEST_GUILESS_MAIN(TestCircuitBreaker)
#include "tst_circuitbreaker.moc"

// Tests for RateLimiter, all on a ManualClock (no real time): the GCRA window bound
// (admissions in any window T <= burst + rate * T), the long-run rate within 1 %, weights,
// the reserved CRITICAL/HIGH share, pauses, usage-header corrections and concurrent callers.
#include "core/http/ratelimiter.h"
#include "core/support/clock.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

#include <atomic>
#include <thread>
#include <vector>

using namespace opsdeck;
using namespace opsdeck::http;
using namespace std::chrono_literals;

namespace {

struct Admission
{
    qint64 atNs = 0;
    double units = 1.0;
};

// The most units admitted in any window [t, t + windowNs] (closed, the strictest reading).
double maxUnitsInWindow(const std::vector<Admission> &admissions, qint64 windowNs)
{
    double best = 0.0;
    double sum = 0.0;
    size_t first = 0;
    for (size_t last = 0; last < admissions.size(); ++last) {
        sum += admissions[last].units;
        while (admissions[last].atNs - admissions[first].atNs > windowNs) {
            sum -= admissions[first].units;
            ++first;
        }
        best = std::max(best, sum);
    }
    return best;
}

// A caller that always wants more: takes what it can, then sleeps (on the manual clock) until
// the limiter says to come back.
std::vector<Admission> greedy(RateLimiter &limiter,
                              ManualClock &clock,
                              Clock::Duration span,
                              TaskPriority priority = TaskPriority::Normal,
                              double cost = 1.0)
{
    std::vector<Admission> admissions;
    const Clock::MonoTime end = clock.monotonic() + span;
    while (clock.monotonic() < end) {
        const RateLimiter::Decision d = limiter.tryAcquire(cost, priority);
        if (d.admitted) {
            admissions.push_back({d.at.count(), cost});
            continue;
        }
        if (d.at <= clock.monotonic())
            qFatal("a refusal must point to the future");
        clock.advance(d.at - clock.monotonic());
    }
    return admissions;
}

RateLimiter::Limits limitsOf(double perMinute, double burst = 0.0)
{
    RateLimiter::Limits limits;
    limits.perMinute = perMinute;
    limits.burst = burst;
    return limits;
}

} // namespace

class TestRateLimiter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultBurstAndReserve_data();
    void defaultBurstAndReserve();
    void burstThenOnePerInterval();
    void windowBoundHolds_data();
    void windowBoundHolds();
    void windowBoundHoldsForRandomArrivalsAndWeights();
    void longRunRateWithinOnePercent_data();
    void longRunRateWithinOnePercent();
    void weightCountsUnits();
    void costAboveBurstNeedsAFullBucket();
    void criticalFindsReservedCapacity();
    void earliestAdmissionCountsWhatIsAhead();
    void pauseBlocksThenRestartsSlowly();
    void usageHeaderBooksUnseenUsage();
    void usageAtTheLimitPausesToTheNextMinute();
    void lowerUsageChangesNothing();
    void setLimitsKeepsTheDebt();
    void concurrentCallersCannotSlipPast();
};

void TestRateLimiter::defaultBurstAndReserve_data()
{
    QTest::addColumn<double>("perMinute");
    QTest::addColumn<double>("burst");
    QTest::addColumn<double>("expectedBurst");
    QTest::addColumn<double>("expectedReserved");
    QTest::newRow("600/min") << 600.0 << 0.0 << 10.0 << 2.0;
    QTest::newRow("30/min") << 30.0 << 0.0 << 1.0 << 0.0;
    QTest::newRow("1200/min") << 1200.0 << 0.0 << 20.0 << 4.0;
    QTest::newRow("burst 2") << 60.0 << 2.0 << 2.0 << 0.0;
    QTest::newRow("burst 5") << 60.0 << 5.0 << 5.0 << 1.0;
}

void TestRateLimiter::defaultBurstAndReserve()
{
    QFETCH(double, perMinute);
    QFETCH(double, burst);
    QFETCH(double, expectedBurst);
    QFETCH(double, expectedReserved);
    const ManualClock clock;
    const RateLimiter limiter(limitsOf(perMinute, burst), clock);
    QCOMPARE(limiter.burst(), expectedBurst);
    QCOMPARE(limiter.reservedUnits(), expectedReserved);
}

void TestRateLimiter::burstThenOnePerInterval()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(600), clock); // 10/s, burst 10, 2 reserved
    for (int i = 0; i < 8; ++i)
        QVERIFY(limiter.tryAcquire().admitted);
    const RateLimiter::Decision refused = limiter.tryAcquire();
    QVERIFY(!refused.admitted);
    QCOMPARE(refused.at - clock.monotonic(), Clock::Duration(100ms));
    clock.advance(99ms);
    QVERIFY(!limiter.tryAcquire().admitted);
    clock.advance(1ms);
    QVERIFY(limiter.tryAcquire().admitted);
    QVERIFY(!limiter.tryAcquire().admitted);
    QCOMPARE(limiter.admittedRequests(), quint64(9));
}

void TestRateLimiter::windowBoundHolds_data()
{
    QTest::addColumn<double>("perMinute");
    QTest::addColumn<double>("burst");
    QTest::addColumn<int>("priority");
    QTest::newRow("600/min normal") << 600.0 << 0.0 << int(TaskPriority::Normal);
    QTest::newRow("600/min critical") << 600.0 << 0.0 << int(TaskPriority::Critical);
    QTest::newRow("50/min burst 1") << 50.0 << 0.0 << int(TaskPriority::Normal);
    QTest::newRow("1200/min burst 40") << 1200.0 << 40.0 << int(TaskPriority::High);
}

void TestRateLimiter::windowBoundHolds()
{
    QFETCH(double, perMinute);
    QFETCH(double, burst);
    QFETCH(int, priority);
    ManualClock clock;
    RateLimiter limiter(limitsOf(perMinute, burst), clock);
    const auto admissions = greedy(limiter, clock, 10min, TaskPriority(priority));
    const double rate = perMinute / 60e9; // per ns
    for (const qint64 windowMs :
         {0LL, 1LL, 49LL, 50LL, 100LL, 999LL, 1000LL, 5000LL, 60000LL, 300000LL}) {
        const qint64 windowNs = windowMs * 1'000'000;
        const double bound = limiter.burst() + rate * double(windowNs);
        const double seen = maxUnitsInWindow(admissions, windowNs);
        QVERIFY2(
            seen <= bound + 1e-9,
            qPrintable(QStringLiteral("window %1 ms: %2 > %3").arg(windowMs).arg(seen).arg(bound)));
    }
}

void TestRateLimiter::windowBoundHoldsForRandomArrivalsAndWeights()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(1200, 10), clock); // 20 units/s
    QRandomGenerator random(42);
    std::vector<Admission> admissions;
    for (int i = 0; i < 20000; ++i) {
        clock.advance(std::chrono::microseconds(random.bounded(100'000)));
        const double cost = 1 + random.bounded(3);
        const auto priority = TaskPriority(random.bounded(kTaskPriorityCount));
        const RateLimiter::Decision d = limiter.tryAcquire(cost, priority);
        if (d.admitted)
            admissions.push_back({d.at.count(), cost});
    }
    QVERIFY(admissions.size() > 1000);
    for (const qint64 windowMs : {0LL, 10LL, 100LL, 500LL, 1000LL, 10000LL, 60000LL}) {
        const qint64 windowNs = windowMs * 1'000'000;
        const double bound = 10.0 + 20.0 * double(windowMs) / 1000.0;
        QVERIFY2(maxUnitsInWindow(admissions, windowNs) <= bound + 1e-9,
                 qPrintable(QString::number(windowMs)));
    }
}

void TestRateLimiter::longRunRateWithinOnePercent_data()
{
    QTest::addColumn<double>("perMinute");
    QTest::addColumn<int>("minutes");
    QTest::newRow("1/min") << 1.0 << 600;
    QTest::newRow("7/min") << 7.0 << 300;
    QTest::newRow("60/min") << 60.0 << 60;
    QTest::newRow("1200/min") << 1200.0 << 10;
    QTest::newRow("6000/min") << 6000.0 << 3;
}

void TestRateLimiter::longRunRateWithinOnePercent()
{
    QFETCH(double, perMinute);
    QFETCH(int, minutes);
    ManualClock clock;
    RateLimiter limiter(limitsOf(perMinute), clock);
    const auto admissions = greedy(limiter, clock, std::chrono::minutes(minutes));
    const double expected = perMinute * minutes;
    const double measured = double(admissions.size()) - (limiter.burst() - limiter.reservedUnits());
    QVERIFY2(std::abs(measured - expected) <= 0.01 * expected,
             qPrintable(QStringLiteral("%1 vs %2").arg(measured).arg(expected)));
    // And the rate between the first and last admission of the steady part.
    const qsizetype steadyFrom = qsizetype(limiter.burst());
    const double spanMin
        = double(admissions.back().atNs - admissions[size_t(steadyFrom)].atNs) / 60e9;
    const double steadyRate = double(qsizetype(admissions.size()) - 1 - steadyFrom) / spanMin;
    QVERIFY2(std::abs(steadyRate - perMinute) <= 0.01 * perMinute,
             qPrintable(QString::number(steadyRate)));
}

void TestRateLimiter::weightCountsUnits()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(60, 10), clock); // 1 unit/s, burst 10 (2 reserved)
    QVERIFY(limiter.tryAcquire(4).admitted);
    QVERIFY(limiter.tryAcquire(4).admitted);
    const RateLimiter::Decision d = limiter.tryAcquire(4);
    QVERIFY(!d.admitted);
    QCOMPARE(d.at - clock.monotonic(), Clock::Duration(4s));
    QCOMPARE(limiter.admittedUnits(), 8.0);
    QCOMPARE(limiter.availableUnits(TaskPriority::Critical), 2.0);
}

void TestRateLimiter::costAboveBurstNeedsAFullBucket()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(60, 3), clock);
    QVERIFY(limiter.tryAcquire(1).admitted);
    RateLimiter::Decision d = limiter.tryAcquire(5);
    QVERIFY(!d.admitted);
    QCOMPARE(d.at - clock.monotonic(), Clock::Duration(1s)); // when the bucket is full again
    clock.advance(1s);
    QVERIFY(limiter.tryAcquire(5).admitted);
    d = limiter.tryAcquire(1);
    QVERIFY(!d.admitted);
    // 5 units of debt on a burst of 3: the next unit fits after 3 s.
    QCOMPARE(d.at - clock.monotonic(), Clock::Duration(3s));
}

void TestRateLimiter::criticalFindsReservedCapacity()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(600), clock); // burst 10, 2 reserved
    while (limiter.tryAcquire(1, TaskPriority::Normal).admitted) {
    }
    QCOMPARE(limiter.admittedRequests(), quint64(8));
    QVERIFY(!limiter.tryAcquire(1, TaskPriority::Low).admitted);
    QVERIFY(limiter.tryAcquire(1, TaskPriority::Critical).admitted);
    QVERIFY(limiter.tryAcquire(1, TaskPriority::High).admitted);
    QVERIFY(!limiter.tryAcquire(1, TaskPriority::Critical).admitted);
    // A critical caller waits one interval; a normal one until the reserve is back as well.
    QCOMPARE(limiter.earliestAdmission(1, TaskPriority::Critical) - clock.monotonic(),
             Clock::Duration(100ms));
    QCOMPARE(limiter.earliestAdmission(1, TaskPriority::Normal) - clock.monotonic(),
             Clock::Duration(300ms));
}

void TestRateLimiter::earliestAdmissionCountsWhatIsAhead()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(60, 1), clock); // 1/s, burst 1
    QCOMPARE(limiter.earliestAdmission(1, TaskPriority::Normal), clock.monotonic());
    QCOMPARE(limiter.earliestAdmission(1, TaskPriority::Normal, 3) - clock.monotonic(),
             Clock::Duration(3s));
    QVERIFY(limiter.tryAcquire().admitted);
    QCOMPARE(limiter.earliestAdmission(1, TaskPriority::Normal, 3) - clock.monotonic(),
             Clock::Duration(4s));
    QCOMPARE(limiter.admittedRequests(), quint64(1)); // asking books nothing
}

void TestRateLimiter::pauseBlocksThenRestartsSlowly()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(600), clock);
    limiter.pauseUntil(clock.monotonic() + 5s);
    QVERIFY(limiter.isPaused());
    RateLimiter::Decision d = limiter.tryAcquire(1, TaskPriority::Critical);
    QVERIFY(!d.admitted);
    QVERIFY(d.at >= limiter.pausedUntil());
    clock.advance(5s - 1ms);
    QVERIFY(!limiter.tryAcquire(1, TaskPriority::Critical).admitted);
    clock.advance(1ms);
    QVERIFY(!limiter.isPaused());
    // After the pause one request goes, then the plain rate, no full burst.
    QVERIFY(limiter.tryAcquire(1, TaskPriority::Critical).admitted);
    d = limiter.tryAcquire(1, TaskPriority::Critical);
    QVERIFY(!d.admitted);
    QCOMPARE(d.at - clock.monotonic(), Clock::Duration(100ms));
}

void TestRateLimiter::usageHeaderBooksUnseenUsage()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(60, 10), clock); // 1 unit/s
    const RateLimiter::Decision first = limiter.tryAcquire(1, TaskPriority::Critical);
    QVERIFY(first.admitted);
    clock.advance(200ms);
    // The server counted 30 where we booked 1: 29 more are booked now.
    limiter.observeUsage(30, first.at);
    QCOMPARE(limiter.availableUnits(TaskPriority::Critical), 0.0);
    const auto wait = limiter.earliestAdmission(1, TaskPriority::Critical) - clock.monotonic();
    // Debt: 1 unit left of the first (0.8 s) + 29 s; one unit fits once it is under 9 s.
    QCOMPARE(wait, Clock::Duration(29s + 800ms + 1s - 10s));
    // The same report again books nothing more: the correction is in the ledger now.
    limiter.observeUsage(30, first.at);
    QCOMPARE(limiter.earliestAdmission(1, TaskPriority::Critical) - clock.monotonic(), wait);
}

void TestRateLimiter::usageAtTheLimitPausesToTheNextMinute()
{
    ManualClock clock; // wall 2027-01-01T00:00:00Z
    RateLimiter limiter(limitsOf(60, 10), clock);
    clock.advance(15s);
    const RateLimiter::Decision d = limiter.tryAcquire();
    QVERIFY(d.admitted);
    limiter.observeUsage(60, d.at);
    QVERIFY(limiter.isPaused());
    QCOMPARE(limiter.pausedUntil() - clock.monotonic(), Clock::Duration(45s));
}

void TestRateLimiter::lowerUsageChangesNothing()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(60, 10), clock);
    for (int i = 0; i < 5; ++i)
        QVERIFY(limiter.tryAcquire(1, TaskPriority::Critical).admitted);
    const double before = limiter.availableUnits(TaskPriority::Critical);
    limiter.observeUsage(3, clock.monotonic());
    limiter.observeUsage(5, clock.monotonic());
    QCOMPARE(limiter.availableUnits(TaskPriority::Critical), before);
    QVERIFY(!limiter.isPaused());
}

void TestRateLimiter::setLimitsKeepsTheDebt()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(60, 10), clock);
    for (int i = 0; i < 6; ++i)
        QVERIFY(limiter.tryAcquire(1, TaskPriority::Critical).admitted);
    limiter.setLimits(limitsOf(120, 10)); // 6 units of debt stay 6 units
    QCOMPARE(limiter.availableUnits(TaskPriority::Critical), 4.0);
    clock.advance(1s);
    QCOMPARE(limiter.availableUnits(TaskPriority::Critical), 6.0);
}

void TestRateLimiter::concurrentCallersCannotSlipPast()
{
    ManualClock clock;
    RateLimiter limiter(limitsOf(600), clock); // burst 10
    std::atomic<int> admitted{0};
    const auto hammer = [&] {
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 5000; ++i) {
                    if (limiter.tryAcquire(1, TaskPriority::Critical).admitted)
                        admitted.fetch_add(1);
                }
            });
        }
        for (auto &thread : threads)
            thread.join();
    };
    hammer();
    QCOMPARE(admitted.load(), 10);
    clock.advance(1s); // exactly 10 more units
    hammer();
    QCOMPARE(admitted.load(), 20);
    QCOMPARE(limiter.admittedRequests(), quint64(20));
}

QTEST_GUILESS_MAIN(TestRateLimiter)
#include "tst_ratelimiter.moc"

// Tests for RetryBudget on a ManualClock: it starts full, refills at perSecond, earns ratio per
// success, and caps what it saves.
#include "core/http/retrybudget.h"
#include "core/support/clock.h"

#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::http;
using namespace std::chrono_literals;

class TestRetryBudget : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void startsFullAndRunsOut();
    void refillsPerSecond();
    void successesEarnTenPercent();
    void capLimitsSavings();
    void longRunRetriesStayWithinBudget();
};

void TestRetryBudget::startsFullAndRunsOut()
{
    const ManualClock clock;
    RetryBudget budget({}, clock);
    for (int i = 0; i < 10; ++i)
        QVERIFY(budget.tryWithdraw());
    QVERIFY(!budget.tryWithdraw());
    QCOMPARE(budget.balance(), 0.0);
}

void TestRetryBudget::refillsPerSecond()
{
    ManualClock clock;
    RetryBudget budget({}, clock);
    while (budget.tryWithdraw()) {
    }
    clock.advance(999ms);
    QVERIFY(!budget.tryWithdraw());
    clock.advance(1ms);
    QVERIFY(budget.tryWithdraw());
    QVERIFY(!budget.tryWithdraw());
}

void TestRetryBudget::successesEarnTenPercent()
{
    const ManualClock clock;
    RetryBudget budget({}, clock);
    while (budget.tryWithdraw()) {
    }
    for (int i = 0; i < 9; ++i)
        budget.recordSuccess();
    QVERIFY(!budget.tryWithdraw());
    budget.recordSuccess();
    QVERIFY(budget.tryWithdraw());
    QVERIFY(!budget.tryWithdraw());
}

void TestRetryBudget::capLimitsSavings()
{
    ManualClock clock;
    RetryBudget::Settings settings;
    settings.cap = 3;
    RetryBudget budget(settings, clock);
    clock.advance(1h);
    for (int i = 0; i < 1000; ++i)
        budget.recordSuccess();
    QCOMPARE(budget.balance(), 3.0);
}

void TestRetryBudget::longRunRetriesStayWithinBudget()
{
    // 100 successes and as many retry wishes per second for a minute: the budget allows at most
    // cap + 10 % of the successes + 1 per second.
    ManualClock clock;
    RetryBudget budget({}, clock);
    int granted = 0;
    int successes = 0;
    for (int ms = 0; ms < 60'000; ms += 10) {
        budget.recordSuccess();
        ++successes;
        if (budget.tryWithdraw())
            ++granted;
        clock.advance(10ms);
    }
    const double allowed = 10 + 0.1 * successes + 60;
    QVERIFY2(granted <= allowed, qPrintable(QString::number(granted)));
    QVERIFY(granted >= 0.1 * successes + 60 - 1);
}

QTEST_GUILESS_MAIN(TestRetryBudget)
#include "tst_retrybudget.moc"

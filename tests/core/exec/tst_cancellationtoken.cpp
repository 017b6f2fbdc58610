#include "core/exec/cancellationtoken.h"

#include <QtTest/QtTest>

#include <thread>

using namespace opsdeck::exec;
using namespace std::chrono_literals;

class TestCancellationToken : public QObject
{
    Q_OBJECT
private slots:
    void freshTokenIsNotCancelled()
    {
        CancellationToken token;
        QVERIFY(!token.isCancelled());
        QVERIFY(token.reason() == CancelReason::None);
        QVERIFY(!token.waitFor(0ms));
    }
    void copiesShareState()
    {
        CancellationToken a;
        const CancellationToken b = a;
        QVERIFY(a.sharesStateWith(b));
        QVERIFY(b.cancel(CancelReason::TimedOut));
        QVERIFY(a.isCancelled());
        QVERIFY(a.reason() == CancelReason::TimedOut);
        QVERIFY(!CancellationToken().sharesStateWith(a));
    }
    void firstReasonWins()
    {
        CancellationToken token;
        QVERIFY(token.cancel(CancelReason::Cancelled));
        QVERIFY(!token.cancel(CancelReason::EngineStopped));
        QVERIFY(token.reason() == CancelReason::Cancelled);
        QCOMPARE(toString(token.reason()), QStringLiteral("cancelled"));
    }
    void waitWakesOnCancelFromAnotherThread()
    {
        CancellationToken token;
        std::atomic<bool> woke{false};
        std::thread waiter([&] {
            token.waitUntilCancelled();
            woke = true;
        });
        QVERIFY(!woke.load());
        token.cancel();
        waiter.join();
        QVERIFY(woke.load());
        QVERIFY(token.waitFor(1h)); // already fired: returns at once
    }
    void reasonNames_data()
    {
        QTest::addColumn<int>("reason");
        QTest::addColumn<QString>("name");
        QTest::newRow("none") << int(CancelReason::None) << QStringLiteral("none");
        QTest::newRow("cancelled") << int(CancelReason::Cancelled) << QStringLiteral("cancelled");
        QTest::newRow("timed_out") << int(CancelReason::TimedOut) << QStringLiteral("timed_out");
        QTest::newRow("stopped") << int(CancelReason::EngineStopped)
                                 << QStringLiteral("engine_stopped");
    }
    void reasonNames()
    {
        QFETCH(int, reason);
        QFETCH(QString, name);
        QCOMPARE(toString(CancelReason(reason)), name);
    }
};

QTEST_GUILESS_MAIN(TestCancellationToken)
#include "tst_cancellationtoken.moc"

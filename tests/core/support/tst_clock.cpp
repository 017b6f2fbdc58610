#include "core/support/clock.h"

#include <QtTest/QtTest>

using namespace opsdeck;
using namespace std::chrono_literals;

class TstClock : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void systemClockIsMonotonic()
    {
        const Clock &clock = Clock::system();
        Clock::MonoTime previous = clock.monotonic();
        for (int i = 0; i < 1000; ++i) {
            const Clock::MonoTime now = clock.monotonic();
            QVERIFY(now >= previous);
            previous = now;
        }
    }

    void systemWallTimeIsNow()
    {
        const qint64 before = QDateTime::currentMSecsSinceEpoch();
        const qint64 wall = Clock::system().wallMsecs();
        const qint64 after = QDateTime::currentMSecsSinceEpoch();
        QVERIFY(wall >= before && wall <= after);
        QCOMPARE(Clock::system().wallTime().timeSpec(), Qt::UTC);
    }

    void manualClockMovesOnlyWhenTold()
    {
        ManualClock clock(1'000'000, 5s);
        QCOMPARE(clock.monotonic(), Clock::MonoTime(5s));
        QCOMPARE(clock.wallMsecs(), qint64(1'000'000));
        clock.advance(1500ms);
        QCOMPARE(clock.monotonic(), Clock::MonoTime(6500ms));
        QCOMPARE(clock.wallMsecs(), qint64(1'001'500));
    }

    void manualClockSubMillisecondStepsAccumulate()
    {
        ManualClock clock(0, 0ns);
        for (int i = 0; i < 10; ++i)
            clock.advance(100us);
        QCOMPARE(clock.monotonic(), Clock::MonoTime(1ms));
        QCOMPARE(clock.wallMsecs(), qint64(1));
    }

    void wallStepDoesNotMoveMonotonic()
    {
        ManualClock clock;
        const Clock::MonoTime mono = clock.monotonic();
        clock.setWallMsecs(0);
        QCOMPARE(clock.wallMsecs(), qint64(0));
        QCOMPARE(clock.monotonic(), mono);
    }

    void manualClockIsThreadSafe()
    {
        ManualClock clock(0, 0ns);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&clock] {
                for (int i = 0; i < 10000; ++i)
                    clock.advance(1us);
            });
        for (auto &thread : threads)
            thread.join();
        QCOMPARE(clock.monotonic(), Clock::MonoTime(40ms));
        QCOMPARE(clock.wallMsecs(), qint64(40));
    }
};

QTEST_GUILESS_MAIN(TstClock)
#include "tst_clock.moc"

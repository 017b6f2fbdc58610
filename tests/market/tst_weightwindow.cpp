// WeightWindow: a fixed window on the market clock; refusals are not counted and tell the
// whole seconds until the window ends.
#include "core/support/clock.h"
#include "market/weightwindow.h"

#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::market;

class TstWeightWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void admitsUpToTheLimit()
    {
        ManualClock clock(1'798'761'600'000); // on a minute boundary
        WeightWindow w(clock);
        for (int i = 1; i <= 10; ++i) {
            const auto a = w.admit(5, 50, 60'000);
            QVERIFY(a.admitted);
            QCOMPARE(a.usedWeight, qint64(5 * i));
        }
        clock.advance(std::chrono::milliseconds(20'300));
        auto refused = w.admit(1, 50, 60'000);
        QVERIFY(!refused.admitted);
        QCOMPARE(refused.usedWeight, qint64(50));
        QCOMPARE(refused.retryAfterSeconds, 40); // 39.7 s left, rounded up
        QCOMPARE(w.usedWeight(60'000), qint64(50)); // refusals are not counted

        clock.advance(std::chrono::milliseconds(39'700)); // the next minute
        QCOMPARE(w.usedWeight(60'000), qint64(0));
        const auto a = w.admit(250, 6000, 60'000);
        QVERIFY(a.admitted);
        QCOMPARE(a.usedWeight, qint64(250));
    }

    void heavyRequestRefusedWhileLightOnesFit()
    {
        ManualClock clock(1'798'761'600'000);
        WeightWindow w(clock);
        QVERIFY(w.admit(40, 50, 60'000).admitted);
        QVERIFY(!w.admit(25, 50, 60'000).admitted);
        QVERIFY(w.admit(10, 50, 60'000).admitted);
    }

    void shortWindowsAndMinimumRetryAfter()
    {
        ManualClock clock(1'798'761'600'000 + 4'999);
        WeightWindow w(clock);
        QVERIFY(w.admit(3, 3, 5000).admitted);
        const auto refused = w.admit(1, 3, 5000);
        QVERIFY(!refused.admitted);
        QCOMPARE(refused.retryAfterSeconds, 1); // 1 ms left still says 1 s
        clock.advance(std::chrono::milliseconds(1));
        QVERIFY(w.admit(1, 3, 5000).admitted);
    }
};

QTEST_GUILESS_MAIN(TstWeightWindow)
#include "tst_weightwindow.moc"

// LoadSchedule: the open model's intended starts (linear rate ramp, then a fixed rate) and the
// closed model's worker start offsets. Pure arithmetic.
#include "core/perf/loadtestschedule.h"

#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::perf;
using namespace std::chrono_literals;

class TestLoadTestSchedule : public QObject
{
    Q_OBJECT

private slots:
    void counts_data()
    {
        QTest::addColumn<double>("rate");
        QTest::addColumn<double>("rampSeconds");
        QTest::addColumn<double>("measuredSeconds");
        QTest::addColumn<qint64>("rampOps");
        QTest::addColumn<qint64>("totalOps");
        // N(T) = R·T/2 operations in the ramp (ceil: operation k is due at sqrt(2Tk/R) < T).
        QTest::newRow("no ramp") << 2000.0 << 0.0 << 2.0 << qint64(0) << qint64(4000);
        QTest::newRow("ramp 5 s at 100/s") << 100.0 << 5.0 << 60.0 << qint64(250) << qint64(6250);
        QTest::newRow("odd ramp count") << 3.0 << 1.0 << 2.0 << qint64(2) << qint64(8);
        QTest::newRow("fractional rate") << 0.5 << 0.0 << 10.0 << qint64(0) << qint64(5);
    }
    void counts()
    {
        QFETCH(double, rate);
        QFETCH(double, rampSeconds);
        QFETCH(double, measuredSeconds);
        QFETCH(qint64, rampOps);
        QFETCH(qint64, totalOps);
        const LoadSchedule s(
            rate,
            std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(rampSeconds)),
            std::chrono::duration_cast<Clock::Duration>(
                std::chrono::duration<double>(measuredSeconds)));
        QCOMPARE(s.rampUpOperations(), rampOps);
        QCOMPARE(s.totalOperations(), totalOps);
        QVERIFY(s.intendedOffset(totalOps - 1).has_value());
        QVERIFY(!s.intendedOffset(totalOps).has_value());
        QVERIFY(!s.intendedOffset(-1).has_value());
    }

    void fixedRateIsEvenlySpaced()
    {
        const LoadSchedule s(2000.0, 0s, 2s);
        for (qint64 k = 0; k < s.totalOperations(); ++k)
            QCOMPARE(s.intendedOffset(k)->count(), k * 500'000); // 500 µs apart, exactly
    }

    void rampIsLinearInRate()
    {
        // Over a 10 s ramp to 100/s, the number due by t is 100·t²/20: 5 by 1 s, 125 by 5 s.
        const LoadSchedule s(100.0, 10s, 10s);
        auto dueBefore = [&](Clock::Duration t) {
            qint64 n = 0;
            while (auto at = s.intendedOffset(n)) {
                if (*at >= t)
                    break;
                ++n;
            }
            return n;
        };
        QCOMPARE(dueBefore(1s), qint64(5));
        QCOMPARE(dueBefore(5s), qint64(125));
        QCOMPARE(dueBefore(10s), qint64(500));
        QCOMPARE(s.rampUpOperations(), qint64(500));
        // After the ramp: one every 10 ms.
        QCOMPARE((*s.intendedOffset(501) - *s.intendedOffset(500)).count(), qint64(10'000'000));
        // Monotone throughout.
        for (qint64 k = 1; k < s.totalOperations(); ++k)
            QVERIFY(*s.intendedOffset(k) > *s.intendedOffset(k - 1));
    }

    void workerOffsets()
    {
        QCOMPARE(LoadSchedule::workerStartOffset(0, 10, 5s), Clock::Duration(0));
        QCOMPARE(LoadSchedule::workerStartOffset(5, 10, 5s), Clock::Duration(2500ms));
        QCOMPARE(LoadSchedule::workerStartOffset(9, 10, 5s), Clock::Duration(4500ms));
        QCOMPARE(LoadSchedule::workerStartOffset(3, 4, 0s), Clock::Duration(0));
    }
};

QTEST_GUILESS_MAIN(TestLoadTestSchedule)
#include "tst_loadtestschedule.moc"

#include "core/cache/accesspredictor.h"

#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::cache;
using namespace std::chrono_literals;

namespace {

using MonoTime = Clock::MonoTime;

constexpr MonoTime kT0 = std::chrono::hours(1);

MonoTime at(Clock::Duration since)
{
    return kT0 + since;
}

// Reads `key` `count` times, `gap` apart, starting at kT0 + start.
void readEvery(AccessPredictor &predictor,
               const QByteArray &key,
               Clock::Duration gap,
               int count,
               Clock::Duration start = 0s)
{
    for (int i = 0; i < count; ++i)
        predictor.recordAccess(key, at(start + gap * i));
}

} // namespace

class TstAccessPredictor : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void intervalIsLearnedAfterMinimumReads()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 2);
        QVERIFY(!predictor.estimatedInterval("k"));
        QVERIFY(predictor.takeCandidates(10).isEmpty());
        predictor.recordAccess("k", at(4s));
        QCOMPARE(predictor.estimatedInterval("k"), std::optional<Clock::Duration>(2s));
        QCOMPARE(predictor.takeCandidates(10), QList<QByteArray>{"k"});
        QVERIFY(predictor.takeCandidates(10).isEmpty()); // handed out once per read
        predictor.recordAccess("k", at(6s));
        QCOMPARE(predictor.takeCandidates(10), QList<QByteArray>{"k"});
    }

    void intervalFollowsChangingRateSmoothly()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 5);
        predictor.recordAccess("k", at(8s + 4s)); // one gap of 4 s
        const Clock::Duration estimate = *predictor.estimatedInterval("k");
        // EWMA with weight 0.3: 0.7 * 2 + 0.3 * 4 = 2.6 s.
        QCOMPARE(estimate, Clock::Duration(2600ms));
    }

    void burstsCountAsOneRead()
    {
        AccessPredictor predictor;
        for (int i = 0; i < 5; ++i)
            predictor.recordAccess("k", at(i * 10ms)); // inside the 50 ms merge window
        QVERIFY(!predictor.estimatedInterval("k"));
        QVERIFY(predictor.takeCandidates(10).isEmpty());
    }

    void plansRefreshShortlyBeforeExpiry()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 3);          // 0, 2, 4 s; the read at 4 s loaded it for 3 s
        QVERIFY(!predictor.plan("k", 3s, at(4s))); // it serves the read due at 6 s
        predictor.recordAccess("k", at(6s));
        // Now it expires at 7 s, before the read due at 8 s: refresh at 7 s - 250 ms lead.
        QCOMPARE(predictor.plan("k", 1s, at(6s)), std::optional<MonoTime>(at(6750ms)));
        QCOMPARE(predictor.plannedRefresh("k"), std::optional<MonoTime>(at(6750ms)));
        QVERIFY(predictor.takeDue(at(6700ms)).isEmpty());
        QCOMPARE(predictor.nextEvent(), std::optional<MonoTime>(at(6750ms)));
        QCOMPARE(predictor.takeDue(at(6750ms)), QList<QByteArray>{"k"});
        QVERIFY(!predictor.plannedRefresh("k"));
    }

    void planDecisions_data()
    {
        QTest::addColumn<int>("gapMs");
        QTest::addColumn<int>("ttlLeftMs"); // at the last read; -1 = not cached, 0 = no expiry
        QTest::addColumn<bool>("planned");
        QTest::newRow("cached value serves the next read") << 2000 << 3000 << false;
        QTest::newRow("expires before the next read") << 2000 << 1500 << true;
        QTest::newRow("expires just after the next read") << 2000 << 2100 << true; // within margin
        QTest::newRow("read rarer than its TTL: prefetched") << 60000 << 3000 << true;
        QTest::newRow("not cached, lifetime unknown") << 2000 << -1 << false;
        QTest::newRow("never expires") << 2000 << 0 << false;
    }

    void planDecisions()
    {
        QFETCH(int, gapMs);
        QFETCH(int, ttlLeftMs);
        QFETCH(bool, planned);
        AccessPredictor predictor;
        readEvery(predictor, "k", std::chrono::milliseconds(gapMs), 3);
        std::optional<Clock::Duration> ttl;
        if (ttlLeftMs == 0)
            ttl = Clock::Duration::max();
        else if (ttlLeftMs > 0)
            ttl = std::chrono::milliseconds(ttlLeftMs);
        const MonoTime now = at(std::chrono::milliseconds(2 * gapMs));
        QCOMPARE(predictor.plan("k", ttl, now).has_value(), planned);
    }

    void rarelyReadKeyIsPrefetchedJustBeforeTheRead()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 60s, 3); // 0, 60, 120 s; loaded at 120 s for 3 s
        // Refreshing before the expiry at 123 s would be wasted; load just before 180 s instead
        // (margin 250 ms + lead 250 ms).
        QCOMPARE(predictor.plan("k", 3s, at(120s)), std::optional<MonoTime>(at(179500ms)));
    }

    void expiredKeyWithKnownLifetimeIsPrefetched()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 3); // the value expired before the read at 4 s
        QVERIFY(!predictor.plan("k", std::nullopt, at(4s))); // its lifetime is unknown
        // Margin 250 ms + lead 250 ms before the read due at 6 s.
        QCOMPARE(predictor.plan("k", std::nullopt, at(4s), 3s),
                 std::optional<MonoTime>(at(5500ms)));
    }

    void staleKeyIsNotRefreshed()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 3); // last read at 4 s
        QVERIFY(predictor.isHot("k", at(7s)));
        QVERIFY(!predictor.isHot("k", at(9s))); // more than twice the interval without a read
        QVERIFY(!predictor.plan("k", 1500ms, at(9s)));

        // Planned while hot, but the reads stop before it is due: dropped when due.
        AccessPredictor other;
        readEvery(other, "k", 2s, 3);
        QVERIFY(other.plan("k", 1500ms, at(4s)));
        QVERIFY(other.takeDue(at(20s)).isEmpty());
        QCOMPARE(other.stats().scheduledRefreshes, qint64(0));
    }

    void keysReadRarelyAreNotHot()
    {
        AccessPredictorSettings settings;
        settings.maxInterval = 1min;
        AccessPredictor predictor(settings);
        readEvery(predictor, "k", 2min, 3);
        QVERIFY(!predictor.isHot("k", at(4min)));
        QVERIFY(!predictor.plan("k", 10s, at(4min)));
    }

    void predictionsAreScored()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 3);

        // 1: refreshed at 4.75 s with 3 s to live, read at 6 s: a hit.
        predictor.refreshIssued("k", at(4750ms));
        QVERIFY(predictor.isRefreshing("k"));
        predictor.refreshFinished("k", at(4800ms), true, 3s);
        QVERIFY(!predictor.isRefreshing("k"));
        predictor.recordAccess("k", at(6s));

        // 2: refreshed, never read before it expired: a miss.
        predictor.refreshIssued("k", at(7s));
        predictor.refreshFinished("k", at(7s), true, 3s);
        predictor.expirePredictions(at(10s)); // the window is still open at its very end
        QCOMPARE(predictor.stats().predictionMisses, quint64(0));
        predictor.expirePredictions(at(10s + 1ns));
        QCOMPARE(predictor.stats().predictionMisses, quint64(1));

        // 3: the refresh failed.
        predictor.refreshIssued("k", at(11s));
        predictor.refreshFinished("k", at(11s), false, std::nullopt);
        predictor.recordAccess("k", at(12s));

        const AccessPredictor::Stats stats = predictor.stats();
        QCOMPARE(stats.predictions, quint64(3));
        QCOMPARE(stats.predictionHits, quint64(1));
        QCOMPARE(stats.refreshErrors, quint64(1));
        QCOMPARE(stats.precision(), 1.0 / 3.0);
        QCOMPARE(AccessPredictor::Stats{}.precision(), 0.0);
    }

    void readsDuringOwnRefreshAreIgnored()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 3);
        predictor.refreshIssued("k", at(4750ms));
        predictor.recordAccess("k", at(4800ms)); // the refresh itself, as the cache saw it
        predictor.refreshFinished("k", at(4900ms), true, 3s);
        QCOMPARE(predictor.estimatedInterval("k"), std::optional<Clock::Duration>(2s));
    }

    void refreshLatencyWidensTheLead()
    {
        AccessPredictor predictor;
        readEvery(predictor, "k", 2s, 3);
        predictor.refreshIssued("k", at(4s));
        predictor.refreshFinished("k", at(4s + 400ms), true, 3s); // a slow loader
        predictor.recordAccess("k", at(6s));
        // Lead = 2 x 400 ms: refresh at expiry (7.4 s) - 0.8 s.
        QCOMPARE(predictor.plan("k", 1400ms, at(6s)), std::optional<MonoTime>(at(6600ms)));
    }

    void trackingIsBoundedLeastRecentlyReadFirst()
    {
        AccessPredictorSettings settings;
        settings.maxTrackedKeys = 100;
        AccessPredictor predictor(settings);
        for (int i = 0; i < 1000; ++i) {
            predictor.recordAccess("hot", at(i * 100ms));
            predictor.recordAccess(QByteArray::number(i), at(i * 100ms));
        }
        const AccessPredictor::Stats stats = predictor.stats();
        QCOMPARE(stats.trackedKeys, qint64(100));
        QCOMPARE(stats.droppedKeys, quint64(901));
        QVERIFY(predictor.isTracked("hot"));
        QVERIFY(predictor.isTracked("999"));
        QVERIFY(!predictor.isTracked("0"));
        QVERIFY(predictor.estimatedInterval("hot")); // its history survived
    }

    void droppedKeyLeavesNothingBehind()
    {
        AccessPredictorSettings settings;
        settings.maxTrackedKeys = 2;
        AccessPredictor predictor(settings);
        readEvery(predictor, "a", 2s, 3);
        QVERIFY(predictor.plan("a", 1500ms, at(4s)));
        predictor.recordAccess("b", at(4100ms));
        predictor.recordAccess("c", at(4200ms)); // drops "a" with its planned refresh
        QVERIFY(!predictor.isTracked("a"));
        QCOMPARE(predictor.stats().scheduledRefreshes, qint64(0));
        QVERIFY(!predictor.nextEvent());
        QVERIFY(predictor.takeCandidates(10).isEmpty()); // "a"'s candidacy went with it
        predictor.forget("b");
        QCOMPARE(predictor.stats().trackedKeys, qint64(1));
        predictor.clear();
        QCOMPARE(predictor.stats().trackedKeys, qint64(0));
    }
};

QTEST_GUILESS_MAIN(TstAccessPredictor)
#include "tst_accesspredictor.moc"

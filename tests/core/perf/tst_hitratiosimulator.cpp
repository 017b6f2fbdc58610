// Tests of HitRatioSimulator: Bélády is exact on hand-computed and brute-forced traces and
// bounds every policy and the best static cache; replay counts hits of the real MemoryTier.
#include "core/perf/hitratiosimulator.h"

#include <QtTest/QTest>

#include <algorithm>
#include <bit>
#include <random>

using namespace opsdeck;
using namespace opsdeck::perf;

namespace {

const QList<cache::Policy> kPolicies{cache::Policy::Lru, cache::Policy::Lfu, cache::Policy::Fifo,
                                     cache::Policy::Ttl, cache::Policy::Adaptive};

// The best hit count of any demand cache of `capacity` on a trace over at most 16 keys: dynamic
// programming over the set of cached keys (a miss may bypass, or admit and evict anything).
quint64 bruteForceOptimum(const Trace &trace, int capacity)
{
    const quint32 keySpace = TraceGenerator::keySpace(trace);
    Q_ASSERT(keySpace <= 16);
    const auto states = size_t(1) << keySpace;
    constexpr qint64 kUnreachable = -1;
    std::vector<qint64> best(states, kUnreachable);
    best[0] = 0;
    for (const quint32 key : trace) {
        std::vector<qint64> nextBest(states, kUnreachable);
        const auto bit = quint32(1) << key;
        for (size_t s = 0; s < states; ++s) {
            if (best[s] == kUnreachable)
                continue;
            const auto set = quint32(s);
            auto keep = [&](quint32 to, qint64 value) {
                nextBest[to] = std::max(nextBest[to], value);
            };
            if (set & bit) {
                keep(set, best[s] + 1);
                continue;
            }
            keep(set, best[s]); // bypass
            if (std::popcount(set) < capacity)
                keep(set | bit, best[s]);
            else
                for (quint32 victims = set; victims != 0; victims &= victims - 1)
                    keep((set & ~(victims & -victims)) | bit, best[s]);
        }
        best.swap(nextBest);
    }
    return quint64(*std::max_element(best.begin(), best.end()));
}

} // namespace

class tst_HitRatioSimulator : public QObject
{
    Q_OBJECT

private slots:
    void beladyOnHandComputedTraces_data();
    void beladyOnHandComputedTraces();
    void beladyMatchesBruteForce();
    void beladyBoundsEveryPolicyAndStatic_data();
    void beladyBoundsEveryPolicyAndStatic();
    void loopDefeatsLruAndFifo();
    void bestStaticCountsTopKeys();
    void everythingHitsWhenTheCacheHoldsAllKeys();
    void zeroCapacityNeverHits();
};

void tst_HitRatioSimulator::beladyOnHandComputedTraces_data()
{
    QTest::addColumn<Trace>("trace");
    QTest::addColumn<int>("capacity");
    QTest::addColumn<int>("hits");
    // A B C A B D A B C, k = 2: C and D bypass (used after both cached keys), A and B hit twice.
    // Demand-only MIN must admit C and gets 2; LRU gets 0.
    QTest::newRow("bypass") << Trace{0, 1, 2, 0, 1, 3, 0, 1, 2} << 2 << 4;
    // Bélády's anomaly string 1 2 3 4 1 2 5 1 2 3 4 5, k = 3: hits at 1 2 1 2 3.
    QTest::newRow("anomaly") << Trace{1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5} << 3 << 5;
    // k = 1: key 0 stays, 1 and 2 (never used again) bypass: three hits on key 0.
    QTest::newRow("k1") << Trace{0, 1, 0, 0, 2, 0} << 1 << 3;
    QTest::newRow("single key") << Trace(10, 4) << 1 << 9;
}

void tst_HitRatioSimulator::beladyOnHandComputedTraces()
{
    QFETCH(Trace, trace);
    QFETCH(int, capacity);
    QFETCH(int, hits);
    const HitRatioSimulator simulator(trace);
    const HitRatio optimum = simulator.belady(capacity);
    QCOMPARE(optimum.hits, quint64(hits));
    QCOMPARE(optimum.requests, quint64(trace.size()));
    QCOMPARE(quint64(hits), bruteForceOptimum(trace, capacity));
}

void tst_HitRatioSimulator::beladyMatchesBruteForce()
{
    std::mt19937 rng(2024);
    for (int round = 0; round < 60; ++round) {
        const int keys = 3 + round % 6;
        const int capacity = 1 + round % 3;
        Trace trace(20 + size_t(round % 7));
        for (quint32 &key : trace)
            key = quint32(rng() % quint32(keys));
        const HitRatioSimulator simulator(trace);
        QCOMPARE(simulator.belady(capacity).hits, bruteForceOptimum(trace, capacity));
    }
}

void tst_HitRatioSimulator::beladyBoundsEveryPolicyAndStatic_data()
{
    QTest::addColumn<int>("kind");
    QTest::newRow("zipf") << int(TraceSpec::Kind::Zipf);
    QTest::newRow("shifting") << int(TraceSpec::Kind::ShiftingZipf);
    QTest::newRow("uniform") << int(TraceSpec::Kind::Uniform);
    QTest::newRow("loop") << int(TraceSpec::Kind::Loop);
}

void tst_HitRatioSimulator::beladyBoundsEveryPolicyAndStatic()
{
    QFETCH(int, kind);
    TraceSpec spec;
    spec.kind = TraceSpec::Kind(kind);
    spec.keyCount = spec.kind == TraceSpec::Kind::Loop ? 30 : 500;
    spec.length = 20'000;
    spec.period = 5'000;
    spec.shift = 100;
    spec.seed = 9;
    const Trace trace = TraceGenerator::generate(spec);
    const HitRatioSimulator simulator(trace);
    constexpr int capacity = 20;
    const HitRatio optimum = simulator.belady(capacity);
    const HitRatio pinned = simulator.bestStatic(capacity);
    QVERIFY2(
        optimum.hits >= pinned.hits,
        qPrintable(QStringLiteral("belady %1 < static %2").arg(optimum.hits).arg(pinned.hits)));
    for (const cache::Policy policy : kPolicies) {
        const HitRatio replayed = simulator.replay(policy, capacity);
        QCOMPARE(replayed.requests, quint64(trace.size()));
        QVERIFY2(
            optimum.hits >= replayed.hits,
            qPrintable(cache::toString(policy)
                       % QStringLiteral(": %1 > belady %2").arg(replayed.hits).arg(optimum.hits)));
    }
    if (spec.kind == TraceSpec::Kind::Zipf) // Zipf 1.0 over 500 keys: the top 20 take ~53 %
        QVERIFY(pinned.ratio() > 0.45 && pinned.ratio() < 0.6);
}

void tst_HitRatioSimulator::loopDefeatsLruAndFifo()
{
    const Trace trace = TraceGenerator::loop(150, 3000);
    const HitRatioSimulator simulator(trace);
    QCOMPARE(simulator.replay(cache::Policy::Lru, 100).hits, 0u);
    QCOMPARE(simulator.replay(cache::Policy::Fifo, 100).hits, 0u);
    // Static pins 100 of the 150 keys: 100 * 19 hits of 3000.
    QCOMPARE(simulator.bestStatic(100).hits, 1900u);
    QVERIFY(simulator.belady(100).ratio() > 0.6);
}

void tst_HitRatioSimulator::bestStaticCountsTopKeys()
{
    // Key 0 five times, key 1 three times, key 2 twice, key 3 once.
    const Trace trace{0, 1, 0, 2, 0, 1, 3, 0, 2, 1, 0};
    const HitRatioSimulator simulator(trace);
    QCOMPARE(simulator.bestStatic(1).hits, 4u);
    QCOMPARE(simulator.bestStatic(2).hits, 6u);
    QCOMPARE(simulator.bestStatic(10).hits, 7u); // every repeat
    QCOMPARE(simulator.keySpace(), 4u);
    QCOMPARE(simulator.keys().size(), 4);
}

void tst_HitRatioSimulator::everythingHitsWhenTheCacheHoldsAllKeys()
{
    const Trace trace = TraceGenerator::zipf(50, 1.0, 5000, 3);
    const HitRatioSimulator simulator(trace);
    std::vector<bool> seen(simulator.keySpace(), false);
    quint64 firstUses = 0;
    for (const quint32 key : trace) {
        if (!seen[key]) {
            seen[key] = true;
            ++firstUses;
        }
    }
    const quint64 expected = trace.size() - firstUses;
    for (const cache::Policy policy : kPolicies)
        QCOMPARE(simulator.replay(policy, 64).hits, expected);
    QCOMPARE(simulator.belady(64).hits, expected);
    QCOMPARE(simulator.bestStatic(64).hits, expected);
}

void tst_HitRatioSimulator::zeroCapacityNeverHits()
{
    const Trace trace = TraceGenerator::zipf(50, 1.0, 500, 3);
    const HitRatioSimulator simulator(trace);
    QCOMPARE(simulator.replay(cache::Policy::Lru, 0).hits, 0u);
    QCOMPARE(simulator.belady(0).hits, 0u);
    QCOMPARE(simulator.bestStatic(0).hits, 0u);
    QCOMPARE(simulator.belady(0).requests, 500u);
    QCOMPARE(HitRatio{}.ratio(), 0.0);
}

QTEST_GUILESS_MAIN(tst_HitRatioSimulator)
#include "tst_hitratiosimulator.moc"

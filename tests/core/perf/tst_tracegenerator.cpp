// Tests of TraceGenerator: determinism per seed, the Zipf law, loop, shifting and uniform
// traces, and the 16..32 byte key format.
#include "core/perf/tracegenerator.h"

#include <QtCore/QSet>
#include <QtTest/QTest>

#include <algorithm>
#include <cmath>
#include <functional>

using namespace opsdeck::perf;

namespace {

std::vector<quint64>
countsOf(const Trace &trace, quint32 keyCount, size_t from = 0, size_t to = size_t(-1))
{
    std::vector<quint64> counts(keyCount, 0);
    to = std::min(to, trace.size());
    for (size_t i = from; i < to; ++i)
        ++counts[trace[i]];
    return counts;
}

quint32 mostFrequent(const std::vector<quint64> &counts)
{
    return quint32(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

} // namespace

class tst_TraceGenerator : public QObject
{
    Q_OBJECT

private slots:
    void deterministicPerSeed_data();
    void deterministicPerSeed();
    void seedsShareTheirPopularKeys();
    void emptyInputsGiveEmptyTraces();
    void zipfFollowsTheLaw_data();
    void zipfFollowsTheLaw();
    void zipfZeroIsUniform();
    void loopCycles();
    void shiftingZipfRotatesItsHotKeys();
    void uniformIsFlat();
    void formatKeyIsDistinctAndBounded();
    void keySpaceIsOnePastTheLargestId();
    void describeNamesTheTrace();
};

void tst_TraceGenerator::deterministicPerSeed_data()
{
    QTest::addColumn<int>("kind");
    QTest::newRow("zipf") << int(TraceSpec::Kind::Zipf);
    QTest::newRow("shifting") << int(TraceSpec::Kind::ShiftingZipf);
    QTest::newRow("uniform") << int(TraceSpec::Kind::Uniform);
}

void tst_TraceGenerator::deterministicPerSeed()
{
    QFETCH(int, kind);
    TraceSpec spec;
    spec.kind = TraceSpec::Kind(kind);
    spec.keyCount = 500;
    spec.length = 20000;
    spec.period = 5000;
    spec.shift = 50;
    spec.seed = 42;
    const Trace first = TraceGenerator::generate(spec);
    const Trace again = TraceGenerator::generate(spec);
    QCOMPARE(first.size(), size_t(spec.length));
    QVERIFY(first == again);
    QVERIFY(std::all_of(first.begin(), first.end(), [](quint32 k) { return k < 500; }));

    spec.seed = 43;
    const Trace other = TraceGenerator::generate(spec);
    QCOMPARE(other.size(), first.size());
    QVERIFY(other != first);
}

void tst_TraceGenerator::seedsShareTheirPopularKeys()
{
    // The seed changes the draws, not which keys are popular: a warm-up trace and measured
    // traces of other seeds see the same hot set.
    const Trace a = TraceGenerator::zipf(1000, 1.0, 50'000, 1);
    const Trace b = TraceGenerator::zipf(1000, 1.0, 50'000, 2);
    QVERIFY(a != b);
    QCOMPARE(mostFrequent(countsOf(a, 1000)), mostFrequent(countsOf(b, 1000)));
    // ... and the hot keys are not simply the lowest ids.
    QVERIFY(mostFrequent(countsOf(a, 1000)) != 0 || mostFrequent(countsOf(b, 1000)) != 0);
}

void tst_TraceGenerator::emptyInputsGiveEmptyTraces()
{
    QVERIFY(TraceGenerator::zipf(0, 1.0, 100, 1).empty());
    QVERIFY(TraceGenerator::zipf(10, 1.0, 0, 1).empty());
    QVERIFY(TraceGenerator::loop(0, 100).empty());
    QVERIFY(TraceGenerator::uniform(10, -1, 1).empty());
    QVERIFY(TraceGenerator::shiftingZipf(0, 1.0, 10, 5, 1, 1).empty());
    QCOMPARE(TraceGenerator::zipf(1, 1.0, 5, 1), Trace(5, 0));
}

void tst_TraceGenerator::zipfFollowsTheLaw_data()
{
    QTest::addColumn<double>("exponent");
    QTest::newRow("s=0.8") << 0.8;
    QTest::newRow("s=1.0") << 1.0;
    QTest::newRow("s=1.2") << 1.2;
}

void tst_TraceGenerator::zipfFollowsTheLaw()
{
    QFETCH(double, exponent);
    constexpr quint32 keys = 1000;
    constexpr qint64 length = 200'000;
    const Trace trace = TraceGenerator::zipf(keys, exponent, length, 7);
    std::vector<quint64> counts = countsOf(trace, keys);
    std::sort(counts.begin(), counts.end(), std::greater<>());

    // Rank 1 against rank 2: 2^s (about 1 % standard error at these sizes).
    const double ratio = double(counts[0]) / double(counts[1]);
    QVERIFY2(std::abs(ratio / std::pow(2.0, exponent) - 1.0) < 0.08,
             qPrintable(QStringLiteral("rank1/rank2 = %1, expected %2")
                            .arg(ratio)
                            .arg(std::pow(2.0, exponent))));
    // Rank 1 and rank 10 against the exact probabilities.
    for (const quint32 rank : {1u, 10u}) {
        const double expected = TraceGenerator::zipfProbability(keys, exponent, rank) * length;
        const double seen = double(counts[rank - 1]);
        QVERIFY2(
            std::abs(seen / expected - 1.0) < 0.1,
            qPrintable(
                QStringLiteral("rank %1: %2 seen, %3 expected").arg(rank).arg(seen).arg(expected)));
    }
}

void tst_TraceGenerator::zipfZeroIsUniform()
{
    const Trace trace = TraceGenerator::zipf(10, 0.0, 50'000, 3);
    for (const quint64 c : countsOf(trace, 10))
        QVERIFY2(c > 4500 && c < 5500, qPrintable(QString::number(c)));
    QCOMPARE(TraceGenerator::zipfProbability(10, 0.0, 3), 0.1);
    QCOMPARE(TraceGenerator::zipfProbability(10, 1.0, 11), 0.0);
}

void tst_TraceGenerator::loopCycles()
{
    const Trace trace = TraceGenerator::loop(3, 8);
    QCOMPARE(trace, (Trace{0, 1, 2, 0, 1, 2, 0, 1}));
}

void tst_TraceGenerator::shiftingZipfRotatesItsHotKeys()
{
    constexpr quint32 keys = 1000;
    constexpr qint64 period = 20'000;
    const Trace shifting = TraceGenerator::shiftingZipf(keys, 1.0, 3 * period, period, 100, 5);
    const Trace still = TraceGenerator::zipf(keys, 1.0, 3 * period, 5);
    // The first period is the plain Zipf trace of the same seed.
    QVERIFY(std::equal(shifting.begin(), shifting.begin() + period, still.begin()));

    QSet<quint32> hottest;
    for (int phase = 0; phase < 3; ++phase) {
        const auto from = size_t(phase * period);
        const std::vector<quint64> counts = countsOf(shifting, keys, from, from + size_t(period));
        hottest.insert(mostFrequent(counts));
        // Within a phase the law still holds: the top key takes about 1/H(1000) = 13 %.
        const quint64 top = counts[mostFrequent(counts)];
        QVERIFY(top > quint64(period) / 10 && top < quint64(period) / 6);
    }
    QCOMPARE(hottest.size(), 3);

    // shift 0 never moves anything.
    const Trace unmoved = TraceGenerator::shiftingZipf(keys, 1.0, 3 * period, period, 0, 5);
    QVERIFY(unmoved == still);
}

void tst_TraceGenerator::uniformIsFlat()
{
    const Trace trace = TraceGenerator::uniform(100, 100'000, 11);
    for (const quint64 c : countsOf(trace, 100))
        QVERIFY2(c > 850 && c < 1150, qPrintable(QString::number(c)));
}

void tst_TraceGenerator::formatKeyIsDistinctAndBounded()
{
    const QList<QByteArray> keys = TraceGenerator::formatKeys(100'000);
    QCOMPARE(keys.size(), 100'000);
    QSet<QByteArray> distinct;
    QSet<qsizetype> lengths;
    for (const QByteArray &key : keys) {
        QVERIFY2(key.size() >= 16 && key.size() <= 32, key.constData());
        distinct.insert(key);
        lengths.insert(key.size());
    }
    QCOMPARE(distinct.size(), keys.size());
    QCOMPARE(lengths.size(), 17); // every length from 16 to 32 occurs
    QVERIFY(TraceGenerator::formatKey(42).startsWith("trace:0000000042"));
    QCOMPARE(TraceGenerator::formatKey(4'294'967'295u).left(16), QByteArray("trace:4294967295"));
    QCOMPARE(TraceGenerator::formatKey(7), keys.at(7));
}

void tst_TraceGenerator::keySpaceIsOnePastTheLargestId()
{
    QCOMPARE(TraceGenerator::keySpace({}), 0u);
    QCOMPARE(TraceGenerator::keySpace({3, 9, 1}), 10u);
}

void tst_TraceGenerator::describeNamesTheTrace()
{
    TraceSpec spec;
    spec.kind = TraceSpec::Kind::ShiftingZipf;
    spec.exponent = 0.9;
    QVERIFY(spec.describe().startsWith(QStringLiteral("shifting-zipf(s=0.90")));
    spec.kind = TraceSpec::Kind::Loop;
    QCOMPARE(spec.describe(), QStringLiteral("loop(n=10000, len=1000000)"));
}

QTEST_GUILESS_MAIN(tst_TraceGenerator)
#include "tst_tracegenerator.moc"

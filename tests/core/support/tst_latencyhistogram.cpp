#include "core/support/latencyhistogram.h"

#include <QtTest/QTest>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

using namespace opsdeck;

namespace {

enum class Distribution { UniformSmall, Sequence, Constant, UniformWide, Exponential, LogNormal };

std::vector<qint64> makeSamples(Distribution kind, int n, quint64 seed, qint64 highest)
{
    std::mt19937_64 rng(seed);
    std::vector<qint64> samples;
    samples.reserve(size_t(n));
    for (int i = 0; i < n; ++i) {
        qint64 v = 0;
        switch (kind) {
        case Distribution::UniformSmall:
            v = std::uniform_int_distribution<qint64>(0, 999)(rng);
            break;
        case Distribution::Sequence:
            v = i + 1;
            break;
        case Distribution::Constant:
            v = 123'456'789;
            break;
        case Distribution::UniformWide:
            v = std::uniform_int_distribution<qint64>(0, highest)(rng);
            break;
        case Distribution::Exponential: // mean 1 ms in ns
            v = qint64(std::exponential_distribution<double>(1.0 / 1e6)(rng));
            break;
        case Distribution::LogNormal: // median ~1 ms, very wide (us .. tens of seconds)
            v = qint64(std::lognormal_distribution<double>(std::log(1e6), 2.0)(rng));
            break;
        }
        samples.push_back(std::min(v, highest));
    }
    return samples;
}

// Nearest rank with p given in 1/10000ths, computed in integers (independent of the class).
qint64 referencePercentile(const std::vector<qint64> &sorted, qint64 pTimes100)
{
    if (pTimes100 <= 0)
        return sorted.front();
    const qint64 n = qint64(sorted.size());
    const qint64 rank = std::clamp<qint64>((pTimes100 * n + 9999) / 10000, 1, n);
    return sorted[size_t(rank - 1)];
}

void recordAll(LatencyHistogram &h, const std::vector<qint64> &samples)
{
    for (qint64 v : samples)
        h.record(v);
}

// Bucket-by-bucket equality plus the summary statistics.
void compareSnapshots(const HistogramSnapshot &actual, const HistogramSnapshot &expected)
{
    QCOMPARE(actual.count(), expected.count());
    QCOMPARE(actual.sum(), expected.sum());
    QCOMPARE(actual.min(), expected.min());
    QCOMPARE(actual.max(), expected.max());
    QCOMPARE(actual.saturatedCount(), expected.saturatedCount());
    const auto a = actual.nonEmptyBuckets();
    const auto e = expected.nonEmptyBuckets();
    QCOMPARE(a.size(), e.size());
    for (size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(a[i].lowest, e[i].lowest);
        QCOMPARE(a[i].highest, e[i].highest);
        QCOMPARE(a[i].count, e[i].count);
    }
}

} // namespace

class TstLatencyHistogram : public QObject
{
    Q_OBJECT

private slots:
    void layout_data();
    void layout();
    void bucketBoundaries_data();
    void bucketBoundaries();
    void percentiles_data();
    void percentiles();
    void hundredSamplesP99IsNotMax();
    void meanMinMaxSum();
    void recordWithCount();
    void recordDuration();
    void emptyHistogram();
    void clamping();
    void mergeEqualsSingleHistogram();
    void mergeRejectsDifferentLayout();
    void deltaSnapshots();
    void deltaMinMaxComeFromBuckets();
    void minusAfterResetSaturatesAtZero();
    void reset();
    void countAtOrBelow();
    void nonEmptyBuckets();
    void concurrentRecording();
    void concurrentDeltasLoseNothing();
    void memoryIsFixed();
};

void TstLatencyHistogram::layout_data()
{
    QTest::addColumn<qint64>("highest");
    QTest::addColumn<int>("digits");
    QTest::addColumn<int>("expectedDigits");
    QTest::addColumn<int>("subBucketCount");
    QTest::addColumn<int>("bucketCount");
    QTest::addColumn<int>("countsLength");

    QTest::newRow("default 1h ns, 3 digits")
        << HistogramLayout::kDefaultHighestTrackable << 3 << 3 << 2048 << 32 << 33 * 1024;
    QTest::newRow("1h us, 3 digits") << qint64(3'600'000'000) << 3 << 3 << 2048 << 22 << 23 * 1024;
    QTest::newRow("1000, 1 digit") << qint64(1000) << 1 << 1 << 32 << 6 << 7 * 16;
    QTest::newRow("1000, 2 digits") << qint64(1000) << 2 << 2 << 256 << 3 << 4 * 128;
    QTest::newRow("small highest") << qint64(10) << 3 << 3 << 2048 << 1 << 2048;
    QTest::newRow("max, 5 digits")
        << std::numeric_limits<qint64>::max() << 5 << 5 << 262144 << 46 << 47 * 131072;
    QTest::newRow("digits 0 -> 1") << qint64(1000) << 0 << 1 << 32 << 6 << 7 * 16;
    QTest::newRow("digits 9 -> 5") << qint64(1000) << 9 << 5 << 262144 << 1 << 262144;
}

void TstLatencyHistogram::layout()
{
    QFETCH(qint64, highest);
    QFETCH(int, digits);
    QFETCH(int, expectedDigits);
    QFETCH(int, subBucketCount);
    QFETCH(int, bucketCount);
    QFETCH(int, countsLength);

    const HistogramLayout layout(highest, digits);
    QVERIFY(layout.isValid());
    QCOMPARE(layout.highestTrackableValue(), highest);
    QCOMPARE(layout.significantDigits(), expectedDigits);
    QCOMPARE(layout.subBucketCount(), subBucketCount);
    QCOMPARE(layout.bucketCount(), bucketCount);
    QCOMPARE(layout.countsLength(), countsLength);
    // The highest trackable value maps into the array, and to its last used bucket.
    QVERIFY(layout.indexOf(highest) < countsLength);
    QCOMPARE(layout.highestEquivalentValue(highest), highest);
    QCOMPARE(layout.indexOf(-1), 0);
    QCOMPARE(layout.indexOf(highest), layout.indexOf(std::numeric_limits<qint64>::max()));
}

void TstLatencyHistogram::bucketBoundaries_data()
{
    QTest::addColumn<qint64>("highest");
    QTest::addColumn<int>("digits");
    QTest::newRow("default") << HistogramLayout::kDefaultHighestTrackable << 3;
    QTest::newRow("1 digit") << qint64(1'000'000) << 1;
    QTest::newRow("2 digits") << qint64(1'000'000'000) << 2;
    QTest::newRow("5 digits") << qint64(1'000'000) << 5;
    QTest::newRow("max") << std::numeric_limits<qint64>::max() << 3;
}

void TstLatencyHistogram::bucketBoundaries()
{
    QFETCH(qint64, highest);
    QFETCH(int, digits);
    const HistogramLayout layout(highest, digits);
    const double maxRelativeError = std::pow(10.0, -digits);

    // Every counter's range is contiguous with the next one, and small enough.
    const int lastIndex = layout.indexOf(highest);
    QCOMPARE(layout.lowestValueAt(0), qint64(0));
    for (int i = 0; i <= lastIndex; ++i) {
        const qint64 low = layout.lowestValueAt(i);
        const qint64 high = layout.highestValueAt(i);
        QVERIFY(low <= high);
        if (layout.indexOf(low) != i || layout.indexOf(high) != i)
            QFAIL(qPrintable(QStringLiteral("index %1 does not round-trip").arg(i)));
        if (i < lastIndex && layout.lowestValueAt(i + 1) != high + 1)
            QFAIL(qPrintable(QStringLiteral("gap after index %1").arg(i)));
        if (low > 0 && double(high - low) / double(low) > maxRelativeError)
            QFAIL(
                qPrintable(QStringLiteral("index %1 too wide: %2..%3").arg(i).arg(low).arg(high)));
    }
    QCOMPARE(layout.highestValueAt(lastIndex), highest);

    // Values below 10^digits have unit resolution.
    qint64 unit = 1;
    for (int d = 0; d < digits; ++d)
        unit *= 10;
    for (qint64 v : {qint64(0), qint64(1), unit / 2, unit - 1}) {
        QCOMPARE(layout.lowestEquivalentValue(v), v);
        QCOMPARE(layout.highestEquivalentValue(v), v);
    }
}

void TstLatencyHistogram::percentiles_data()
{
    QTest::addColumn<int>("distribution");
    QTest::addColumn<int>("samples");
    QTest::addColumn<qint64>("highest");
    QTest::addColumn<int>("digits");
    QTest::addColumn<bool>("exact");

    const qint64 hour = HistogramLayout::kDefaultHighestTrackable;
    QTest::newRow("uniform 0..999, exact")
        << int(Distribution::UniformSmall) << 50'000 << hour << 3 << true;
    QTest::newRow("sequence 1..1999, exact")
        << int(Distribution::Sequence) << 1999 << hour << 3 << true;
    QTest::newRow("sequence 1..7, exact") << int(Distribution::Sequence) << 7 << hour << 3 << true;
    QTest::newRow("single sample") << int(Distribution::Constant) << 1 << hour << 3 << false;
    QTest::newRow("constant") << int(Distribution::Constant) << 1000 << hour << 3 << false;
    QTest::newRow("uniform 0..1h")
        << int(Distribution::UniformWide) << 50'000 << hour << 3 << false;
    QTest::newRow("exponential 1ms")
        << int(Distribution::Exponential) << 100'000 << hour << 3 << false;
    QTest::newRow("lognormal wide")
        << int(Distribution::LogNormal) << 100'000 << hour << 3 << false;
    QTest::newRow("lognormal, 2 digits")
        << int(Distribution::LogNormal) << 20'000 << hour << 2 << false;
    QTest::newRow("lognormal, 4 digits, 1 min")
        << int(Distribution::LogNormal) << 20'000 << qint64(60'000'000'000) << 4 << false;
    QTest::newRow("exponential, 5 digits, 10 ms")
        << int(Distribution::Exponential) << 20'000 << qint64(10'000'000) << 5 << false;
}

void TstLatencyHistogram::percentiles()
{
    QFETCH(int, distribution);
    QFETCH(int, samples);
    QFETCH(qint64, highest);
    QFETCH(int, digits);
    QFETCH(bool, exact);

    std::vector<qint64> values = makeSamples(Distribution(distribution), samples, 0x5eed, highest);
    LatencyHistogram h(highest, digits);
    recordAll(h, values);
    std::sort(values.begin(), values.end());
    const HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.count(), quint64(samples));

    const double tolerance = std::pow(10.0, -digits);
    // p in 1/100ths of a percent.
    for (qint64 pp : {0, 1, 2500, 5000, 7500, 9000, 9500, 9900, 9990, 9999, 10000}) {
        const qint64 expected = referencePercentile(values, pp);
        const qint64 actual = s.valueAtPercentile(double(pp) / 100.0);
        const QString what = QStringLiteral("p%1: got %2, sorted samples say %3")
                                 .arg(double(pp) / 100.0)
                                 .arg(actual)
                                 .arg(expected);
        if (exact) {
            QVERIFY2(actual == expected, qPrintable(what));
        } else {
            QVERIFY2(std::abs(double(actual - expected)) <= double(expected) * tolerance + 1.0,
                     qPrintable(what));
        }
    }
    // The extremes are exact whatever the resolution.
    QCOMPARE(s.valueAtPercentile(0), values.front());
    QCOMPARE(s.valueAtPercentile(100), values.back());
    QCOMPARE(s.min(), values.front());
    QCOMPARE(s.max(), values.back());
    // Out-of-range p is clamped.
    QCOMPARE(s.valueAtPercentile(-5), values.front());
    QCOMPARE(s.valueAtPercentile(250), values.back());
    QCOMPARE(s.valueAtPercentile(std::nan("")), values.front());
}

void TstLatencyHistogram::hundredSamplesP99IsNotMax()
{
    LatencyHistogram h;
    for (qint64 v = 100; v >= 1; --v) // order does not matter
        h.record(v);
    const HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.valueAtPercentile(99), qint64(99));
    QCOMPARE(s.valueAtPercentile(99.5), qint64(100));
    QCOMPARE(s.valueAtPercentile(100), qint64(100));
    QCOMPARE(s.valueAtPercentile(50), qint64(50));
    QCOMPARE(s.valueAtPercentile(90), qint64(90));
    QCOMPARE(s.valueAtPercentile(1), qint64(1));
    QCOMPARE(s.valueAtPercentile(0.5), qint64(1));
    QCOMPARE(s.valueAtPercentile(0), qint64(1));
    // Percentages whose p/100 * n is inexact in binary must not round up a rank.
    QCOMPARE(s.valueAtPercentile(7), qint64(7));
    QCOMPARE(s.valueAtPercentile(29), qint64(29));
    QCOMPARE(s.valueAtPercentile(57), qint64(57));
}

void TstLatencyHistogram::meanMinMaxSum()
{
    LatencyHistogram h;
    for (qint64 v : {10, 20, 30, 40})
        h.record(v);
    HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.count(), quint64(4));
    QCOMPARE(s.sum(), quint64(100));
    QCOMPARE(s.mean(), 25.0);
    QCOMPARE(s.min(), qint64(10));
    QCOMPARE(s.max(), qint64(40));
    QCOMPARE(h.count(), quint64(4));
    QCOMPARE(h.sum(), quint64(100));

    // Wide values: min, max, sum and mean stay exact although the buckets are not.
    LatencyHistogram wide;
    const std::vector<qint64> values = {1'234'567'891, 987'654'321'987, 5'000'001, 77};
    recordAll(wide, values);
    s = wide.snapshot();
    QCOMPARE(s.min(), qint64(77));
    QCOMPARE(s.max(), qint64(987'654'321'987));
    quint64 sum = 0;
    for (qint64 v : values)
        sum += quint64(v);
    QCOMPARE(s.sum(), sum);
    QCOMPARE(s.mean(), double(sum) / 4.0);
}

void TstLatencyHistogram::recordWithCount()
{
    LatencyHistogram h;
    h.record(42, 5);
    h.record(7, 0);  // ignored
    h.record(7, -3); // ignored
    const HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.count(), quint64(5));
    QCOMPARE(s.sum(), quint64(210));
    QCOMPARE(s.min(), qint64(42));
    QCOMPARE(s.max(), qint64(42));
    QCOMPARE(s.valueAtPercentile(50), qint64(42));
}

void TstLatencyHistogram::recordDuration()
{
    using namespace std::chrono_literals;
    LatencyHistogram h;
    h.recordDuration(1ms);
    h.recordDuration(250us);
    const HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.count(), quint64(2));
    QCOMPARE(s.min(), qint64(250'000));
    QCOMPARE(s.max(), qint64(1'000'000));
    QCOMPARE(s.sum(), quint64(1'250'000));
}

void TstLatencyHistogram::emptyHistogram()
{
    LatencyHistogram h;
    for (const HistogramSnapshot &s : {h.snapshot(), h.deltaSnapshot(), HistogramSnapshot()}) {
        QVERIFY(s.isEmpty());
        QCOMPARE(s.count(), quint64(0));
        QCOMPARE(s.sum(), quint64(0));
        QCOMPARE(s.min(), qint64(0));
        QCOMPARE(s.max(), qint64(0));
        QCOMPARE(s.mean(), 0.0);
        for (double p : {0.0, 50.0, 99.0, 99.9, 100.0})
            QCOMPARE(s.valueAtPercentile(p), qint64(0));
        QCOMPARE(s.countAtOrBelow(1'000'000), quint64(0));
        QVERIFY(s.nonEmptyBuckets().empty());
        QCOMPARE(s.minus(s).count(), quint64(0));
    }
    QCOMPARE(h.count(), quint64(0));
}

void TstLatencyHistogram::clamping()
{
    LatencyHistogram h(1000, 3);
    h.record(5000);
    h.record(std::numeric_limits<qint64>::max());
    h.record(1000); // exactly the highest: not saturated
    h.record(-5);
    h.record(std::numeric_limits<qint64>::min());
    QCOMPARE(h.saturatedCount(), quint64(2));
    QCOMPARE(h.count(), quint64(5));

    const HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.count(), quint64(5));
    QCOMPARE(s.saturatedCount(), quint64(2));
    QCOMPARE(s.min(), qint64(0));
    QCOMPARE(s.max(), qint64(1000));
    QCOMPARE(s.sum(), quint64(3000)); // saturated values count as the highest trackable value
    QCOMPARE(s.valueAtPercentile(100), qint64(1000));
    QCOMPARE(s.valueAtPercentile(40), qint64(0));
    QCOMPARE(s.valueAtPercentile(60), qint64(1000));
    QCOMPARE(s.countAtOrBelow(0), quint64(2));
    QCOMPARE(s.countAtOrBelow(999), quint64(2));
    QCOMPARE(s.countAtOrBelow(1000), quint64(5));
    QCOMPARE(s.nonEmptyBuckets().size(), size_t(2));
}

void TstLatencyHistogram::mergeEqualsSingleHistogram()
{
    const std::vector<qint64> a
        = makeSamples(Distribution::LogNormal, 20'000, 1, 3'600'000'000'000);
    const std::vector<qint64> b
        = makeSamples(Distribution::Exponential, 20'000, 2, 3'600'000'000'000);
    LatencyHistogram ha;
    LatencyHistogram hb;
    LatencyHistogram both;
    recordAll(ha, a);
    recordAll(hb, b);
    recordAll(both, a);
    recordAll(both, b);
    both.record(std::numeric_limits<qint64>::max()); // saturated counts merge too
    hb.record(std::numeric_limits<qint64>::max());

    HistogramSnapshot merged = ha.snapshot();
    QVERIFY(merged.merge(hb.snapshot()));
    const HistogramSnapshot expected = both.snapshot();
    compareSnapshots(merged, expected);
    for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0})
        QCOMPARE(merged.valueAtPercentile(p), expected.valueAtPercentile(p));

    // Into a default-constructed snapshot (adopts the layout), then an empty one (no-op).
    HistogramSnapshot aggregate;
    QVERIFY(aggregate.merge(ha.snapshot()));
    QVERIFY(aggregate.merge(hb.snapshot()));
    QVERIFY(aggregate.merge(HistogramSnapshot()));
    QVERIFY(aggregate.merge(HistogramSnapshot(aggregate.layout())));
    compareSnapshots(aggregate, expected);

    // Into a live histogram.
    QVERIFY(ha.merge(hb.snapshot()));
    compareSnapshots(ha.snapshot(), expected);
    QCOMPARE(ha.count(), expected.count());
    QCOMPARE(ha.sum(), expected.sum());
    QCOMPARE(ha.saturatedCount(), quint64(1));
}

void TstLatencyHistogram::mergeRejectsDifferentLayout()
{
    LatencyHistogram ns;
    LatencyHistogram us(3'600'000'000, 3);
    LatencyHistogram twoDigits(HistogramLayout::kDefaultHighestTrackable, 2);
    ns.record(10);
    us.record(20);
    twoDigits.record(30);

    HistogramSnapshot s = ns.snapshot();
    QVERIFY(!s.isCompatibleWith(us.snapshot()));
    QVERIFY(!s.merge(us.snapshot()));
    QVERIFY(!s.merge(twoDigits.snapshot()));
    QVERIFY(!ns.merge(us.snapshot()));
    QCOMPARE(s.count(), quint64(1));
    QCOMPARE(s.max(), qint64(10));
    QCOMPARE(ns.count(), quint64(1));
    QVERIFY(s.minus(us.snapshot()).isEmpty());
}

void TstLatencyHistogram::deltaSnapshots()
{
    LatencyHistogram h;
    for (qint64 v = 10; v < 20; ++v) // A
        h.record(v);
    const HistogramSnapshot delta1 = h.deltaSnapshot();
    QCOMPARE(delta1.count(), quint64(10));
    QCOMPARE(delta1.sum(), quint64(145));
    QCOMPARE(delta1.min(), qint64(10));
    QCOMPARE(delta1.max(), qint64(19));
    QCOMPARE(delta1.valueAtPercentile(50), qint64(14));

    for (qint64 v = 1000; v < 2000; ++v) // B
        h.record(v);
    const HistogramSnapshot delta2 = h.deltaSnapshot();
    QCOMPARE(delta2.count(), quint64(1000));
    QCOMPARE(delta2.sum(), quint64(1'499'500));
    QCOMPARE(delta2.min(), qint64(1000)); // < 2048: unit resolution, so exact
    QCOMPARE(delta2.max(), qint64(1999));
    QCOMPARE(delta2.valueAtPercentile(0), qint64(1000));
    QCOMPARE(delta2.valueAtPercentile(50), qint64(1499));
    QCOMPARE(delta2.valueAtPercentile(99), qint64(1989));
    QCOMPARE(delta2.countAtOrBelow(19), quint64(0)); // nothing of A

    QVERIFY(h.deltaSnapshot().isEmpty());

    // Cumulative snapshots are unaffected by deltas, and delta1 + delta2 == cumulative.
    const HistogramSnapshot all = h.snapshot();
    QCOMPARE(all.count(), quint64(1010));
    HistogramSnapshot sum = delta1;
    QVERIFY(sum.merge(delta2));
    compareSnapshots(sum, all);

    // minus() directly: the same as the deltas.
    LatencyHistogram h2;
    for (qint64 v = 10; v < 20; ++v)
        h2.record(v);
    const HistogramSnapshot first = h2.snapshot();
    for (qint64 v = 1000; v < 2000; ++v)
        h2.record(v);
    compareSnapshots(h2.snapshot().minus(first), delta2);
}

void TstLatencyHistogram::deltaMinMaxComeFromBuckets()
{
    // Interval 1 holds the extremes; interval 2 lies strictly inside them, in wide buckets, so
    // its min/max come from its own lowest/highest bucket (within the relative error).
    LatencyHistogram h;
    h.record(1000);
    h.record(2'000'000'000);
    (void)h.deltaSnapshot();
    const std::vector<qint64> b = {3'000'123, 4'500'000, 90'000'777};
    recordAll(h, b);
    const HistogramSnapshot delta = h.deltaSnapshot();
    QCOMPARE(delta.count(), quint64(3));
    QCOMPARE(delta.sum(), quint64(3'000'123 + 4'500'000 + 90'000'777));
    QVERIFY(std::abs(double(delta.min() - b.front())) <= b.front() * 1e-3);
    QVERIFY(std::abs(double(delta.max() - b.back())) <= b.back() * 1e-3);
    QCOMPARE(delta.min(), h.layout().lowestEquivalentValue(b.front()));
    QCOMPARE(delta.max(), h.layout().highestEquivalentValue(b.back()));
    QVERIFY(delta.min() <= delta.valueAtPercentile(50));
    QVERIFY(delta.valueAtPercentile(50) <= delta.max());

    // When a cumulative extreme falls into the delta's edge bucket it is used as is.
    h.record(2'000'000'001); // the new cumulative max
    const HistogramSnapshot last = h.deltaSnapshot();
    QCOMPARE(last.count(), quint64(1));
    QCOMPARE(last.max(), qint64(2'000'000'001));
    QVERIFY(last.min() <= last.max());
}

void TstLatencyHistogram::minusAfterResetSaturatesAtZero()
{
    LatencyHistogram h;
    for (int i = 0; i < 100; ++i)
        h.record(500);
    const HistogramSnapshot before = h.snapshot();
    h.reset();
    h.record(500);
    h.record(600);
    const HistogramSnapshot delta = h.snapshot().minus(before);
    QCOMPARE(delta.count(), quint64(1)); // only the 600 bucket grew
    QCOMPARE(delta.valueAtPercentile(50), qint64(600));
}

void TstLatencyHistogram::reset()
{
    LatencyHistogram h;
    h.record(5);
    h.record(std::numeric_limits<qint64>::max());
    (void)h.deltaSnapshot();
    h.record(7);
    h.reset();
    QCOMPARE(h.count(), quint64(0));
    QCOMPARE(h.sum(), quint64(0));
    QCOMPARE(h.saturatedCount(), quint64(0));
    QVERIFY(h.snapshot().isEmpty());
    QVERIFY(h.deltaSnapshot().isEmpty());

    h.record(3);
    const HistogramSnapshot delta = h.deltaSnapshot();
    QCOMPARE(delta.count(), quint64(1));
    QCOMPARE(delta.min(), qint64(3));
    QCOMPARE(delta.max(), qint64(3));
    QCOMPARE(h.snapshot().min(), qint64(3));
}

void TstLatencyHistogram::countAtOrBelow()
{
    LatencyHistogram h;
    for (qint64 v = 1; v <= 100; ++v)
        h.record(v);
    const HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.countAtOrBelow(-1), quint64(0));
    QCOMPARE(s.countAtOrBelow(0), quint64(0));
    QCOMPARE(s.countAtOrBelow(1), quint64(1));
    QCOMPARE(s.countAtOrBelow(50), quint64(50));
    QCOMPARE(s.countAtOrBelow(100), quint64(100));
    QCOMPARE(s.countAtOrBelow(1'000'000), quint64(100));

    // Wide values: a record counts as <= le if its bucket is at or below le's bucket.
    LatencyHistogram wide;
    // 5 ms lies in [4'997'120, 5'001'215] (width 4096).
    QCOMPARE(wide.layout().lowestEquivalentValue(5'000'000), qint64(4'997'120));
    QCOMPARE(wide.layout().highestEquivalentValue(5'000'000), qint64(5'001'215));
    wide.record(4'990'000); // two buckets below
    wide.record(5'000'000); // exactly 5 ms
    wide.record(5'001'000); // above 5 ms but in its bucket
    wide.record(5'010'000); // above
    const HistogramSnapshot w = wide.snapshot();
    QCOMPARE(w.countAtOrBelow(4'996'000), quint64(1));
    QCOMPARE(w.countAtOrBelow(5'000'000), quint64(3));
    QCOMPARE(w.countAtOrBelow(10'000'000), quint64(4));
}

void TstLatencyHistogram::nonEmptyBuckets()
{
    std::vector<qint64> values = makeSamples(Distribution::LogNormal, 10'000, 7,
                                             HistogramLayout::kDefaultHighestTrackable);
    LatencyHistogram h;
    recordAll(h, values);
    std::sort(values.begin(), values.end());
    const HistogramSnapshot s = h.snapshot();
    const auto buckets = s.nonEmptyBuckets();
    QVERIFY(!buckets.empty());
    quint64 total = 0;
    qint64 previousHighest = -1;
    for (size_t i = 0; i < buckets.size(); ++i) {
        const HistogramSnapshot::Bucket &b = buckets[i];
        QVERIFY(b.count > 0);
        QVERIFY(b.lowest <= b.highest);
        QVERIFY(b.lowest > previousHighest);
        previousHighest = b.highest;
        total += b.count;
        // Cumulative counts match the samples themselves...
        const auto below = std::upper_bound(values.begin(), values.end(), b.highest);
        QCOMPARE(quint64(below - values.begin()), total);
        // ...and countAtOrBelow() at the bucket's upper edge (O(buckets): sampled).
        if (i % 64 == 0 || i + 1 == buckets.size())
            QCOMPARE(s.countAtOrBelow(b.highest), total);
    }
    QCOMPARE(total, s.count());
    QVERIFY(buckets.front().lowest <= s.min());
    QVERIFY(buckets.back().highest >= s.max());
}

void TstLatencyHistogram::concurrentRecording()
{
    constexpr int kThreads = 4;
    constexpr int kPerThread = 200'000;
    LatencyHistogram h;
    std::vector<std::thread> threads;
    struct Totals
    {
        quint64 sum = 0;
        qint64 min = std::numeric_limits<qint64>::max();
        qint64 max = 0;
    };
    std::vector<Totals> totals(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&h, &totals, t] {
            Totals mine;
            for (int i = 0; i < kPerThread; ++i) {
                const qint64 v = (qint64(i) * 7919 + t * 13) % 50'000'000 + 1 + t;
                h.record(v);
                mine.sum += quint64(v);
                mine.min = std::min(mine.min, v);
                mine.max = std::max(mine.max, v);
            }
            totals[size_t(t)] = mine;
        });
    }
    for (std::thread &thread : threads)
        thread.join();

    Totals expected;
    for (const Totals &t : totals) {
        expected.sum += t.sum;
        expected.min = std::min(expected.min, t.min);
        expected.max = std::max(expected.max, t.max);
    }
    const quint64 expectedSum = expected.sum;
    const quint64 expectedCount = quint64(kThreads) * kPerThread;
    QCOMPARE(h.count(), expectedCount);
    QCOMPARE(h.sum(), expectedSum);
    const HistogramSnapshot s = h.snapshot();
    QCOMPARE(s.count(), expectedCount);
    QCOMPARE(s.sum(), expectedSum);
    QCOMPARE(s.min(), expected.min);
    QCOMPARE(s.max(), expected.max);
}

void TstLatencyHistogram::concurrentDeltasLoseNothing()
{
    // Writers record while a monitor takes deltas: the deltas add up to everything.
    constexpr int kThreads = 3;
    constexpr int kPerThread = 100'000;
    LatencyHistogram h;
    std::atomic<int> running{kThreads};
    std::atomic<bool> go{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
        writers.emplace_back([&h, &running, &go, t] {
            while (!go.load()) // start together with the monitor
                std::this_thread::yield();
            for (int i = 0; i < kPerThread; ++i)
                h.record(qint64(i % 1000) * 1000 + t);
            running.fetch_sub(1);
        });
    }
    HistogramSnapshot total;
    bool merged = true;
    go.store(true);
    while (running.load() > 0)
        merged = total.merge(h.deltaSnapshot()) && merged;
    for (std::thread &writer : writers)
        writer.join();
    merged = total.merge(h.deltaSnapshot()) && merged;
    QVERIFY(merged);

    // Counts and sums telescope exactly. Min/max of deltas taken while recording are only
    // bucket-accurate (a record can land between reading the extremes and the counts).
    const HistogramSnapshot all = h.snapshot();
    QCOMPARE(total.count(), quint64(kThreads) * kPerThread);
    QCOMPARE(total.count(), all.count());
    QCOMPARE(total.sum(), all.sum());
    const auto a = total.nonEmptyBuckets();
    const auto e = all.nonEmptyBuckets();
    QCOMPARE(a.size(), e.size());
    for (size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(a[i].lowest, e[i].lowest);
        QCOMPARE(a[i].count, e[i].count);
    }
    QCOMPARE(total.layout().indexOf(total.min()), all.layout().indexOf(all.min()));
    QCOMPARE(total.layout().indexOf(total.max()), all.layout().indexOf(all.max()));
}

void TstLatencyHistogram::memoryIsFixed()
{
    LatencyHistogram h;
    const qint64 bytes = h.memoryBytes();
    const int counters = h.countsLength();
    QCOMPARE(counters, 33 * 1024);
    QVERIFY(bytes >= qint64(counters) * 8);
    QVERIFY(bytes < 600 * 1024); // counts + delta baseline, ~540 KB

    std::mt19937_64 rng(99);
    std::uniform_int_distribution<qint64> any(-1000, std::numeric_limits<qint64>::max());
    for (int i = 0; i < 200'000; ++i)
        h.record(any(rng));
    (void)h.deltaSnapshot();
    QCOMPARE(h.memoryBytes(), bytes);
    QCOMPARE(h.countsLength(), counters);
    QCOMPARE(h.snapshot().layout().countsLength(), counters);

    // A smaller range costs less: microseconds up to an hour, 2 digits.
    LatencyHistogram small(3'600'000'000, 2);
    QVERIFY(small.memoryBytes() < bytes / 10);
}

QTEST_GUILESS_MAIN(TstLatencyHistogram)
#include "tst_latencyhistogram.moc"

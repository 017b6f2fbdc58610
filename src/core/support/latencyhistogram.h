// LatencyHistogram: an HDR-style (log-linear) histogram of non-negative integers, about N
// significant digits (default 3, i.e. any reported value is within 0.1 % of a recorded one).
// - It owns one fixed counts array (plus one baseline copy for deltaSnapshot()), allocated in the
//   constructor and never grown: memoryBytes() is constant for the object's lifetime.
// - record()/recordDuration()/merge() are thread-safe and lock-free (relaxed atomics): any number
//   of threads may record concurrently. snapshot() may run concurrently with them; the copy is
//   then "approximately consistent": count() always equals the sum of the copied buckets, but
//   sum() may include or miss records in flight (successive deltas still add up exactly) and
//   min()/max() are then only bucket-accurate. Exact when quiescent.
// - deltaSnapshot() is meant for one monitor thread (it is serialised by an internal mutex that
//   record() never takes). reset() is safe to call, but records racing with it may be kept or lost.
// - HistogramSnapshot is a plain copyable value (not thread-safe) used for percentiles, merging,
//   deltas and exporters.
// The unit is the caller's (convention: nanoseconds for latencies, see recordDuration()).
#pragma once

#include <QtCore/QtGlobal>

#include <atomic>
#include <bit>
#include <chrono>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

namespace opsdeck {

// The value -> bucket mapping shared by a histogram and its snapshots. Values in
// [0, 2 * subBucketHalfCount) have unit resolution; above that, each power-of-two range
// [half * 2^k, 2 * half * 2^k) is split into `half` buckets of width 2^k, where
// subBucketCount = 2 * half = next power of two >= 2 * 10^digits.
class HistogramLayout
{
public:
    static constexpr qint64 kDefaultHighestTrackable = 3'600'000'000'000; // 1 hour in ns
    static constexpr int kDefaultSignificantDigits = 3;

    // An invalid layout (no buckets); only for default-constructed snapshots.
    HistogramLayout() = default;
    // highestTrackableValue is raised to at least 1; significantDigits is clamped to 1..5.
    HistogramLayout(qint64 highestTrackableValue, int significantDigits);

    bool isValid() const { return m_countsLength > 0; }
    qint64 highestTrackableValue() const { return m_highestTrackable; }
    int significantDigits() const { return m_significantDigits; }
    int subBucketCount() const { return 1 << (m_subBucketHalfCountMagnitude + 1); }
    // Number of power-of-two ranges ("HDR buckets").
    int bucketCount() const { return m_bucketCount; }
    // Number of counters (the length of the counts array).
    int countsLength() const { return m_countsLength; }

    // Index of the counter for value, after clamping value into [0, highestTrackableValue()].
    int indexOf(qint64 value) const
    {
        const quint64 v = quint64(qBound<qint64>(0, value, m_highestTrackable));
        const int bucket
            = int(std::bit_width(v | m_subBucketMask)) - (m_subBucketHalfCountMagnitude + 1);
        const int subBucket = int(v >> bucket);
        return ((bucket + 1) << m_subBucketHalfCountMagnitude)
               + (subBucket - (1 << m_subBucketHalfCountMagnitude));
    }
    // The smallest and largest value that map to counter `index` (the largest is capped at
    // highestTrackableValue()).
    qint64 lowestValueAt(int index) const;
    qint64 highestValueAt(int index) const;
    qint64 lowestEquivalentValue(qint64 value) const { return lowestValueAt(indexOf(value)); }
    qint64 highestEquivalentValue(qint64 value) const { return highestValueAt(indexOf(value)); }

    friend bool operator==(const HistogramLayout &, const HistogramLayout &) = default;

private:
    qint64 m_highestTrackable = 0;
    int m_significantDigits = 0;
    int m_subBucketHalfCountMagnitude = 0;
    quint64 m_subBucketMask = 0;
    int m_bucketCount = 0;
    int m_countsLength = 0;
};

// A copy of a histogram's counts. Percentiles use the nearest-rank method:
//   valueAtPercentile(p) for 0 < p < 100 is the value of the sample at rank ceil(p/100 * count)
//   (1-based) in sorted order, reported as the highest value equivalent to its bucket, clamped to
//   [min(), max()]. So for 100 samples 1..100, p99 is 99 (rank 99), not 100 (the old system used
//   a floor index and reported p99 == max); with unit-resolution values the result is exact.
//   p <= 0 gives min(), p >= 100 gives max(), and an empty snapshot gives 0 for everything.
// min()/max() are exact for snapshot() and merge(). For minus() (a delta) the exact extremes of the
// interval cannot be recovered from cumulative ones, so they come from the delta's lowest/highest
// non-empty bucket, tightened by the later snapshot's cumulative min/max when those fall inside
// that bucket: accurate to the bucket width (the same 10^-digits relative error).
class HistogramSnapshot
{
public:
    struct Bucket
    {
        qint64 lowest = 0;  // smallest value counted here
        qint64 highest = 0; // largest value counted here (inclusive)
        quint64 count = 0;
    };

    // No layout: empty, and merge() into it adopts the other snapshot's layout.
    HistogramSnapshot() = default;
    // Empty, with the given layout.
    explicit HistogramSnapshot(const HistogramLayout &layout);

    const HistogramLayout &layout() const { return m_layout; }
    bool isCompatibleWith(const HistogramSnapshot &other) const
    {
        return m_layout == other.m_layout;
    }

    bool isEmpty() const { return m_count == 0; }
    quint64 count() const { return m_count; }
    // Sum of recorded values (saturated values count as highestTrackableValue()). If taken while
    // recording, it may be ahead of or behind the buckets by records in flight (so a delta with
    // count() 0 can carry a sum); that evens out over successive deltas, which add up exactly.
    quint64 sum() const { return m_sum; }
    qint64 min() const { return m_min; }
    qint64 max() const { return m_max; }
    double mean() const { return m_count == 0 ? 0.0 : double(m_sum) / double(m_count); }
    // Records that were above highestTrackableValue() (and were counted in the top bucket).
    quint64 saturatedCount() const { return m_saturated; }

    // Nearest-rank percentile, p in [0, 100] (see the class comment). O(countsLength()).
    qint64 valueAtPercentile(double p) const;
    // Records whose bucket is at or below value's bucket: i.e. all records <= value, plus records
    // in (value, highestEquivalentValue(value)] that share value's bucket. For Prometheus `le`.
    quint64 countAtOrBelow(qint64 value) const;

    // Calls f(const Bucket &) for each non-empty bucket, in increasing value order.
    template<typename F> void forEachNonEmptyBucket(F &&f) const
    {
        for (int i = 0; i < int(m_counts.size()); ++i) {
            const quint64 n = m_counts[size_t(i)];
            if (n != 0)
                f(Bucket{m_layout.lowestValueAt(i), m_layout.highestValueAt(i), n});
        }
    }
    std::vector<Bucket> nonEmptyBuckets() const;

    // Adds other's counts. False (and nothing changes) if the layouts differ, unless this
    // snapshot has no layout, in which case it becomes a copy of other.
    bool merge(const HistogramSnapshot &other);
    // What was recorded between `earlier` and this snapshot (both cumulative, same source).
    // Buckets where earlier > this (a reset in between) count as 0. Returns an empty snapshot
    // with this layout if the layouts differ.
    HistogramSnapshot minus(const HistogramSnapshot &earlier) const;

private:
    friend class LatencyHistogram;
    // Recomputes m_count from the buckets and fits m_min/m_max (candidates) into the lowest and
    // highest non-empty buckets (0 if empty).
    void normalize(qint64 candidateMin, qint64 candidateMax);

    HistogramLayout m_layout;
    std::vector<quint64> m_counts;
    quint64 m_count = 0;
    quint64 m_sum = 0;
    quint64 m_saturated = 0;
    qint64 m_min = 0;
    qint64 m_max = 0;
};

class LatencyHistogram
{
public:
    explicit LatencyHistogram(qint64 highestTrackableValue
                              = HistogramLayout::kDefaultHighestTrackable,
                              int significantDigits = HistogramLayout::kDefaultSignificantDigits);
    Q_DISABLE_COPY_MOVE(LatencyHistogram)
    ~LatencyHistogram();

    // Lock-free, O(1). Negative values record as 0; values above highestTrackableValue() record
    // as highestTrackableValue() and increment saturatedCount(). count <= 0 is ignored.
    void record(qint64 value, qint64 count = 1);
    // record(duration in nanoseconds): only meaningful if this histogram's unit is nanoseconds.
    void recordDuration(std::chrono::nanoseconds duration) { record(duration.count()); }

    // Adds a snapshot's counts (lock-free). False if the layouts differ.
    bool merge(const HistogramSnapshot &other);

    // A copy of everything recorded since construction or the last reset().
    HistogramSnapshot snapshot() const;
    // What was recorded since the previous deltaSnapshot() call (or construction/reset()).
    HistogramSnapshot deltaSnapshot();
    // Zeroes all counts and the deltaSnapshot() baseline.
    void reset();

    // Live totals (each read atomically, not mutually consistent while recording).
    quint64 count() const { return m_count.load(std::memory_order_relaxed); }
    quint64 sum() const { return m_sum.load(std::memory_order_relaxed); }
    quint64 saturatedCount() const { return m_saturated.load(std::memory_order_relaxed); }

    const HistogramLayout &layout() const { return m_layout; }
    qint64 highestTrackableValue() const { return m_layout.highestTrackableValue(); }
    int significantDigits() const { return m_layout.significantDigits(); }
    int bucketCount() const { return m_layout.bucketCount(); }
    int countsLength() const { return m_layout.countsLength(); }
    // Bytes held by this object including its counts and delta baseline; constant.
    qint64 memoryBytes() const;

private:
    void updateMinMax(qint64 low, qint64 high);

    static constexpr qint64 kNoMin = std::numeric_limits<qint64>::max();
    static constexpr qint64 kNoMax = -1;

    const HistogramLayout m_layout;
    const std::unique_ptr<std::atomic<quint64>[]> m_counts;
    std::atomic<quint64> m_count{0};
    std::atomic<quint64> m_sum{0};
    std::atomic<quint64> m_saturated{0};
    std::atomic<qint64> m_min{kNoMin};
    std::atomic<qint64> m_max{kNoMax};

    std::mutex m_deltaMutex;
    HistogramSnapshot m_deltaBaseline; // guarded by m_deltaMutex
};

} // namespace opsdeck

#include "core/support/latencyhistogram.h"

#include <algorithm>
#include <cmath>

namespace opsdeck {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
static_assert(std::atomic<quint64>::is_always_lock_free && std::atomic<qint64>::is_always_lock_free,
              "record() must be lock-free");

quint64 saturatingMinus(quint64 later, quint64 earlier)
{
    return later > earlier ? later - earlier : 0;
}

} // namespace

// ---- HistogramLayout ---------------------------------------------------------------------------

HistogramLayout::HistogramLayout(qint64 highestTrackableValue, int significantDigits)
    : m_highestTrackable(std::max<qint64>(highestTrackableValue, 1))
    , m_significantDigits(qBound(1, significantDigits, 5))
{
    quint64 largestWithUnitResolution = 2;
    for (int i = 0; i < m_significantDigits; ++i)
        largestWithUnitResolution *= 10;
    // Sub-bucket count: the next power of two >= 2 * 10^digits.
    const int subBucketCountMagnitude = int(std::bit_width(largestWithUnitResolution - 1));
    m_subBucketHalfCountMagnitude = subBucketCountMagnitude - 1;
    m_subBucketMask = (quint64(1) << subBucketCountMagnitude) - 1;

    // One bucket covers [0, subBucketCount); each further one doubles the covered range.
    // highest <= 2^63 - 1, so the shift stops at 2^63 at the latest and never overflows.
    quint64 smallestUntrackable = quint64(1) << subBucketCountMagnitude;
    m_bucketCount = 1;
    while (smallestUntrackable <= quint64(m_highestTrackable)) {
        smallestUntrackable <<= 1;
        ++m_bucketCount;
    }
    m_countsLength = (m_bucketCount + 1) << m_subBucketHalfCountMagnitude;
}

qint64 HistogramLayout::lowestValueAt(int index) const
{
    int bucket = (index >> m_subBucketHalfCountMagnitude) - 1;
    const int halfCount = 1 << m_subBucketHalfCountMagnitude;
    quint64 subBucket = quint64(index & (halfCount - 1)) + quint64(halfCount);
    if (bucket < 0) {
        subBucket -= quint64(halfCount);
        bucket = 0;
    }
    return qint64(subBucket << bucket);
}

qint64 HistogramLayout::highestValueAt(int index) const
{
    const int bucket = std::max((index >> m_subBucketHalfCountMagnitude) - 1, 0);
    const quint64 low = quint64(lowestValueAt(index));
    const quint64 high = low + ((quint64(1) << bucket) - 1);
    if (low > quint64(m_highestTrackable))
        return qint64(high); // beyond the trackable range: never counted
    return qint64(std::min(high, quint64(m_highestTrackable)));
}

// ---- HistogramSnapshot -------------------------------------------------------------------------

HistogramSnapshot::HistogramSnapshot(const HistogramLayout &layout)
    : m_layout(layout)
    , m_counts(size_t(layout.countsLength()), 0)
{}

void HistogramSnapshot::normalize(qint64 candidateMin, qint64 candidateMax)
{
    int lowest = -1;
    int highest = -1;
    quint64 total = 0;
    for (int i = 0; i < int(m_counts.size()); ++i) {
        const quint64 n = m_counts[size_t(i)];
        if (n == 0)
            continue;
        if (lowest < 0)
            lowest = i;
        highest = i;
        total += n;
    }
    m_count = total;
    if (total == 0) {
        // m_sum/m_saturated are kept: while recording they may hold in-flight records whose
        // buckets were not copied yet, and successive deltas must still add up to the total.
        m_min = 0;
        m_max = 0;
        return;
    }
    m_min
        = std::clamp(candidateMin, m_layout.lowestValueAt(lowest), m_layout.highestValueAt(lowest));
    m_max = std::clamp(candidateMax, m_layout.lowestValueAt(highest),
                       m_layout.highestValueAt(highest));
}

qint64 HistogramSnapshot::valueAtPercentile(double p) const
{
    if (m_count == 0)
        return 0;
    if (!(p > 0.0)) // also NaN
        return m_min;
    if (p >= 100.0)
        return m_max;

    // Nearest rank: ceil(p/100 * count). p * count first, so that exact products (integral p,
    // moderate counts) divide exactly; the tiny downward nudge keeps a product that rounding put
    // just above an integer k (e.g. 99.9 * 1000) at rank k rather than k + 1.
    const double exactRank = p * double(m_count) / 100.0;
    const double nudged = exactRank * (1.0 - 4.0 * std::numeric_limits<double>::epsilon());
    quint64 rank = m_count;
    if (nudged < double(m_count))
        rank = std::clamp<quint64>(quint64(std::ceil(nudged)), 1, m_count);

    quint64 seen = 0;
    for (int i = 0; i < int(m_counts.size()); ++i) {
        seen += m_counts[size_t(i)];
        if (seen >= rank)
            return std::clamp(m_layout.highestValueAt(i), m_min, m_max);
    }
    return m_max; // not reached: the counts add up to m_count
}

quint64 HistogramSnapshot::countAtOrBelow(qint64 value) const
{
    if (m_count == 0 || value < 0)
        return 0;
    if (value >= m_max)
        return m_count;
    const int last = m_layout.indexOf(value);
    quint64 total = 0;
    for (int i = 0; i <= last; ++i)
        total += m_counts[size_t(i)];
    return total;
}

std::vector<HistogramSnapshot::Bucket> HistogramSnapshot::nonEmptyBuckets() const
{
    std::vector<Bucket> buckets;
    forEachNonEmptyBucket([&buckets](const Bucket &bucket) { buckets.push_back(bucket); });
    return buckets;
}

bool HistogramSnapshot::merge(const HistogramSnapshot &other)
{
    if (!other.m_layout.isValid())
        return true; // a default-constructed snapshot holds nothing
    if (!m_layout.isValid()) {
        *this = other;
        return true;
    }
    if (m_layout != other.m_layout)
        return false;

    // Sums are added even for an empty `other` (see normalize()).
    if (!other.isEmpty()) {
        for (size_t i = 0; i < m_counts.size(); ++i)
            m_counts[i] += other.m_counts[i];
        m_min = isEmpty() ? other.m_min : std::min(m_min, other.m_min);
        m_max = isEmpty() ? other.m_max : std::max(m_max, other.m_max);
    }
    m_count += other.m_count;
    m_sum += other.m_sum;
    m_saturated += other.m_saturated;
    return true;
}

HistogramSnapshot HistogramSnapshot::minus(const HistogramSnapshot &earlier) const
{
    HistogramSnapshot delta(m_layout);
    if (m_layout != earlier.m_layout)
        return delta;
    for (size_t i = 0; i < m_counts.size(); ++i)
        delta.m_counts[i] = saturatingMinus(m_counts[i], earlier.m_counts[i]);
    delta.m_sum = saturatingMinus(m_sum, earlier.m_sum);
    delta.m_saturated = saturatingMinus(m_saturated, earlier.m_saturated);
    delta.normalize(m_min, m_max);
    return delta;
}

// ---- LatencyHistogram --------------------------------------------------------------------------

LatencyHistogram::LatencyHistogram(qint64 highestTrackableValue, int significantDigits)
    : m_layout(highestTrackableValue, significantDigits)
    , m_counts(std::make_unique<std::atomic<quint64>[]>(size_t(m_layout.countsLength())))
    , m_deltaBaseline(m_layout)
{}

LatencyHistogram::~LatencyHistogram() = default;

void LatencyHistogram::updateMinMax(qint64 low, qint64 high)
{
    qint64 currentMin = m_min.load(kRelaxed);
    while (low < currentMin && !m_min.compare_exchange_weak(currentMin, low, kRelaxed)) {
    }
    qint64 currentMax = m_max.load(kRelaxed);
    while (high > currentMax && !m_max.compare_exchange_weak(currentMax, high, kRelaxed)) {
    }
}

void LatencyHistogram::record(qint64 value, qint64 count)
{
    if (count <= 0)
        return;
    const quint64 n = quint64(count);
    if (value < 0) {
        value = 0;
    } else if (value > m_layout.highestTrackableValue()) {
        value = m_layout.highestTrackableValue();
        m_saturated.fetch_add(n, kRelaxed);
    }
    updateMinMax(value, value);
    m_counts[size_t(m_layout.indexOf(value))].fetch_add(n, kRelaxed);
    m_count.fetch_add(n, kRelaxed);
    m_sum.fetch_add(quint64(value) * n, kRelaxed);
}

bool LatencyHistogram::merge(const HistogramSnapshot &other)
{
    if (!other.layout().isValid())
        return true;
    if (other.layout() != m_layout)
        return false;
    if (!other.isEmpty()) {
        updateMinMax(other.min(), other.max());
        for (int i = 0; i < m_layout.countsLength(); ++i) {
            const quint64 n = other.m_counts[size_t(i)];
            if (n != 0)
                m_counts[size_t(i)].fetch_add(n, kRelaxed);
        }
    }
    m_count.fetch_add(other.count(), kRelaxed);
    m_sum.fetch_add(other.sum(), kRelaxed);
    m_saturated.fetch_add(other.saturatedCount(), kRelaxed);
    return true;
}

HistogramSnapshot LatencyHistogram::snapshot() const
{
    HistogramSnapshot copy(m_layout);
    // Extremes first: a record updates them before its bucket, so those read here are at least
    // as old as the buckets; normalize() fits them into the copied buckets either way.
    const qint64 low = m_min.load(kRelaxed);
    const qint64 high = m_max.load(kRelaxed);
    for (int i = 0; i < m_layout.countsLength(); ++i)
        copy.m_counts[size_t(i)] = m_counts[size_t(i)].load(kRelaxed);
    copy.m_sum = m_sum.load(kRelaxed);
    copy.m_saturated = m_saturated.load(kRelaxed);
    copy.normalize(low, high);
    return copy;
}

HistogramSnapshot LatencyHistogram::deltaSnapshot()
{
    const std::lock_guard lock(m_deltaMutex);
    HistogramSnapshot current = snapshot();
    HistogramSnapshot delta = current.minus(m_deltaBaseline);
    m_deltaBaseline = std::move(current);
    return delta;
}

void LatencyHistogram::reset()
{
    const std::lock_guard lock(m_deltaMutex);
    for (int i = 0; i < m_layout.countsLength(); ++i)
        m_counts[size_t(i)].store(0, kRelaxed);
    m_count.store(0, kRelaxed);
    m_sum.store(0, kRelaxed);
    m_saturated.store(0, kRelaxed);
    m_min.store(kNoMin, kRelaxed);
    m_max.store(kNoMax, kRelaxed);
    m_deltaBaseline = HistogramSnapshot(m_layout);
}

qint64 LatencyHistogram::memoryBytes() const
{
    const auto counters = qint64(m_layout.countsLength());
    return qint64(sizeof(*this)) + counters * qint64(sizeof(std::atomic<quint64>))
           + counters * qint64(sizeof(quint64));
}

} // namespace opsdeck

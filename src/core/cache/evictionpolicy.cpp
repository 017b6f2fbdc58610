#include "core/cache/evictionpolicy.h"

#include "core/cache/frequencysketch.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

namespace opsdeck::cache::memtier {

void EvictionPolicy::enforce(EvictionHost &host)
{
    while (host.overBudget()) {
        Entry *const e = victim();
        if (e == nullptr)
            return;
        host.evictForSize(e, false);
    }
}

namespace {

std::vector<Entry *> listOrder(const PolicyList &list, std::vector<Entry *> out = {})
{
    out.reserve(out.size() + size_t(list.size()));
    for (Entry *e = list.front(); e != nullptr; e = PolicyList::nextOf(e))
        out.push_back(e);
    return out;
}

// LRU: reads and writes move an entry to the back; the victim is the front.
class LruPolicy final : public EvictionPolicy
{
public:
    Policy kind() const override { return Policy::Lru; }
    void setCapacity(qint64) override {}
    void insert(Entry *e) override { m_list.pushBack(e); }
    void recordHit(Entry *e) override { m_list.moveToBack(e); }
    void recordWrite(Entry *e) override { m_list.moveToBack(e); }
    void remove(Entry *e) override { m_list.remove(e); }
    void clear() override { m_list.reset(); }
    std::vector<Entry *> victimOrder() const override { return listOrder(m_list); }
    Entry *victim() const override { return m_list.front(); }

private:
    PolicyList m_list;
};

// FIFO: the oldest written first; an overwrite is a write, reads are ignored.
class FifoPolicy final : public EvictionPolicy
{
public:
    Policy kind() const override { return Policy::Fifo; }
    void setCapacity(qint64) override {}
    void insert(Entry *e) override { m_list.pushBack(e); }
    void recordHit(Entry *) override {}
    void recordWrite(Entry *e) override { m_list.moveToBack(e); }
    void remove(Entry *e) override { m_list.remove(e); }
    void clear() override { m_list.reset(); }
    std::vector<Entry *> victimOrder() const override { return listOrder(m_list); }
    Entry *victim() const override { return m_list.front(); }

private:
    PolicyList m_list;
};

// LFU with aging: O(1) frequency buckets (0..255, a bitmap finds the lowest non-empty one);
// every count is halved each agingPeriod reads, an O(n) pass that is O(1) amortised.
class LfuPolicy final : public EvictionPolicy
{
public:
    static constexpr int kLevels = 256;

    Policy kind() const override { return Policy::Lfu; }
    void setCapacity(qint64 maxEntries) override
    {
        m_agingPeriod = std::max<qint64>(64, maxEntries * 10);
    }
    void insert(Entry *e) override
    {
        e->frequency = 1;
        link(e);
    }
    void adopt(Entry *e, bool sameKind) override
    {
        if (!sameKind)
            e->frequency = 1;
        link(e);
    }
    void recordHit(Entry *e) override
    {
        if (e->frequency < kLevels - 1) {
            unlink(e);
            ++e->frequency;
            link(e);
        } else {
            m_buckets[e->frequency].moveToBack(e);
        }
        if (++m_reads >= m_agingPeriod)
            age();
    }
    void recordWrite(Entry *) override {}
    void remove(Entry *e) override { unlink(e); }
    void clear() override
    {
        for (PolicyList &bucket : m_buckets)
            bucket.reset();
        m_nonEmpty.fill(0);
        m_reads = 0;
    }
    std::vector<Entry *> victimOrder() const override
    {
        std::vector<Entry *> out;
        for (const PolicyList &bucket : m_buckets)
            out = listOrder(bucket, std::move(out));
        return out;
    }
    Entry *victim() const override
    {
        for (int word = 0; word < 4; ++word) {
            if (m_nonEmpty[word] != 0)
                return m_buckets[word * 64 + std::countr_zero(m_nonEmpty[word])].front();
        }
        return nullptr;
    }

private:
    void link(Entry *e)
    {
        m_buckets[e->frequency].pushBack(e);
        m_nonEmpty[e->frequency >> 6] |= quint64(1) << (e->frequency & 63);
    }
    void unlink(Entry *e)
    {
        PolicyList &bucket = m_buckets[e->frequency];
        bucket.remove(e);
        if (bucket.isEmpty())
            m_nonEmpty[e->frequency >> 6] &= ~(quint64(1) << (e->frequency & 63));
    }
    // Halves every count. Ascending, so a bucket only ever receives entries from higher ones
    // that are processed after it; within a bucket the old order is kept.
    void age()
    {
        m_reads = 0;
        for (int level = 1; level < kLevels; ++level) {
            if (m_buckets[level].isEmpty())
                continue;
            PolicyList moving;
            moving.append(m_buckets[level]);
            m_nonEmpty[level >> 6] &= ~(quint64(1) << (level & 63));
            while (Entry *e = moving.popFront()) {
                e->frequency = quint8(level >> 1);
                link(e);
            }
        }
    }

    std::array<PolicyList, kLevels> m_buckets{};
    std::array<quint64, 4> m_nonEmpty{};
    qint64 m_reads = 0;
    qint64 m_agingPeriod = 64;
};

// TTL: a binary min-heap on (expiry, write order); entries without expiry sort last.
class TtlPolicy final : public EvictionPolicy
{
public:
    Policy kind() const override { return Policy::Ttl; }
    void setCapacity(qint64) override {}
    void insert(Entry *e) override
    {
        e->heapIndex = qint32(m_heap.size());
        m_heap.push_back(e);
        siftUp(size_t(e->heapIndex));
    }
    void recordHit(Entry *) override {}
    void recordWrite(Entry *e) override { fix(e); }
    void expiryChanged(Entry *e) override { fix(e); }
    void remove(Entry *e) override
    {
        const size_t i = size_t(e->heapIndex);
        Entry *const last = m_heap.back();
        m_heap.pop_back();
        e->heapIndex = -1;
        if (last != e) {
            m_heap[i] = last;
            last->heapIndex = qint32(i);
            fix(last);
        }
    }
    void clear() override { m_heap.clear(); }
    std::vector<Entry *> victimOrder() const override
    {
        std::vector<Entry *> out = m_heap;
        std::sort(out.begin(), out.end(), less);
        return out;
    }
    Entry *victim() const override { return m_heap.empty() ? nullptr : m_heap.front(); }

private:
    static bool less(const Entry *a, const Entry *b)
    {
        constexpr qint64 never = std::numeric_limits<qint64>::max();
        const qint64 ea = a->hasExpiry() ? a->item.expiresAt.count() : never;
        const qint64 eb = b->hasExpiry() ? b->item.expiresAt.count() : never;
        return ea != eb ? ea < eb : a->sequence < b->sequence;
    }
    void place(size_t i, Entry *e)
    {
        m_heap[i] = e;
        e->heapIndex = qint32(i);
    }
    void siftUp(size_t i)
    {
        Entry *const e = m_heap[i];
        while (i > 0) {
            const size_t parent = (i - 1) / 2;
            if (!less(e, m_heap[parent]))
                break;
            place(i, m_heap[parent]);
            i = parent;
        }
        place(i, e);
    }
    void siftDown(size_t i)
    {
        Entry *const e = m_heap[i];
        const size_t n = m_heap.size();
        for (;;) {
            size_t child = 2 * i + 1;
            if (child >= n)
                break;
            if (child + 1 < n && less(m_heap[child + 1], m_heap[child]))
                ++child;
            if (!less(m_heap[child], e))
                break;
            place(i, m_heap[child]);
            i = child;
        }
        place(i, e);
    }
    void fix(Entry *e)
    {
        const size_t i = size_t(e->heapIndex);
        if (i > 0 && less(e, m_heap[(i - 1) / 2]))
            siftUp(i);
        else
            siftDown(i);
    }

    std::vector<Entry *> m_heap;
};

// Adaptive: W-TinyLFU as in Caffeine. New entries enter a small LRU window; its overflow are
// candidates for the segmented-LRU main space and get in only if the sketch says they are
// more popular than main's victim. A hill climber moves capacity between window and main.
class AdaptivePolicy final : public EvictionPolicy
{
    // Written on every hit: first, in the object's first cache line (with the vtable pointer
    // every call reads anyway).
    quint32 m_hitClock = 0;
    qint64 m_sampleHits = 0;
    qint64 m_sampleMisses = 0;

public:
    enum Region : quint8 { Window, Probation, Protected };
    enum class ClimbPhase : quint8 { Baseline, Probe, Idle };

    Policy kind() const override { return Policy::Adaptive; }
    bool makesRoomFirst() const override { return false; }

    void setCapacity(qint64 maxEntries) override
    {
        m_capacity = std::max<qint64>(1, maxEntries);
        m_windowMax = std::max<qint64>(1, m_capacity - qint64(kMainShare * double(m_capacity)));
        m_protectedMax = qint64(kProtectedShare * double(m_capacity - m_windowMax));
        m_sketch.ensureCapacity(m_capacity);
        m_sampleSize = std::max<qint64>(kMinSample, m_capacity * kSampleFactor);
        m_sampleHits = 0;
        m_sampleMisses = 0;
        m_baseRate = -1.0;
        m_step = fullStep();
        m_probe = 0;
        m_direction = 1;
        m_failures = 0;
        m_phase = ClimbPhase::Baseline;
        demoteProtected();
    }

    void insert(Entry *e) override
    {
        m_sketch.increment(e->hash);
        e->region = Window;
        m_window.pushBack(e);
    }

    void adopt(Entry *e, bool) override
    {
        m_sketch.increment(e->hash);
        e->region = Probation;
        m_probation.pushBack(e);
    }

    // The most valuable adopted entries (the back of probation) become protected, in order.
    void finishAdopt() override
    {
        qint64 n = std::min(m_protectedMax - m_protected.size(), m_probation.size());
        if (n <= 0)
            return;
        Entry *first = m_probation.back();
        for (qint64 i = 1; i < n; ++i)
            first = PolicyList::prevOf(first);
        while (first != nullptr) {
            Entry *const next = PolicyList::nextOf(first);
            m_probation.remove(first);
            first->region = Protected;
            first->touchStamp = m_hitClock;
            m_protected.pushBack(first);
            first = next;
        }
    }

    void recordHit(Entry *e) override
    {
        reorder(e);
        ++m_sampleHits;
        climbIfDue();
    }

    void recordMiss(quint64) override
    {
        ++m_sampleMisses;
        climbIfDue();
    }

    void recordWrite(Entry *e) override { reorder(e); }

    void remove(Entry *e) override { list(e->region).remove(e); }

    void clear() override
    {
        m_window.reset();
        m_probation.reset();
        m_protected.reset();
    }

    std::vector<Entry *> victimOrder() const override
    {
        std::vector<Entry *> out = listOrder(m_probation);
        out = listOrder(m_window, std::move(out));
        return listOrder(m_protected, std::move(out));
    }

    Entry *victim() const override
    {
        if (Entry *e = m_probation.front())
            return e;
        if (Entry *e = m_protected.front())
            return e;
        return m_window.front();
    }

    void enforce(EvictionHost &host) override
    {
        qint64 candidates = 0;
        while (m_window.size() > m_windowMax) {
            Entry *const e = m_window.popFront();
            e->region = Probation;
            m_probation.pushBack(e);
            ++candidates;
        }

        Region victimRegion = Probation;
        Entry *victim = m_probation.front();
        Entry *candidate = candidates > 0 ? m_probation.back() : nullptr;
        while (host.overBudget()) {
            if (candidate == nullptr && victim == nullptr) {
                if (victimRegion == Probation) {
                    victim = m_protected.front();
                    victimRegion = Protected;
                    continue;
                }
                if (victimRegion == Protected) {
                    victim = m_window.front();
                    victimRegion = Window;
                    continue;
                }
                return;
            }
            if (victim == nullptr) {
                Entry *const previous = --candidates > 0 ? PolicyList::prevOf(candidate) : nullptr;
                host.evictForSize(candidate, false);
                candidate = previous;
                continue;
            }
            if (candidate == nullptr) {
                Entry *const evicted = victim;
                victim = PolicyList::nextOf(victim);
                host.evictForSize(evicted, false);
                continue;
            }
            if (candidate == victim) {
                victim = PolicyList::nextOf(victim);
                host.evictForSize(candidate, false);
                candidate = nullptr;
                candidates = 0;
                continue;
            }
            --candidates;
            if (admit(candidate, victim)) {
                Entry *const evicted = victim;
                victim = PolicyList::nextOf(victim);
                host.evictForSize(evicted, false);
                candidate = candidates > 0 ? PolicyList::prevOf(candidate) : nullptr;
            } else {
                Entry *const evicted = candidate;
                candidate = candidates > 0 ? PolicyList::prevOf(candidate) : nullptr;
                host.evictForSize(evicted, true);
            }
        }
    }

private:
    static constexpr double kMainShare = 0.99;
    static constexpr double kProtectedShare = 0.80;
    static constexpr double kStepShare = 0.0625;
    static constexpr double kRestartThreshold = 0.05;
    static constexpr double kSigmas = 2.5;
    static constexpr int kIdleSamples = 32;
    static constexpr qint64 kSampleFactor = 10;
    static constexpr qint64 kMinSample = 8192;
    static constexpr int kHashFloodThreshold = 6;

    PolicyList &list(quint8 region)
    {
        return region == Window ? m_window : (region == Probation ? m_probation : m_protected);
    }

    void reorder(Entry *e)
    {
        ++m_hitClock;
        m_sketch.increment(e->hash);
        switch (e->region) {
        case Window:
            m_window.moveToBack(e);
            break;
        case Probation:
            m_probation.remove(e);
            e->region = Protected;
            e->touchStamp = m_hitClock;
            m_protected.pushBack(e);
            demoteProtected();
            break;
        default:
            // At most (clock - stamp) entries went to the back since e did, so an entry in the
            // newest quarter of protected stays put: hot keys then dirty no list pointers,
            // which keeps cache lines from bouncing between cores. Approximate LRU there only.
            if (quint32(m_hitClock - e->touchStamp) > quint32(m_protected.size() / 4)) {
                e->touchStamp = m_hitClock;
                m_protected.moveToBack(e);
            }
            break;
        }
    }

    void demoteProtected()
    {
        while (m_protected.size() > m_protectedMax) {
            Entry *const e = m_protected.popFront();
            e->region = Probation;
            m_probation.pushBack(e);
        }
    }

    bool admit(const Entry *candidate, const Entry *victim)
    {
        const int candidateFreq = m_sketch.frequency(candidate->hash);
        const int victimFreq = m_sketch.frequency(victim->hash);
        if (candidateFreq > victimFreq)
            return true;
        if (candidateFreq < kHashFloodThreshold)
            return false;
        // A warm candidate sometimes wins a tie, so crafted collisions cannot pin the victim.
        m_random ^= m_random << 13;
        m_random ^= m_random >> 7;
        m_random ^= m_random << 17;
        return (m_random & 127) == 0;
    }

    // The hill climber. It probes: after a baseline sample it moves the window by one step and
    // keeps the move only if the next sample's hit ratio is better by more than the noise of
    // two samples (2 sigma), otherwise it moves back and tries the other direction; two
    // failures halve the step, and below one entry it idles for a while. A jump of the
    // baseline by 5 points (the workload changed) restarts with the full step. A stationary
    // workload therefore stays where it is instead of random-walking.
    void climbIfDue()
    {
        const qint64 requests = m_sampleHits + m_sampleMisses;
        if (requests < m_sampleSize)
            return;
        const double rate = double(m_sampleHits) / double(requests);
        m_sampleHits = 0;
        m_sampleMisses = 0;
        // Warming up (not full yet): the ratio still climbs by itself, so it proves nothing.
        if (m_window.size() + m_probation.size() + m_protected.size() < m_capacity)
            return;
        const double variance = std::max(rate * (1.0 - rate), 0.01);
        const double noise = kSigmas * std::sqrt(2.0 * variance / double(requests));
        const bool shifted = m_baseRate >= 0 && std::abs(rate - m_baseRate) >= kRestartThreshold;
        switch (m_phase) {
        case ClimbPhase::Baseline:
            if (shifted) {
                m_step = fullStep();
                m_failures = 0;
            }
            m_baseRate = rate;
            startProbe();
            break;
        case ClimbPhase::Probe:
            if (rate > m_baseRate + noise) {
                m_baseRate = rate;
                m_failures = 0;
                startProbe();
                break;
            }
            resizeWindow(-m_probe);
            m_direction = -m_direction;
            if (++m_failures >= 2) {
                m_failures = 0;
                m_step /= 2;
                if (m_step < 1) {
                    m_step = fullStep();
                    m_phase = ClimbPhase::Idle;
                    m_idleSamples = 0;
                    break;
                }
            }
            m_phase = ClimbPhase::Baseline;
            break;
        case ClimbPhase::Idle:
            if (shifted || ++m_idleSamples >= kIdleSamples)
                m_phase = ClimbPhase::Baseline;
            break;
        }
    }

    qint64 fullStep() const { return std::max<qint64>(1, qint64(kStepShare * double(m_capacity))); }

    void startProbe()
    {
        m_probe = resizeWindow(m_direction * m_step);
        if (m_probe == 0) {
            m_direction = -m_direction;
            m_probe = resizeWindow(m_direction * m_step);
        }
        m_phase = m_probe == 0 ? ClimbPhase::Idle : ClimbPhase::Probe;
        m_idleSamples = 0;
    }

    // Moves capacity between the window and main's protected segment; returns the change made.
    qint64 resizeWindow(qint64 delta)
    {
        if (delta > 0)
            return increaseWindow(delta);
        if (delta < 0)
            return -decreaseWindow(-delta);
        return 0;
    }

    qint64 increaseWindow(qint64 amount)
    {
        const qint64 quota = std::min(amount, m_protectedMax);
        if (quota <= 0)
            return 0;
        m_protectedMax -= quota;
        m_windowMax += quota;
        demoteProtected();
        for (qint64 moved = 0; moved < quota; ++moved) {
            Entry *e = m_probation.front();
            if (e != nullptr) {
                m_probation.remove(e);
            } else if ((e = m_protected.front()) != nullptr) {
                m_protected.remove(e);
            } else {
                break;
            }
            e->region = Window;
            m_window.pushBack(e);
        }
        return quota;
    }

    qint64 decreaseWindow(qint64 amount)
    {
        const qint64 quota = std::min(amount, m_windowMax - 1);
        if (quota <= 0)
            return 0;
        m_windowMax -= quota;
        m_protectedMax += quota;
        while (m_window.size() > m_windowMax) {
            Entry *const e = m_window.popFront();
            e->region = Probation;
            m_probation.pushBack(e);
        }
        return quota;
    }

    PolicyList m_window;
    PolicyList m_probation;
    PolicyList m_protected;
    FrequencySketch m_sketch;
    qint64 m_capacity = 1;
    qint64 m_windowMax = 1;
    qint64 m_protectedMax = 0;
    qint64 m_sampleSize = kMinSample;
    double m_baseRate = -1.0;
    qint64 m_step = 1;
    qint64 m_probe = 0;
    int m_direction = 1;
    int m_failures = 0;
    int m_idleSamples = 0;
    ClimbPhase m_phase = ClimbPhase::Baseline;
    quint64 m_random = 0x9e3779b97f4a7c15ULL;
};

} // namespace

std::unique_ptr<EvictionPolicy> makeEvictionPolicy(Policy policy, qint64 capacity)
{
    std::unique_ptr<EvictionPolicy> p;
    switch (policy) {
    case Policy::Lru:
        p = std::make_unique<LruPolicy>();
        break;
    case Policy::Lfu:
        p = std::make_unique<LfuPolicy>();
        break;
    case Policy::Fifo:
        p = std::make_unique<FifoPolicy>();
        break;
    case Policy::Ttl:
        p = std::make_unique<TtlPolicy>();
        break;
    case Policy::Adaptive:
        p = std::make_unique<AdaptivePolicy>();
        break;
    }
    if (!p)
        p = std::make_unique<AdaptivePolicy>();
    p->setCapacity(capacity);
    return p;
}

} // namespace opsdeck::cache::memtier

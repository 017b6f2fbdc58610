#include "core/perf/hitratiosimulator.h"

#include "core/cache/memorytier.h"
#include "core/support/clock.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

namespace opsdeck::perf {

namespace {

constexpr quint32 kNever = std::numeric_limits<quint32>::max();

// nextUse[i] = the index of the next request for trace[i] after i, or kNever.
std::vector<quint32> nextUses(const Trace &trace, quint32 keySpace)
{
    std::vector<quint32> next(trace.size(), kNever);
    std::vector<quint32> seen(keySpace, kNever);
    for (size_t i = trace.size(); i-- > 0;) {
        next[i] = seen[trace[i]];
        seen[trace[i]] = quint32(i);
    }
    return next;
}

// A binary max-heap of (next use, key) with each key's slot indexed, so a hit can move its key.
class NextUseHeap
{
public:
    NextUseHeap(quint32 keySpace, size_t capacity)
        : m_slot(keySpace, -1)
    {
        m_heap.reserve(capacity);
    }

    size_t size() const { return m_heap.size(); }
    bool contains(quint32 key) const { return m_slot[key] >= 0; }
    quint32 furthest() const { return m_heap.front().next; }

    void insert(quint32 key, quint32 next)
    {
        m_heap.push_back({next, key});
        m_slot[key] = qsizetype(m_heap.size() - 1);
        siftUp(m_heap.size() - 1);
    }

    // A hit: the key's next use only moves later, so it can only rise.
    void update(quint32 key, quint32 next)
    {
        const auto at = size_t(m_slot[key]);
        m_heap[at].next = next;
        siftUp(at);
    }

    void replaceFurthest(quint32 key, quint32 next)
    {
        m_slot[m_heap.front().key] = -1;
        m_heap.front() = {next, key};
        m_slot[key] = 0;
        siftDown(0);
    }

private:
    struct Node
    {
        quint32 next;
        quint32 key;
    };

    void place(size_t at, Node node)
    {
        m_heap[at] = node;
        m_slot[node.key] = qsizetype(at);
    }

    void siftUp(size_t at)
    {
        const Node node = m_heap[at];
        while (at > 0) {
            const size_t parent = (at - 1) / 2;
            if (m_heap[parent].next >= node.next)
                break;
            place(at, m_heap[parent]);
            at = parent;
        }
        place(at, node);
    }

    void siftDown(size_t at)
    {
        const Node node = m_heap[at];
        const size_t n = m_heap.size();
        for (;;) {
            size_t child = 2 * at + 1;
            if (child >= n)
                break;
            if (child + 1 < n && m_heap[child + 1].next > m_heap[child].next)
                ++child;
            if (m_heap[child].next <= node.next)
                break;
            place(at, m_heap[child]);
            at = child;
        }
        place(at, node);
    }

    std::vector<Node> m_heap;
    std::vector<qsizetype> m_slot; // heap index per key, -1 when not cached
};

} // namespace

HitRatioSimulator::HitRatioSimulator(const Trace &trace)
    : m_trace(trace)
    , m_keySpace(TraceGenerator::keySpace(trace))
    , m_keys(TraceGenerator::formatKeys(m_keySpace))
{}

HitRatio HitRatioSimulator::replay(cache::Policy policy, qint64 capacity) const
{
    HitRatio result;
    result.requests = m_trace.size();
    if (capacity <= 0)
        return result;
    const ManualClock clock; // never advanced: nothing expires, time costs nothing
    cache::MemoryTier::Settings settings;
    settings.maxEntries = capacity;
    settings.maxBytes = 0;
    settings.policy = policy;
    settings.shards = 1;
    cache::MemoryTier tier(settings, clock);
    const QByteArray value("v");
    for (const quint32 id : m_trace) {
        const QByteArray &key = m_keys[qsizetype(id)];
        if (tier.get(key))
            ++result.hits;
        else
            tier.set(key, cache::MemoryTier::Item{value, {}, {}, {}});
    }
    return result;
}

HitRatio HitRatioSimulator::bestStatic(qint64 capacity) const
{
    HitRatio result;
    result.requests = m_trace.size();
    if (capacity <= 0 || m_trace.empty())
        return result;
    std::vector<quint64> counts(m_keySpace, 0);
    for (const quint32 id : m_trace)
        ++counts[id];
    const auto k = size_t(std::min<qint64>(capacity, qint64(counts.size())));
    std::nth_element(counts.begin(), counts.begin() + qsizetype(k) - 1, counts.end(),
                     std::greater<>());
    for (size_t i = 0; i < k; ++i) {
        if (counts[i] > 0)
            result.hits += counts[i] - 1; // the first request of a pinned key is a miss
    }
    return result;
}

HitRatio HitRatioSimulator::belady(qint64 capacity) const
{
    HitRatio result;
    result.requests = m_trace.size();
    if (capacity <= 0 || m_trace.empty())
        return result;
    // Request indexes are stored in 32 bits; traces beyond 4 G requests are cut there.
    const size_t n = std::min<size_t>(m_trace.size(), kNever - 1);
    result.requests = n;
    const std::vector<quint32> next = nextUses(m_trace, m_keySpace);
    const auto k = size_t(std::min<qint64>(capacity, qint64(m_keySpace)));
    NextUseHeap cached(m_keySpace, k);
    for (size_t i = 0; i < n; ++i) {
        const quint32 key = m_trace[i];
        const quint32 nextUse = next[i] >= n ? kNever : next[i];
        if (cached.contains(key)) {
            ++result.hits;
            cached.update(key, nextUse);
        } else if (nextUse == kNever) {
            continue; // never requested again: admitting it cannot help
        } else if (cached.size() < k) {
            cached.insert(key, nextUse);
        } else if (cached.furthest() > nextUse) {
            cached.replaceFurthest(key, nextUse);
        }
    }
    return result;
}

} // namespace opsdeck::perf

// HitRatioSimulator: replays one key trace against caches of a given capacity and counts hits.
// - replay(): a real MemoryTier (one shard, so the policy order is exact and global; no byte
//   budget; entries never expire, so the TTL policy degenerates to its "oldest written first"
//   order), read-through: get, and set on a miss. Hits are counted from get()'s answers.
// - bestStatic(): the k most frequent keys of the whole trace pinned (admitted on first use,
//   never evicted): the best cache whose contents never change, up to its k compulsory misses.
// - belady(): Bélády's offline optimum (MIN) with bypass: on a miss at capacity it evicts the
//   cached key whose next use is furthest, or does not admit the new key when that key is used
//   later still (or never). No online policy that admits keys only when they are requested can
//   beat it, and it is >= bestStatic(). O(n log k): a backward pass for next uses (4 bytes per
//   request) and an indexed max-heap of the k cached keys.
// All counts are over the whole trace (cold start included). The simulator holds a reference to
// the trace, which must outlive it; const members may run from several threads at once.
// Not a trace generator (TraceGenerator), not a throughput benchmark.
#pragma once

#include "core/cache/cachetypes.h"
#include "core/perf/tracegenerator.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>

namespace opsdeck::perf {

struct HitRatio
{
    quint64 hits = 0;
    quint64 requests = 0;

    double ratio() const { return requests == 0 ? 0.0 : double(hits) / double(requests); }
};

class HitRatioSimulator final
{
public:
    explicit HitRatioSimulator(const Trace &trace);

    HitRatio replay(cache::Policy policy, qint64 capacity) const;
    HitRatio bestStatic(qint64 capacity) const;
    HitRatio belady(qint64 capacity) const;

    const Trace &trace() const { return m_trace; }
    quint32 keySpace() const { return m_keySpace; }
    // TraceGenerator::formatKey() of every id in the key space: the keys replay() uses.
    const QList<QByteArray> &keys() const { return m_keys; }

private:
    const Trace &m_trace;
    quint32 m_keySpace = 0;
    QList<QByteArray> m_keys;
};

} // namespace opsdeck::perf

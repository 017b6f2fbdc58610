// FrequencySketch: the admission filter's memory of popularity (TinyLFU). A count-min sketch of
// 4-bit counters, four per key, all in the key's 64-byte block (one cache line); 4 words
// (64 counters) per entry of capacity, rounded up to a power of two; conservative update. Every
// 50 x capacity increments all counters are halved ("reset"), so the sketch describes recent
// popularity and saturated counters (15) do not stick. Not thread-safe: one per shard, used
// under the shard mutex. Not exact: collisions only ever overestimate.
#pragma once

#include <QtCore/QtGlobal>

#include <vector>

namespace opsdeck::cache::memtier {

class FrequencySketch
{
public:
    void ensureCapacity(qint64 capacity); // clears the counters when the size changes

    // Estimated recent frequency of the key with this (64-bit) hash, 0..15.
    int frequency(quint64 hash) const;
    void increment(quint64 hash);

    qint64 sampleSize() const { return m_sampleSize; }
    qint64 additions() const { return m_additions; }
    bool isEmpty() const { return m_table.empty(); }

private:
    void reset();

    std::vector<quint64> m_table;
    quint64 m_blockMask = 0; // blocks of 8 words
    qint64 m_sampleSize = 0;
    qint64 m_additions = 0;
};

} // namespace opsdeck::cache::memtier

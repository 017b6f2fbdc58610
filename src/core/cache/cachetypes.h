// Cache value types shared by the memory tier, the disk tier and the CacheManager: levels,
// eviction policies, eviction causes and per-tier statistics. Plain values; any thread.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>

#include <optional>

namespace opsdeck::cache {

// Where an operation applies. Writes at All go to every enabled tier.
enum class Level { Memory, Disk, All };

// Eviction policy of a tier (`invalidation_strategy`). Victims: LRU least recently read, LFU least
// frequently read (with aging), FIFO oldest written, TTL soonest to expire, Adaptive W-TinyLFU.
enum class Policy { Lru, Lfu, Fifo, Ttl, Adaptive };

enum class EvictionCause { Size, Expired, Invalidated, Replaced };

QString toString(Policy policy);               // "lru", "lfu", "fifo", "ttl", "adaptive"
std::optional<Policy> policyFromString(QStringView text); // any case
QString toString(Level level);                 // "memory", "disk", "all"
std::optional<Level> levelFromString(QStringView text);

// Counters of one tier. Bytes count payload (key + value); fileBytes is the disk file's size.
struct TierStats
{
    bool enabled = false;
    qint64 entries = 0;
    qint64 maxEntries = 0; // 0 = unbounded by count
    qint64 bytes = 0;
    qint64 maxBytes = 0; // 0 = no byte budget
    qint64 fileBytes = 0;
    quint64 hits = 0;
    quint64 misses = 0;
    quint64 evictedSize = 0;
    quint64 evictedExpired = 0;
    quint64 evictedInvalidated = 0;
    quint64 evictedReplaced = 0;
    quint64 rejected = 0; // admission filter refused a new entry (adaptive)
    quint64 errors = 0;   // I/O or corruption errors (disk)

    quint64 evictions() const { return evictedSize + evictedExpired; }
    double hitRate() const
    {
        const quint64 lookups = hits + misses;
        return lookups == 0 ? 0.0 : double(hits) / double(lookups);
    }
};

} // namespace opsdeck::cache

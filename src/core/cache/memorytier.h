// MemoryTier: the in-process tier of the cache. Owns every memory entry, bounded by an entry
// count and an optional byte budget (key + value bytes), evicting by one of five policies
// (LRU, LFU with aging, FIFO, TTL, Adaptive = W-TinyLFU, the default).
// Thread-safety: every member may be called from any thread at once. Keys are hashed once per
// call (64-bit) and routed to one of up to 16 shards, each with its own lock (spins briefly,
// then sleeps), policy, share of the bounds, timer wheel and indexes; cross-shard calls
// (listings, stats, expireDue) take the shard locks one by one, applySettings takes all.
// Not a loader, not a disk tier, not a dependency tracker: it stores `dependsOn` for the
// CacheManager but never follows it.
//
// Costs: get/set/remove/touch are O(1) amortised (a flat hash table per shard; one 64-bit hash
// per call; a get hit allocates nothing). A key that lives past its shard's next 64 writes also
// enters the ordered key index, a red-black tree (std::map) per shard: O(log n) once, and once
// more at removal; the TTL policy alone keeps an O(log n) expiry heap. keysWithPrefix and
// keysAfter cost O(shards * (log n + 64) + matches), keysWithTag O(keys with the tag) through a
// tag index, expireDue O(expired + buckets passed) through a hierarchical timer wheel: no call
// scans all entries. Memory: about 200 bytes per entry besides its key, value and tags, plus
// 32 bytes of sketch per entry of capacity (Adaptive).
//
// Semantics worth knowing:
// - shards = 0 picks 1 shard below 512 entries (so the policy order is exact there) and
//   otherwise min(16, maxEntries / 64) rounded down to a power of two; shards = 1 forces exact
//   global policy order. With several shards each shard holds maxEntries / shards entries and
//   maxBytes / shards bytes, and the policy order is per shard.
// - LRU: reads and writes make an entry the most recent. FIFO: the oldest written (an
//   overwrite counts as a write; reads are ignored). TTL: the soonest to expire; entries without
//   expiry go last, oldest written first. LFU: the fewest reads (a new entry counts 1), ties
//   broken by the oldest to reach that count; every count is halved each 10 x capacity reads
//   (at least 64), so old popularity fades and new entries are not always the victims.
//   Adaptive: 1 % LRU window, segmented LRU main space (20 % probation, 80 % protected), a 4-bit
//   count-min sketch (halved every 50 x capacity increments) as admission filter, and a
//   hill climber that resizes the window when a probe measurably raises the hit ratio.
// - A new key at capacity evicts by the policy (LRU/LFU/FIFO/TTL pick victims among the
//   existing entries before inserting; Adaptive inserts into its window and may then evict the
//   window's candidate instead of the main victim, counted in both evictedSize and rejected).
// - Overwriting a key never evicts another: if the new value does not fit the byte budget the
//   old value is dropped (evictedReplaced) and the set is refused (stored = false, rejected).
//   A value larger than the shard's byte budget, an expiry already passed, an empty key or a
//   key over 4 KiB is never stored either.
// - Expired entries are never returned; get/touch/remove reclaim them on sight (Expired, and
//   get counts a miss), so does a set that picks one as its victim (not listed in evicted);
//   expireDue reclaims the rest.
// - A disabled tier (maxEntries = 0) stores nothing and counts nothing.
#pragma once

#include "core/cache/cachetypes.h"
#include "core/support/clock.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QMutex>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

namespace opsdeck::cache {

namespace memtier {
class Shard;
class ShardLock;
} // namespace memtier

class MemoryTier final
{
public:
    struct Settings
    {
        qint64 maxEntries = 10000; // 0 disables the tier
        qint64 maxBytes = 0;       // 0 = no byte budget; counts key + value bytes
        Policy policy = Policy::Adaptive;
        int shards = 0; // 0 = auto; otherwise rounded down to a power of two, at most 16

        bool operator==(const Settings &other) const = default;
    };

    struct Item
    {
        QByteArray value;
        Clock::MonoTime expiresAt{0}; // monotonic ns; 0 = never
        QList<QByteArray> tags;
        QList<QByteArray> dependsOn;
    };

    struct SetResult
    {
        bool stored = false;
        bool replaced = false;     // an old value of this key was dropped
        QList<QByteArray> evicted; // other keys evicted (size) to make room
    };

    static constexpr qsizetype kMaxKeyBytes = 4096;
    static constexpr int kMaxShards = 16;

    MemoryTier(Settings settings, const Clock &clock);
    ~MemoryTier();
    MemoryTier(const MemoryTier &) = delete;
    MemoryTier &operator=(const MemoryTier &) = delete;

    bool enabled() const;

    // Counts a hit or a miss and updates the policy. An expired entry is a miss (reclaimed).
    std::optional<Item> get(const QByteArray &key);
    // No stats, no policy update; never returns an expired entry.
    std::optional<Item> peek(const QByteArray &key) const;
    bool contains(const QByteArray &key) const;

    SetResult set(const QByteArray &key, Item item);
    bool remove(const QByteArray &key); // cause Invalidated
    int removeMany(const QList<QByteArray> &keys);
    // New expiry (0 = never). False when the key is missing or expired.
    bool touch(const QByteArray &key, Clock::MonoTime expiresAt);
    void clear(); // every entry counts as Invalidated

    // Byte-wise ordered (as unsigned bytes); limit < 0 = all. Skips expired entries.
    QList<QByteArray> keysWithPrefix(const QByteArray &prefix, int limit = -1) const;
    // Keys strictly after `after` (empty = from the start), in order, at most `limit`
    // (limit < 0 = all). Paging with the last key returned covers every key present for the
    // whole walk exactly once.
    QList<QByteArray> keysAfter(const QByteArray &after, int limit) const;
    // Byte-wise ordered; O(keys with the tag) through a tag index.
    QList<QByteArray> keysWithTag(const QByteArray &tag) const;

    // The maintenance tick: reclaims every entry whose expiry is at or before now.
    int expireDue();

    // Live: a shrink evicts down to the new bounds (Size); a policy or shard-count change is a
    // one-off rebuild that keeps the entries (in their old victim order); 0 entries disables.
    void applySettings(Settings settings);
    Settings settings() const;

    TierStats stats() const;
    void resetStats();

    // The shard count these settings run with (after auto choice and rounding).
    static int effectiveShards(const Settings &settings);

private:
    memtier::Shard &lockShard(quint64 hash, std::unique_lock<memtier::ShardLock> &lock) const;
    void configureShards(const Settings &settings, int shardCount);
    template<typename Visit> bool visitShards(bool activeOnly, Visit &&visit) const;

    const Clock &m_clock;
    mutable QMutex m_settingsMutex; // serialises applySettings; guards m_settings
    Settings m_settings;
    std::atomic<bool> m_enabled{false};
    std::atomic<int> m_shardBits{0};      // log2 of the active shard count; changed under all locks
    std::atomic<quint64> m_generation{0}; // bumped by applySettings, under all shard locks
    std::array<std::unique_ptr<memtier::Shard>, kMaxShards> m_shards;
};

} // namespace opsdeck::cache

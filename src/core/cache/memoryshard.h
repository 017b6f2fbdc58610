// Shard: one independently locked slice of the memory tier. Owns its entries, a flat hash table
// (key -> entry), an ordered key index (OrderedKeys: O(log n) per long-lived key), a tag
// index (tag -> entries), a timer wheel, an eviction policy, its share of the bounds and its
// counters. Thread-safety: every member except `mutex` must be called with `mutex` held (the
// MemoryTier does that). Not public API; not aware of other shards.
#pragma once

#include "core/cache/entrytable.h"
#include "core/cache/evictionpolicy.h"
#include "core/cache/memoryentry.h"
#include "core/cache/orderedkeys.h"
#include "core/cache/shardlock.h"
#include "core/cache/timerwheel.h"

#include <QtCore/QHash>
#include <QtCore/QSet>

#include <optional>

namespace opsdeck::cache::memtier {

// Monotonic time read at most once per call, and only when an expiry needs it.
class LazyNow
{
public:
    explicit LazyNow(const Clock &clock)
        : m_clock(clock)
    {}
    Clock::MonoTime operator()()
    {
        if (!m_now)
            m_now = m_clock.monotonic();
        return *m_now;
    }

private:
    const Clock &m_clock;
    std::optional<Clock::MonoTime> m_now;
};

struct ShardCounters
{
    quint64 hits = 0;
    quint64 misses = 0;
    quint64 evictedSize = 0;
    quint64 evictedExpired = 0;
    quint64 evictedInvalidated = 0;
    quint64 evictedReplaced = 0;
    quint64 rejected = 0;
};

class alignas(64) Shard final : public EvictionHost
{
public:
    explicit Shard(Clock::MonoTime now);
    ~Shard();
    Shard(const Shard &) = delete;
    Shard &operator=(const Shard &) = delete;

    mutable ShardLock mutex;

private:
    // Written on every get: kept in the lock's cache line, which a get dirties anyway.
    ShardCounters m_counters;

public:
    // Configuration. replacePolicy() needs an empty shard (or one about to adopt entries).
    void replacePolicy(std::unique_ptr<EvictionPolicy> policy);
    void setBounds(qint64 maxEntries, qint64 maxBytes);
    void enforceBounds(); // evicts (Size) down to the bounds

    std::optional<MemoryTier::Item> get(QByteArrayView key, quint64 hash, const Clock &clock);
    std::optional<MemoryTier::Item> peek(QByteArrayView key, quint64 hash, LazyNow &now) const;
    bool contains(QByteArrayView key, quint64 hash, LazyNow &now) const;
    MemoryTier::SetResult
    set(const QByteArray &key, quint64 hash, MemoryTier::Item &&item, LazyNow &now);
    bool remove(QByteArrayView key, quint64 hash, LazyNow &now);
    bool touch(QByteArrayView key, quint64 hash, Clock::MonoTime expiresAt, LazyNow &now);
    int expireDue(Clock::MonoTime now);
    void removeAll(EvictionCause cause);

    // Rebuild support: detachAll() unlinks every entry without counting and returns them in
    // the policy's victim order (least valuable first); adopt() links one in again.
    std::vector<Entry *> detachAll();
    void adopt(Entry *entry, bool sameKind);
    void finishAdopt() { m_policy->finishAdopt(); }

    // Listings append unexpired keys (unsorted across shards; in order within this one).
    void collectWithPrefix(QByteArrayView prefix,
                           qsizetype limit,
                           Clock::MonoTime now,
                           QList<QByteArray> &out) const;
    void collectAfter(QByteArrayView after,
                      qsizetype limit,
                      Clock::MonoTime now,
                      QList<QByteArray> &out) const;
    void collectWithTag(const QByteArray &tag, Clock::MonoTime now, QList<QByteArray> &out) const;

    qint64 entries() const { return m_table.size(); }
    qint64 bytes() const { return m_bytes; }
    const ShardCounters &counters() const { return m_counters; }
    void resetCounters() { m_counters = {}; }
    const EvictionPolicy &policy() const { return *m_policy; }

    // EvictionHost
    bool overBudget() const override;
    void evictForSize(Entry *entry, bool rejected) override;

private:
    void link(Entry *entry);   // table, key index, tags, wheel, totals (not the policy)
    void unlink(Entry *entry); // the reverse, and the policy
    void linkTags(Entry *entry);
    void unlinkTags(Entry *entry);
    void reclaim(Entry *entry, EvictionCause cause); // unlink, count, free
    void countRemoval(EvictionCause cause);

    EntryTable m_table;
    OrderedKeys m_index;
    QHash<QByteArray, QSet<Entry *>> m_tags;
    TimerWheel m_wheel;
    std::unique_ptr<EvictionPolicy> m_policy;
    qint64 m_maxEntries = 0;
    qint64 m_maxBytes = 0;
    qint64 m_bytes = 0;
    quint64 m_sequence = 0;

    // State of the set() in progress, read by evictForSize().
    qint64 m_pendingEntries = 0;
    qint64 m_pendingBytes = 0;
    Entry *m_justInserted = nullptr;
    bool m_justInsertedEvicted = false;
    QList<QByteArray> *m_evictedOut = nullptr;
    LazyNow *m_now = nullptr;
};

} // namespace opsdeck::cache::memtier

// EvictionPolicy: the victim order of one shard, one implementation per Policy (LRU, LFU with
// aging, FIFO, TTL, Adaptive W-TinyLFU). A policy links entries into its own queues and decides
// what leaves when the shard is over its bounds; the shard (an EvictionHost) owns the entries,
// the bounds and the actual removal. Not thread-safe: used under the shard mutex. Costs: O(1)
// per call, except TTL's O(log n) expiry heap and LFU's O(n) halving once per 10 x capacity reads
// (O(1) amortised); victimOrder() is the O(n log n) one-off used by rebuilds.
#pragma once

#include "core/cache/memoryentry.h"

#include <memory>
#include <vector>

namespace opsdeck::cache::memtier {

class EvictionHost
{
public:
    virtual bool overBudget() const = 0;
    // Removes the entry from the shard and from the policy (calls EvictionPolicy::remove).
    // `rejected`: the admission filter refused it.
    virtual void evictForSize(Entry *entry, bool rejected) = 0;

protected:
    ~EvictionHost() = default;
};

class EvictionPolicy
{
public:
    virtual ~EvictionPolicy() = default;

    virtual Policy kind() const = 0;
    virtual void setCapacity(qint64 maxEntries) = 0;

    // True: the shard evicts down to (bounds - the new entry) before linking it, so a new
    // entry is never its own victim. False (Adaptive): insert first, then enforce().
    virtual bool makesRoomFirst() const { return true; }

    virtual void insert(Entry *entry) = 0;           // a new key
    virtual void recordHit(Entry *entry) = 0;        // get() found it
    virtual void recordMiss(quint64 /*hash*/) {}     // get() did not
    virtual void recordWrite(Entry *entry) = 0;      // overwrite in place (value, expiry, tags)
    virtual void expiryChanged(Entry * /*entry*/) {} // touch()
    virtual void remove(Entry *entry) = 0;           // unlink (evicted, expired, invalidated)
    virtual void clear() = 0;                        // forget every entry (the shard frees them)

    // Rebuilds: entries come in the old policy's victim order (least valuable first);
    // `sameKind` when only the shard layout changed (keep per-entry state such as LFU counts).
    virtual void adopt(Entry *entry, bool sameKind)
    {
        Q_UNUSED(sameKind);
        insert(entry);
    }
    virtual void finishAdopt() {}
    virtual std::vector<Entry *> victimOrder() const = 0;

    // Evicts through the host while it is over budget. The default asks victim() each time.
    virtual void enforce(EvictionHost &host);
    virtual Entry *victim() const = 0;
};

std::unique_ptr<EvictionPolicy> makeEvictionPolicy(Policy policy, qint64 capacity);

} // namespace opsdeck::cache::memtier

// EntryTable: a shard's key -> Entry* map. Open addressing with linear probing and
// backward-shift deletion over {hash, Entry*} slots, so a lookup takes the caller's precomputed
// 64-bit hash, compares hashes first and touches one entry per real match. It never owns the
// entries. Not thread-safe (used under the shard mutex); not ordered (see KeyIndex for that).
#pragma once

#include "core/cache/memoryentry.h"

#include <vector>

namespace opsdeck::cache::memtier {

class EntryTable
{
public:
    EntryTable();

    Entry *find(QByteArrayView key, quint64 hash) const
    {
        size_t i = size_t(hash) & m_mask;
        for (;;) {
            const Slot &slot = m_slots[i];
            if (slot.entry == nullptr)
                return nullptr;
            if (slot.hash == hash && sameKey(slot.entry->key, key))
                return slot.entry;
            i = (i + 1) & m_mask;
        }
    }

    void insert(Entry *entry); // the key must not be present
    void erase(Entry *entry);  // the entry must be present
    void clear();              // forgets every slot (the entries are not freed)
    qint64 size() const { return m_size; }

    template<typename F> void forEach(F &&f) const
    {
        for (const Slot &slot : m_slots) {
            if (slot.entry)
                f(slot.entry);
        }
    }

private:
    struct Slot
    {
        quint64 hash = 0;
        Entry *entry = nullptr;
    };

    void rehash(size_t capacity);

    std::vector<Slot> m_slots;
    size_t m_mask = 0;
    qint64 m_size = 0;
};

} // namespace opsdeck::cache::memtier

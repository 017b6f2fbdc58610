// OrderedKeys: a shard's byte-wise ordered key index, for prefix listings and paging. A
// red-black tree (std::map, O(log n) per key) fronted by a small pending list: a new key waits
// there (O(1)) until kPendingMax newer keys have arrived, and only then enters the tree, so the
// many keys an admission filter evicts soon after their first write never pay for the tree.
// Listings walk the tree range and check the (bounded) pending keys: O(log n + matches +
// kPendingMax), and leave the final sort to the caller. Not thread-safe (under the shard mutex).
#pragma once

#include "core/cache/memoryentry.h"

namespace opsdeck::cache::memtier {

class OrderedKeys
{
public:
    static constexpr qint64 kPendingMax = 64;

    void insert(Entry *entry);
    void erase(Entry *entry);
    void clear();
    qint64 size() const { return qint64(m_tree.size()) + m_pending.size(); }

    // Calls visit(entry) for keys starting with `prefix`: up to `limit` of them from the tree,
    // in order (limit < 0 = all), then every pending one, unordered. visit returns false to
    // skip an entry without counting it against the limit.
    template<typename Visit>
    void visitPrefix(QByteArrayView prefix, qsizetype limit, Visit &&visit) const
    {
        qsizetype taken = 0;
        for (auto it = m_tree.lower_bound(IndexKey::of(prefix));
             it != m_tree.end() && taken != limit; ++it) {
            if (!it->second->key.startsWith(prefix))
                break;
            if (visit(it->second))
                ++taken;
        }
        for (Entry *e = m_pending.front(); e != nullptr; e = PendingList::nextOf(e)) {
            if (e->key.startsWith(prefix))
                visit(e);
        }
    }

    // The same for keys strictly after `after`.
    template<typename Visit>
    void visitAfter(QByteArrayView after, qsizetype limit, Visit &&visit) const
    {
        qsizetype taken = 0;
        for (auto it = m_tree.upper_bound(IndexKey::of(after));
             it != m_tree.end() && taken != limit; ++it) {
            if (visit(it->second))
                ++taken;
        }
        for (Entry *e = m_pending.front(); e != nullptr; e = PendingList::nextOf(e)) {
            if (compareKeys(e->key, after) > 0)
                visit(e);
        }
    }

private:
    KeyIndex m_tree;
    PendingList m_pending;
};

} // namespace opsdeck::cache::memtier

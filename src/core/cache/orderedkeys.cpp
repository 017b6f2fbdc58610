#include "core/cache/orderedkeys.h"

namespace opsdeck::cache::memtier {

void OrderedKeys::insert(Entry *entry)
{
    entry->indexed = false;
    m_pending.pushBack(entry);
    if (m_pending.size() > kPendingMax) {
        Entry *const oldest = m_pending.popFront();
        oldest->indexPos = m_tree.emplace(IndexKey::of(oldest->key), oldest).first;
        oldest->indexed = true;
    }
}

void OrderedKeys::erase(Entry *entry)
{
    if (entry->indexed) {
        m_tree.erase(entry->indexPos);
        entry->indexed = false;
        entry->indexPos = {};
    } else {
        m_pending.remove(entry);
    }
}

void OrderedKeys::clear()
{
    m_tree.clear();
    for (Entry *e = m_pending.front(); e != nullptr;) {
        Entry *const next = PendingList::nextOf(e);
        e->pendingPrev = nullptr;
        e->pendingNext = nullptr;
        e = next;
    }
    m_pending.reset();
}

} // namespace opsdeck::cache::memtier

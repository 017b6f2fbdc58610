#include "core/cache/entrytable.h"

namespace opsdeck::cache::memtier {

namespace {
constexpr size_t kMinCapacity = 16;
}

EntryTable::EntryTable()
{
    rehash(kMinCapacity);
}

void EntryTable::insert(Entry *entry)
{
    // Keep the load at or below 3/4: probes stay short for linear probing.
    if (size_t(m_size + 1) * 4 > m_slots.size() * 3)
        rehash(m_slots.size() * 2);
    size_t i = size_t(entry->hash) & m_mask;
    while (m_slots[i].entry != nullptr)
        i = (i + 1) & m_mask;
    m_slots[i] = Slot{entry->hash, entry};
    ++m_size;
}

void EntryTable::erase(Entry *entry)
{
    size_t i = size_t(entry->hash) & m_mask;
    while (m_slots[i].entry != entry) {
        Q_ASSERT(m_slots[i].entry != nullptr);
        i = (i + 1) & m_mask;
    }
    // Backward-shift deletion: pull later members of the probe run into the hole when their
    // home slot is not cyclically inside (hole, slot].
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & m_mask;
        if (m_slots[j].entry == nullptr)
            break;
        const size_t home = size_t(m_slots[j].hash) & m_mask;
        const bool homeInRange
            = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (homeInRange)
            continue;
        m_slots[hole] = m_slots[j];
        hole = j;
    }
    m_slots[hole] = Slot{};
    --m_size;
}

void EntryTable::clear()
{
    m_slots.clear();
    m_size = 0;
    rehash(kMinCapacity);
}

void EntryTable::rehash(size_t capacity)
{
    std::vector<Slot> old = std::move(m_slots);
    m_slots.assign(capacity, Slot{});
    m_mask = capacity - 1;
    for (const Slot &slot : old) {
        if (slot.entry == nullptr)
            continue;
        size_t i = size_t(slot.hash) & m_mask;
        while (m_slots[i].entry != nullptr)
            i = (i + 1) & m_mask;
        m_slots[i] = slot;
    }
}

} // namespace opsdeck::cache::memtier

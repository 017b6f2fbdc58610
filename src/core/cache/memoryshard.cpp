#include "core/cache/memoryshard.h"

namespace opsdeck::cache::memtier {

Shard::Shard(Clock::MonoTime now)
    : m_wheel(now)
    , m_policy(makeEvictionPolicy(Policy::Lru, 0))
{}

Shard::~Shard()
{
    m_table.forEach([](Entry *e) { delete e; });
}

void Shard::replacePolicy(std::unique_ptr<EvictionPolicy> policy)
{
    m_policy = std::move(policy);
    m_policy->setCapacity(m_maxEntries);
}

void Shard::setBounds(qint64 maxEntries, qint64 maxBytes)
{
    if (maxEntries == m_maxEntries && maxBytes == m_maxBytes)
        return; // an unchanged reload keeps the policy's learnt state (sketch, window size)
    m_maxEntries = maxEntries;
    m_maxBytes = maxBytes;
    m_policy->setCapacity(maxEntries);
}

void Shard::enforceBounds()
{
    if (m_maxEntries <= 0) {
        removeAll(EvictionCause::Size);
        return;
    }
    m_policy->enforce(*this);
    // A policy always finds victims while entries remain; this is only a safety net.
    while (overBudget()) {
        Entry *const e = m_policy->victim();
        if (e == nullptr)
            break;
        evictForSize(e, false);
    }
}

std::optional<MemoryTier::Item> Shard::get(QByteArrayView key, quint64 hash, const Clock &clock)
{
    Entry *const e = m_table.find(key, hash);
    if (e != nullptr) [[likely]] {
        if (!e->hasExpiry() || e->item.expiresAt > clock.monotonic()) [[likely]] {
            ++m_counters.hits;
            m_policy->recordHit(e);
            return e->item;
        }
        reclaim(e, EvictionCause::Expired);
    }
    ++m_counters.misses;
    m_policy->recordMiss(hash);
    return std::nullopt;
}

std::optional<MemoryTier::Item> Shard::peek(QByteArrayView key, quint64 hash, LazyNow &now) const
{
    const Entry *const e = m_table.find(key, hash);
    if (e == nullptr || (e->hasExpiry() && e->item.expiresAt <= now()))
        return std::nullopt;
    return e->item;
}

bool Shard::contains(QByteArrayView key, quint64 hash, LazyNow &now) const
{
    const Entry *const e = m_table.find(key, hash);
    return e != nullptr && !(e->hasExpiry() && e->item.expiresAt <= now());
}

MemoryTier::SetResult
Shard::set(const QByteArray &key, quint64 hash, MemoryTier::Item &&item, LazyNow &now)
{
    MemoryTier::SetResult result;
    if (m_maxEntries <= 0)
        return result;
    Entry *existing = m_table.find(key, hash);
    if (existing != nullptr && existing->hasExpiry() && existing->item.expiresAt <= now()) {
        reclaim(existing, EvictionCause::Expired);
        existing = nullptr;
    }
    const bool alreadyExpired = item.expiresAt.count() != 0 && item.expiresAt <= now();
    const qint64 bytes = qint64(key.size()) + qint64(item.value.size());

    if (existing != nullptr) {
        result.replaced = true;
        const bool fits = m_maxBytes <= 0 || m_bytes - existing->bytes + bytes <= m_maxBytes;
        if (alreadyExpired || !fits) {
            reclaim(existing, EvictionCause::Replaced);
            if (!fits)
                ++m_counters.rejected;
            return result;
        }
        ++m_counters.evictedReplaced;
        unlinkTags(existing);
        m_bytes += bytes - existing->bytes;
        existing->bytes = bytes;
        const bool expiryChanged = existing->item.expiresAt != item.expiresAt;
        existing->item = std::move(item);
        linkTags(existing);
        if (expiryChanged)
            m_wheel.reschedule(existing);
        existing->sequence = ++m_sequence;
        m_policy->recordWrite(existing);
        result.stored = true;
        return result;
    }

    if (alreadyExpired)
        return result;
    if (m_maxBytes > 0 && bytes > m_maxBytes) {
        ++m_counters.rejected;
        return result;
    }

    auto *e = new Entry{.key = key,
                        .item = std::move(item),
                        .hash = hash,
                        .bytes = bytes,
                        .sequence = ++m_sequence};

    m_evictedOut = &result.evicted;
    m_now = &now;
    if (m_policy->makesRoomFirst()) {
        m_pendingEntries = 1;
        m_pendingBytes = bytes;
        m_policy->enforce(*this);
        m_pendingEntries = 0;
        m_pendingBytes = 0;
        link(e);
        m_policy->insert(e);
        result.stored = true;
    } else {
        link(e);
        m_policy->insert(e);
        m_justInserted = e;
        m_justInsertedEvicted = false;
        m_policy->enforce(*this);
        result.stored = !m_justInsertedEvicted;
        m_justInserted = nullptr;
    }
    m_evictedOut = nullptr;
    m_now = nullptr;
    return result;
}

bool Shard::remove(QByteArrayView key, quint64 hash, LazyNow &now)
{
    Entry *const e = m_table.find(key, hash);
    if (e == nullptr)
        return false;
    if (e->hasExpiry() && e->item.expiresAt <= now()) {
        reclaim(e, EvictionCause::Expired);
        return false;
    }
    reclaim(e, EvictionCause::Invalidated);
    return true;
}

bool Shard::touch(QByteArrayView key, quint64 hash, Clock::MonoTime expiresAt, LazyNow &now)
{
    Entry *const e = m_table.find(key, hash);
    if (e == nullptr)
        return false;
    if (e->hasExpiry() && e->item.expiresAt <= now()) {
        reclaim(e, EvictionCause::Expired);
        return false;
    }
    if (e->item.expiresAt == expiresAt)
        return true;
    e->item.expiresAt = expiresAt;
    m_wheel.reschedule(e);
    m_policy->expiryChanged(e);
    return true;
}

int Shard::expireDue(Clock::MonoTime now)
{
    return m_wheel.advance(now, [this](Entry *e) { reclaim(e, EvictionCause::Expired); });
}

void Shard::removeAll(EvictionCause cause)
{
    const std::vector<Entry *> all = detachAll();
    for (Entry *e : all) {
        countRemoval(cause);
        delete e;
    }
}

std::vector<Entry *> Shard::detachAll()
{
    std::vector<Entry *> all = m_policy->victimOrder();
    Q_ASSERT(qint64(all.size()) == m_table.size());
    m_policy->clear();
    m_table.clear();
    m_index.clear();
    m_tags.clear();
    m_wheel.clear();
    m_bytes = 0;
    for (Entry *e : all) {
        e->prev = e->next = nullptr;
        e->wheelPrev = e->wheelNext = nullptr;
        e->wheelSlot = kNotScheduled;
        e->heapIndex = -1;
        e->pendingPrev = e->pendingNext = nullptr;
        e->indexPos = {};
        e->indexed = false;
    }
    return all;
}

void Shard::adopt(Entry *entry, bool sameKind)
{
    entry->sequence = ++m_sequence;
    link(entry);
    m_policy->adopt(entry, sameKind);
}

void Shard::collectWithPrefix(QByteArrayView prefix,
                              qsizetype limit,
                              Clock::MonoTime now,
                              QList<QByteArray> &out) const
{
    m_index.visitPrefix(prefix, limit, [&](const Entry *e) {
        if (e->expiredAt(now))
            return false;
        out.append(e->key);
        return true;
    });
}

void Shard::collectAfter(QByteArrayView after,
                         qsizetype limit,
                         Clock::MonoTime now,
                         QList<QByteArray> &out) const
{
    m_index.visitAfter(after, limit, [&](const Entry *e) {
        if (e->expiredAt(now))
            return false;
        out.append(e->key);
        return true;
    });
}

void Shard::collectWithTag(const QByteArray &tag, Clock::MonoTime now, QList<QByteArray> &out) const
{
    const auto it = m_tags.constFind(tag);
    if (it == m_tags.cend())
        return;
    for (const Entry *e : *it) {
        if (!e->expiredAt(now))
            out.append(e->key);
    }
}

bool Shard::overBudget() const
{
    if (m_table.size() + m_pendingEntries > m_maxEntries)
        return true;
    return m_maxBytes > 0 && m_bytes + m_pendingBytes > m_maxBytes;
}

void Shard::evictForSize(Entry *entry, bool rejected)
{
    if (entry == m_justInserted) {
        m_justInsertedEvicted = true;
        m_justInserted = nullptr;
        ++m_counters.rejected;
        unlink(entry);
        delete entry;
        return;
    }
    // A victim whose expiry has passed (not yet reclaimed by a tick) is reclaimed as expired.
    if (m_now != nullptr && entry->hasExpiry() && entry->item.expiresAt <= (*m_now)()) {
        reclaim(entry, EvictionCause::Expired);
        return;
    }
    if (m_evictedOut != nullptr)
        m_evictedOut->append(entry->key);
    ++m_counters.evictedSize;
    if (rejected)
        ++m_counters.rejected;
    unlink(entry);
    delete entry;
}

void Shard::link(Entry *entry)
{
    m_table.insert(entry);
    m_index.insert(entry);
    linkTags(entry);
    if (entry->hasExpiry())
        m_wheel.schedule(entry);
    m_bytes += entry->bytes;
}

void Shard::unlink(Entry *entry)
{
    m_policy->remove(entry);
    m_wheel.unschedule(entry);
    unlinkTags(entry);
    m_index.erase(entry);
    m_table.erase(entry);
    m_bytes -= entry->bytes;
}

void Shard::linkTags(Entry *entry)
{
    for (const QByteArray &tag : std::as_const(entry->item.tags))
        m_tags[tag].insert(entry);
}

void Shard::unlinkTags(Entry *entry)
{
    for (const QByteArray &tag : std::as_const(entry->item.tags)) {
        const auto it = m_tags.find(tag);
        if (it == m_tags.end())
            continue;
        it->remove(entry);
        if (it->isEmpty())
            m_tags.erase(it);
    }
}

void Shard::countRemoval(EvictionCause cause)
{
    switch (cause) {
    case EvictionCause::Size:
        ++m_counters.evictedSize;
        break;
    case EvictionCause::Expired:
        ++m_counters.evictedExpired;
        break;
    case EvictionCause::Invalidated:
        ++m_counters.evictedInvalidated;
        break;
    case EvictionCause::Replaced:
        ++m_counters.evictedReplaced;
        break;
    }
}

void Shard::reclaim(Entry *entry, EvictionCause cause)
{
    countRemoval(cause);
    unlink(entry);
    delete entry;
}

} // namespace opsdeck::cache::memtier

#include "core/cache/memorytier.h"

#include "core/cache/memoryshard.h"
#include "core/support/logging.h"

#include <algorithm>
#include <bit>

namespace opsdeck::cache {

using memtier::Entry;
using memtier::LazyNow;
using memtier::Shard;

namespace {

constexpr qint64 kSingleShardBelow = 512; // auto: exact global policy order for small tiers
constexpr qint64 kMinEntriesPerShard = 64;

bool validKey(const QByteArray &key)
{
    return !key.isEmpty() && key.size() <= MemoryTier::kMaxKeyBytes;
}

void sortKeys(QList<QByteArray> &keys)
{
    std::sort(keys.begin(), keys.end(), [](const QByteArray &a, const QByteArray &b) {
        return memtier::compareKeys(a, b) < 0;
    });
}

qint64 shareOf(qint64 total, int shards, int index)
{
    return total / shards + (index < total % shards ? 1 : 0);
}

} // namespace

int MemoryTier::effectiveShards(const Settings &settings)
{
    if (settings.maxEntries <= 0)
        return 1;
    qint64 n = 1;
    if (settings.shards > 0)
        n = std::min<qint64>(settings.shards, kMaxShards);
    else if (settings.maxEntries >= kSingleShardBelow)
        n = std::min<qint64>(kMaxShards, settings.maxEntries / kMinEntriesPerShard);
    n = std::min(n, settings.maxEntries); // every shard holds at least one entry
    return int(std::bit_floor(quint64(std::max<qint64>(1, n))));
}

MemoryTier::MemoryTier(Settings settings, const Clock &clock)
    : m_clock(clock)
{
    const Clock::MonoTime now = clock.monotonic();
    for (auto &shard : m_shards)
        shard = std::make_unique<Shard>(now);
    settings.maxEntries = std::max<qint64>(0, settings.maxEntries);
    settings.maxBytes = std::max<qint64>(0, settings.maxBytes);
    const int count = effectiveShards(settings);
    m_shardBits.store(std::countr_zero(unsigned(count)));
    configureShards(settings, count);
    m_settings = settings;
    m_enabled.store(settings.maxEntries > 0);
}

MemoryTier::~MemoryTier() = default;

bool MemoryTier::enabled() const
{
    return m_enabled.load(std::memory_order_relaxed);
}

Shard &MemoryTier::lockShard(quint64 hash, std::unique_lock<memtier::ShardLock> &lock) const
{
    for (;;) {
        const int bits = m_shardBits.load(std::memory_order_acquire);
        Shard &shard = *m_shards[bits == 0 ? 0 : size_t(hash >> (64 - bits))];
        lock = std::unique_lock<memtier::ShardLock>(shard.mutex);
        // The layout changes only with every shard lock held, so it is stable from here on.
        if (m_shardBits.load(std::memory_order_relaxed) == bits) [[likely]]
            return shard;
        lock.unlock();
    }
}

void MemoryTier::configureShards(const Settings &settings, int shardCount)
{
    for (int i = 0; i < kMaxShards; ++i) {
        Shard &shard = *m_shards[size_t(i)];
        const bool active = i < shardCount && settings.maxEntries > 0;
        const qint64 entries = active ? shareOf(settings.maxEntries, shardCount, i) : 0;
        const qint64 bytes = !active || settings.maxBytes <= 0
                                 ? 0
                                 : std::max<qint64>(1, shareOf(settings.maxBytes, shardCount, i));
        if (shard.policy().kind() != settings.policy)
            shard.replacePolicy(memtier::makeEvictionPolicy(settings.policy, entries));
        shard.setBounds(entries, bytes);
    }
}

std::optional<MemoryTier::Item> MemoryTier::get(const QByteArray &key)
{
    if (!enabled())
        return std::nullopt;
    const quint64 hash = memtier::hashKey(key);
    std::unique_lock<memtier::ShardLock> lock;
    return lockShard(hash, lock).get(key, hash, m_clock);
}

std::optional<MemoryTier::Item> MemoryTier::peek(const QByteArray &key) const
{
    if (!enabled())
        return std::nullopt;
    const quint64 hash = memtier::hashKey(key);
    LazyNow now(m_clock);
    std::unique_lock<memtier::ShardLock> lock;
    return lockShard(hash, lock).peek(key, hash, now);
}

bool MemoryTier::contains(const QByteArray &key) const
{
    if (!enabled())
        return false;
    const quint64 hash = memtier::hashKey(key);
    LazyNow now(m_clock);
    std::unique_lock<memtier::ShardLock> lock;
    return lockShard(hash, lock).contains(key, hash, now);
}

MemoryTier::SetResult MemoryTier::set(const QByteArray &key, Item item)
{
    if (!enabled() || !validKey(key))
        return {};
    const quint64 hash = memtier::hashKey(key);
    LazyNow now(m_clock);
    std::unique_lock<memtier::ShardLock> lock;
    return lockShard(hash, lock).set(key, hash, std::move(item), now);
}

bool MemoryTier::remove(const QByteArray &key)
{
    if (!enabled())
        return false;
    const quint64 hash = memtier::hashKey(key);
    LazyNow now(m_clock);
    std::unique_lock<memtier::ShardLock> lock;
    return lockShard(hash, lock).remove(key, hash, now);
}

int MemoryTier::removeMany(const QList<QByteArray> &keys)
{
    int removed = 0;
    for (const QByteArray &key : keys) {
        if (remove(key))
            ++removed;
    }
    return removed;
}

bool MemoryTier::touch(const QByteArray &key, Clock::MonoTime expiresAt)
{
    if (!enabled())
        return false;
    const quint64 hash = memtier::hashKey(key);
    LazyNow now(m_clock);
    std::unique_lock<memtier::ShardLock> lock;
    return lockShard(hash, lock).touch(key, hash, expiresAt, now);
}

void MemoryTier::clear()
{
    for (const auto &shard : m_shards) {
        std::lock_guard<memtier::ShardLock> locker(shard->mutex);
        shard->removeAll(EvictionCause::Invalidated);
    }
}

// Visits the active shards (or all of them) one lock at a time and reports false if a rebuild
// moved entries between shards meanwhile (the caller then starts over), so a listing or a stats
// sum never misses or double-counts an entry.
template<typename Visit> bool MemoryTier::visitShards(bool activeOnly, Visit &&visit) const
{
    const quint64 generation = m_generation.load(std::memory_order_acquire);
    const int count = activeOnly ? 1 << m_shardBits.load(std::memory_order_acquire) : kMaxShards;
    for (int i = 0; i < count; ++i) {
        std::lock_guard<memtier::ShardLock> locker(m_shards[size_t(i)]->mutex);
        if (m_generation.load(std::memory_order_relaxed) != generation)
            return false;
        visit(*m_shards[size_t(i)]);
    }
    return true;
}

QList<QByteArray> MemoryTier::keysWithPrefix(const QByteArray &prefix, int limit) const
{
    if (!enabled() || limit == 0)
        return {};
    const Clock::MonoTime now = m_clock.monotonic();
    QList<QByteArray> keys;
    while (!visitShards(
        true, [&](const Shard &shard) { shard.collectWithPrefix(prefix, limit, now, keys); }))
        keys.clear();
    sortKeys(keys);
    if (limit >= 0 && keys.size() > limit)
        keys.resize(limit);
    return keys;
}

QList<QByteArray> MemoryTier::keysAfter(const QByteArray &after, int limit) const
{
    if (!enabled() || limit == 0)
        return {};
    const Clock::MonoTime now = m_clock.monotonic();
    QList<QByteArray> keys;
    while (!visitShards(true,
                        [&](const Shard &shard) { shard.collectAfter(after, limit, now, keys); }))
        keys.clear();
    sortKeys(keys);
    if (limit >= 0 && keys.size() > limit)
        keys.resize(limit);
    return keys;
}

QList<QByteArray> MemoryTier::keysWithTag(const QByteArray &tag) const
{
    if (!enabled())
        return {};
    const Clock::MonoTime now = m_clock.monotonic();
    QList<QByteArray> keys;
    while (!visitShards(true, [&](const Shard &shard) { shard.collectWithTag(tag, now, keys); }))
        keys.clear();
    sortKeys(keys);
    return keys;
}

int MemoryTier::expireDue()
{
    const Clock::MonoTime now = m_clock.monotonic();
    int reclaimed = 0;
    for (const auto &shard : m_shards) {
        std::lock_guard<memtier::ShardLock> locker(shard->mutex);
        reclaimed += shard->expireDue(now);
    }
    return reclaimed;
}

void MemoryTier::applySettings(Settings settings)
{
    settings.maxEntries = std::max<qint64>(0, settings.maxEntries);
    settings.maxBytes = std::max<qint64>(0, settings.maxBytes);
    QMutexLocker settingsLocker(&m_settingsMutex);
    std::array<std::unique_lock<memtier::ShardLock>, kMaxShards> locks;
    for (int i = 0; i < kMaxShards; ++i)
        locks[size_t(i)] = std::unique_lock<memtier::ShardLock>(m_shards[size_t(i)]->mutex);

    const int oldCount = 1 << m_shardBits.load(std::memory_order_relaxed);
    const int newCount = effectiveShards(settings);
    const bool enable = settings.maxEntries > 0;

    if (!enable) {
        for (const auto &shard : m_shards)
            shard->removeAll(EvictionCause::Size);
    }
    if (enable && (newCount != oldCount || settings.policy != m_settings.policy)) {
        // One-off rebuild: take every entry out in victim order and adopt it into the new
        // layout, so the most valuable entries are adopted last (most protected).
        const bool sameKind = settings.policy == m_settings.policy;
        std::vector<Entry *> all;
        for (int i = 0; i < oldCount; ++i) {
            std::vector<Entry *> part = m_shards[size_t(i)]->detachAll();
            all.insert(all.end(), part.begin(), part.end());
        }
        const int bits = std::countr_zero(unsigned(newCount));
        m_shardBits.store(bits, std::memory_order_release);
        for (const auto &shard : m_shards)
            shard->replacePolicy(memtier::makeEvictionPolicy(settings.policy, 0));
        configureShards(settings, newCount);
        for (Entry *e : all)
            m_shards[bits == 0 ? 0 : size_t(e->hash >> (64 - bits))]->adopt(e, sameKind);
        for (int i = 0; i < newCount; ++i) {
            m_shards[size_t(i)]->finishAdopt();
            m_shards[size_t(i)]->enforceBounds();
        }
        qCDebug(lcCache).noquote() << "memory tier rebuilt:" << toString(settings.policy)
                                   << newCount << "shards," << all.size() << "entries adopted";
    } else {
        m_shardBits.store(std::countr_zero(unsigned(newCount)), std::memory_order_release);
        configureShards(settings, newCount);
        for (int i = 0; i < newCount; ++i)
            m_shards[size_t(i)]->enforceBounds();
    }
    m_generation.fetch_add(1, std::memory_order_release);
    m_settings = settings;
    m_enabled.store(enable);
}

MemoryTier::Settings MemoryTier::settings() const
{
    QMutexLocker locker(&m_settingsMutex);
    return m_settings;
}

TierStats MemoryTier::stats() const
{
    TierStats stats;
    const auto add = [&stats](const Shard &shard) {
        const memtier::ShardCounters &c = shard.counters();
        stats.entries += shard.entries();
        stats.bytes += shard.bytes();
        stats.hits += c.hits;
        stats.misses += c.misses;
        stats.evictedSize += c.evictedSize;
        stats.evictedExpired += c.evictedExpired;
        stats.evictedInvalidated += c.evictedInvalidated;
        stats.evictedReplaced += c.evictedReplaced;
        stats.rejected += c.rejected;
    };
    while (!visitShards(false, add))
        stats = TierStats{};
    QMutexLocker locker(&m_settingsMutex);
    stats.enabled = m_settings.maxEntries > 0;
    stats.maxEntries = m_settings.maxEntries;
    stats.maxBytes = m_settings.maxBytes;
    return stats;
}

void MemoryTier::resetStats()
{
    for (const auto &shard : m_shards) {
        std::lock_guard<memtier::ShardLock> locker(shard->mutex);
        shard->resetCounters();
    }
}

} // namespace opsdeck::cache

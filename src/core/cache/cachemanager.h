// CacheManager: the tiered cache agents read through. Owns the memory tier (any thread) and the
// disk tier (its own writer and reader threads), the dependency graph, single-flight loads and a
// maintenance tick (its own "cache-maint" thread) that reclaims expired entries. Every public
// function is thread-safe; the blocking ones (get, set with a disk level, prefetch, keys) are for
// task bodies and the API thread, never the GUI thread.
//
//     auto value = cache.getOrLoad("ticker:BTCUSDT", 30.0, [&] { return fetchTicker(); });
//     value.then(this, [](const Result<QByteArray> &r) { ... });
//
// TTLs are seconds: nullopt = `default_ttl`, 0 = no expiry, negative = an "invalid_ttl" error.
// Expiry runs on the monotonic clock in memory and on wall time on disk (it survives restarts).
// It is not a distributed cache (distributed_enabled is false).
#pragma once

#include "core/cache/cachetypes.h"
#include "core/cache/disktier.h"
#include "core/cache/memorytier.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QFuture>
#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtCore/QThread>
#include <QtCore/QThreadPool>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace opsdeck {
struct CacheConfig;
}

namespace opsdeck::cache {

using Ttl = std::optional<double>;

struct CacheSettings
{
    MemoryTier::Settings memory;
    bool diskEnabled = true;
    DiskTier::Settings disk; // disk.path: the data dir's cache.db
    double defaultTtlSeconds = 300.0;
    int maintenanceIntervalMs = 1000;

    static CacheSettings fromConfig(const CacheConfig &config, const QString &cacheFilePath);
};

struct SetOptions
{
    Ttl ttl;
    QList<QByteArray> tags;
    QList<QByteArray> dependsOn; // parents: removing one removes this key too
    Level level = Level::All;

    // Builders: SetOptions().withTtl(30).withTags({"books"}).
    SetOptions withTtl(Ttl seconds) const { SetOptions o = *this; o.ttl = seconds; return o; }
    SetOptions withTags(QList<QByteArray> t) const { SetOptions o = *this; o.tags = std::move(t); return o; }
    SetOptions withDependsOn(QList<QByteArray> d) const { SetOptions o = *this; o.dependsOn = std::move(d); return o; }
    SetOptions atLevel(Level l) const { SetOptions o = *this; o.level = l; return o; }
};

struct CacheStats
{
    TierStats memory;
    TierStats disk;
    Policy policy = Policy::Adaptive;
    quint64 lookups = 0; // each get/getOrLoad counts once, whatever tiers it tried
    quint64 hits = 0;
    quint64 misses = 0;
    quint64 loads = 0;          // loader calls
    quint64 loadErrors = 0;
    quint64 loadJoins = 0;      // callers that joined a load already in flight
    quint64 invalidated = 0;    // keys removed by remove/pattern/tag/dependency cascades
    quint64 promotions = 0;     // disk hits copied into memory

    double hitRate() const { return lookups == 0 ? 0.0 : double(hits) / double(lookups); }
    // The old system's keys (memory_size, memory_hit_rate, disk_size, eviction_count, ...) plus
    // ours (hit_rate, evictions by cause, bytes, file bytes, loads). Rates are 0..1.
    QJsonObject toJson() const;
};

class CacheManager final : public QObject
{
    Q_OBJECT

public:
    using Loader = std::function<QFuture<Result<QByteArray>>()>;
    // Told about every lookup of a key (hit or miss) and every load: the preloader learns from it.
    using AccessObserver = std::function<void(const QByteArray &key, bool hit)>;

    CacheManager(CacheSettings settings, const Clock &clock = Clock::system(), QObject *parent = nullptr);
    ~CacheManager() override;

    // Opens the disk tier (memory-only when it cannot) and starts the maintenance tick.
    Status open();
    // Cancels pending loads ("cache_stopped"; late results are dropped), flushes and closes the
    // disk tier, stops the tick. Idempotent.
    void stop();

    std::optional<QByteArray> get(const QByteArray &key, Level level = Level::All);
    // One loader call however many callers wait for the key; a failing loader reaches every
    // waiter as an error and caches nothing.
    QFuture<Result<QByteArray>> getOrLoad(const QByteArray &key, Ttl ttl, Loader loader);
    Status set(const QByteArray &key, const QByteArray &value, const SetOptions &options = {});
    Status setMany(const QList<QPair<QByteArray, QByteArray>> &items, const SetOptions &options = {});
    // Removes the key and, transitively, its dependents from every tier at `level`. Returns the
    // number of distinct keys removed.
    int remove(const QByteArray &key, Level level = Level::All);
    void clear(Level level = Level::All);
    // A regex anchored at the key's start (the old system's re.match). Patterns with a literal
    // prefix are answered from the ordered key index; others run in chunks off the caller's
    // thread. Resolves to the number of distinct keys removed (dependents included), or
    // "invalid_pattern".
    QFuture<Result<int>> invalidatePattern(const QString &pattern);
    int invalidateTag(const QByteArray &tag);
    // New expiry = now + ttl; false when the key is missing.
    Result<bool> touch(const QByteArray &key, Ttl ttl);
    QHash<QByteArray, QByteArray> prefetch(const QList<QByteArray> &keys, Level level = Level::All);
    QList<QByteArray> dependencies(const QByteArray &key) const;
    QList<QByteArray> dependents(const QByteArray &key) const;
    QList<QByteArray> keys(const QByteArray &prefix, int limit = 100, Level level = Level::All) const;

    std::optional<QJsonValue> getJson(const QByteArray &key, Level level = Level::All);
    Status setJson(const QByteArray &key, const QJsonValue &value, const SetOptions &options = {});

    CacheStats stats() const;
    CacheSettings settings() const;
    // Live: memory size, bytes and policy; disk byte budget and policy; default TTL.
    void applySettings(const CacheSettings &settings);
    void setAccessObserver(AccessObserver observer);

    // For the preloader's refresh-ahead. getOrLoad remembers the loader and TTL of the keys it
    // loaded (bounded: the most recent 10000 keys); refresh() runs that loader again through the
    // single-flight path and stores the fresh value ("no_loader" when none is known).
    bool hasLoader(const QByteArray &key) const;
    QFuture<Result<QByteArray>> refresh(const QByteArray &key);
    // Time left before the key expires in memory (or on disk): Clock::Duration::max() for no
    // expiry, nullopt when the key is not cached.
    std::optional<Clock::Duration> timeToLive(const QByteArray &key) const;

    // One maintenance tick now (the timer calls it): expired entries of both tiers are reclaimed.
    void runMaintenance();
    // The literal prefix every match of an anchored pattern starts with ("ticker:" for
    // "ticker:.*"), or empty. Public for tests.
    static QString literalPrefix(const QString &pattern);

private:
    struct Flight;

    Result<double> resolveTtl(Ttl ttl) const;
    Clock::MonoTime monoExpiry(double ttlSeconds) const;
    qint64 wallExpiry(double ttlSeconds) const;
    void store(const QByteArray &key, const QByteArray &value, double ttlSeconds,
               const QList<QByteArray> &tags, const QList<QByteArray> &dependsOn, Level level);
    void linkDependencies(const QByteArray &key, const QList<QByteArray> &parents);
    // Drops the key's edges to its parents; m_graphMutex must be held.
    void unlinkFromParentsLocked(const QByteArray &key);
    // Removes `roots` and their transitive dependents; returns the distinct keys removed.
    int removeCascade(const QList<QByteArray> &roots, Level level);
    void finishFlight(const QByteArray &key, const std::shared_ptr<Flight> &flight,
                      Result<QByteArray> result, double ttlSeconds);
    void startLoad(const QByteArray &key, const std::shared_ptr<Flight> &flight, Loader loader,
                   double ttlSeconds);
    void runLoader(const QByteArray &key, const std::shared_ptr<Flight> &flight, Loader loader,
                   double ttlSeconds);
    void notifyAccess(const QByteArray &key, bool hit);
    bool diskUsable() const;

    const Clock &m_clock;
    mutable QMutex m_settingsMutex;
    CacheSettings m_settings;
    std::unique_ptr<MemoryTier> m_memory;
    std::unique_ptr<DiskTier> m_disk;

    mutable QMutex m_graphMutex;
    QHash<QByteArray, QSet<QByteArray>> m_dependents;   // parent -> children
    QHash<QByteArray, QSet<QByteArray>> m_dependencies; // child -> parents

    QMutex m_flightMutex;
    QHash<QByteArray, std::shared_ptr<Flight>> m_flights;

    mutable QMutex m_observerMutex;
    AccessObserver m_observer;

    struct KnownLoader
    {
        Loader loader;
        double ttlSeconds = 0;
        quint64 order = 0;
    };
    mutable QMutex m_loaderMutex;
    QHash<QByteArray, KnownLoader> m_loaders;
    quint64 m_loaderOrder = 0;

    QThread m_maintenanceThread;
    QThreadPool m_background; // one thread: pattern scans without a literal prefix
    std::atomic<bool> m_open{false};

    std::atomic<quint64> m_lookups{0};
    std::atomic<quint64> m_hits{0};
    std::atomic<quint64> m_misses{0};
    std::atomic<quint64> m_loads{0};
    std::atomic<quint64> m_loadErrors{0};
    std::atomic<quint64> m_loadJoins{0};
    std::atomic<quint64> m_invalidated{0};
    std::atomic<quint64> m_promotions{0};
};

} // namespace opsdeck::cache

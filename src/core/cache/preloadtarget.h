// PreloadTarget: the Preloader's view of a cache, so the Preloader is testable without one. It
// stores a task's value, lets the predictor ask about keys it knows a loader for, refresh them
// and read their remaining lifetime, and delivers the cache's lookups through an access observer.
// Implementations are thread-safe: the Preloader calls them from its timer thread and from
// executor threads, never while holding its own lock. CachePreloadTarget adapts a CacheManager.
// It is not a cache API for agents.
#pragma once

#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QFuture>
#include <QtCore/QList>

#include <functional>
#include <optional>

namespace opsdeck::cache {

class PreloadTarget
{
public:
    // Called for every lookup of a key (hit or miss), from any thread. It must be cheap; the
    // Preloader never calls back into the target from it.
    using AccessObserver = std::function<void(const QByteArray &key, bool hit)>;

    virtual ~PreloadTarget() = default;

    // Stores a preload task's value. ttlSeconds: nullopt = the cache's default, 0 = no expiry.
    virtual Status store(const QByteArray &key,
                         const QByteArray &value,
                         std::optional<double> ttlSeconds,
                         const QList<QByteArray> &tags)
        = 0;
    // True when the target can reload `key` by itself (refresh() would succeed in principle).
    virtual bool hasLoader(const QByteArray &key) const = 0;
    // Reloads `key` with the loader the target remembers and stores the fresh value.
    virtual QFuture<Result<QByteArray>> refresh(const QByteArray &key) = 0;
    // Time left before `key` expires: Clock::Duration::max() for no expiry, nullopt when the key
    // is not cached (or already expired).
    virtual std::optional<Clock::Duration> timeToLive(const QByteArray &key) const = 0;
    // Replaces the observer; an empty function removes it. A call already running in another
    // thread may still complete after this returns.
    virtual void setAccessObserver(AccessObserver observer) = 0;
};

} // namespace opsdeck::cache

#include "core/cache/cachepreloadtarget.h"

#include "core/cache/cachemanager.h"

namespace opsdeck::cache {

CachePreloadTarget::CachePreloadTarget(CacheManager &cache)
    : m_cache(cache)
{}

Status CachePreloadTarget::store(const QByteArray &key,
                                 const QByteArray &value,
                                 std::optional<double> ttlSeconds,
                                 const QList<QByteArray> &tags)
{
    SetOptions options;
    options.ttl = ttlSeconds;
    options.tags = tags;
    options.level = Level::All;
    return m_cache.set(key, value, options);
}

bool CachePreloadTarget::hasLoader(const QByteArray &key) const
{
    return m_cache.hasLoader(key);
}

QFuture<Result<QByteArray>> CachePreloadTarget::refresh(const QByteArray &key)
{
    return m_cache.refresh(key);
}

std::optional<Clock::Duration> CachePreloadTarget::timeToLive(const QByteArray &key) const
{
    return m_cache.timeToLive(key);
}

void CachePreloadTarget::setAccessObserver(AccessObserver observer)
{
    m_cache.setAccessObserver(std::move(observer));
}

} // namespace opsdeck::cache

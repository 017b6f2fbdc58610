// CachePreloadTarget: the PreloadTarget over a real CacheManager (the composition root makes one
// and hands it to the Preloader). Owns nothing: the CacheManager must outlive it. Thread-safe as
// the CacheManager is. It is not a second cache API.
#pragma once

#include "core/cache/preloadtarget.h"

namespace opsdeck::cache {

class CacheManager;

class CachePreloadTarget final : public PreloadTarget
{
public:
    explicit CachePreloadTarget(CacheManager &cache);

    // Written at every level (memory and disk), without dependencies.
    Status store(const QByteArray &key,
                 const QByteArray &value,
                 std::optional<double> ttlSeconds,
                 const QList<QByteArray> &tags) override;
    bool hasLoader(const QByteArray &key) const override;
    QFuture<Result<QByteArray>> refresh(const QByteArray &key) override;
    std::optional<Clock::Duration> timeToLive(const QByteArray &key) const override;
    void setAccessObserver(AccessObserver observer) override;

private:
    CacheManager &m_cache;
};

} // namespace opsdeck::cache

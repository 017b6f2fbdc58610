#include "core/http/httppoolsettings.h"

#include <algorithm>
#include <cmath>

namespace opsdeck::http {

namespace {

std::chrono::milliseconds secondsToMs(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0.0)
        return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(qint64(std::llround(seconds * 1000.0)));
}

} // namespace

HttpPoolSettings HttpPoolSettings::fromConfig(const HttpConfig &config)
{
    HttpPoolSettings settings;
    settings.apply(config);
    return settings;
}

void HttpPoolSettings::apply(const HttpConfig &config)
{
    poolSize = std::max(1, config.poolSize);
    timeout = secondsToMs(config.timeout);
    retry.retryCount = std::max(0, config.retryCount);
    retry.baseDelay = secondsToMs(config.retryDelay);
}

int HttpPoolSettings::workerCountFor(int poolSize)
{
    return std::max(2, (std::max(1, poolSize) + kConnectionsPerQnam - 1) / kConnectionsPerQnam);
}

} // namespace opsdeck::http

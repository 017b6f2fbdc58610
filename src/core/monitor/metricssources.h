// MetricsSources: where the PerformanceMonitor reads the parts' stats, one provider per part.
// An empty provider means the part is absent: its category gets the old {timestamp, error}
// sample every tick. A provider that returns an Error, or throws, fails only its own category
// that tick. Providers are called in the monitor thread, once per tick each, so they must be
// thread-safe snapshots (CacheManager::stats(), Preloader::stats(), HttpPool::stats() and
// ExecutionEngine::stats() are) and quick (no I/O, no waiting on the network).
//
//     MetricsSources sources;
//     sources.cache = [&cache] { return cache.stats(); };
//     monitor.setSources(std::move(sources));
#pragma once

#include "core/cache/cachemanager.h"
#include "core/cache/preloader.h"
#include "core/exec/execstats.h"
#include "core/http/httppoolstats.h"
#include "core/support/latencyhistogram.h"
#include "core/support/result.h"

#include <QtCore/QHash>

#include <functional>

namespace opsdeck {

struct MetricsSources
{
    std::function<Result<cache::CacheStats>()> cache;
    // Part of the "cache" category (its preloader block); absent or failing leaves the cache
    // sample valid with "preloader": {"error": ...}.
    std::function<Result<cache::PreloaderStats>()> preloader;
    std::function<Result<http::HttpPoolStats>()> http;
    // Per-api request latency (ns) since the previous call: HttpPool::latencyDeltas(). The
    // monitor must be its only consumer. Empty: the http interval has no latency percentiles.
    std::function<Result<QHash<QString, HistogramSnapshot>>()> httpLatencyDeltas;
    // Histograms since the previous call: ExecutionEngine::takeIntervalStats() (or takeStats();
    // the monitor must be the only consumer of either). Its schedulerStats fill the execution
    // sample's scheduler block; empty or layout-less histograms count as "nothing recorded".
    std::function<Result<exec::ExecStats>()> execution;
};

} // namespace opsdeck

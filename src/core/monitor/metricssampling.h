// metricssampling: pure functions that turn the parts' stats into the monitor's typed samples,
// the per-interval figures between two samples, and the flat MetricValues of one tick. The
// PerformanceMonitor calls them in its thread; tests call them directly. No state, any thread.
#pragma once

#include "core/monitor/metricssnapshot.h"
#include "core/monitor/metricssources.h"

namespace opsdeck::sampling {

CacheSample cacheSample(qint64 timestampMs, const cache::CacheStats &stats);
PreloaderSample preloaderSample(const cache::PreloaderStats &stats);
HttpSample httpSample(qint64 timestampMs, const http::HttpPoolStats &stats);
// `previous` (may be null) lends its scheduler key strings, so equal ids share one allocation
// across the ring.
ExecutionSample executionSample(qint64 timestampMs, const exec::ExecStats &stats,
                                const ExecutionSample *previous);
SchedulerSample schedulerSample(const QJsonObject &schedulerStats, const SchedulerSample *previous);

// Counter differences; a counter that went back (the part was reset) counts from zero.
CacheInterval cacheInterval(const CacheSample &previous, const CacheSample &current, double seconds);
// latencyDeltas: the pool's per-api histograms of the interval (null: no percentiles).
HttpInterval httpInterval(const HttpSample &previous, const HttpSample &current, double seconds,
                          const QHash<QString, HistogramSnapshot> *latencyDeltas);
// deltas: ExecutionEngine::takeStats() of this tick (its histograms cover the interval).
ExecutionInterval executionInterval(const ExecutionSample &previous, const ExecutionSample &current,
                                    double seconds, const exec::ExecStats &deltas);

// The flat names of metricvalues.h for one category's sample of this tick.
void addSystemValues(MetricValues &values, const SystemSample &sample);
void addCacheValues(MetricValues &values, const CacheSample &sample);
void addHttpValues(MetricValues &values, const HttpSample &sample);
void addExecutionValues(MetricValues &values, const ExecutionSample &sample);

} // namespace opsdeck::sampling

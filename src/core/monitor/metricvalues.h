// MetricValues: the monitor's flat numeric view of one tick, by dotted name. The alert rules
// and the 1-minute history aggregates read it; the names are a contract (docs/ARCHITECTURE.md,
// "Performance monitor"). A name is absent when its value is undefined this tick (a hit rate
// over an interval without lookups, a category whose stats failed).
//
// Units: *_percent are 0..100 (as the JSON fields); *_rate are 0..1; *_ms milliseconds; sizes
// in entries or bytes as named; counts "in the interval" are deltas since the previous tick.
//
//   system.process.cpu_percent  system.process.memory_percent  system.process.memory_rss
//   system.process.threads      system.system.cpu_percent      system.system.memory_percent
//   system.system.disk_percent
//   cache.memory_hit_rate  cache.disk_hit_rate  cache.hit_rate (combined: hits at any tier /
//       logical lookups, each miss counted once)      cache.lookups (logical, in the interval)
//   cache.memory_lookups   cache.disk_lookups   cache.memory_size  cache.disk_size
//   cache.evictions (in the interval)               cache.preloader.preload_errors (in the interval)
//   http.requests (finished, in the interval)  http.requests_per_second  http.error_rate
//   http.latency_p99_ms  http.rate_limited_apis
//   execution.running (1 or 0)  execution.queued_tasks  execution.running_tasks
//   execution.tasks_per_second  execution.wait_p99_ms  execution.run_p99_ms
//   execution.timeouts (in the interval)  execution.failed (in the interval)
//   <category>.error = 1 when that category's sample failed this tick
//       (system.error, cache.error, http.error, execution.error)
#pragma once

#include <QtCore/QHash>
#include <QtCore/QString>

namespace opsdeck {

using MetricValues = QHash<QString, double>;

} // namespace opsdeck

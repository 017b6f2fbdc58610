// MetricValues: the monitor's flat numeric view of one tick, by dotted name. The alert rules
// and the 1-minute history aggregates read it; the names are a contract (docs/ARCHITECTURE.md,
// "Performance monitor"). A name is absent when its value is undefined this tick (a hit rate
// over an interval without lookups, a category whose stats failed, any "in the interval" figure
// on the first sample of a category after start-up or after a failed tick).
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
//
// Exactly (as the PerformanceMonitor fills them):
// - The three cache hit rates, http.error_rate, http.latency_p99_ms, execution.wait_p99_ms and
//   execution.run_p99_ms are over the interval (not since start-up), and absent when their
//   denominator is 0 in it: memory_hit_rate needs memory_lookups > 0, disk_hit_rate
//   disk_lookups > 0, hit_rate lookups > 0, http.error_rate and http.latency_* http.requests > 0,
//   wait_p99_ms a task started, run_p99_ms a task finished. cache.memory_lookups and
//   cache.disk_lookups are in the interval too (a disk lookup is a memory miss that tried the
//   disk). cache.memory_size is entries, cache.disk_size payload bytes. http.rate_limited_apis is
//   the number of apis throttled right now. execution.tasks_per_second counts task bodies that
//   returned (any outcome) per second of the interval; execution.failed excludes timeouts.
// - <category>.error is 0 when the category's sample succeeded (so a rule can resolve).
//
// Also filled (same units rules):
//   system.process.cpu_seconds_total  system.process.memory_vms (bytes)
//   system.process.open_fds  system.system.memory_available (bytes)  system.system.disk_free
//       (bytes)
//   cache.memory_usage  cache.disk_usage (0..1 of the entry / byte budget; disk_usage only with
//       the disk tier on)  cache.lookups_per_second  cache.load_errors (in the interval)
//   cache.preloader.running_tasks  cache.preloader.startup_progress (0..100)
//   http.clients  http.in_flight  http.queued  http.errors (in the interval)  http.retries (in
//       the interval)  http.error_rate_total (since start-up, 0..1; present once a request was
//       made)  http.latency_p50_ms  http.latency_max_ms
//   execution.agents_tracked  execution.tasks_overrunning  execution.finished (in the interval)
//   execution.expired (in the interval)  execution.critical_wait_p99_ms (CRITICAL tasks only;
//       present when one started in the interval)
//   monitor.tick_ms (this tick's sampling time)  monitor.thread_cpu_seconds (the monitor
//       thread's CPU time in ticks so far)
#pragma once

#include <QtCore/QHash>
#include <QtCore/QString>

namespace opsdeck {

using MetricValues = QHash<QString, double>;

} // namespace opsdeck

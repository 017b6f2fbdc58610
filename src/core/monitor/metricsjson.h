// MetricsJson: the one serializer of snapshots, samples, errors and timestamps to JSON. The API,
// the CLIs and the GUI's export all use it, so field names and units are defined only here.
// Pure functions; any thread.
#pragma once

#include "core/monitor/metricssnapshot.h"
#include "core/support/result.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QStringList>

namespace opsdeck::metricsjson {

// The metric categories of the old system, in its order.
const QStringList &categories();

// "2026-12-01T07:51:49.123Z" (ISO-8601 UTC, milliseconds).
QString isoTimestamp(qint64 epochMs);

// The old system's nested fields (process {...}, system {...}) plus the flat ones
// (cpu_percent, memory_percent, disk_percent) and timestamp / timestamp_ms.
QJsonObject systemSample(const SystemSample &sample);
// The old cache keys (memory_size, memory_max_size, memory_usage, memory_hit_count,
// memory_miss_count, memory_hit_rate, disk_enabled, disk_size, disk_max_size, disk_usage,
// disk_hit_count, disk_miss_count, disk_hit_rate, eviction_count, invalidation_strategy;
// cumulative, rates 0..1), ours (hit_rate, lookups, hits, misses, loads, load_errors,
// memory_bytes, disk_entries, disk_file_bytes, disk_errors), "preloader" {tasks, running_tasks,
// preload_count, preload_error_count, startup_phase, startup_progress, startup_tasks,
// startup_failed, predictions, prediction_hits} or {"error"}, and "interval" (null on the first
// sample after a gap) {seconds, lookups, hits, hit_rate, memory_lookups, memory_hits,
// memory_hit_rate, disk_lookups, disk_hits, disk_hit_rate, evictions, loads, load_errors,
// lookups_per_second, preload_errors}; an interval rate without lookups is null.
QJsonObject cacheSample(const CacheSample &sample);
// The old keys clients, requests, errors, error_rate (cumulative, 0..1), rate_limited_apis
// (names), plus workers, pool_size, completed, attempts, retries, in_flight, queued,
// waiting_retry, bytes_in, bytes_out and "interval" {seconds, requests (finished), errors,
// error_rate (null without requests), attempts, retries, requests_per_second, latency_p50_ms,
// latency_p90_ms, latency_p99_ms, latency_max_ms (null when no request finished)}.
QJsonObject httpSample(const HttpSample &sample);
// The old keys running, queued_tasks, running_tasks, agents_tracked, scheduler {...} and the
// flat tasks_completed, tasks_failed, average_execution_time (seconds), plus
// max_concurrent_tasks, queued_by_priority {CRITICAL..IDLE}, delayed_tasks, agents_seen_total,
// tasks_submitted, tasks_timed_out, tasks_expired, tasks_cancelled, tasks_overrunning,
// cycles_skipped and "interval" {seconds, finished, started, completed, failed, timed_out,
// expired, submitted, tasks_per_second, queue_wait_p50_ms, queue_wait_p99_ms, queue_wait_max_ms,
// run_p50_ms, run_p99_ms, run_max_ms, queue_wait_p99_ms_by_priority {CRITICAL..IDLE}}.
QJsonObject executionSample(const ExecutionSample &sample);
// One sample of any category, by overload: what the API serves and the history store keeps.
QJsonObject sampleJson(const SystemSample &sample);
QJsonObject sampleJson(const CacheSample &sample);
QJsonObject sampleJson(const HttpSample &sample);
QJsonObject sampleJson(const ExecutionSample &sample);
// This tick's sample of one category: its newest sample, or the error sample when this tick's
// failed (or nothing was collected yet). An unknown category gives an error sample too.
QJsonObject currentSampleJson(const MetricsSnapshot &snapshot, const QString &category);

// The old system's sample for a category that has no data: {timestamp, timestamp_ms, error}.
QJsonObject errorSample(qint64 epochMs, const QString &message);

// The samples of one category, oldest first, at most `limit` (the newest ones). When this
// tick's sample failed, the newest entry is the error sample at the snapshot's time (so the
// list ends with what is true now); with no sample at all it is the only entry.
QJsonArray categorySamples(const MetricsSnapshot &snapshot, const QString &category, int limit);

// {"timestamp", "metrics": {category: [...]}} for one category or, when empty, all of them.
QJsonObject metricsDocument(const MetricsSnapshot &snapshot, const QString &category, int limit,
                            qint64 nowMs);

// {"error": {"code", "message", "details"}} (CONTRACTS.md error shape).
QJsonObject errorDocument(const Error &error);

} // namespace opsdeck::metricsjson

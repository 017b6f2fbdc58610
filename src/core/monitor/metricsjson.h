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

// The old system's sample for a category that has no data: {timestamp, timestamp_ms, error}.
QJsonObject errorSample(qint64 epochMs, const QString &message);

// The samples of one category, oldest first, at most `limit` (the newest ones).
QJsonArray categorySamples(const MetricsSnapshot &snapshot, const QString &category, int limit);

// {"timestamp", "metrics": {category: [...]}} for one category or, when empty, all of them.
QJsonObject metricsDocument(const MetricsSnapshot &snapshot, const QString &category, int limit,
                            qint64 nowMs);

// {"error": {"code", "message", "details"}} (CONTRACTS.md error shape).
QJsonObject errorDocument(const Error &error);

} // namespace opsdeck::metricsjson

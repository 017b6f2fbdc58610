// ApiControls: what the REST API may ask of the runtime's parts, as plain std::function structs,
// so the API builds and is tested without the parts (fake lambdas) and the application wires the
// real ones. Every function is called in the api thread and must be thread-safe and fast (it
// runs inside a request); an empty function answers 503 "<part>_unavailable". Errors come back
// as Error codes and are mapped to HTTP statuses in one place (controlErrorStatus()).
#pragma once

#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QList>
#include <QtCore/QPair>
#include <QtCore/QString>

#include <functional>
#include <optional>

namespace opsdeck::api {

// GET /monitoring/alerts filter; every member is already validated by the API.
struct AlertFilter
{
    QString level;      // exact level ("info", "warning", "error", "critical"); empty: any
    QString minLevel;   // this level or more severe; empty: any
    QString source;     // exact source; empty: any
    qint64 sinceId = 0; // only alerts with id > sinceId (a cursor); 0: all
    // 1..1000. Without a cursor the newest `limit` matches; with sinceId > 0 the oldest `limit`
    // after it, so a cursor walks forward without gaps. Oldest first either way.
    int limit = 100;
};

// The alert engine and the monitor's history (H2/H1 parts).
struct MonitorControl
{
    // Alert objects as the alert engine makes them: {id, timestamp, level, source, message,
    // details {metric, value, threshold}, first_seen, last_seen, count, state, acknowledged}.
    std::function<QJsonArray(const AlertFilter &filter)> alerts;
    // "unknown_alert" -> 404.
    std::function<Status(qint64 id)> acknowledge;
    std::function<void()> clearAlerts;
    std::function<QJsonArray()> rules;
    // The whole rule table as the client PUT it (a JSON array, or {"rules": [...]}). Validation
    // errors ("invalid_rules", details listing each problem) -> 400. Returns the rules now active.
    std::function<Result<QJsonArray>(const QJsonValue &body)> setRules;
    // Samples of one category (metricsjson shape, oldest first, at most `limit`, the newest ones)
    // with fromMs <= timestamp_ms <= toMs, from memory and history.db.
    std::function<Result<QJsonArray>(
        const QString &category, qint64 fromMs, qint64 toMs, int limit)>
        history;
};

// The running configuration (RuntimeConfig). PUT is validated exactly like the INI:
// configrequest::parseChange() / changeAnswer() / configDocument() (api/configrequest.h) do the
// parsing, validation and answers; the wiring only applies the new RuntimeConfig.
struct ConfigControl
{
    // {"sections": {section: {key: value}}, "live_keys": [...], "restart_keys": [...], ...}.
    std::function<QJsonObject()> get;
    // body is INI text (text/plain) or JSON ({section: {key: value}}); contentType is the
    // request's Content-Type without parameters (may be empty). Answers
    // {"applied": [...], "restart_required": [...]}. Errors: "invalid_config" (details
    // {"findings": [ConfigFinding::toJson(), ...]}) -> 400, "invalid_json" -> 400,
    // "unsupported_media_type" -> 415, "config_apply_failed" -> 500.
    std::function<Result<QJsonObject>(const QByteArray &body, const QByteArray &contentType)> put;
};

struct CacheControl
{
    std::function<QJsonObject()> stats; // the old system's stats keys
    // At most `limit` keys starting with prefix (empty: any), sorted.
    std::function<QJsonArray(const QString &prefix, int limit)> keys;
    // Removes matching keys from every tier; returns how many. "invalid_pattern" -> 400.
    std::function<Result<int>(const QString &regexAnchoredAtStart)> invalidatePattern;
    std::function<int(const QString &tag)> invalidateTag;
};

struct TaskControl
{
    std::function<QJsonArray()> list;
    // "unknown_task" -> 404; "not_cancellable" (already finished, ...) -> 409.
    std::function<Status(const QString &id)> cancel;
};

// One Prometheus histogram: cumulative counts at the fixed bounds prometheus::latencyBounds()
// (seconds), plus the total count and sum. Make one from a LatencyHistogram snapshot in
// nanoseconds with prometheus::histogramFromSnapshot().
struct PrometheusHistogram
{
    QString name;                          // "opsdeck_http_request_duration_seconds"
    QString help;                          // one line
    QList<QPair<QString, QString>> labels; // e.g. {{"api", "market"}}
    QList<quint64> cumulativeCounts;       // one per bound, non-decreasing
    quint64 count = 0;                     // the +Inf bucket
    double sumSeconds = 0;
};

struct PrometheusControl
{
    // Every histogram to export, read at scrape time.
    std::function<QList<PrometheusHistogram>()> histograms;
};

// The HTTP status for an Error a control returned (unknown codes: 409 for a refused operation).
int controlErrorStatus(const QString &code);

} // namespace opsdeck::api

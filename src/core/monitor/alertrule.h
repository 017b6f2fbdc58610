// AlertRule / Alert: the alert engine's data. A rule is a threshold on one MetricValues name
// (metricvalues.h); an Alert is one episode of a rule (pending → firing → resolved), never one
// per sample. Plain value types with JSON forms for the API and history.db; any thread.
//
// Units: a rule's threshold and hysteresis are in the rule's display unit, which is the metric's
// own unit except for *_rate metrics (0..1), whose thresholds are percent as in the old system's
// config and API. AlertRule::displayValue() is the ONE place that converts (CONTRACTS.md "JSON").
#pragma once

#include "core/support/result.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

namespace opsdeck {

// Ordered by severity: min_level filters compare these.
enum class AlertLevel { Info = 0, Warning = 1, Error = 2, Critical = 3 };
enum class AlertComparison { Above, Below };
enum class AlertState { Pending, Firing, Resolved };

QString alertLevelName(AlertLevel level); // "info", "warning", "error", "critical"
std::optional<AlertLevel> parseAlertLevel(QStringView name); // case-insensitive
QStringList alertLevelNames();
QString alertStateName(AlertState state); // "pending", "firing", "resolved"
std::optional<AlertState> parseAlertState(QStringView name);
QString alertComparisonName(AlertComparison comparison); // "above", "below"
// The metric categories a rule can belong to (the old system's alert sources).
const QStringList &alertSources();

struct AlertRule
{
    QString id;     // stable key: lower-case letters, digits, '_' (e.g. "process_cpu")
    QString name;   // short English title
    QString metric; // a MetricValues name
    AlertComparison comparison = AlertComparison::Above;
    double threshold = 0.0;       // display unit (percent for *_rate metrics)
    double hysteresis = 0.0;      // display unit; a firing alert clears at threshold ∓ hysteresis
    double forSeconds = 0.0;      // the condition must hold this long before the alert fires
    double clearForSeconds = 0.0; // the clear condition must hold this long before resolving
    AlertLevel level = AlertLevel::Warning;
    QString guardMetric; // optional: evaluated only when guardMetric >= guardMin this tick
    double guardMin = 0.0;
    bool enabled = true;
    QString source; // one of alertSources()
    // Placeholders: {name} {metric} {value} {threshold} {unit}.
    QString message;

    // The metric's value in the rule's unit: ×100 for *_rate metrics (0..1 → percent).
    double displayValue(double metricValue) const;
    bool isPercent() const; // *_rate and *_percent metrics
    QString unit() const;   // "percent", "ms" or "" (a count or size)
    // The fire and clear conditions on a display value.
    bool fires(double value) const;
    bool clears(double value) const;
    QString renderMessage(double value) const;

    // Every field is checked; the error names the first bad one in details.field.
    Status validate() const;

    // {"id","name","metric","comparison","threshold","hysteresis","for","clear_for","level",
    //  "guard": {"metric","min"} | null,"enabled","source","message","unit"}; durations seconds.
    QJsonObject toJson() const;
    // Applies `changes` (any subset of toJson()'s fields but "id" and "unit") over this rule and
    // validates the result. Errors: unknown_field, invalid_value (details: rule, field, reason).
    Result<AlertRule> withChanges(const QJsonObject &changes) const;
    // A complete rule from JSON (metric, comparison, threshold, level and source required).
    static Result<AlertRule> fromJson(const QJsonObject &json);

    bool operator==(const AlertRule &) const = default;
};

// One episode of one rule. Its JSON holds the old system's alert shape {timestamp, level,
// source, message, details {metric, value, threshold}} as a subset.
struct Alert
{
    qint64 id = 0; // monotonically increasing, unique across restarts
    QString ruleId;
    AlertLevel level = AlertLevel::Warning;
    QString source;
    QString message;
    QString metric;
    double value = 0.0;     // the latest value in the episode, in the rule's unit
    double threshold = 0.0; // in the rule's unit
    qint64 firstSeenMs = 0; // wall ms of the first bad sample (the episode's start)
    qint64 lastSeenMs = 0;  // wall ms of the latest sample in the episode
    qint64 count = 0;       // samples in the episode that did not meet the clear condition
    AlertState state = AlertState::Firing;
    qint64 resolvedAtMs = 0; // 0 while not resolved
    bool acknowledged = false;
    qint64 acknowledgedAtMs = 0;

    // {"id","rule","level","source","message","details":{"metric","value","threshold"},
    //  "timestamp" (= last_seen),"timestamp_ms","first_seen","first_seen_ms","last_seen",
    //  "last_seen_ms","count","state","acknowledged","acknowledged_at","resolved_at"}
    // (*_at are ISO-8601 or null).
    QJsonObject toJson() const;
    static Result<Alert> fromJson(const QJsonObject &json);

    bool operator==(const Alert &) const = default;
};

} // namespace opsdeck

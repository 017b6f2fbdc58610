#include "core/monitor/alertrule.h"

#include "core/monitor/metricsjson.h"

#include <QtCore/QJsonValue>
#include <QtCore/QRegularExpression>

#include <cmath>

namespace opsdeck {

using namespace Qt::StringLiterals;

namespace {

constexpr double kMaxDurationSeconds = 86400.0;
constexpr qsizetype kMaxMessageLength = 500;
constexpr qsizetype kMaxNameLength = 200;

const QRegularExpression &idPattern()
{
    static const QRegularExpression re(u"^[a-z0-9_]{1,64}$"_s);
    return re;
}

const QRegularExpression &metricPattern()
{
    static const QRegularExpression re(u"^[a-z0-9_]+(\\.[a-z0-9_]+){1,7}$"_s);
    return re;
}

// Two decimals at most, no trailing zeros: 83.4567 → "83.46", 100 → "100".
QString formatValue(double value)
{
    QString text = QString::number(std::round(value * 100.0) / 100.0, 'f', 2);
    while (text.endsWith(u'0'))
        text.chop(1);
    if (text.endsWith(u'.'))
        text.chop(1);
    if (text == u"-0")
        text = u"0"_s;
    return text;
}

tl::unexpected<Error> fieldError(const QString &ruleId,
                                 const QString &field,
                                 const QString &reason,
                                 const QString &code = u"invalid_value"_s)
{
    QJsonObject details{{u"field"_s, field}, {u"reason"_s, reason}};
    if (!ruleId.isEmpty())
        details.insert(u"rule"_s, ruleId);
    const QString subject = ruleId.isEmpty() ? u"Alert rule"_s : u"Alert rule '%1'"_s.arg(ruleId);
    return fail(code, u"%1: field '%2' %3."_s.arg(subject, field, reason), details);
}

QJsonValue isoOrNull(qint64 ms)
{
    return ms > 0 ? QJsonValue(metricsjson::isoTimestamp(ms)) : QJsonValue(QJsonValue::Null);
}

} // namespace

QString alertLevelName(AlertLevel level)
{
    switch (level) {
    case AlertLevel::Info:
        return u"info"_s;
    case AlertLevel::Warning:
        return u"warning"_s;
    case AlertLevel::Error:
        return u"error"_s;
    case AlertLevel::Critical:
        return u"critical"_s;
    }
    return u"warning"_s;
}

std::optional<AlertLevel> parseAlertLevel(QStringView name)
{
    for (AlertLevel level :
         {AlertLevel::Info, AlertLevel::Warning, AlertLevel::Error, AlertLevel::Critical}) {
        if (name.compare(alertLevelName(level), Qt::CaseInsensitive) == 0)
            return level;
    }
    return std::nullopt;
}

QStringList alertLevelNames()
{
    return {u"info"_s, u"warning"_s, u"error"_s, u"critical"_s};
}

QString alertStateName(AlertState state)
{
    switch (state) {
    case AlertState::Pending:
        return u"pending"_s;
    case AlertState::Firing:
        return u"firing"_s;
    case AlertState::Resolved:
        return u"resolved"_s;
    }
    return u"firing"_s;
}

std::optional<AlertState> parseAlertState(QStringView name)
{
    for (AlertState state : {AlertState::Pending, AlertState::Firing, AlertState::Resolved}) {
        if (name.compare(alertStateName(state), Qt::CaseInsensitive) == 0)
            return state;
    }
    return std::nullopt;
}

QString alertComparisonName(AlertComparison comparison)
{
    return comparison == AlertComparison::Above ? u"above"_s : u"below"_s;
}

const QStringList &alertSources()
{
    static const QStringList sources{u"system"_s, u"cache"_s, u"http"_s, u"execution"_s};
    return sources;
}

// ---------------------------------------------------------------------------------------------
// AlertRule

double AlertRule::displayValue(double metricValue) const
{
    // The one conversion between 0..1 rates (MetricValues, stats) and percent thresholds.
    return metric.endsWith(u"_rate") ? metricValue * 100.0 : metricValue;
}

bool AlertRule::isPercent() const
{
    return metric.endsWith(u"_rate") || metric.endsWith(u"_percent");
}

QString AlertRule::unit() const
{
    if (isPercent())
        return u"percent"_s;
    if (metric.endsWith(u"_ms"))
        return u"ms"_s;
    return QString();
}

bool AlertRule::fires(double value) const
{
    return comparison == AlertComparison::Above ? value > threshold : value < threshold;
}

bool AlertRule::clears(double value) const
{
    return comparison == AlertComparison::Above ? value <= threshold - hysteresis
                                                : value >= threshold + hysteresis;
}

QString AlertRule::renderMessage(double value) const
{
    const QString u = unit();
    const QString unitText = u == u"percent" ? u"%"_s : u == u"ms" ? u" ms"_s : QString();
    QString text = message;
    text.replace(u"{name}"_s, name);
    text.replace(u"{metric}"_s, metric);
    text.replace(u"{value}"_s, formatValue(value));
    text.replace(u"{threshold}"_s, formatValue(threshold));
    text.replace(u"{unit}"_s, unitText);
    return text;
}

Status AlertRule::validate() const
{
    if (!idPattern().match(id).hasMatch())
        return fieldError(QString(), u"id"_s,
                          u"must be 1 to 64 lower-case letters, digits or '_'"_s);
    if (name.trimmed().isEmpty() || name.size() > kMaxNameLength)
        return fieldError(id, u"name"_s, u"must be 1 to 200 characters"_s);
    if (!metricPattern().match(metric).hasMatch())
        return fieldError(id, u"metric"_s,
                          u"must be a metric name such as 'system.process.cpu_percent'"_s);
    if (!std::isfinite(threshold))
        return fieldError(id, u"threshold"_s, u"must be a finite number"_s);
    if (isPercent() && (threshold < 0.0 || threshold > 100.0))
        return fieldError(id, u"threshold"_s, u"must be 0..100 (percent)"_s);
    if (!std::isfinite(hysteresis) || hysteresis < 0.0)
        return fieldError(id, u"hysteresis"_s, u"must be a number of at least 0"_s);
    if (isPercent() && hysteresis > 100.0)
        return fieldError(id, u"hysteresis"_s, u"must be 0..100 (percent)"_s);
    if (!std::isfinite(forSeconds) || forSeconds < 0.0 || forSeconds > kMaxDurationSeconds)
        return fieldError(id, u"for"_s, u"must be 0..86400 seconds"_s);
    if (!std::isfinite(clearForSeconds) || clearForSeconds < 0.0
        || clearForSeconds > kMaxDurationSeconds)
        return fieldError(id, u"clear_for"_s, u"must be 0..86400 seconds"_s);
    if (!guardMetric.isEmpty() && !metricPattern().match(guardMetric).hasMatch())
        return fieldError(id, u"guard.metric"_s,
                          u"must be a metric name such as 'cache.lookups'"_s);
    if (!std::isfinite(guardMin) || guardMin < 0.0)
        return fieldError(id, u"guard.min"_s, u"must be a number of at least 0"_s);
    if (!alertSources().contains(source))
        return fieldError(id, u"source"_s,
                          u"must be one of %1"_s.arg(alertSources().join(u", "_s)));
    if (message.trimmed().isEmpty() || message.size() > kMaxMessageLength)
        return fieldError(id, u"message"_s, u"must be 1 to 500 characters"_s);
    return ok();
}

QJsonObject AlertRule::toJson() const
{
    QJsonValue guard = QJsonValue::Null;
    if (!guardMetric.isEmpty())
        guard = QJsonObject{{u"metric"_s, guardMetric}, {u"min"_s, guardMin}};
    return QJsonObject{
        {u"id"_s, id},
        {u"name"_s, name},
        {u"metric"_s, metric},
        {u"comparison"_s, alertComparisonName(comparison)},
        {u"threshold"_s, threshold},
        {u"hysteresis"_s, hysteresis},
        {u"for"_s, forSeconds},
        {u"clear_for"_s, clearForSeconds},
        {u"level"_s, alertLevelName(level)},
        {u"guard"_s, guard},
        {u"enabled"_s, enabled},
        {u"source"_s, source},
        {u"message"_s, message},
        {u"unit"_s, unit()},
    };
}

Result<AlertRule> AlertRule::withChanges(const QJsonObject &changes) const
{
    AlertRule rule = *this;
    auto number = [&](const QString &field, double &target) -> Status {
        const QJsonValue v = changes.value(field);
        if (!v.isDouble())
            return fieldError(id, field, u"must be a number"_s);
        target = v.toDouble();
        return ok();
    };
    auto text = [&](const QString &field, QString &target) -> Status {
        const QJsonValue v = changes.value(field);
        if (!v.isString())
            return fieldError(id, field, u"must be a string"_s);
        target = v.toString();
        return ok();
    };
    for (auto it = changes.begin(); it != changes.end(); ++it) {
        const QString field = it.key();
        Status status = ok();
        if (field == u"name") {
            status = text(field, rule.name);
        } else if (field == u"metric") {
            status = text(field, rule.metric);
        } else if (field == u"comparison") {
            const QString value = it.value().toString();
            if (value == u"above")
                rule.comparison = AlertComparison::Above;
            else if (value == u"below")
                rule.comparison = AlertComparison::Below;
            else
                status = fieldError(id, field, u"must be \"above\" or \"below\""_s);
        } else if (field == u"threshold") {
            status = number(field, rule.threshold);
        } else if (field == u"hysteresis") {
            status = number(field, rule.hysteresis);
        } else if (field == u"for") {
            status = number(field, rule.forSeconds);
        } else if (field == u"clear_for") {
            status = number(field, rule.clearForSeconds);
        } else if (field == u"level") {
            const std::optional<AlertLevel> parsed
                = it.value().isString() ? parseAlertLevel(it.value().toString()) : std::nullopt;
            if (parsed)
                rule.level = *parsed;
            else
                status = fieldError(id, field,
                                    u"must be one of %1"_s.arg(alertLevelNames().join(u", "_s)));
        } else if (field == u"guard") {
            if (it.value().isNull()) {
                rule.guardMetric.clear();
                rule.guardMin = 0.0;
            } else if (!it.value().isObject()) {
                status = fieldError(id, field, u"must be null or {\"metric\", \"min\"}"_s);
            } else {
                const QJsonObject guard = it.value().toObject();
                for (auto g = guard.begin(); g != guard.end() && status; ++g) {
                    if (g.key() != u"metric" && g.key() != u"min")
                        status = fieldError(id, u"guard."_s + g.key(), u"is not a known field"_s,
                                            u"unknown_field"_s);
                }
                if (status && !guard.value(u"metric"_s).isString())
                    status = fieldError(id, u"guard.metric"_s, u"must be a string"_s);
                if (status && !guard.value(u"min"_s).isDouble())
                    status = fieldError(id, u"guard.min"_s, u"must be a number"_s);
                if (status) {
                    rule.guardMetric = guard.value(u"metric"_s).toString();
                    rule.guardMin = guard.value(u"min"_s).toDouble();
                }
            }
        } else if (field == u"enabled") {
            if (it.value().isBool())
                rule.enabled = it.value().toBool();
            else
                status = fieldError(id, field, u"must be true or false"_s);
        } else if (field == u"source") {
            status = text(field, rule.source);
        } else if (field == u"message") {
            status = text(field, rule.message);
        } else if (field == u"id" || field == u"unit" || field == u"state"
                   || field == u"overridden") {
            // Read-only fields echoed back from a GET are accepted when unchanged.
            const QJsonValue current = field == u"id"     ? QJsonValue(id)
                                       : field == u"unit" ? QJsonValue(unit())
                                                          : it.value();
            if (it.value() != current)
                status = fieldError(id, field, u"cannot be changed"_s, u"read_only_field"_s);
        } else {
            status = fieldError(id, field, u"is not a known field"_s, u"unknown_field"_s);
        }
        if (!status)
            return tl::unexpected(status.error());
    }
    if (Status valid = rule.validate(); !valid)
        return tl::unexpected(valid.error());
    return rule;
}

Result<AlertRule> AlertRule::fromJson(const QJsonObject &json)
{
    if (!json.value(u"id"_s).isString())
        return fieldError(QString(), u"id"_s, u"is required and must be a string"_s,
                          u"missing_field"_s);
    AlertRule rule;
    rule.id = json.value(u"id"_s).toString();
    if (!idPattern().match(rule.id).hasMatch())
        return fieldError(QString(), u"id"_s,
                          u"must be 1 to 64 lower-case letters, digits or '_'"_s);
    for (const QString &field :
         {u"metric"_s, u"comparison"_s, u"threshold"_s, u"level"_s, u"source"_s}) {
        if (!json.contains(field))
            return fieldError(rule.id, field, u"is required for a new rule"_s, u"missing_field"_s);
    }
    rule.name = rule.id;
    rule.message = u"{name}: {metric} is {value}{unit} (threshold {threshold}{unit})"_s;
    QJsonObject rest = json;
    rest.remove(u"id"_s);
    rest.remove(u"unit"_s); // derived from the metric; ignored on input
    return rule.withChanges(rest);
}

// ---------------------------------------------------------------------------------------------
// Alert

QJsonObject Alert::toJson() const
{
    return QJsonObject{
        {u"id"_s, id},
        {u"rule"_s, ruleId},
        {u"level"_s, alertLevelName(level)},
        {u"source"_s, source},
        {u"message"_s, message},
        {u"details"_s,
         QJsonObject{{u"metric"_s, metric}, {u"value"_s, value}, {u"threshold"_s, threshold}}},
        {u"timestamp"_s, metricsjson::isoTimestamp(lastSeenMs)},
        {u"timestamp_ms"_s, lastSeenMs},
        {u"first_seen"_s, metricsjson::isoTimestamp(firstSeenMs)},
        {u"first_seen_ms"_s, firstSeenMs},
        {u"last_seen"_s, metricsjson::isoTimestamp(lastSeenMs)},
        {u"last_seen_ms"_s, lastSeenMs},
        {u"count"_s, count},
        {u"state"_s, alertStateName(state)},
        {u"resolved_at"_s, isoOrNull(resolvedAtMs)},
        {u"resolved_at_ms"_s, resolvedAtMs > 0 ? QJsonValue(resolvedAtMs) : QJsonValue()},
        {u"acknowledged"_s, acknowledged},
        {u"acknowledged_at"_s, isoOrNull(acknowledgedAtMs)},
        {u"acknowledged_at_ms"_s,
         acknowledgedAtMs > 0 ? QJsonValue(acknowledgedAtMs) : QJsonValue()},
    };
}

Result<Alert> Alert::fromJson(const QJsonObject &json)
{
    auto bad = [](const QString &field) {
        return fail(u"invalid_alert"_s,
                    u"Stored alert: field '%1' is missing or invalid."_s.arg(field),
                    QJsonObject{{u"field"_s, field}});
    };
    Alert a;
    if (!json.value(u"id"_s).isDouble() || json.value(u"id"_s).toDouble() < 1)
        return bad(u"id"_s);
    a.id = qint64(json.value(u"id"_s).toDouble());
    a.ruleId = json.value(u"rule"_s).toString();
    if (a.ruleId.isEmpty())
        return bad(u"rule"_s);
    const std::optional<AlertLevel> level = parseAlertLevel(json.value(u"level"_s).toString());
    if (!level)
        return bad(u"level"_s);
    a.level = *level;
    const std::optional<AlertState> state = parseAlertState(json.value(u"state"_s).toString());
    if (!state)
        return bad(u"state"_s);
    a.state = *state;
    a.source = json.value(u"source"_s).toString();
    a.message = json.value(u"message"_s).toString();
    const QJsonObject details = json.value(u"details"_s).toObject();
    a.metric = details.value(u"metric"_s).toString();
    a.value = details.value(u"value"_s).toDouble();
    a.threshold = details.value(u"threshold"_s).toDouble();
    a.firstSeenMs = qint64(json.value(u"first_seen_ms"_s).toDouble());
    a.lastSeenMs = qint64(json.value(u"last_seen_ms"_s).toDouble());
    // last < first is possible after a wall-clock step back: kept as stored.
    if (a.firstSeenMs <= 0)
        return bad(u"first_seen_ms"_s);
    a.count = qint64(json.value(u"count"_s).toDouble());
    a.resolvedAtMs = qint64(json.value(u"resolved_at_ms"_s).toDouble());
    a.acknowledged = json.value(u"acknowledged"_s).toBool();
    a.acknowledgedAtMs = qint64(json.value(u"acknowledged_at_ms"_s).toDouble());
    return a;
}

} // namespace opsdeck

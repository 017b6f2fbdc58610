#include "core/perf/loadtestconfig.h"

#include <QtCore/QJsonArray>

#include <cmath>

namespace opsdeck::perf {

QString toString(LoadComponentKind kind)
{
    switch (kind) {
    case LoadComponentKind::Cache:
        return QStringLiteral("cache");
    case LoadComponentKind::Http:
        return QStringLiteral("http");
    case LoadComponentKind::Execution:
        return QStringLiteral("execution");
    }
    return QStringLiteral("unknown");
}

std::optional<LoadComponentKind> loadComponentFromString(QStringView name)
{
    for (LoadComponentKind kind : allLoadComponents()) {
        if (name.trimmed().compare(toString(kind), Qt::CaseInsensitive) == 0)
            return kind;
    }
    return std::nullopt;
}

QList<LoadComponentKind> allLoadComponents()
{
    return {LoadComponentKind::Cache, LoadComponentKind::Http, LoadComponentKind::Execution};
}

namespace {

tl::unexpected<Error> invalid(const QString &message, const QString &key)
{
    return fail(QStringLiteral("invalid_load_config"), message, {{QStringLiteral("key"), key}});
}

} // namespace

Status LoadTestConfig::validate() const
{
    if (components.isEmpty())
        return invalid(
            QStringLiteral("No component selected: choose at least one of cache, http, execution."),
            QStringLiteral("components"));
    if (concurrency < 1 || concurrency > 10000)
        return invalid(
            QStringLiteral("Concurrency must be between 1 and 10000 (got %1).").arg(concurrency),
            QStringLiteral("concurrency"));
    if (!std::isfinite(durationSeconds) || durationSeconds <= 0)
        return invalid(QStringLiteral("Duration must be a positive number of seconds (got %1).")
                           .arg(durationSeconds),
                       QStringLiteral("duration"));
    if (!std::isfinite(rampUpSeconds) || rampUpSeconds < 0)
        return invalid(
            QStringLiteral("Ramp-up must be zero or a positive number of seconds (got %1).")
                .arg(rampUpSeconds),
            QStringLiteral("ramp_up"));
    if (rate && (!std::isfinite(*rate) || *rate <= 0 || *rate > 1e7))
        return invalid(
            QStringLiteral(
                "Rate must be a positive number of operations per second up to 1e7 (got %1).")
                .arg(*rate),
            QStringLiteral("rate"));
    if (!targetUrl.isEmpty()) {
        const QString scheme = targetUrl.scheme().toLower();
        if (!targetUrl.isValid() || (scheme != u"http" && scheme != u"https")
            || targetUrl.host().isEmpty())
            return invalid(
                QStringLiteral(
                    "Target URL must be an http:// or https:// URL with a host (got \"%1\").")
                    .arg(targetUrl.toString()),
                QStringLiteral("target_url"));
    }
    if (httpTimeoutMs < 1)
        return invalid(QStringLiteral("HTTP timeout must be at least 1 ms."),
                       QStringLiteral("http_timeout"));
    for (auto it = maxP99Ms.cbegin(); it != maxP99Ms.cend(); ++it) {
        if (!std::isfinite(it.value()) || it.value() <= 0)
            return invalid(
                QStringLiteral("The p99 threshold of %1 must be a positive number of milliseconds.")
                    .arg(toString(it.key())),
                QStringLiteral("max_p99_ms"));
    }
    if (maxErrorRate && (!std::isfinite(*maxErrorRate) || *maxErrorRate < 0 || *maxErrorRate > 1))
        return invalid(QStringLiteral("The error-rate threshold must be between 0 and 1 (got %1).")
                           .arg(*maxErrorRate),
                       QStringLiteral("max_error_rate"));
    return ok();
}

QJsonObject LoadTestConfig::toJson() const
{
    QJsonArray names;
    for (LoadComponentKind kind : components)
        names.append(toString(kind));
    QJsonObject thresholds;
    for (auto it = maxP99Ms.cbegin(); it != maxP99Ms.cend(); ++it)
        thresholds.insert(toString(it.key()), it.value());
    QJsonObject json{
        {QStringLiteral("components"), names},
        {QStringLiteral("model"),
         isOpenModel() ? QStringLiteral("open") : QStringLiteral("closed")},
        {QStringLiteral("concurrency"), concurrency},
        {QStringLiteral("duration_s"), durationSeconds},
        {QStringLiteral("ramp_up_s"), rampUpSeconds},
        {QStringLiteral("rate_per_s"), rate ? QJsonValue(*rate) : QJsonValue()},
        {QStringLiteral("seed"), QString::number(seed)},
        {QStringLiteral("target_url"),
         targetUrl.isEmpty() ? QJsonValue() : QJsonValue(targetUrl.toString())},
        {QStringLiteral("http_timeout_ms"), httpTimeoutMs},
        {QStringLiteral("http_client"),
         httpThroughPool ? QStringLiteral("pool") : QStringLiteral("direct")},
        {QStringLiteral("max_p99_ms"), thresholds},
        {QStringLiteral("max_error_rate"), maxErrorRate ? QJsonValue(*maxErrorRate) : QJsonValue()},
    };
    return json;
}

Result<QMap<LoadComponentKind, double>> parseComponentThresholds(const QString &text)
{
    QMap<LoadComponentKind, double> out;
    const QStringList parts = text.split(u',', Qt::SkipEmptyParts);
    if (parts.isEmpty())
        return fail(
            QStringLiteral("invalid_threshold"),
            QStringLiteral("Expected COMPONENT=MS[,COMPONENT=MS...], e.g. http=50,cache=0.5."));
    for (const QString &part : parts) {
        const qsizetype eq = part.indexOf(u'=');
        const auto kind
            = eq > 0 ? loadComponentFromString(QStringView(part).left(eq)) : std::nullopt;
        bool numeric = false;
        const double value = eq > 0 ? part.mid(eq + 1).trimmed().toDouble(&numeric) : 0.0;
        if (!kind)
            return fail(
                QStringLiteral("invalid_threshold"),
                QStringLiteral(
                    "\"%1\": expected COMPONENT=MS with COMPONENT one of cache, http, execution.")
                    .arg(part.trimmed()));
        if (!numeric || !std::isfinite(value) || value <= 0)
            return fail(
                QStringLiteral("invalid_threshold"),
                QStringLiteral("\"%1\": the threshold must be a positive number of milliseconds.")
                    .arg(part.trimmed()));
        if (out.contains(*kind))
            return fail(QStringLiteral("invalid_threshold"),
                        QStringLiteral("\"%1\" is given twice.").arg(toString(*kind)));
        out.insert(*kind, value);
    }
    return out;
}

} // namespace opsdeck::perf

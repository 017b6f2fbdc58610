#include "core/monitor/metricsjson.h"

#include <QtCore/QDateTime>
#include <QtCore/QTimeZone>

#include <algorithm>
#include <cmath>

namespace opsdeck::metricsjson {

namespace {

// Percentages and rates are reported with two decimals: more is noise, and it keeps JSON short.
double rounded(double value)
{
    if (!std::isfinite(value))
        return 0.0;
    return std::round(value * 100.0) / 100.0;
}

} // namespace

const QStringList &categories()
{
    static const QStringList names{QStringLiteral("system"), QStringLiteral("cache"),
                                   QStringLiteral("http"), QStringLiteral("execution")};
    return names;
}

QString isoTimestamp(qint64 epochMs)
{
    return QDateTime::fromMSecsSinceEpoch(epochMs, QTimeZone::utc())
        .toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss.zzz'Z'"));
}

QJsonObject systemSample(const SystemSample &sample)
{
    const ProcessStats &p = sample.process;
    const HostStats &s = sample.system;
    const QJsonObject process{
        {QStringLiteral("cpu_percent"), rounded(p.cpuPercent)},
        {QStringLiteral("cpu_seconds_total"), rounded(p.cpuSecondsTotal)},
        {QStringLiteral("memory_rss"), p.memoryRss},
        {QStringLiteral("memory_vms"), p.memoryVms},
        {QStringLiteral("memory_percent"), rounded(p.memoryPercent)},
        {QStringLiteral("threads"), p.threads},
        {QStringLiteral("open_fds"), p.openFds},
        {QStringLiteral("start_time"), isoTimestamp(p.startTimeMs)},
        {QStringLiteral("start_time_ms"), p.startTimeMs},
    };
    const QJsonObject system{
        {QStringLiteral("cpu_percent"), rounded(s.cpuPercent)},
        {QStringLiteral("cpu_count"), s.cpuCount},
        {QStringLiteral("memory_total"), s.memoryTotal},
        {QStringLiteral("memory_available"), s.memoryAvailable},
        {QStringLiteral("memory_percent"), rounded(s.memoryPercent)},
        {QStringLiteral("disk_total"), s.diskTotal},
        {QStringLiteral("disk_used"), s.diskUsed},
        {QStringLiteral("disk_free"), s.diskFree},
        {QStringLiteral("disk_percent"), rounded(s.diskPercent)},
    };
    return QJsonObject{
        {QStringLiteral("timestamp"), isoTimestamp(sample.timestampMs)},
        {QStringLiteral("timestamp_ms"), sample.timestampMs},
        {QStringLiteral("process"), process},
        {QStringLiteral("system"), system},
        // Flat fields old clients read: the host's view, as the old system reported them.
        {QStringLiteral("cpu_percent"), rounded(s.cpuPercent)},
        {QStringLiteral("memory_percent"), rounded(s.memoryPercent)},
        {QStringLiteral("disk_percent"), rounded(s.diskPercent)},
    };
}

QJsonObject errorSample(qint64 epochMs, const QString &message)
{
    return QJsonObject{{QStringLiteral("timestamp"), isoTimestamp(epochMs)},
                       {QStringLiteral("timestamp_ms"), epochMs},
                       {QStringLiteral("error"), message}};
}

QJsonArray categorySamples(const MetricsSnapshot &snapshot, const QString &category, int limit)
{
    QJsonArray out;
    limit = std::max(limit, 1);
    if (category == u"system") {
        const auto count = static_cast<qsizetype>(snapshot.system.size());
        const qsizetype first = std::max<qsizetype>(0, count - limit);
        for (qsizetype i = first; i < count; ++i)
            out.append(systemSample(snapshot.system[static_cast<size_t>(i)]));
        if (out.isEmpty()) {
            out.append(errorSample(snapshot.timestampMs,
                                   snapshot.systemError.isEmpty()
                                       ? QStringLiteral("No system sample collected yet")
                                       : snapshot.systemError));
        }
        return out;
    }
    // Components that are not part of this runtime yet answer like the old system did when a
    // component was missing: one sample holding the error.
    out.append(errorSample(snapshot.timestampMs,
                           QStringLiteral("No %1 metrics: the component is not running")
                               .arg(category)));
    return out;
}

QJsonObject metricsDocument(const MetricsSnapshot &snapshot, const QString &category, int limit,
                            qint64 nowMs)
{
    QJsonObject metrics;
    if (category.isEmpty()) {
        for (const QString &name : categories())
            metrics.insert(name, categorySamples(snapshot, name, limit));
    } else {
        metrics.insert(category, categorySamples(snapshot, category, limit));
    }
    return QJsonObject{{QStringLiteral("timestamp"), isoTimestamp(nowMs)},
                       {QStringLiteral("timestamp_ms"), nowMs},
                       {QStringLiteral("metrics"), metrics}};
}

QJsonObject errorDocument(const Error &error)
{
    QJsonObject inner{{QStringLiteral("code"), error.code},
                      {QStringLiteral("message"), error.message}};
    if (!error.details.isEmpty())
        inner.insert(QStringLiteral("details"), error.details);
    return QJsonObject{{QStringLiteral("error"), inner}};
}

} // namespace opsdeck::metricsjson

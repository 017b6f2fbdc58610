#include "api/prometheus.h"

#include "api/apiserver.h"
#include "core/monitor/metricsjson.h"
#include "core/monitor/performancemonitor.h"
#include "core/monitor/systemprobe.h"
#include "core/support/latencyhistogram.h"
#include "core/support/logging.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>

#include <algorithm>
#include <cmath>

namespace opsdeck::api {

namespace prometheus {

namespace {

QByteArray number(double value)
{
    if (std::isnan(value))
        return QByteArrayLiteral("NaN");
    if (std::isinf(value))
        return value > 0 ? QByteArrayLiteral("+Inf") : QByteArrayLiteral("-Inf");
    if (value == std::floor(value) && std::fabs(value) < 1e15)
        return QByteArray::number(qint64(value));
    return QByteArray::number(value, 'g', 15);
}

QString escapeHelp(const QString &help)
{
    QString out = help;
    out.replace(u'\\', QStringLiteral("\\\\"));
    out.replace(u'\n', QStringLiteral("\\n"));
    return out;
}

// Field names in samples that hold bytes without saying so (the old system's names).
const QSet<QString> &byteFields()
{
    static const QSet<QString> names{
        QStringLiteral("memory_rss"),   QStringLiteral("memory_vms"),
        QStringLiteral("memory_total"), QStringLiteral("memory_available"),
        QStringLiteral("disk_total"),   QStringLiteral("disk_used"),
        QStringLiteral("disk_free")};
    return names;
}

// "<name>_count" fields that are sizes, not cumulative counts.
const QSet<QString> &countGauges()
{
    static const QSet<QString> names{QStringLiteral("cpu_count")};
    return names;
}

// Top-level sample fields that count since start (the "interval" objects hold the deltas).
const QSet<QString> &cumulativeFields()
{
    static const QSet<QString> names{
        QStringLiteral("requests"),        QStringLiteral("errors"),
        QStringLiteral("attempts"),        QStringLiteral("retries"),
        QStringLiteral("completed"),       QStringLiteral("bytes_in"),
        QStringLiteral("bytes_out"),       QStringLiteral("hits"),
        QStringLiteral("misses"),          QStringLiteral("lookups"),
        QStringLiteral("loads"),           QStringLiteral("load_errors"),
        QStringLiteral("disk_errors"),     QStringLiteral("tasks_completed"),
        QStringLiteral("tasks_failed"),    QStringLiteral("tasks_submitted"),
        QStringLiteral("tasks_timed_out"), QStringLiteral("tasks_expired"),
        QStringLiteral("tasks_cancelled"), QStringLiteral("cycles_skipped"),
        QStringLiteral("predictions"),     QStringLiteral("prediction_hits")};
    return names;
}

// Fields in seconds whose names do not say so.
const QSet<QString> &secondsFields()
{
    static const QSet<QString> names{QStringLiteral("average_execution_time")};
    return names;
}

struct Converted
{
    QString name;
    TextWriter::Type type = TextWriter::Type::Gauge;
    double value = 0;
    QString unit;
};

// One sample field as a metric in base units, by the naming rules in docs/api.md.
Converted convert(const QString &path, const QString &field, double value, bool top)
{
    Converted c{path, TextWriter::Type::Gauge, value, QString()};
    const auto strip = [&c](QStringView suffix) {
        c.name.chop(suffix.size());
    };
    if (top && cumulativeFields().contains(field)) {
        c.name += QStringLiteral("_total");
        c.type = TextWriter::Type::Counter;
        if (field.startsWith(u"bytes_"))
            c.unit = QStringLiteral("bytes");
    } else if (secondsFields().contains(field)) {
        c.name += QStringLiteral("_seconds");
        c.unit = QStringLiteral("seconds");
    } else if (field.endsWith(u"_percent")) {
        strip(u"_percent");
        c.name += QStringLiteral("_ratio");
        c.value = value / 100.0;
        c.unit = QStringLiteral("ratio 0..1");
    } else if (field.endsWith(u"_rate")) {
        strip(u"_rate");
        c.name += QStringLiteral("_ratio");
        c.unit = QStringLiteral("ratio 0..1");
    } else if (field.endsWith(u"_time_ms")) {
        strip(u"_ms");
        c.name += QStringLiteral("_seconds");
        c.value = value / 1000.0;
        c.unit = QStringLiteral("seconds since the epoch");
    } else if (field.endsWith(u"_ms")) {
        strip(u"_ms");
        c.name += QStringLiteral("_seconds");
        c.value = value / 1000.0;
        c.unit = QStringLiteral("seconds");
    } else if (field.endsWith(u"_seconds_total")) {
        c.type = TextWriter::Type::Counter;
        c.unit = QStringLiteral("seconds");
    } else if (field.endsWith(u"_total") && !byteFields().contains(field)) {
        c.type = TextWriter::Type::Counter;
    } else if (field.endsWith(u"_count") && !countGauges().contains(field)) {
        strip(u"_count");
        c.name += QStringLiteral("_total");
        c.type = TextWriter::Type::Counter;
    } else if (byteFields().contains(field) || field.endsWith(u"_bytes")) {
        if (!field.endsWith(u"_bytes"))
            c.name += QStringLiteral("_bytes");
        c.unit = QStringLiteral("bytes");
    }
    return c;
}

void flatten(TextWriter &out,
             const QString &prefix,
             const QString &sourcePath,
             const QJsonObject &object,
             bool top)
{
    // The old system's flat fields repeat nested ones (cpu_percent = system.cpu_percent):
    // export each value once, under its nested name.
    QHash<QString, QJsonValue> nested;
    if (top) {
        for (auto it = object.begin(); it != object.end(); ++it) {
            const QJsonObject child = it.value().toObject();
            for (auto c = child.begin(); c != child.end(); ++c)
                nested.insert(c.key(), c.value());
        }
    }
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString &field = it.key();
        if (field == u"timestamp" || field == u"timestamp_ms" || field == u"error")
            continue;
        if (top && !it.value().isObject() && nested.value(field) == it.value())
            continue;
        const QString name = prefix + u'_' + sanitizeName(field);
        const QString source = sourcePath + u'.' + field;
        const QJsonValue value = it.value();
        if (value.isObject()) {
            flatten(out, name, source, value.toObject(), false);
        } else if (value.isDouble() || value.isBool()) {
            const double v = value.isBool() ? (value.toBool() ? 1.0 : 0.0) : value.toDouble();
            const Converted c = convert(name, field, v, top);
            const QString help
                = QStringLiteral("Latest %1 sample field %2%3")
                      .arg(sourcePath.section(u'.', 0, 0), source.section(u'.', 1),
                           c.unit.isEmpty() ? QString() : QStringLiteral(" (") + c.unit + u')');
            out.sample(c.name, c.type, help, c.value);
        }
        // Strings and arrays are not metrics.
    }
}

} // namespace

const QList<double> &latencyBounds()
{
    static const QList<double> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    return bounds;
}

PrometheusHistogram histogramFromSnapshot(const QString &name,
                                          const QString &help,
                                          const Labels &labels,
                                          const HistogramSnapshot &nanos)
{
    PrometheusHistogram h;
    h.name = name;
    h.help = help;
    h.labels = labels;
    for (const double bound : latencyBounds())
        h.cumulativeCounts.append(nanos.countAtOrBelow(qint64(std::llround(bound * 1e9))));
    h.count = nanos.count();
    h.sumSeconds = double(nanos.sum()) / 1e9;
    return h;
}

QString escapeLabelValue(const QString &value)
{
    QString out;
    out.reserve(value.size());
    for (const QChar c : value) {
        if (c == u'\\')
            out += QStringLiteral("\\\\");
        else if (c == u'"')
            out += QStringLiteral("\\\"");
        else if (c == u'\n')
            out += QStringLiteral("\\n");
        else
            out += c;
    }
    return out;
}

QString sanitizeName(const QString &name)
{
    QString out = name;
    for (qsizetype i = 0; i < out.size(); ++i) {
        const QChar c = out.at(i);
        const bool letter
            = (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || c == u'_' || c == u':';
        const bool digit = c >= u'0' && c <= u'9';
        if (!letter && !(digit && i > 0))
            out[i] = u'_';
    }
    return out.isEmpty() ? QStringLiteral("_") : out;
}

bool TextWriter::header(const QString &name, Type type, const QString &help)
{
    const auto it = m_types.constFind(name);
    if (it != m_types.constEnd())
        return *it == type;
    m_types.insert(name, type);
    static const char *const typeNames[] = {"gauge", "counter", "histogram"};
    m_text += "# HELP " + name.toUtf8() + ' ' + escapeHelp(help).toUtf8() + '\n';
    m_text += "# TYPE " + name.toUtf8() + ' ' + typeNames[int(type)] + '\n';
    return true;
}

QByteArray
TextWriter::formatLabels(const Labels &labels, const QString &extraName, const QString &extraValue)
{
    QStringList parts;
    for (const auto &[key, value] : labels)
        parts.append(sanitizeName(key) + QStringLiteral("=\"") + escapeLabelValue(value) + u'"');
    if (!extraName.isEmpty())
        parts.append(extraName + QStringLiteral("=\"") + escapeLabelValue(extraValue) + u'"');
    if (parts.isEmpty())
        return {};
    return '{' + parts.join(u',').toUtf8() + '}';
}

bool TextWriter::sample(
    const QString &name, Type type, const QString &help, double value, const Labels &labels)
{
    const QString clean = sanitizeName(name);
    const QByteArray series = clean.toUtf8() + formatLabels(labels);
    if (m_series.contains(series) || !header(clean, type, help))
        return false; // a series appears once; a name keeps its type
    m_series.insert(series);
    m_text += series + ' ' + number(value) + '\n';
    return true;
}

bool TextWriter::histogram(const PrometheusHistogram &h)
{
    const QList<double> &bounds = latencyBounds();
    if (h.cumulativeCounts.size() != bounds.size()) {
        qCWarning(lcApi, "Histogram %s has %lld buckets, not %lld: not exported",
                  qUtf8Printable(h.name), qlonglong(h.cumulativeCounts.size()),
                  qlonglong(bounds.size()));
        return false;
    }
    const QString clean = sanitizeName(h.name);
    const QByteArray series = clean.toUtf8() + formatLabels(h.labels);
    if (m_series.contains(series) || !header(clean, Type::Histogram, h.help))
        return false;
    m_series.insert(series);
    const QByteArray base = clean.toUtf8();
    quint64 running = 0; // cumulative counts never decrease, whatever the source did
    for (qsizetype i = 0; i < bounds.size(); ++i) {
        running = std::max(running, h.cumulativeCounts[i]);
        m_text += base + "_bucket"
                  + formatLabels(h.labels, QStringLiteral("le"),
                                 QString::fromLatin1(number(bounds[i])))
                  + ' ' + QByteArray::number(running) + '\n';
    }
    const quint64 total = std::max(running, h.count);
    m_text += base + "_bucket"
              + formatLabels(h.labels, QStringLiteral("le"), QStringLiteral("+Inf")) + ' '
              + QByteArray::number(total) + '\n';
    m_text += base + "_sum" + formatLabels(h.labels) + ' ' + number(h.sumSeconds) + '\n';
    m_text += base + "_count" + formatLabels(h.labels) + ' ' + QByteArray::number(total) + '\n';
    return true;
}

void writeSampleMetrics(TextWriter &out, const QString &category, const QJsonObject &sample)
{
    flatten(out, QStringLiteral("opsdeck_") + sanitizeName(category), category, sample, true);
}

void writeProcessMetrics(TextWriter &out, const ProcessStats &p)
{
    out.sample(QStringLiteral("process_cpu_seconds_total"), TextWriter::Type::Counter,
               QStringLiteral("Total user and system CPU time spent in seconds."),
               p.cpuSecondsTotal);
    out.sample(QStringLiteral("process_resident_memory_bytes"), TextWriter::Type::Gauge,
               QStringLiteral("Resident memory size in bytes."), double(p.memoryRss));
    out.sample(QStringLiteral("process_virtual_memory_bytes"), TextWriter::Type::Gauge,
               QStringLiteral("Virtual memory size in bytes."), double(p.memoryVms));
    out.sample(QStringLiteral("process_open_fds"), TextWriter::Type::Gauge,
               QStringLiteral("Number of open file descriptors."), p.openFds);
    out.sample(QStringLiteral("process_start_time_seconds"), TextWriter::Type::Gauge,
               QStringLiteral("Start time of the process since unix epoch in seconds."),
               double(p.startTimeMs) / 1000.0);
    out.sample(QStringLiteral("process_threads"), TextWriter::Type::Gauge,
               QStringLiteral("Number of OS threads in the process."), p.threads);
}

void writeSnapshotMetrics(TextWriter &out, const MetricsSnapshot *snapshot)
{
    out.sample(QStringLiteral("opsdeck_monitor_running"), TextWriter::Type::Gauge,
               QStringLiteral("1 while the performance monitor samples, else 0."),
               snapshot && snapshot->monitorRunning ? 1 : 0);
    if (!snapshot)
        return;
    out.sample(QStringLiteral("opsdeck_monitor_last_sample_timestamp_seconds"),
               TextWriter::Type::Gauge,
               QStringLiteral("Wall time of the latest monitor tick, seconds since the epoch."),
               double(snapshot->timestampMs) / 1000.0);
    // One family's samples stay together: every category's error flag first, then the fields.
    QList<QJsonObject> latest;
    for (const QString &category : metricsjson::categories()) {
        const QJsonArray samples = metricsjson::categorySamples(*snapshot, category, 1);
        latest.append(samples.isEmpty() ? QJsonObject() : samples.last().toObject());
        const bool failed
            = latest.last().isEmpty() || latest.last().contains(QStringLiteral("error"));
        out.sample(QStringLiteral("opsdeck_category_error"), TextWriter::Type::Gauge,
                   QStringLiteral("1 when the latest sample of the category holds an error."),
                   failed ? 1 : 0, {{QStringLiteral("category"), category}});
    }
    for (qsizetype i = 0; i < latest.size(); ++i) {
        const QString &category = metricsjson::categories().at(i);
        if (!latest[i].isEmpty() && !latest[i].contains(QStringLiteral("error")))
            writeSampleMetrics(out, category, latest[i]);
    }
}

} // namespace prometheus

HttpReply ApiServer::prometheusMetrics() const
{
    prometheus::TextWriter out;
    out.sample(QStringLiteral("opsdeck_build_info"), prometheus::TextWriter::Type::Gauge,
               QStringLiteral("Always 1; the version is in the label."), 1,
               {{QStringLiteral("version"), QStringLiteral(OPSDECK_VERSION_STRING)}});
    if (const Result<SystemSample> sample = m_processProbe->sample())
        prometheus::writeProcessMetrics(out, sample->process);
    else
        qCWarning(lcApi, "GET /metrics: %s", qUtf8Printable(sample.error().message));
    const SnapshotPtr snapshot = m_monitor.latestSnapshot();
    prometheus::writeSnapshotMetrics(out, snapshot.get());
    if (m_settings.prometheus.histograms) {
        QList<PrometheusHistogram> histograms = m_settings.prometheus.histograms();
        // A family's series must be contiguous in the text.
        std::stable_sort(histograms.begin(), histograms.end(),
                         [](const auto &a, const auto &b) { return a.name < b.name; });
        for (const PrometheusHistogram &histogram : histograms)
            out.histogram(histogram);
    }
    HttpReply reply;
    reply.contentType = QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8");
    reply.body = out.text();
    return reply;
}

} // namespace opsdeck::api

// Prometheus text exposition (format 0.0.4) for GET /metrics: a small writer with HELP/TYPE
// lines and escaped labels, the fixed latency `le` bounds, the conversion of a LatencyHistogram
// snapshot (nanoseconds) into cumulative buckets, and the flattening of the latest snapshot's
// samples into opsdeck_* metrics in base units. Pure functions and a plain value; any thread.
#pragma once

#include "api/apicontrols.h"
#include "core/monitor/metricssnapshot.h"
#include "core/monitor/systemsample.h"

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QSet>
#include <QtCore/QString>

#include <optional>

namespace opsdeck {
class HistogramSnapshot;
}

namespace opsdeck::api::prometheus {

using Labels = QList<QPair<QString, QString>>;

// The fixed histogram bounds in seconds: 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5
// 1 2.5 5 10 (then +Inf). Documented in docs/api.md; changing them is an API change.
const QList<double> &latencyBounds();

// Cumulative counts at latencyBounds() from a histogram of nanoseconds. A bucket counts every
// record at or below its bound plus those sharing the bound's histogram bucket (within the
// histogram's 0.1 % precision).
PrometheusHistogram histogramFromSnapshot(const QString &name,
                                          const QString &help,
                                          const Labels &labels,
                                          const HistogramSnapshot &nanos);

// Label values: backslash, double quote and line feed escaped.
QString escapeLabelValue(const QString &value);
// [a-zA-Z_:][a-zA-Z0-9_:]*: every other character becomes '_'.
QString sanitizeName(const QString &name);

class TextWriter
{
public:
    enum class Type { Gauge, Counter, Histogram };

    // One sample; HELP and TYPE are written before the first sample of each name. Names that
    // were already written under another type are refused (false).
    bool sample(const QString &name,
                Type type,
                const QString &help,
                double value,
                const Labels &labels = {});
    bool histogram(const PrometheusHistogram &histogram);
    const QByteArray &text() const { return m_text; }

private:
    bool header(const QString &name, Type type, const QString &help);
    static QByteArray formatLabels(const Labels &labels,
                                   const QString &extraName = {},
                                   const QString &extraValue = {});

    QByteArray m_text;
    QHash<QString, Type> m_types;
    QSet<QByteArray> m_series;
};

// opsdeck_<category>_* metrics from one sample's JSON (metricsjson shape), by the naming and
// unit rules of docs/api.md.
void writeSampleMetrics(TextWriter &out, const QString &category, const QJsonObject &sample);
// process_* metrics of one /proc/self sample.
void writeProcessMetrics(TextWriter &out, const ProcessStats &process);
// opsdeck_* metrics from the latest sample of every category (see docs/api.md for the naming
// and unit rules), plus opsdeck_monitor_running, opsdeck_monitor_last_sample_timestamp_seconds
// and opsdeck_category_error{category}.
void writeSnapshotMetrics(TextWriter &out, const MetricsSnapshot *snapshot);

} // namespace opsdeck::api::prometheus

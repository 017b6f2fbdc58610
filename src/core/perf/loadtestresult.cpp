#include "core/perf/loadtestresult.h"

#include <QtCore/QJsonArray>

#include <algorithm>
#include <cmath>

namespace opsdeck::perf {

namespace {

double ms(qint64 ns)
{
    return double(ns) / 1e6;
}

double round6(double v)
{
    return std::round(v * 1e6) / 1e6;
}

QJsonObject errorsJson(const std::array<quint64, kLoadErrorKindCount> &byKind)
{
    QJsonObject out;
    for (int i = 1; i < kLoadErrorKindCount; ++i)
        out.insert(toString(LoadErrorKind(i)), double(byKind[size_t(i)]));
    return out;
}

QJsonObject latencyFiguresJson(const HistogramSnapshot &ns)
{
    QJsonObject o = responseTimesJson(ns);
    o.insert(QStringLiteral("p50"), round6(ms(ns.valueAtPercentile(50))));
    o.insert(QStringLiteral("p90"), round6(ms(ns.valueAtPercentile(90))));
    o.insert(QStringLiteral("p999"), round6(ms(ns.valueAtPercentile(99.9))));
    o.insert(QStringLiteral("p9999"), round6(ms(ns.valueAtPercentile(99.99))));
    o.insert(QStringLiteral("count"), double(ns.count()));
    return o;
}

QJsonObject componentJson(const ComponentFigures &f)
{
    QJsonObject o;
    o.insert(QStringLiteral("operations"), double(f.operations));
    o.insert(QStringLiteral("completed_in_window"), double(f.completedInWindow));
    o.insert(QStringLiteral("operations_per_second"), round6(f.operationsPerSecond()));
    o.insert(QStringLiteral("response_times"), responseTimesJson(f.corrected));
    o.insert(QStringLiteral("error_rate"), round6(f.errorRate()));
    QJsonObject counts;
    for (qsizetype i = 0; i < f.operationNames.size() && i < f.operationCounts.size(); ++i)
        counts.insert(f.operationNames[i], double(f.operationCounts[i]));
    o.insert(QStringLiteral("operation_counts"), counts);
    switch (f.kind) {
    case LoadComponentKind::Cache:
        o.insert(QStringLiteral("hit_rate"), round6(f.hitRate()));
        o.insert(QStringLiteral("cache_hits"), double(f.cacheHits));
        o.insert(QStringLiteral("cache_misses"), double(f.cacheMisses));
        break;
    case LoadComponentKind::Http: {
        QJsonObject codes;
        for (auto it = f.statusCodes.cbegin(); it != f.statusCodes.cend(); ++it)
            codes.insert(it.key() == 0 ? QStringLiteral("none") : QString::number(it.key()),
                         double(it.value()));
        o.insert(QStringLiteral("status_codes"), codes);
        break;
    }
    case LoadComponentKind::Execution:
        o.insert(QStringLiteral("task_priorities"), counts);
        break;
    }
    o.insert(QStringLiteral("errors"), errorsJson(f.errorsByKind));
    o.insert(QStringLiteral("latency"),
             QJsonObject{{QStringLiteral("corrected"), latencyFiguresJson(f.corrected)},
                         {QStringLiteral("uncorrected"), latencyFiguresJson(f.uncorrected)},
                         {QStringLiteral("max_schedule_lag_ms"), round6(ms(f.maxScheduleLagNs))}});
    o.insert(QStringLiteral("histogram"), histogramJson(f.corrected));
    o.insert(QStringLiteral("uncorrected_histogram"), histogramJson(f.uncorrected));
    o.insert(QStringLiteral("ramp_up"),
             QJsonObject{{QStringLiteral("operations"), double(f.rampUpOperations)},
                         {QStringLiteral("errors"), double(f.rampUpErrors)},
                         {QStringLiteral("response_times"), responseTimesJson(f.rampUpCorrected)},
                         {QStringLiteral("uncorrected_response_times"),
                          responseTimesJson(f.rampUpUncorrected)}});
    QJsonArray timeline;
    for (const TimelineSecond &s : f.timeline) {
        timeline.append(QJsonObject{{QStringLiteral("second"), s.second},
                                    {QStringLiteral("operations"), double(s.operations)},
                                    {QStringLiteral("errors"), double(s.errors)},
                                    {QStringLiteral("p50_ms"), round6(ms(s.p50Ns))},
                                    {QStringLiteral("p99_ms"), round6(ms(s.p99Ns))},
                                    {QStringLiteral("max_ms"), round6(ms(s.maxNs))}});
    }
    o.insert(QStringLiteral("timeline"), timeline);
    for (auto it = f.extra.begin(); it != f.extra.end(); ++it)
        o.insert(it.key(), it.value());
    return o;
}

QString pad(const QString &s, int width, bool right = true)
{
    return right ? s.rightJustified(width) : s.leftJustified(width);
}

QString num(double v, int decimals = 3)
{
    return QString::number(v, 'f', decimals);
}

} // namespace

QJsonObject responseTimesJson(const HistogramSnapshot &ns)
{
    return QJsonObject{{QStringLiteral("min"), round6(ms(ns.min()))},
                       {QStringLiteral("max"), round6(ms(ns.max()))},
                       {QStringLiteral("avg"), round6(ns.mean() / 1e6)},
                       {QStringLiteral("median"), round6(ms(ns.valueAtPercentile(50)))},
                       {QStringLiteral("p95"), round6(ms(ns.valueAtPercentile(95)))},
                       {QStringLiteral("p99"), round6(ms(ns.valueAtPercentile(99)))}};
}

QJsonObject histogramJson(const HistogramSnapshot &ns)
{
    QJsonObject percentiles;
    for (double p : {50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0})
        percentiles.insert(QString::number(p), double(ns.valueAtPercentile(p)));
    QJsonArray buckets;
    ns.forEachNonEmptyBucket([&](const HistogramSnapshot::Bucket &b) {
        buckets.append(QJsonObject{{QStringLiteral("lowest_ns"), double(b.lowest)},
                                   {QStringLiteral("highest_ns"), double(b.highest)},
                                   {QStringLiteral("count"), double(b.count)}});
    });
    return QJsonObject{{QStringLiteral("unit"), QStringLiteral("ns")},
                       {QStringLiteral("significant_digits"),
                        ns.layout().isValid() ? ns.layout().significantDigits() : 3},
                       {QStringLiteral("count"), double(ns.count())},
                       {QStringLiteral("min_ns"), double(ns.min())},
                       {QStringLiteral("max_ns"), double(ns.max())},
                       {QStringLiteral("percentiles"), percentiles},
                       {QStringLiteral("buckets"), buckets}};
}

HistogramSnapshot mergedCorrected(const LoadTestRun &run)
{
    HistogramSnapshot merged;
    for (const ComponentFigures &f : run.components)
        merged.merge(f.corrected);
    return merged;
}

QList<ThresholdCheck> checkThresholds(const LoadTestRun &run)
{
    QList<ThresholdCheck> checks;
    for (auto it = run.config.maxP99Ms.cbegin(); it != run.config.maxP99Ms.cend(); ++it) {
        ThresholdCheck c;
        c.component = toString(it.key());
        c.figure = QStringLiteral("p99_ms");
        c.limit = it.value();
        if (const ComponentFigures *f = run.component(it.key())) {
            c.value = ms(f->corrected.valueAtPercentile(99));
            c.passed = c.value <= c.limit;
        } else {
            c.missing = true;
        }
        checks.append(c);
    }
    if (run.config.maxErrorRate) {
        for (const ComponentFigures &f : run.components) {
            ThresholdCheck c;
            c.component = toString(f.kind);
            c.figure = QStringLiteral("error_rate");
            c.limit = *run.config.maxErrorRate;
            c.value = f.errorRate();
            c.passed = c.value <= c.limit;
            checks.append(c);
        }
    }
    return checks;
}

bool thresholdsPassed(const QList<ThresholdCheck> &checks)
{
    return std::all_of(checks.cbegin(), checks.cend(),
                       [](const ThresholdCheck &c) { return c.passed; });
}

QJsonObject loadTestResultJson(const LoadTestRun &run,
                               RunInfo info,
                               const QList<ThresholdCheck> &checks,
                               const std::optional<BaselineReport> &baseline)
{
    QJsonObject root;
    root.insert(QStringLiteral("schema_version"), kLoadTestSchemaVersion);
    info.startMs = run.startWallMs;
    info.endMs = run.endWallMs;
    info.writeInto(root); // start_time, end_time, *_ms, opsdeck_version, run{...}

    quint64 total = 0, errors = 0, inWindow = 0, rampOps = 0, rampErrors = 0;
    std::array<quint64, kLoadErrorKindCount> byKind{};
    HistogramSnapshot rampMerged, uncorrectedMerged;
    QJsonObject components;
    for (const ComponentFigures &f : run.components) {
        total += f.operations;
        errors += f.errors;
        inWindow += f.completedInWindow;
        rampOps += f.rampUpOperations;
        rampErrors += f.rampUpErrors;
        for (int i = 0; i < kLoadErrorKindCount; ++i)
            byKind[size_t(i)] += f.errorsByKind[size_t(i)];
        rampMerged.merge(f.rampUpCorrected);
        uncorrectedMerged.merge(f.uncorrected);
        components.insert(toString(f.kind), componentJson(f));
    }
    const HistogramSnapshot merged = mergedCorrected(run);
    root.insert(QStringLiteral("duration"), run.measuredSeconds);
    root.insert(QStringLiteral("total_operations"), double(total));
    root.insert(QStringLiteral("operations_per_second"),
                round6(run.measuredSeconds > 0 ? double(inWindow) / run.measuredSeconds : 0.0));
    root.insert(QStringLiteral("response_times"), responseTimesJson(merged));
    root.insert(
        QStringLiteral("response_times_note"),
        QStringLiteral("mixed: every component's operations in one distribution (kept for the "
                       "old tool's readers); use component_results.<component> instead"));
    root.insert(QStringLiteral("error_rate"),
                round6(total == 0 ? 0.0 : double(errors) / double(total)));
    root.insert(QStringLiteral("component_results"), components);

    root.insert(QStringLiteral("model"),
                run.config.isOpenModel() ? QStringLiteral("open") : QStringLiteral("closed"));
    root.insert(QStringLiteral("cancelled"), run.cancelled);
    root.insert(QStringLiteral("config"), run.config.toJson());
    root.insert(QStringLiteral("ramp_up"),
                QJsonObject{{QStringLiteral("duration_s"), run.rampUpSeconds},
                            {QStringLiteral("shape"), run.config.isOpenModel()
                                                          ? QStringLiteral("linear_rate")
                                                          : QStringLiteral("linear_workers")},
                            {QStringLiteral("operations"), double(rampOps)},
                            {QStringLiteral("errors"), double(rampErrors)},
                            {QStringLiteral("response_times"), responseTimesJson(rampMerged)}});
    root.insert(
        QStringLiteral("latency"),
        QJsonObject{{QStringLiteral("corrected"), responseTimesJson(merged)},
                    {QStringLiteral("uncorrected"), responseTimesJson(uncorrectedMerged)},
                    {QStringLiteral("note"),
                     QStringLiteral("corrected: from the intended start (open model: the "
                                    "schedule; closed: the actual start); uncorrected: from "
                                    "the actual start")}});
    root.insert(QStringLiteral("errors"), errorsJson(byKind));

    // The per-second timeline of every component side by side.
    size_t seconds = 0;
    for (const ComponentFigures &f : run.components)
        seconds = std::max(seconds, f.timeline.size());
    QJsonArray timeline;
    for (size_t s = 0; s < seconds; ++s) {
        quint64 ops = 0, errs = 0;
        QJsonObject per;
        for (const ComponentFigures &f : run.components) {
            if (s >= f.timeline.size())
                continue;
            const TimelineSecond &t = f.timeline[s];
            ops += t.operations;
            errs += t.errors;
            per.insert(toString(f.kind),
                       QJsonObject{{QStringLiteral("operations"), double(t.operations)},
                                   {QStringLiteral("errors"), double(t.errors)},
                                   {QStringLiteral("p50_ms"), round6(ms(t.p50Ns))},
                                   {QStringLiteral("p99_ms"), round6(ms(t.p99Ns))},
                                   {QStringLiteral("max_ms"), round6(ms(t.maxNs))}});
        }
        timeline.append(QJsonObject{{QStringLiteral("second"), int(s)},
                                    {QStringLiteral("operations"), double(ops)},
                                    {QStringLiteral("errors"), double(errs)},
                                    {QStringLiteral("components"), per}});
    }
    root.insert(QStringLiteral("timeline"), timeline);

    QJsonArray checkArray;
    for (const ThresholdCheck &c : checks) {
        checkArray.append(QJsonObject{
            {QStringLiteral("component"), c.component},
            {QStringLiteral("figure"), c.figure},
            {QStringLiteral("limit"), c.limit},
            {QStringLiteral("value"), c.missing ? QJsonValue() : QJsonValue(round6(c.value))},
            {QStringLiteral("passed"), c.passed}});
    }
    root.insert(QStringLiteral("thresholds"),
                QJsonObject{{QStringLiteral("passed"), thresholdsPassed(checks)},
                            {QStringLiteral("checks"), checkArray}});
    root.insert(QStringLiteral("baseline"),
                baseline ? QJsonValue(baseline->toJson()) : QJsonValue());
    return root;
}

QList<BaselineFigure> loadTestBaselineFigures(const LoadTestRun &run)
{
    QList<BaselineFigure> figures;
    for (const ComponentFigures &f : run.components) {
        const QString c = toString(f.kind);
        const QString base = QStringLiteral("component_results");
        figures.append(BaselineFigure::higher({base, c, QStringLiteral("operations_per_second")}));
        figures.append(BaselineFigure::lower(
            {base, c, QStringLiteral("response_times"), QStringLiteral("median")}));
        figures.append(BaselineFigure::lower(
            {base, c, QStringLiteral("response_times"), QStringLiteral("p99")}));
    }
    return figures;
}

QString loadTestSummaryTable(const LoadTestRun &run, const QList<ThresholdCheck> &checks)
{
    QStringList lines;
    const LoadTestConfig &c = run.config;
    lines << QStringLiteral("OpsDeck load test: %1 model%2, %3 worker(s) per component, %4 s "
                            "measured after a %5 s ramp-up, seed %6%7")
                 .arg(c.isOpenModel() ? QStringLiteral("open") : QStringLiteral("closed"),
                      c.rate ? QStringLiteral(" at %1 ops/s per component").arg(*c.rate)
                             : QString())
                 .arg(c.concurrency)
                 .arg(num(run.measuredSeconds, 1), num(run.rampUpSeconds, 1))
                 .arg(c.seed)
                 .arg(run.cancelled ? QStringLiteral(" (CANCELLED)") : QString());
    lines << QStringLiteral("latency in ms; corrected from the intended start%1")
                 .arg(c.isOpenModel() ? QStringLiteral(", uncorrected from the actual start")
                                      : QStringLiteral(" (closed model: the same as uncorrected)"));
    const QString header = pad(QStringLiteral("component"), 12, false)
                           + pad(QStringLiteral("ops"), 10) + pad(QStringLiteral("ops/s"), 11)
                           + pad(QStringLiteral("p50"), 10) + pad(QStringLiteral("p95"), 10)
                           + pad(QStringLiteral("p99"), 10) + pad(QStringLiteral("max"), 10)
                           + pad(QStringLiteral("p99 uncorr"), 12)
                           + pad(QStringLiteral("errors"), 8) + pad(QStringLiteral("err %"), 8)
                           + QStringLiteral("  extra");
    lines << header << QString(header.size(), u'-');
    auto row = [&](const QString &name, quint64 ops, double opsPerSecond,
                   const HistogramSnapshot &h, const HistogramSnapshot &u, quint64 errors,
                   const QString &extra) {
        lines << pad(name, 12, false) + pad(QString::number(ops), 10)
                     + pad(num(opsPerSecond, 1), 11) + pad(num(ms(h.valueAtPercentile(50))), 10)
                     + pad(num(ms(h.valueAtPercentile(95))), 10)
                     + pad(num(ms(h.valueAtPercentile(99))), 10) + pad(num(ms(h.max())), 10)
                     + pad(num(ms(u.valueAtPercentile(99))), 12) + pad(QString::number(errors), 8)
                     + pad(num(ops == 0 ? 0.0 : 100.0 * double(errors) / double(ops), 2), 8)
                     + QStringLiteral("  ") + extra;
    };
    quint64 total = 0, errors = 0, inWindow = 0;
    HistogramSnapshot uncorrected;
    std::array<quint64, kLoadErrorKindCount> byKind{};
    for (const ComponentFigures &f : run.components) {
        QString extra;
        if (f.kind == LoadComponentKind::Cache)
            extra = QStringLiteral("hit rate %1 %").arg(num(100.0 * f.hitRate(), 1));
        if (f.kind == LoadComponentKind::Http) {
            QStringList codes;
            for (auto it = f.statusCodes.cbegin(); it != f.statusCodes.cend(); ++it)
                codes << QStringLiteral("%1:%2")
                             .arg(it.key() == 0 ? QStringLiteral("none")
                                                : QString::number(it.key()))
                             .arg(it.value());
            extra = codes.join(u' ');
        }
        if (f.kind == LoadComponentKind::Execution) {
            QStringList parts;
            for (qsizetype i = 0; i < f.operationNames.size() && i < f.operationCounts.size(); ++i)
                parts << QStringLiteral("%1:%2").arg(f.operationNames[i]).arg(f.operationCounts[i]);
            extra = parts.join(u' ');
        }
        row(toString(f.kind), f.operations, f.operationsPerSecond(), f.corrected, f.uncorrected,
            f.errors, extra);
        total += f.operations;
        errors += f.errors;
        inWindow += f.completedInWindow;
        uncorrected.merge(f.uncorrected);
        for (int i = 0; i < kLoadErrorKindCount; ++i)
            byKind[size_t(i)] += f.errorsByKind[size_t(i)];
    }
    if (run.components.size() > 1)
        row(QStringLiteral("all (mixed)"), total,
            run.measuredSeconds > 0 ? double(inWindow) / run.measuredSeconds : 0,
            mergedCorrected(run), uncorrected, errors, QString());
    QStringList kinds;
    for (int i = 1; i < kLoadErrorKindCount; ++i)
        kinds << QStringLiteral("%1 %2").arg(toString(LoadErrorKind(i))).arg(byKind[size_t(i)]);
    lines << QStringLiteral("errors by kind: ") + kinds.join(QStringLiteral(", "));
    for (const ComponentFigures &f : run.components) {
        lines << QStringLiteral("ramp-up %1: %2 ops, p99 %3 ms")
                     .arg(toString(f.kind))
                     .arg(f.rampUpOperations)
                     .arg(num(ms(f.rampUpCorrected.valueAtPercentile(99))));
    }
    for (const ThresholdCheck &t : checks) {
        lines << QStringLiteral("threshold %1 %2 <= %3: %4")
                     .arg(t.component, t.figure, QString::number(t.limit),
                          t.missing
                              ? QStringLiteral("not run")
                              : QStringLiteral("%1 (%2)").arg(QString::number(t.value, 'g', 4),
                                                              t.passed ? QStringLiteral("ok")
                                                                       : QStringLiteral("FAILED")));
    }
    return lines.join(u'\n') + u'\n';
}

QList<QStringList> loadTestSummaryRows(const LoadTestRun &run)
{
    QList<QStringList> rows;
    rows << QStringList{QStringLiteral("component"),
                        QStringLiteral("operations"),
                        QStringLiteral("operations_per_second"),
                        QStringLiteral("min_ms"),
                        QStringLiteral("avg_ms"),
                        QStringLiteral("median_ms"),
                        QStringLiteral("p95_ms"),
                        QStringLiteral("p99_ms"),
                        QStringLiteral("max_ms"),
                        QStringLiteral("uncorrected_p99_ms"),
                        QStringLiteral("error_rate"),
                        QStringLiteral("errors_timeout"),
                        QStringLiteral("errors_connect"),
                        QStringLiteral("errors_http_status"),
                        QStringLiteral("errors_rate_limited"),
                        QStringLiteral("errors_other"),
                        QStringLiteral("ramp_up_operations"),
                        QStringLiteral("hit_rate")};
    for (const ComponentFigures &f : run.components) {
        const HistogramSnapshot &h = f.corrected;
        QStringList r{toString(f.kind),
                      QString::number(f.operations),
                      num(f.operationsPerSecond(), 3),
                      num(ms(h.min()), 6),
                      num(h.mean() / 1e6, 6),
                      num(ms(h.valueAtPercentile(50)), 6),
                      num(ms(h.valueAtPercentile(95)), 6),
                      num(ms(h.valueAtPercentile(99)), 6),
                      num(ms(h.max()), 6),
                      num(ms(f.uncorrected.valueAtPercentile(99)), 6),
                      num(f.errorRate(), 6)};
        for (int i = 1; i < kLoadErrorKindCount; ++i)
            r << QString::number(f.errorsByKind[size_t(i)]);
        r << QString::number(f.rampUpOperations);
        r << (f.kind == LoadComponentKind::Cache ? num(f.hitRate(), 6) : QString());
        rows << r;
    }
    return rows;
}

QList<QStringList> loadTestTimelineRows(const LoadTestRun &run)
{
    QList<QStringList> rows;
    rows << QStringList{QStringLiteral("second"),     QStringLiteral("component"),
                        QStringLiteral("operations"), QStringLiteral("errors"),
                        QStringLiteral("p50_ms"),     QStringLiteral("p99_ms"),
                        QStringLiteral("max_ms")};
    size_t seconds = 0;
    for (const ComponentFigures &f : run.components)
        seconds = std::max(seconds, f.timeline.size());
    for (size_t s = 0; s < seconds; ++s) {
        for (const ComponentFigures &f : run.components) {
            if (s >= f.timeline.size())
                continue;
            const TimelineSecond &t = f.timeline[s];
            rows << QStringList{
                QString::number(t.second), toString(f.kind),    QString::number(t.operations),
                QString::number(t.errors), num(ms(t.p50Ns), 6), num(ms(t.p99Ns), 6),
                num(ms(t.maxNs), 6)};
        }
    }
    return rows;
}

} // namespace opsdeck::perf

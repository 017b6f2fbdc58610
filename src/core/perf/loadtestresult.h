// What a finished load test becomes: the result file's JSON (docs/schemas/load_test.schema.json:
// the old tool's fields plus schema_version, run info, config, per-component histograms, ramp-up
// figures, corrected and uncorrected latencies, errors by kind, a per-second timeline), the
// summary table for stdout, CSV rows, threshold checks and the figures a baseline comparison
// uses. Pure functions of a LoadTestRun; any thread.
//
//     const QList<ThresholdCheck> checks = checkThresholds(run);
//     QJsonObject json = loadTestResultJson(run, runInfo, checks, baselineReport);
#pragma once

#include "core/perf/loadtestrunner.h"
#include "core/perf/runinfo.h"
#include "core/support/latencyhistogram.h"

#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

namespace opsdeck::perf {

inline constexpr int kLoadTestSchemaVersion = 1;

struct ThresholdCheck
{
    QString component; // "cache", "http", "execution"
    QString figure;    // "p99_ms" (corrected) or "error_rate"
    double limit = 0;
    double value = 0;
    bool passed = true;
    bool missing = false; // the component did not run (not a failure)
};

// One check per --max-p99-ms entry and, with --max-error-rate, one per component that ran.
QList<ThresholdCheck> checkThresholds(const LoadTestRun &run);
bool thresholdsPassed(const QList<ThresholdCheck> &checks);

// The old tool's {min, max, avg, median, p95, p99} in milliseconds.
QJsonObject responseTimesJson(const HistogramSnapshot &ns);
// {"unit": "ns", "significant_digits", "count", "percentiles": {"50": ns, ...},
//  "buckets": [{"lowest_ns", "highest_ns", "count"}]}.
QJsonObject histogramJson(const HistogramSnapshot &ns);
// Every component's corrected histogram merged: the old top-level response_times (mixed).
HistogramSnapshot mergedCorrected(const LoadTestRun &run);

QJsonObject loadTestResultJson(const LoadTestRun &run,
                               RunInfo info,
                               const QList<ThresholdCheck> &checks,
                               const std::optional<BaselineReport> &baseline = std::nullopt);

// Per component that ran: operations_per_second (higher is better) and the corrected median
// and p99 (lower is better), by their paths in the result file.
QList<BaselineFigure> loadTestBaselineFigures(const LoadTestRun &run);

// The human summary (stdout): one row per component and a mixed total, errors, thresholds.
QString loadTestSummaryTable(const LoadTestRun &run, const QList<ThresholdCheck> &checks);

// CSV rows (header first): the summary per component, and the timeline per (second, component).
QList<QStringList> loadTestSummaryRows(const LoadTestRun &run);
QList<QStringList> loadTestTimelineRows(const LoadTestRun &run);

} // namespace opsdeck::perf

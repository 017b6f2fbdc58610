// LoadTestConfig: what one load test runs (components, workers, model, durations, seed, target,
// thresholds), as a plain value shared by opsdeck-loadtest and the GUI wizard. validate() gives
// the error the CLI turns into exit 2; toJson() is the result file's "config" object.
//
//     perf::LoadTestConfig config;              // the old tool's defaults: 10 workers, 60 s, 5 s
//     config.rate = 500;                        // open model: 500 operations/s per component
//     if (Status s = config.validate(); !s) ... // before the run
#pragma once

#include "core/support/result.h"

#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QMap>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QUrl>

#include <optional>

namespace opsdeck::perf {

enum class LoadComponentKind { Cache = 0, Http = 1, Execution = 2 };
inline constexpr int kLoadComponentCount = 3;

QString toString(LoadComponentKind kind); // "cache", "http", "execution"
std::optional<LoadComponentKind> loadComponentFromString(QStringView name); // any case
QList<LoadComponentKind> allLoadComponents();

struct LoadTestConfig
{
    QList<LoadComponentKind> components = allLoadComponents();
    int concurrency = 10;          // workers per component (each: at most one operation at a time)
    double durationSeconds = 60.0; // the measured window, after the ramp-up
    double rampUpSeconds = 5.0;    // linear: workers (closed model) or rate (open model) 0 -> full
    // Open model: intended starts at this many operations per second, per component. Unset: the
    // closed model (every worker issues its next operation when the previous one ends).
    std::optional<double> rate;
    quint64 seed = 1;           // operation mix and keys are a function of (seed, op index)
    QUrl targetUrl;             // http component: empty = the embedded simulator
    int httpTimeoutMs = 10'000; // per request (no retries: every failure is counted)
    // The http component's client: "direct" (LoadHttpClient, lean keep-alive sockets: measures
    // the server) or "pool" (OpsDeck's HttpPool on QNAM, as the agents use it: measures both).
    bool httpThroughPool = false;
    QMap<LoadComponentKind, double> maxP99Ms; // thresholds on the corrected p99
    std::optional<double> maxErrorRate;       // 0..1, every component

    bool isOpenModel() const { return rate.has_value(); }
    bool runs(LoadComponentKind kind) const { return components.contains(kind); }

    // "invalid_load_config" with a sentence: no component, concurrency < 1, duration <= 0,
    // ramp-up < 0, rate <= 0, a bad target URL scheme, thresholds out of range.
    Status validate() const;
    QJsonObject toJson() const;
};

// "http=50,cache=0.5" -> {Http: 50, Cache: 0.5}. "invalid_threshold" naming the bad part.
Result<QMap<LoadComponentKind, double>> parseComponentThresholds(const QString &text);

} // namespace opsdeck::perf

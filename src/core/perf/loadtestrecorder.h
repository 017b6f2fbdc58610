// LoadRecorder: what one component's operations measured. Thread-safe: any number of worker and
// completion threads call record() at once (lock-free histograms and counters; a mutex only when
// a timeline second closes). Every operation is recorded twice: from its intended start (the
// coordinated-omission-corrected latency) and from its actual start (uncorrected); in the closed
// model both are the same. Operations intended before the measured window (the ramp-up) go to
// separate ramp-up figures; the timeline has one entry per second of completions in the window.
#pragma once

#include "core/perf/loadtestcomponent.h"
#include "core/support/clock.h"
#include "core/support/latencyhistogram.h"

#include <QtCore/QList>
#include <QtCore/QMap>
#include <QtCore/QStringList>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace opsdeck::perf {

struct TimelineSecond
{
    int second = 0;         // 0 = the first second of the measured window
    quint64 operations = 0; // completed in that second
    quint64 errors = 0;
    qint64 p50Ns = 0; // corrected latency of those operations
    qint64 p99Ns = 0;
    qint64 maxNs = 0;
};

// A snapshot of one component's figures (plain value).
struct ComponentFigures
{
    LoadComponentKind kind = LoadComponentKind::Cache;
    QStringList operationNames;
    quint64 operations = 0;        // measured window (intended in it; some may complete after it)
    quint64 completedInWindow = 0; // of those, completed before the window's end
    quint64 errors = 0;
    std::array<quint64, kLoadErrorKindCount> errorsByKind{};
    QList<quint64> operationCounts; // by operation index
    QMap<int, quint64> statusCodes; // http: status -> count (0 = no answer)
    quint64 cacheHits = 0;
    quint64 cacheMisses = 0;
    HistogramSnapshot corrected;   // ns, from the intended start
    HistogramSnapshot uncorrected; // ns, from the actual start
    quint64 rampUpOperations = 0;
    quint64 rampUpErrors = 0;
    HistogramSnapshot rampUpCorrected;
    HistogramSnapshot rampUpUncorrected;
    qint64 maxScheduleLagNs
        = 0; // open model: the latest an operation started after its intended time
    std::vector<TimelineSecond> timeline;
    double measuredSeconds = 0.0; // the window the rates are over
    QJsonObject extra;            // LoadComponent::extraResults()

    // Throughput: completions inside the window over its length (the old tool's figure was
    // 1000 / mean latency; this one is measured).
    double operationsPerSecond() const
    {
        return measuredSeconds > 0 ? double(completedInWindow) / measuredSeconds : 0.0;
    }
    double errorRate() const { return operations == 0 ? 0.0 : double(errors) / double(operations); }
    double hitRate() const
    {
        const quint64 n = cacheHits + cacheMisses;
        return n == 0 ? 0.0 : double(cacheHits) / double(n);
    }
};

class LoadRecorder
{
public:
    LoadRecorder(LoadComponentKind kind, QStringList operationNames);
    Q_DISABLE_COPY_MOVE(LoadRecorder)

    // Before any record(): the measured window starts at `measureStart` and lasts `measured`.
    void setWindow(Clock::MonoTime measureStart, Clock::Duration measured);

    void record(const OpTicket &ticket,
                Clock::MonoTime actualStart,
                Clock::MonoTime end,
                const OpOutcome &outcome);

    // Live totals (measured window and ramp-up together) for progress lines.
    quint64 completed() const { return m_completed.load(std::memory_order_relaxed); }
    quint64 failed() const { return m_failedTotal.load(std::memory_order_relaxed); }
    // The corrected p99 of the last closed timeline second (0 before the first).
    qint64 lastSecondP99Ns() const { return m_lastSecondP99.load(std::memory_order_relaxed); }

    // Closes the timeline and copies everything; call after the last record().
    ComponentFigures finish(double measuredSeconds);

private:
    void advanceTimeline(int second);

    const LoadComponentKind m_kind;
    const QStringList m_operationNames;
    Clock::MonoTime m_measureStart{};
    Clock::Duration m_measured{};

    LatencyHistogram m_corrected;
    LatencyHistogram m_uncorrected;
    LatencyHistogram m_rampCorrected;
    LatencyHistogram m_rampUncorrected;

    std::atomic<quint64> m_completed{0};
    std::atomic<quint64> m_failedTotal{0};
    std::atomic<quint64> m_operations{0};
    std::atomic<quint64> m_completedInWindow{0};
    std::atomic<qint64> m_lastSecondP99{0};
    std::atomic<quint64> m_errors{0};
    std::array<std::atomic<quint64>, kLoadErrorKindCount> m_errorsByKind{};
    std::vector<std::unique_ptr<std::atomic<quint64>>> m_operationCounts;
    std::array<std::atomic<quint64>, 600> m_status{};
    std::atomic<quint64> m_hits{0};
    std::atomic<quint64> m_misses{0};
    std::atomic<quint64> m_rampOperations{0};
    std::atomic<quint64> m_rampErrors{0};
    std::atomic<qint64> m_maxLag{0};

    std::mutex m_timelineMutex;
    std::atomic<int> m_timelineSecond{0}; // the second being filled
    quint64 m_errorsAtSecondStart = 0;    // guarded by m_timelineMutex
    std::vector<TimelineSecond> m_timeline;
};

} // namespace opsdeck::perf

#include "core/perf/loadtestrecorder.h"

#include <algorithm>
#include <cmath>

namespace opsdeck::perf {

namespace {
// A timeline never grows past this many seconds beyond the window (a stuck drain).
constexpr int kTimelineSlackSeconds = 120;

void atomicMax(std::atomic<qint64> &target, qint64 value)
{
    qint64 current = target.load(std::memory_order_relaxed);
    while (value > current
           && !target.compare_exchange_weak(current, value, std::memory_order_relaxed)) {
    }
}
} // namespace

LoadRecorder::LoadRecorder(LoadComponentKind kind, QStringList operationNames)
    : m_kind(kind)
    , m_operationNames(std::move(operationNames))
{
    for (qsizetype i = 0; i < m_operationNames.size(); ++i)
        m_operationCounts.push_back(std::make_unique<std::atomic<quint64>>(0));
}

void LoadRecorder::setWindow(Clock::MonoTime measureStart, Clock::Duration measured)
{
    m_measureStart = measureStart;
    m_measured = measured;
}

void LoadRecorder::record(const OpTicket &ticket,
                          Clock::MonoTime actualStart,
                          Clock::MonoTime end,
                          const OpOutcome &outcome)
{
    const qint64 corrected = std::max<qint64>(0, (end - ticket.intendedStart).count());
    const qint64 uncorrected = std::max<qint64>(0, (end - actualStart).count());
    const bool failed = outcome.error != LoadErrorKind::None;
    m_completed.fetch_add(1, std::memory_order_relaxed);
    if (failed)
        m_failedTotal.fetch_add(1, std::memory_order_relaxed);

    if (ticket.intendedStart < m_measureStart) {
        m_rampCorrected.record(corrected);
        m_rampUncorrected.record(uncorrected);
        m_rampOperations.fetch_add(1, std::memory_order_relaxed);
        if (failed)
            m_rampErrors.fetch_add(1, std::memory_order_relaxed);
        return;
    }

    // Close the timeline's earlier seconds before this completion is counted in its own.
    // Second n holds completions in (n, n + 1] s after the window's start, so a window of D
    // seconds has exactly D entries when nothing completes after its end.
    const qint64 sinceStart = (end - m_measureStart).count();
    const int second
        = int(std::min<qint64>(std::max<qint64>(0, sinceStart - 1) / 1'000'000'000,
                               m_measured.count() / 1'000'000'000 + kTimelineSlackSeconds));
    if (second > m_timelineSecond.load(std::memory_order_acquire))
        advanceTimeline(second);

    atomicMax(m_maxLag, (actualStart - ticket.intendedStart).count());
    m_corrected.record(corrected);
    m_uncorrected.record(uncorrected);
    if (end <= m_measureStart + m_measured)
        m_completedInWindow.fetch_add(1, std::memory_order_relaxed);
    if (failed) {
        m_errors.fetch_add(1, std::memory_order_relaxed);
        m_errorsByKind[size_t(outcome.error)].fetch_add(1, std::memory_order_relaxed);
    }
    if (outcome.operation >= 0 && size_t(outcome.operation) < m_operationCounts.size())
        m_operationCounts[size_t(outcome.operation)]->fetch_add(1, std::memory_order_relaxed);
    if (m_kind == LoadComponentKind::Http)
        m_status[size_t(std::clamp(outcome.httpStatus, 0, 599))].fetch_add(
            1, std::memory_order_relaxed);
    if (outcome.cacheLookup > 0)
        m_hits.fetch_add(1, std::memory_order_relaxed);
    else if (outcome.cacheLookup < 0)
        m_misses.fetch_add(1, std::memory_order_relaxed);
    // Counted last: a progress reader never sees more operations than histogram records.
    m_operations.fetch_add(1, std::memory_order_release);
}

void LoadRecorder::advanceTimeline(int second)
{
    std::lock_guard lock(m_timelineMutex);
    int current = m_timelineSecond.load(std::memory_order_relaxed);
    while (current < second) {
        const HistogramSnapshot delta = m_corrected.deltaSnapshot();
        const quint64 errors = m_errors.load(std::memory_order_relaxed);
        TimelineSecond entry;
        entry.second = current;
        entry.operations = delta.count();
        entry.errors = errors - std::min(errors, m_errorsAtSecondStart);
        entry.p50Ns = delta.valueAtPercentile(50);
        entry.p99Ns = delta.valueAtPercentile(99);
        entry.maxNs = delta.max();
        m_errorsAtSecondStart = errors;
        if (entry.operations > 0)
            m_lastSecondP99.store(entry.p99Ns, std::memory_order_relaxed);
        m_timeline.push_back(entry);
        ++current;
        m_timelineSecond.store(current, std::memory_order_release);
    }
}

ComponentFigures LoadRecorder::finish(double measuredSeconds)
{
    // Close every second of the window, plus the one being filled when it holds completions
    // (operations of the window that ended after it: the drain).
    {
        int current = 0;
        quint64 delivered = 0;
        {
            std::lock_guard lock(m_timelineMutex);
            current = m_timelineSecond.load();
            for (const TimelineSecond &s : m_timeline)
                delivered += s.operations;
        }
        // The window as run: shorter than planned when cancelled.
        const int windowSeconds
            = int(std::ceil(std::min(measuredSeconds, double(m_measured.count()) / 1e9) - 1e-9));
        const bool pending = m_corrected.count() > delivered;
        advanceTimeline(std::max(windowSeconds, pending ? current + 1 : current));
    }
    ComponentFigures f;
    f.kind = m_kind;
    f.operationNames = m_operationNames;
    f.operations = m_operations.load();
    f.errors = m_errors.load();
    f.completedInWindow = m_completedInWindow.load();
    for (int i = 0; i < kLoadErrorKindCount; ++i)
        f.errorsByKind[size_t(i)] = m_errorsByKind[size_t(i)].load();
    for (const auto &count : m_operationCounts)
        f.operationCounts.append(count->load());
    if (m_kind == LoadComponentKind::Http) {
        for (int code = 0; code < 600; ++code) {
            if (const quint64 n = m_status[size_t(code)].load())
                f.statusCodes.insert(code, n);
        }
    }
    f.cacheHits = m_hits.load();
    f.cacheMisses = m_misses.load();
    f.corrected = m_corrected.snapshot();
    f.uncorrected = m_uncorrected.snapshot();
    f.rampUpOperations = m_rampOperations.load();
    f.rampUpErrors = m_rampErrors.load();
    f.rampUpCorrected = m_rampCorrected.snapshot();
    f.rampUpUncorrected = m_rampUncorrected.snapshot();
    f.maxScheduleLagNs = std::max<qint64>(0, m_maxLag.load());
    {
        std::lock_guard lock(m_timelineMutex);
        f.timeline = m_timeline;
    }
    f.measuredSeconds = measuredSeconds;
    return f;
}

} // namespace opsdeck::perf

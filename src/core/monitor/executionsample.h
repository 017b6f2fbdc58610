// ExecutionSample: one typed sample of the "execution" metrics category (the ExecutionEngine
// and its AdaptiveScheduler), as the PerformanceMonitor takes it each tick. A plain value; copy
// freely. Counters are cumulative since the engine started; `interval` holds what changed since
// the previous sample, with percentiles from the engine's per-interval (delta) histograms.
#pragma once

#include <QtCore/QString>
#include <QtCore/QtGlobal>

#include <array>
#include <memory>
#include <optional>
#include <vector>

namespace opsdeck {

// One (agent, task type) the adaptive scheduler keeps history for.
struct SchedulerKeySample
{
    QString agentId;
    QString taskType;
    int runs = 0;
    double meanDurationMs = 0;
    int timeouts = 0;
    int errors = 0;
    double reliability = 1;
    double lastInterval = 0; // seconds

    bool operator==(const SchedulerKeySample &) const = default;
};

// The adaptive scheduler's stats (the old system's execution.scheduler block).
struct SchedulerSample
{
    bool present = false; // false: the engine has no adaptive scheduler
    int trackedKeys = 0;
    quint64 decisions = 0;
    double minInterval = 0; // seconds
    double maxInterval = 0; // seconds
    double weightPerformance = 0;
    double weightMarket = 0;
    double weightSystem = 0;
    bool hasLoadSource = false;
    bool hasMarketSource = false;
    // Shared with the previous sample while unchanged (the ring keeps one copy per change).
    std::shared_ptr<const std::vector<SchedulerKeySample>> keys;

    const std::vector<SchedulerKeySample> &keyList() const
    {
        static const std::vector<SchedulerKeySample> none;
        return keys ? *keys : none;
    }
};

struct ExecutionInterval
{
    static constexpr int kPriorities = 5; // CRITICAL..IDLE, as TaskPriority

    double seconds = 0;    // monotonic time between the two samples
    quint64 finished = 0;  // task bodies that returned (any outcome): the run-time count
    quint64 started = 0;   // tasks that left the queue: the queue-wait count
    quint64 completed = 0;
    quint64 failed = 0;
    quint64 timedOut = 0;
    quint64 expired = 0;
    quint64 submitted = 0;
    // Milliseconds, all priorities merged (0 when nothing ran / started in the interval).
    double waitP50Ms = 0;
    double waitP99Ms = 0;
    double waitMaxMs = 0;
    double runP50Ms = 0;
    double runP99Ms = 0;
    double runMaxMs = 0;
    std::array<double, kPriorities> waitP99MsByPriority{};
    std::array<quint64, kPriorities> startedByPriority{};

    double tasksPerSecond() const { return seconds > 0 ? double(finished) / seconds : 0.0; }
};

struct ExecutionSample
{
    qint64 timestampMs = 0; // wall time, epoch milliseconds

    bool running = false;
    int maxConcurrentTasks = 0;
    int queuedTasks = 0; // delayed + due
    std::array<int, ExecutionInterval::kPriorities> queuedByPriority{};
    int delayedTasks = 0;
    int runningTasks = 0;
    int agentsTracked = 0;
    int agentsSeenTotal = 0;
    quint64 tasksSubmitted = 0;
    quint64 tasksCompleted = 0;
    quint64 tasksFailed = 0;
    quint64 tasksTimedOut = 0;
    quint64 tasksExpired = 0;
    quint64 tasksCancelled = 0;
    int tasksOverrunning = 0;
    quint64 cyclesSkipped = 0;
    double averageExecutionTime = 0; // seconds (the old unit)
    SchedulerSample scheduler;

    std::optional<ExecutionInterval> interval; // nullopt on the first sample after a gap
};

} // namespace opsdeck

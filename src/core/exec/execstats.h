// ExecStats: one consistent snapshot of the ExecutionEngine (ExecutionEngine::stats()). A plain
// value; toJson() uses the old system's snake_case names (the monitor's "execution" category).
#pragma once

#include "core/exec/tasktypes.h"
#include "core/support/latencyhistogram.h"
#include "core/support/taskpriority.h"

#include <QtCore/QJsonObject>
#include <QtCore/QList>

#include <array>

namespace opsdeck::exec {

struct ExecStats
{
    bool running = false;
    int maxConcurrentTasks = 0;
    int reservedCriticalSlots = 0;
    double taskTimeoutMultiplier = 0;
    int queuedTasks = 0;                                    // delayed + due, all priorities
    std::array<int, kTaskPriorityCount> queuedByPriority{}; // by submitted priority
    int delayedTasks = 0;                                   // of queuedTasks, not yet due
    int runningTasks = 0;                                   // running bodies (overrunning included)
    int agentsTracked = 0;   // agents with a scheduled or running task now
    int agentsSeenTotal = 0; // distinct agent ids ever submitted
    quint64 tasksSubmitted = 0;
    quint64 tasksCompleted = 0;
    quint64 tasksFailed = 0;
    quint64 tasksTimedOut = 0;
    quint64 tasksExpired = 0;
    quint64 tasksCancelled = 0;
    int tasksOverrunning = 0; // now: past timeout + grace, slot still busy
    quint64 tasksOverrunTotal = 0;
    quint64 cyclesSkipped = 0;
    quint64 poolStarts
        = 0; // runnables handed to the QThreadPool (a worker picks most tasks itself)
    double averageExecutionTime = 0; // seconds, mean run time of every task that ran
    // Nanoseconds, by submitted priority; cumulative or since the previous delta (stats()).
    std::array<HistogramSnapshot, kTaskPriorityCount> queueWait;
    std::array<HistogramSnapshot, kTaskPriorityCount> runTime;
    QList<AgentCycleStats> agents;
    QJsonObject schedulerStats; // AdaptiveScheduler::stats(), empty without a scheduler

    // {"running","max_concurrent_tasks","reserved_critical_slots","task_timeout_multiplier",
    //  "queued_tasks","queued_by_priority":{"CRITICAL":n,...},"delayed_tasks","running_tasks",
    //  "agents_tracked","agents_seen_total","tasks_submitted","tasks_completed","tasks_failed",
    //  "tasks_timed_out","tasks_expired","tasks_cancelled","tasks_overrunning",
    //  "tasks_overrun_total","cycles_skipped","pool_starts","average_execution_time" (s),
    //  "queue_wait_ms":{"CRITICAL":{"count","p50","p99","max","mean"},...},"run_time_ms":{...},
    //  "agents":[AgentCycleStats...],"scheduler_stats":{...}}
    QJsonObject toJson() const;
};

// {"count","p50","p99","max","mean"} of a nanosecond snapshot, in milliseconds.
QJsonObject histogramSummaryMs(const HistogramSnapshot &snapshot);

} // namespace opsdeck::exec

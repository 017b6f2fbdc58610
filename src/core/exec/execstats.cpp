#include "core/exec/execstats.h"

#include <QtCore/QJsonArray>

namespace opsdeck::exec {

namespace {
double ms(qint64 ns)
{
    return double(ns) / 1e6;
}
} // namespace

QString toString(TaskState state)
{
    switch (state) {
    case TaskState::Delayed:
        return QStringLiteral("delayed");
    case TaskState::Queued:
        return QStringLiteral("queued");
    case TaskState::Running:
        return QStringLiteral("running");
    case TaskState::Completed:
        return QStringLiteral("completed");
    case TaskState::Failed:
        return QStringLiteral("failed");
    case TaskState::TimedOut:
        return QStringLiteral("timed_out");
    case TaskState::Cancelled:
        return QStringLiteral("cancelled");
    case TaskState::Expired:
        return QStringLiteral("expired");
    }
    return QStringLiteral("queued");
}

QJsonObject TaskInfo::toJson() const
{
    return {{QStringLiteral("id"), double(id)},
            {QStringLiteral("agent_id"), agentId},
            {QStringLiteral("task_type"), taskType},
            {QStringLiteral("priority"), toString(priority)},
            {QStringLiteral("state"), toString(state)},
            {QStringLiteral("overrunning"), overrunning},
            {QStringLiteral("timeout_ms"), ms(timeout.count())}};
}

QJsonObject AgentCycleStats::toJson() const
{
    return {{QStringLiteral("agent_id"), agentId},
            {QStringLiteral("priority"), toString(priority)},
            {QStringLiteral("interval"), intervalSeconds},
            {QStringLiteral("paused"), paused},
            {QStringLiteral("cycle_in_flight"), cycleInFlight},
            {QStringLiteral("cycles_started"), double(cyclesStarted)},
            {QStringLiteral("cycles_skipped"), double(cyclesSkipped)},
            {QStringLiteral("cycles_completed"), double(cyclesCompleted)},
            {QStringLiteral("cycles_failed"), double(cyclesFailed)},
            {QStringLiteral("cycles_timed_out"), double(cyclesTimedOut)},
            {QStringLiteral("drift_p50_ms"), driftP50Ms},
            {QStringLiteral("drift_p99_ms"), driftP99Ms},
            {QStringLiteral("drift_max_ms"), driftMaxMs},
            {QStringLiteral("duration_p50_ms"), durationP50Ms},
            {QStringLiteral("duration_p99_ms"), durationP99Ms},
            {QStringLiteral("duration_max_ms"), durationMaxMs}};
}

QJsonObject histogramSummaryMs(const HistogramSnapshot &snapshot)
{
    return {{QStringLiteral("count"), double(snapshot.count())},
            {QStringLiteral("p50"), ms(snapshot.valueAtPercentile(50))},
            {QStringLiteral("p99"), ms(snapshot.valueAtPercentile(99))},
            {QStringLiteral("max"), ms(snapshot.max())},
            {QStringLiteral("mean"), snapshot.mean() / 1e6}};
}

QJsonObject ExecStats::toJson() const
{
    QJsonObject byPriority;
    QJsonObject wait;
    QJsonObject run;
    for (TaskPriority p : kAllTaskPriorities) {
        const QString name = toString(p);
        byPriority.insert(name, queuedByPriority[size_t(toInt(p))]);
        wait.insert(name, histogramSummaryMs(queueWait[size_t(toInt(p))]));
        run.insert(name, histogramSummaryMs(runTime[size_t(toInt(p))]));
    }
    QJsonArray agentArray;
    for (const AgentCycleStats &a : agents)
        agentArray.append(a.toJson());
    return {{QStringLiteral("running"), running},
            {QStringLiteral("max_concurrent_tasks"), maxConcurrentTasks},
            {QStringLiteral("reserved_critical_slots"), reservedCriticalSlots},
            {QStringLiteral("task_timeout_multiplier"), taskTimeoutMultiplier},
            {QStringLiteral("queued_tasks"), queuedTasks},
            {QStringLiteral("queued_by_priority"), byPriority},
            {QStringLiteral("delayed_tasks"), delayedTasks},
            {QStringLiteral("running_tasks"), runningTasks},
            {QStringLiteral("agents_tracked"), agentsTracked},
            {QStringLiteral("agents_seen_total"), agentsSeenTotal},
            {QStringLiteral("tasks_submitted"), double(tasksSubmitted)},
            {QStringLiteral("tasks_completed"), double(tasksCompleted)},
            {QStringLiteral("tasks_failed"), double(tasksFailed)},
            {QStringLiteral("tasks_timed_out"), double(tasksTimedOut)},
            {QStringLiteral("tasks_expired"), double(tasksExpired)},
            {QStringLiteral("tasks_cancelled"), double(tasksCancelled)},
            {QStringLiteral("tasks_overrunning"), tasksOverrunning},
            {QStringLiteral("tasks_overrun_total"), double(tasksOverrunTotal)},
            {QStringLiteral("cycles_skipped"), double(cyclesSkipped)},
            {QStringLiteral("pool_starts"), double(poolStarts)},
            {QStringLiteral("average_execution_time"), averageExecutionTime},
            {QStringLiteral("queue_wait_ms"), wait},
            {QStringLiteral("run_time_ms"), run},
            {QStringLiteral("agents"), agentArray},
            {QStringLiteral("scheduler_stats"), schedulerStats}};
}

} // namespace opsdeck::exec

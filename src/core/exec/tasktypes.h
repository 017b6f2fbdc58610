// Task types of the ExecutionEngine: what a caller submits (TaskOptions + TaskWork), what a body
// sees (TaskContext), what it gets back (TaskHandle), and what list/stop report (TaskInfo,
// StopReport). Plain values; copy them across threads freely.
#pragma once

#include "core/exec/cancellationtoken.h"
#include "core/support/clock.h"
#include "core/support/result.h"
#include "core/support/taskpriority.h"

#include <QtCore/QFuture>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QList>
#include <QtCore/QString>

#include <chrono>
#include <functional>
#include <optional>

namespace opsdeck::exec {

using TaskId = quint64;

enum class TaskState {
    Delayed,   // waiting for its delay in the deadline heap
    Queued,    // due, in its priority's FIFO queue
    Running,   // on a pool thread
    Completed, // returned a value
    Failed,    // returned an error or threw
    TimedOut,  // ran past timeout × multiplier (the token fired)
    Cancelled, // cancel(id) or stop() before or while it ran
    Expired    // its queue deadline passed before it started: dropped, never run
};

// "delayed", "queued", "running", "completed", "failed", "timed_out", "cancelled", "expired".
QString toString(TaskState state);

struct TaskInfo
{
    TaskId id = 0;
    QString agentId;
    QString taskType;
    TaskPriority priority = TaskPriority::Normal;
    TaskState state = TaskState::Queued;
    bool overrunning = false; // ignored its token past the grace period (slot still busy)
    Clock::MonoTime submittedAt{};
    Clock::MonoTime startedAt{}; // 0 when not started
    Clock::Duration timeout{};   // effective (× multiplier)

    QJsonObject
    toJson() const; // {"id","agent_id","task_type","priority","state","overrunning",...}
};

// What a body gets. The token fires at `deadline` (timeout × multiplier), on cancel and on stop.
struct TaskContext
{
    TaskId id = 0;
    QString agentId;
    QString taskType;
    TaskPriority priority = TaskPriority::Normal;
    CancellationToken token;
    const Clock *clock = nullptr;
    Clock::MonoTime deadline{};
};

// A task body. Return a value or an Error; an exception is caught and recorded as a failure.
using TaskWork = std::function<Result<QJsonValue>(const TaskContext &)>;

struct TaskOptions
{
    Clock::Duration delay{0};                           // not due before submit + delay
    Clock::Duration timeout = std::chrono::seconds(60); // × task_timeout_multiplier
    std::optional<Clock::Duration> queueDeadline;       // from submission: dropped if not started
    std::function<void(const TaskInfo &)> onExpired;    // called once when dropped (any thread)
    // Called once with the task's final result (the value or the error the future gets), in the
    // thread that finishes it, just before the future finishes, outside the engine's lock. The
    // race-free alternative to QFuture::then() for callers that start the next task from the
    // completion: in Qt 6.4 a Sync continuation attached while the task finishes in a worker
    // crashed (opsdeck-loadtest's execution component, 1 run in 5).
    std::function<void(const Result<QJsonValue> &)> onFinished;
    std::optional<CancellationToken> token;             // share a caller's token (else a new one)
};

struct TaskHandle
{
    TaskId id = 0;
    CancellationToken token = CancellationToken::never();
    // Finishes with the body's value, or an Error: the body's, "task_exception", "timeout",
    // "cancelled", "expired" or "engine_stopped".
    QFuture<Result<QJsonValue>> result;
};

struct StopReport
{
    int cancelledQueued = 0;     // delayed or queued tasks dropped
    int cancelledRunning = 0;    // running tasks whose token stop() fired
    QList<TaskInfo> overrunning; // still running when stop() gave up waiting (at most 1 s)
    bool clean() const { return overrunning.isEmpty(); }
};

// How an agent's cycles are scheduled (scheduleAgentCycle).
struct AgentScheduleOptions
{
    // Default: the agent's config().interval. 0: back to back (the next cycle starts when the
    // previous one returns; not adaptive; cycle timeout 60 s unless given).
    std::optional<Clock::Duration> interval;
    std::optional<Clock::Duration> cycleTimeout; // default: min(interval, 60 s)
    bool adaptive = false;      // interval from the engine's AdaptiveScheduler (if one is set)
    bool runImmediately = true; // the first cycle is due at once (else after one interval)
};

struct AgentCycleStats
{
    QString agentId;
    TaskPriority priority = TaskPriority::Normal;
    double intervalSeconds = 0; // the current interval (adaptive or fixed)
    bool paused = false;
    bool cycleInFlight = false;
    quint64 cyclesStarted = 0;
    quint64 cyclesSkipped = 0; // due while the previous one still ran
    quint64 cyclesCompleted = 0;
    quint64 cyclesFailed = 0;
    quint64 cyclesTimedOut = 0;
    // Drift = actual start − scheduled start, in milliseconds.
    double driftP50Ms = 0;
    double driftP99Ms = 0;
    double driftMaxMs = 0;
    // Cycle run time (start to return), in milliseconds.
    double durationP50Ms = 0;
    double durationP99Ms = 0;
    double durationMaxMs = 0;

    QJsonObject toJson() const;
};

} // namespace opsdeck::exec

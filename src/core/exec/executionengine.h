// ExecutionEngine: runs one-off tasks and agents' periodic cycles by priority over its own
// QThreadPool ("exec-1".."exec-N", N = max_concurrent_tasks; never the global pool).
//
//     exec::ExecutionEngine engine(config.exec);             // Clock::system() by default
//     engine.setCycleServices(&cache, &httpPool);
//     engine.start();
//     auto handle = engine.scheduleTask("mm1", "stop_loss", work, TaskPriority::Critical);
//     handle->result.then(this, [](const Result<QJsonValue> &r) { ... });
//     engine.scheduleAgentCycle(agent, TaskPriority::Normal);   // periodic until agent->stop()
//     StopReport report = engine.stop();
//
// Threads and state: every piece of scheduling state sits behind one mutex. There is no
// dispatcher hop per task: the submitting thread starts a pool runnable when a slot is free, and
// a worker that finishes a task picks the next eligible one itself under the lock (one that
// finds none keeps its slot, yielding, for up to 20 µs, so a burst needs no thread wake-ups; it
// is not counted in running_tasks meanwhile). Task objects are recycled (blockpool.h). Time-driven
// work (delays, queue deadlines, timeouts, overrun grace, agent cycles) lives in ONE deadline heap
// served by ONE single-shot Qt::PreciseTimer in the "exec-timer" QThread; the timer is re-armed
// only when the heap's top moves earlier. Nothing polls.
//
// Rules: one FIFO queue per priority; lower value first; a waiting task's effective priority
// rises one level per aging_interval (ties: the longer-waiting task first). The cap
// (max_concurrent_tasks) counts busy slots, overrunning ones included, and is never exceeded;
// reserved_critical_slots of it take only tasks submitted as CRITICAL. Effective timeout =
// timeout × task_timeout_multiplier; then the token fires; a body still running `overrunGrace`
// later is counted overrunning until it returns.
//
// Time comes from the injected Clock. With a ManualClock, tests advance the clock and call
// processDueWork() to handle what is due "now" deterministically (the timer does the same on its
// own thread; both are safe together). Every public function is thread-safe.
// It is not the AgentRegistry: it runs agents it is handed, it does not create them.
#pragma once

#include "core/exec/adaptivescheduler.h"
#include "core/exec/agent.h"
#include "core/exec/execstats.h"
#include "core/exec/tasktypes.h"
#include "core/runtime/runtimeconfig.h"
#include "core/support/clock.h"
#include "core/support/executor.h"
#include "core/support/latencyhistogram.h"
#include "core/support/result.h"

#include <QtCore/QHash>
#include <QtCore/QPromise>
#include <QtCore/QSet>
#include <QtCore/QThreadPool>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

class QThread;
class QTimer;

namespace opsdeck::exec {

// A mutex that spins briefly before it blocks: the engine's critical sections are a few hundred
// nanoseconds, and on a 2-core machine sleeping on every contended lock costs a context switch.
class SpinThenBlockMutex
{
public:
    void lock()
    {
        for (int i = 0; i < 100; ++i) {
            if (m_mutex.try_lock())
                return;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        m_mutex.lock();
    }
    bool try_lock()
    {
        return m_mutex.try_lock();
    }
    void unlock()
    {
        m_mutex.unlock();
    }

private:
    std::mutex m_mutex;
};

struct EngineOptions
{
    // How long a body may ignore its fired timeout token before it counts as overrunning.
    Clock::Duration overrunGrace = std::chrono::seconds(2);
    QString threadNamePrefix = QStringLiteral("exec");
};

class ExecutionEngine final : public Executor
{
public:
    explicit ExecutionEngine(const ExecConfig &config = ExecConfig(),
                             const Clock &clock = Clock::system(),
                             EngineOptions options = EngineOptions());
    Q_DISABLE_COPY_MOVE(ExecutionEngine)
    // stop() if running, then waits for every body to return (a body that never returns blocks).
    ~ExecutionEngine() override;

    // Starts the timer thread; scheduling works from now on. Idempotent.
    Status start();
    // Drops delayed and queued tasks ("engine_stopped"), fires every running task's token,
    // forgets agent schedules, waits up to `wait` (real time) and reports what still runs.
    StopReport stop(std::chrono::milliseconds wait = std::chrono::seconds(1));
    bool isRunning() const;

    // Live: cap, multiplier (for tasks started from now on), reserved slots, aging interval.
    void applyConfig(const ExecConfig &config);
    void setMaxConcurrentTasks(int maxConcurrentTasks);
    ExecConfig config() const;

    // What agent cycles get in their CycleContext; set before scheduling agents. Not owned.
    void setCycleServices(cache::CacheManager *cache, http::HttpPool *pool);
    // Used by agents scheduled with adaptive = true, and fed with every task's outcome. Not owned;
    // must outlive the engine or be reset to null first. Its LoadSource/MarketConditionSource
    // are read with the engine's lock held: they must be quick and never call into the engine.
    void setAdaptiveScheduler(AdaptiveScheduler *scheduler);

    // The old system's schedule_task(agent_id, task_type, work, priority). Error
    // "engine_stopped" when the engine is not running, "invalid_argument" for an empty work.
    Result<TaskHandle> scheduleTask(const QString &agentId,
                                    const QString &taskType,
                                    TaskWork work,
                                    TaskPriority priority = TaskPriority::Normal,
                                    TaskOptions options = TaskOptions());
    // Executor: a fire-and-forget task (type "executor"), dropped with a warning when stopped.
    void post(TaskPriority priority, std::function<void()> work) override;

    // The old system's schedule_agent_cycle(agent, priority), but periodic: cycles run at the
    // interval while the agent is RUNNING; a cycle due while the previous one still runs is
    // skipped and counted; the schedule ends when the agent is STOPPED/ERROR or unscheduled.
    // Errors: "engine_stopped", "invalid_argument" (null agent, interval <= 0),
    // "already_scheduled".
    Status scheduleAgentCycle(std::shared_ptr<Agent> agent,
                              TaskPriority priority = TaskPriority::Normal,
                              AgentScheduleOptions options = AgentScheduleOptions());
    bool unscheduleAgent(const QString &agentId);
    bool pauseAgent(const QString &agentId);  // due cycles are not run (nor counted skipped)
    bool resumeAgent(const QString &agentId); // the next cycle is due at once
    std::optional<AgentCycleStats> agentCycleStats(const QString &agentId) const;

    // Delayed, queued and running tasks, by id.
    QList<TaskInfo> listTasks() const;
    std::optional<TaskInfo> taskInfo(TaskId id) const;
    // A delayed or queued task is dropped ("cancelled"); a running one gets its token fired and
    // frees its slot when it returns. False for an unknown or finished id.
    bool cancel(TaskId id);

    // Histograms cumulative since start-up.
    ExecStats stats() const;
    // Histograms since the previous takeStats() (one consumer: the monitor).
    ExecStats takeStats();
    // As takeStats() (they share the delta baselines: use one or the other), made cheap for the
    // monitor's tick: `agents` stays empty (agentCycleStats() has them), and a histogram with
    // nothing recorded since the previous call comes back as an empty, layout-less snapshot
    // without copying its counters.
    ExecStats takeIntervalStats();

    // Handles every heap entry due at clock.monotonic() now; returns how many. The timer thread
    // calls it; tests on a ManualClock call it after advancing the clock.
    int processDueWork();
    // Real-time wait until no task is queued (due) or running; delayed ones are not waited for.
    bool waitForIdle(std::chrono::milliseconds timeout);

private:
    struct TimerNode;
    struct Task;
    struct AgentEntry;
    struct Lane; // a pool thread kept for CRITICAL work (reserved_critical_slots of them)
    using TaskPtr = std::shared_ptr<Task>;
    using TaskPromise = QPromise<Result<QJsonValue>>;
    struct Completion; // promise + result/callback to finish outside the lock

    static TaskPtr makeTask(const QString &agentId,
                            const QString &taskType,
                            TaskPriority priority,
                            TaskOptions &options);
    Result<TaskId> submit(const TaskPtr &task, const TaskOptions &options);
    void submitLocked(const TaskPtr &task,
                      Clock::MonoTime now,
                      std::vector<TaskPtr> &starts,
                      std::vector<Completion> &done);
    void makeReadyLocked(const TaskPtr &task,
                         Clock::MonoTime readyAt,
                         Clock::MonoTime now,
                         std::vector<Completion> &done);
    TaskPtr pickLocked(Clock::MonoTime now, bool criticalOnly);
    bool criticalOnlyLocked() const { return m_nonCriticalRunning >= m_cap - m_reserved; }
    void startLocked(const TaskPtr &task, Clock::MonoTime now);
    void dispatchLocked(Clock::MonoTime now, std::vector<TaskPtr> &starts);
    void dropQueuedLocked(const TaskPtr &task,
                          TaskState state,
                          const Error &error,
                          std::vector<Completion> &done);
    void finishLocked(const TaskPtr &task, Result<QJsonValue> &result, Clock::MonoTime now);
    void handleAgentTickLocked(AgentEntry &entry,
                               Clock::MonoTime now,
                               std::vector<TaskPtr> &starts,
                               std::vector<Completion> &done);
    void releaseAgentLocked(const QString &agentId);
    void liveInsertLocked(const TaskPtr &task);
    void liveRemoveLocked(Task &task);
    TaskPtr liveFindLocked(TaskId id) const;
    QList<TaskPtr> liveTasksLocked() const;
    void retainAgentLocked(const QString &agentId);
    TaskInfo infoLocked(const Task &task) const;
    AgentCycleStats agentStatsLocked(const AgentEntry &entry) const;
    enum class StatsKind { Cumulative, Delta, Interval };
    ExecStats statsImpl(StatsKind kind) const;

    void runLoop(TaskPtr task, Lane *lane = nullptr);
    void laneLoop(Lane *lane);
    void adjustLanesLocked(); // as many lanes as reserved slots while running
    Result<QJsonValue> execute(const Task &task);
    void launch(std::vector<TaskPtr> &starts);
    static void complete(std::vector<Completion> &done);
    void nameWorkerThread(const QString &role);

    // The deadline heap (indexed binary min-heap on TimerNode::when).
    void heapPushLocked(TimerNode *node);
    void heapRemoveLocked(TimerNode *node);
    void heapSiftUp(int index);
    void heapSiftDown(int index);
    void armTimer(); // timer thread

    const Clock &m_clock;
    const EngineOptions m_options;

    mutable SpinThenBlockMutex m_mutex;
    std::condition_variable_any m_idle;
    bool m_running = false;
    int m_cap = 10;
    int m_reserved = 1;
    double m_multiplier = 1.2;
    Clock::Duration m_aging{};
    std::array<std::deque<TaskPtr>, kTaskPriorityCount> m_ready;
    std::array<int, kTaskPriorityCount> m_queued{}; // delayed + ready, by submitted priority
    std::atomic<int> m_readyCount{0}; // written under m_mutex; read by a spinning worker
    int m_delayedCount = 0;
    std::vector<TimerNode *> m_heap;
    // Delayed, queued and running tasks: an intrusive list (each live task owns itself through
    // Task::self until it leaves), so the hot path neither hashes nor allocates; by-id lookups
    // (cancel, taskInfo) scan it.
    Task *m_liveHead = nullptr;
    int m_liveCount = 0;
    int m_spinners = 0; // workers briefly waiting for new work before they give their slot back
    TaskId m_nextId = 1;
    int m_busy = 0;
    int m_nonCriticalRunning = 0; // running tasks not submitted as CRITICAL: at most cap - reserved
    int m_overrunning = 0;
    // The CRITICAL lanes: pool threads that wait on their own semaphore, so a CRITICAL task's
    // start is one futex wake by a thread holding no lock (QThreadPool wakes its threads under
    // its mutex, and on a busy CPU the woken thread then waits for the waker).
    std::vector<std::unique_ptr<Lane>> m_lanes;
    std::vector<Lane *> m_idleLanes;
    QHash<QString, int> m_agentRefs; // live tasks + schedules per agent id
    QSet<QString> m_agentsSeen;
    QHash<QString, std::shared_ptr<AgentEntry>> m_agents;
    quint64 m_submitted = 0, m_completed = 0, m_failed = 0, m_timedOut = 0, m_expired = 0,
            m_cancelled = 0, m_overrunTotal = 0, m_cyclesSkipped = 0;
    std::atomic<quint64> m_poolStarts{0};
    quint64 m_runCount = 0;
    double m_runSecondsSum = 0;
    Clock::MonoTime m_armedFor{};

    std::array<std::unique_ptr<LatencyHistogram>, kTaskPriorityCount> m_queueWait;
    std::array<std::unique_ptr<LatencyHistogram>, kTaskPriorityCount> m_runTime;
    // takeIntervalStats(): each histogram's count() at its last delta (one consumer).
    mutable std::mutex m_intervalMutex;
    mutable std::array<quint64, kTaskPriorityCount> m_queueWaitSeen{};
    mutable std::array<quint64, kTaskPriorityCount> m_runTimeSeen{};

    std::atomic<cache::CacheManager *> m_cache{nullptr};
    std::atomic<http::HttpPool *> m_httpPool{nullptr};
    std::atomic<AdaptiveScheduler *> m_scheduler{nullptr};
    std::atomic<int> m_threadSeq{0};

    std::unique_ptr<QThread> m_timerThread;
    QTimer *m_timer = nullptr; // lives in m_timerThread; guarded by m_mutex for re-arm posts

    QThreadPool m_pool; // last: destroyed first, waiting for bodies while the rest still exists
};

} // namespace opsdeck::exec

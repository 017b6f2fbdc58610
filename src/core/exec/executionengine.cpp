#include "core/exec/executionengine.h"

#include "core/exec/blockpool.h"
#include "core/exec/threadslice.h"

#include "core/support/logging.h"

#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <exception>
#include <limits>
#include <semaphore>
#include <thread>

#ifdef Q_OS_LINUX
#include <pthread.h>
#endif

namespace opsdeck::exec {

using namespace std::chrono_literals;
using MonoTime = Clock::MonoTime;
using Duration = Clock::Duration;

namespace {
constexpr MonoTime kNever = MonoTime::max();
// How long a worker that ran out of work keeps its slot, spinning, before it returns the thread
// to the pool (a burst's next task then starts without a thread wake-up).
constexpr auto kSpinBeforeRelease = std::chrono::microseconds(20);
const QString kCycleType = QStringLiteral("cycle");

Duration fromSeconds(double seconds)
{
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

double toSeconds(Duration d)
{
    return std::chrono::duration<double>(d).count();
}

Duration scaled(Duration d, double factor)
{
    const double ns = double(d.count()) * factor;
    if (ns >= double(std::numeric_limits<qint64>::max() / 4))
        return Duration(std::numeric_limits<qint64>::max() / 4);
    return Duration(qint64(ns));
}
} // namespace

struct ExecutionEngine::TimerNode
{
    MonoTime when{};
    int heapIndex = -1;
    bool isAgent = false;
};

struct ExecutionEngine::Task : TimerNode
{
    TaskId id = 0;
    QString agentId;
    QString taskType;
    TaskPriority priority = TaskPriority::Normal;
    TaskWork work;
    Duration timeout{}; // effective
    Duration delay{};
    std::optional<MonoTime> queueDeadlineAt;
    std::function<void(const TaskInfo &)> onExpired;
    std::function<void(const Result<QJsonValue> &)> onFinished;
    CancellationToken token = CancellationToken::never(); // a real one unless post()ed
    TaskState state = TaskState::Queued;
    MonoTime submittedAt{};
    MonoTime readyAt{};
    MonoTime startedAt{};
    bool timedOut = false;
    bool overrunning = false;
    CancelReason cancelReason = CancelReason::None;
    std::unique_ptr<TaskPromise> promise; // moved as a pointer: a QPromise is never moved
    std::shared_ptr<AgentEntry> agent;    // for cycles
    std::function<void()> plainWork;      // post(): run instead of `work`
    Lane *lane = nullptr;                 // set by dispatch when a CRITICAL lane takes the task
    TaskPtr self;                         // set while live (see m_liveHead)
    Task *livePrev = nullptr;
    Task *liveNext = nullptr;
};

struct ExecutionEngine::Lane
{
    std::binary_semaphore wake{0};
    TaskPtr pending;     // under m_mutex
    bool retire = false; // under m_mutex
};

struct ExecutionEngine::AgentEntry : TimerNode
{
    std::shared_ptr<Agent> agent;
    QString id;
    TaskPriority priority = TaskPriority::Normal;
    Duration baseInterval{};
    Duration interval{};
    std::optional<Duration> cycleTimeout;
    bool adaptive = false;
    bool paused = false;
    bool inFlight = false;
    bool removed = false;
    quint64 cycleNumber = 0;
    quint64 started = 0, skipped = 0, completed = 0, failed = 0, timedOut = 0;
    LatencyHistogram drift;
    LatencyHistogram duration; // every cycle's run time, whatever its outcome
};

struct ExecutionEngine::Completion
{
    std::unique_ptr<TaskPromise> promise;
    Result<QJsonValue> result;
    std::function<void(const TaskInfo &)> onExpired;
    std::function<void(const Result<QJsonValue> &)> onFinished;
    TaskInfo info;
};

ExecutionEngine::ExecutionEngine(const ExecConfig &config,
                                 const Clock &clock,
                                 EngineOptions options)
    : m_clock(clock)
    , m_options(std::move(options))
{
    for (int p = 0; p < kTaskPriorityCount; ++p) {
        m_queueWait[size_t(p)] = std::make_unique<LatencyHistogram>();
        m_runTime[size_t(p)] = std::make_unique<LatencyHistogram>();
    }
    m_pool.setObjectName(m_options.threadNamePrefix);
    applyConfig(config);
}

ExecutionEngine::~ExecutionEngine()
{
    stop();
    m_pool.waitForDone();
}

bool ExecutionEngine::isRunning() const
{
    std::lock_guard lock(m_mutex);
    return m_running;
}

Status ExecutionEngine::start()
{
    std::lock_guard lock(m_mutex);
    if (m_running)
        return ok();
    m_timerThread = std::make_unique<QThread>();
    m_timerThread->setObjectName(m_options.threadNamePrefix + QStringLiteral("-timer"));
    m_timer = new QTimer;
    m_timer->setTimerType(Qt::PreciseTimer);
    m_timer->setSingleShot(true);
    m_timer->moveToThread(m_timerThread.get());
    QObject::connect(m_timer, &QTimer::timeout, m_timer, [this] {
        processDueWork();
        armTimer();
    });
    m_timerThread->start();
    m_running = true;
    adjustLanesLocked();
    m_armedFor = kNever;
    if (!m_heap.empty()) {
        m_armedFor = m_heap.front()->when;
        QMetaObject::invokeMethod(
            m_timer, [this] { armTimer(); }, Qt::QueuedConnection);
    }
    return ok();
}

StopReport ExecutionEngine::stop(std::chrono::milliseconds wait)
{
    StopReport report;
    std::vector<Completion> done;
    std::unique_ptr<QThread> thread;
    QTimer *timer = nullptr;
    {
        std::unique_lock lock(m_mutex);
        if (!m_running)
            return report;
        m_running = false;
        const Error stopped{QStringLiteral("engine_stopped"),
                            QStringLiteral("The execution engine stopped before the task ran."),
                            {}};
        const QList<TaskPtr> tasks = liveTasksLocked();
        for (const TaskPtr &task : tasks) {
            if (task->state == TaskState::Delayed || task->state == TaskState::Queued) {
                task->token.cancel(CancelReason::EngineStopped);
                dropQueuedLocked(task, TaskState::Cancelled, stopped, done);
                ++report.cancelledQueued;
            } else if (task->state == TaskState::Running) {
                if (task->cancelReason == CancelReason::None)
                    task->cancelReason = CancelReason::EngineStopped;
                task->token.cancel(CancelReason::EngineStopped);
                ++report.cancelledRunning;
            }
        }
        for (auto &queue : m_ready)
            queue.clear();
        m_readyCount = 0;
        for (TimerNode *node : m_heap)
            node->heapIndex = -1;
        m_heap.clear();
        for (const auto &entry : std::as_const(m_agents)) {
            entry->removed = true;
            releaseAgentLocked(entry->id);
        }
        m_agents.clear();
        adjustLanesLocked(); // not running: every lane retires
        thread = std::move(m_timerThread);
        timer = m_timer;
        m_timer = nullptr;
        lock.unlock();
        complete(done);
        lock.lock();
        m_idle.wait_for(lock, wait, [this] { return m_busy == 0; });
        for (const TaskPtr &task : liveTasksLocked()) {
            if (task->state == TaskState::Running)
                report.overrunning.append(infoLocked(*task));
        }
    }
    if (thread) {
        QMetaObject::invokeMethod(
            timer, [timer] { timer->stop(); }, Qt::BlockingQueuedConnection);
        thread->quit();
        thread->wait();
        delete timer;
    }
    for (const TaskInfo &info : std::as_const(report.overrunning))
        qCWarning(lcExec).noquote() << QStringLiteral("task %1 (%2/%3) still running after stop")
                                           .arg(info.id)
                                           .arg(info.agentId, info.taskType);
    return report;
}

void ExecutionEngine::applyConfig(const ExecConfig &config)
{
    std::vector<TaskPtr> starts;
    {
        std::lock_guard lock(m_mutex);
        m_cap = std::max(1, config.maxConcurrentTasks);
        m_reserved = std::clamp(config.reservedCriticalSlots, 0, m_cap - 1);
        m_multiplier = config.taskTimeoutMultiplier > 0 ? config.taskTimeoutMultiplier : 1.0;
        m_aging = config.agingInterval > 0 ? fromSeconds(config.agingInterval) : Duration::zero();
        // Up to cap tasks run at once; the lanes are threads beyond that which wait for CRITICAL
        // work (a lane's task counts against the cap like any other).
        m_pool.setMaxThreadCount(m_cap + m_reserved);
        if (m_running) {
            adjustLanesLocked();
            dispatchLocked(m_clock.monotonic(), starts);
        }
    }
    launch(starts);
}

void ExecutionEngine::setMaxConcurrentTasks(int maxConcurrentTasks)
{
    ExecConfig c = config();
    c.maxConcurrentTasks = maxConcurrentTasks;
    applyConfig(c);
}

ExecConfig ExecutionEngine::config() const
{
    std::lock_guard lock(m_mutex);
    ExecConfig c;
    c.maxConcurrentTasks = m_cap;
    c.reservedCriticalSlots = m_reserved;
    c.taskTimeoutMultiplier = m_multiplier;
    c.agingInterval = toSeconds(m_aging);
    return c;
}

void ExecutionEngine::setCycleServices(cache::CacheManager *cache, http::HttpPool *pool)
{
    m_cache.store(cache);
    m_httpPool.store(pool);
}

void ExecutionEngine::setAdaptiveScheduler(AdaptiveScheduler *scheduler)
{
    m_scheduler.store(scheduler);
}

namespace {

// TaskOptions::onFinished, shielded: a throwing callback must not kill the worker.
void notifyFinished(const std::function<void(const Result<QJsonValue> &)> &callback,
                    const Result<QJsonValue> &result)
{
    if (!callback)
        return;
    try {
        callback(result);
    } catch (...) {
        qCWarning(lcExec) << "an onFinished callback threw";
    }
}

} // namespace

// ---- submission -------------------------------------------------------------------------------

Result<TaskHandle> ExecutionEngine::scheduleTask(const QString &agentId,
                                                 const QString &taskType,
                                                 TaskWork work,
                                                 TaskPriority priority,
                                                 TaskOptions options)
{
    if (!work)
        return fail(QStringLiteral("invalid_argument"), QStringLiteral("The task has no work."));
    TaskPtr task = makeTask(agentId, taskType, priority, options);
    task->work = std::move(work);
    task->token = options.token ? *options.token : CancellationToken();
    task->promise = std::make_unique<TaskPromise>();
    task->promise->start();
    QFuture<Result<QJsonValue>> future = task->promise->future(); // before a worker may take it
    CancellationToken token = task->token;
    const Result<TaskId> id = submit(task, options);
    if (!id) {
        task->promise->finish();
        return tl::unexpected(id.error());
    }
    return TaskHandle{*id, std::move(token), std::move(future)};
}

void ExecutionEngine::post(TaskPriority priority, std::function<void()> work)
{
    if (!work)
        return;
    // No future and no token (CancellationToken::never()): nothing here allocates but the task.
    static const QString executorType = QStringLiteral("executor");
    TaskOptions options;
    TaskPtr task = makeTask(QString(), executorType, priority, options);
    task->plainWork = std::move(work);
    const Result<TaskId> id = submit(task, options);
    if (!id)
        qCWarning(lcExec).noquote() << "post() dropped:" << id.error().message;
}

ExecutionEngine::TaskPtr ExecutionEngine::makeTask(const QString &agentId,
                                                   const QString &taskType,
                                                   TaskPriority priority,
                                                   TaskOptions &options)
{
    auto task = std::allocate_shared<Task>(detail::PoolAllocator<Task>());
    task->agentId = agentId;
    task->taskType = taskType;
    task->priority = priority;
    task->delay = std::max(Duration::zero(), options.delay);
    task->onExpired = std::move(options.onExpired);
    task->onFinished = std::move(options.onFinished);
    return task;
}

Result<TaskId> ExecutionEngine::submit(const TaskPtr &task, const TaskOptions &options)
{
    std::vector<TaskPtr> starts;
    std::vector<Completion> done;
    const MonoTime now = m_clock.monotonic();
    TaskId id = 0;
    {
        std::lock_guard lock(m_mutex);
        if (!m_running)
            return fail(QStringLiteral("engine_stopped"),
                        QStringLiteral("The execution engine is not running."));
        task->timeout = scaled(std::max(Duration::zero(), options.timeout), m_multiplier);
        if (options.queueDeadline)
            task->queueDeadlineAt = now + std::max(Duration::zero(), *options.queueDeadline);
        id = task->id = m_nextId++;
        submitLocked(task, now, starts, done);
    }
    launch(starts);
    complete(done);
    return id;
}

void ExecutionEngine::submitLocked(const TaskPtr &task,
                                   MonoTime now,
                                   std::vector<TaskPtr> &starts,
                                   std::vector<Completion> &done)
{
    task->submittedAt = now;
    ++m_submitted;
    liveInsertLocked(task);
    if (!task->agentId.isEmpty()) {
        m_agentsSeen.insert(task->agentId);
        retainAgentLocked(task->agentId);
    }
    ++m_queued[size_t(toInt(task->priority))];
    if (task->delay > Duration::zero()) {
        task->state = TaskState::Delayed;
        task->when = now + task->delay;
        ++m_delayedCount;
        heapPushLocked(task.get());
        return;
    }
    makeReadyLocked(task, task->agent ? task->readyAt : now, now, done);
    dispatchLocked(now, starts);
}

void ExecutionEngine::makeReadyLocked(const TaskPtr &task,
                                      MonoTime readyAt,
                                      MonoTime now,
                                      std::vector<Completion> &done)
{
    task->state = TaskState::Queued;
    task->readyAt = readyAt;
    if (task->queueDeadlineAt && *task->queueDeadlineAt <= now) {
        dropQueuedLocked(task, TaskState::Expired,
                         Error{QStringLiteral("expired"),
                               QStringLiteral("The task passed its queue deadline unstarted."),
                               {}},
                         done);
        return;
    }
    m_ready[size_t(toInt(task->priority))].push_back(task);
    ++m_readyCount;
    if (task->queueDeadlineAt) {
        task->when = *task->queueDeadlineAt;
        heapPushLocked(task.get());
    }
}

// Removes a delayed or queued task (the ready deque entry is skipped lazily).
void ExecutionEngine::dropQueuedLocked(const TaskPtr &task,
                                       TaskState state,
                                       const Error &error,
                                       std::vector<Completion> &done)
{
    if (task->state == TaskState::Delayed)
        --m_delayedCount;
    else
        --m_readyCount;
    --m_queued[size_t(toInt(task->priority))];
    heapRemoveLocked(task.get());
    task->state = state;
    if (state == TaskState::Expired)
        ++m_expired;
    else
        ++m_cancelled;
    Completion c;
    c.promise = std::move(task->promise);
    c.onFinished = std::move(task->onFinished);
    c.result = tl::unexpected(error);
    if (state == TaskState::Expired) {
        c.onExpired = std::move(task->onExpired);
        c.info = infoLocked(*task);
    }
    if (c.promise || c.onExpired || c.onFinished)
        done.push_back(std::move(c));
    if (task->agent)
        task->agent->inFlight = false;
    const QString agentId = task->agentId;
    liveRemoveLocked(*task);
    if (!agentId.isEmpty())
        releaseAgentLocked(agentId);
}

// ---- dispatch ---------------------------------------------------------------------------------

ExecutionEngine::TaskPtr ExecutionEngine::pickLocked(MonoTime now, bool criticalOnly)
{
    int best = -1;
    int bestLevel = kTaskPriorityCount;
    MonoTime bestReady = kNever;
    for (int p = 0; p < kTaskPriorityCount; ++p) {
        auto &queue = m_ready[size_t(p)];
        while (!queue.empty() && queue.front()->state != TaskState::Queued)
            queue.pop_front();
        if (queue.empty())
            continue;
        if (criticalOnly && p != toInt(TaskPriority::Critical))
            break;
        const Task &head = *queue.front();
        int level = p;
        if (m_aging > Duration::zero() && now > head.readyAt) {
            const qint64 steps = (now - head.readyAt) / m_aging;
            level = steps >= p ? 0 : p - int(steps);
        }
        if (level < bestLevel || (level == bestLevel && head.readyAt < bestReady)) {
            best = p;
            bestLevel = level;
            bestReady = head.readyAt;
        }
    }
    if (best < 0)
        return {};
    TaskPtr task = std::move(m_ready[size_t(best)].front());
    m_ready[size_t(best)].pop_front();
    return task;
}

void ExecutionEngine::startLocked(const TaskPtr &task, MonoTime now)
{
    heapRemoveLocked(task.get()); // its queue deadline
    --m_readyCount;
    --m_queued[size_t(toInt(task->priority))];
    task->state = TaskState::Running;
    task->startedAt = now;
    if (task->priority != TaskPriority::Critical)
        ++m_nonCriticalRunning;
    m_queueWait[size_t(toInt(task->priority))]->recordDuration(now - task->readyAt);
    if (task->agent) {
        ++task->agent->started;
        task->agent->drift.recordDuration(std::max(Duration::zero(), now - task->readyAt));
    }
    task->when = now + task->timeout;
    heapPushLocked(task.get());
}

void ExecutionEngine::dispatchLocked(MonoTime now, std::vector<TaskPtr> &starts)
{
    // CRITICAL work goes to a free lane at once, even when a spinning worker could take it: a
    // spinner yields its CPU, and on a busy core it may not run again before the next tick.
    while (m_running && m_busy < m_cap && !m_idleLanes.empty()
           && !m_ready[size_t(toInt(TaskPriority::Critical))].empty()) {
        TaskPtr task = pickLocked(now, true);
        if (!task)
            break;
        startLocked(task, now);
        ++m_busy;
        Lane *lane = m_idleLanes.back();
        m_idleLanes.pop_back();
        lane->pending = task;
        task->lane = lane;
        starts.push_back(std::move(task));
    }
    // A spinning worker takes the next ready task itself (it is already counted busy).
    while (m_running && m_busy < m_cap && m_readyCount > m_spinners) {
        TaskPtr task = pickLocked(now, criticalOnlyLocked());
        if (!task)
            break;
        startLocked(task, now);
        ++m_busy;
        starts.push_back(std::move(task));
    }
}

void ExecutionEngine::adjustLanesLocked()
{
    const int want = m_running ? m_reserved : 0;
    int live = 0;
    for (const auto &lane : m_lanes)
        live += lane->retire ? 0 : 1;
    for (; live < want; ++live) {
        auto lane = std::make_unique<Lane>();
        Lane *raw = lane.get();
        m_lanes.push_back(std::move(lane));
        m_idleLanes.push_back(raw);
        m_pool.start([this, raw] { laneLoop(raw); });
    }
    // Retire idle lanes first; a busy one retires when its task returns.
    for (auto it = m_idleLanes.begin(); live > want && it != m_idleLanes.end();) {
        (*it)->retire = true;
        (*it)->wake.release();
        it = m_idleLanes.erase(it);
        --live;
    }
    for (auto it = m_lanes.rbegin(); live > want && it != m_lanes.rend(); ++it) {
        if (!(*it)->retire) {
            (*it)->retire = true;
            --live;
        }
    }
}

void ExecutionEngine::laneLoop(Lane *lane)
{
    nameWorkerThread(QStringLiteral("critical"));
    // A new thread inherits its creator's slice (maybe a LOW worker's): set it for CRITICAL.
    setThreadSliceClass(SliceClass::Default);
    // m_mutex held. Deletes *lane: nothing else refers to a retired lane that left.
    auto leaveLocked = [this, lane] {
        auto it = std::find_if(m_lanes.begin(), m_lanes.end(),
                               [lane](const auto &l) { return l.get() == lane; });
        if (it != m_lanes.end())
            m_lanes.erase(it);
    };
    for (;;) {
        lane->wake.acquire();
        TaskPtr task;
        {
            std::lock_guard lock(m_mutex);
            task = std::move(lane->pending);
            if (!task) {
                if (!lane->retire)
                    continue; // a stale wake-up
                leaveLocked();
                return;
            }
        }
        runLoop(std::move(task), lane);
        std::lock_guard lock(m_mutex);
        if (lane->retire) {
            leaveLocked();
            return;
        }
    }
}

void ExecutionEngine::launch(std::vector<TaskPtr> &starts)
{
    for (TaskPtr &task : starts) {
        if (Lane *lane = std::exchange(task->lane, nullptr)) {
            task.reset();
            lane->wake.release(); // the lane holds the task (Lane::pending) already
            continue;
        }
        m_poolStarts.fetch_add(1, std::memory_order_relaxed);
        m_pool.start([this, t = std::move(task)]() mutable { runLoop(std::move(t)); });
    }
    starts.clear();
}

void ExecutionEngine::complete(std::vector<Completion> &done)
{
    for (Completion &c : done) {
        notifyFinished(c.onFinished, c.result);
        if (c.promise) {
            c.promise->addResult(std::move(c.result));
            c.promise->finish();
        }
        if (c.onExpired) {
            try {
                c.onExpired(c.info);
            } catch (...) {
                qCWarning(lcExec) << "an onExpired callback threw";
            }
        }
    }
    done.clear();
}

void ExecutionEngine::nameWorkerThread(const QString &role)
{
    thread_local const ExecutionEngine *namedFor = nullptr;
    thread_local QString namedAs;
    if (namedFor == this && namedAs == role)
        return;
    namedFor = this;
    namedAs = role;
    const QString name = m_options.threadNamePrefix + QLatin1Char('-')
                         + (role.isEmpty() ? QString() : role + QLatin1Char('-'))
                         + QString::number(m_threadSeq.fetch_add(1) + 1);
    QThread::currentThread()->setObjectName(name);
#ifdef Q_OS_LINUX
    pthread_setname_np(pthread_self(), name.toLatin1().left(15).constData());
#endif
}

Result<QJsonValue> ExecutionEngine::execute(const Task &task)
{
    TaskContext context;
    context.id = task.id;
    context.agentId = task.agentId;
    context.taskType = task.taskType;
    context.priority = task.priority;
    context.token = task.token;
    context.clock = &m_clock;
    context.deadline = task.startedAt + task.timeout;
    try {
        if (task.plainWork) {
            task.plainWork();
            return QJsonValue();
        }
        return task.work(context);
    } catch (const std::exception &e) {
        return fail(QStringLiteral("task_exception"),
                    QStringLiteral("The task threw: %1").arg(QString::fromUtf8(e.what())));
    } catch (...) {
        return fail(QStringLiteral("task_exception"),
                    QStringLiteral("The task threw a non-standard exception."));
    }
}

void ExecutionEngine::runLoop(TaskPtr task, Lane *lane)
{
    if (!lane)
        nameWorkerThread(QString());
    while (task) {
        setThreadSliceClass(task->priority >= TaskPriority::Low ? SliceClass::Background
                                                                : SliceClass::Default);
        Result<QJsonValue> result = execute(*task);
        std::unique_ptr<TaskPromise> promise;
        std::function<void(const Result<QJsonValue> &)> onFinished;
        TaskPtr finished;
        bool spin = false;
        MonoTime now = m_clock.monotonic();
        {
            std::lock_guard lock(m_mutex);
            finishLocked(task, result, now);
            promise = std::move(task->promise);
            onFinished = std::move(task->onFinished);
            finished = std::move(task); // destroyed after the lock is released
            if (m_running && m_busy <= m_cap && m_readyCount > 0) {
                task = pickLocked(now, lane || criticalOnlyLocked());
                if (task)
                    startLocked(task, now);
            }
            if (!task && lane) {
                if (--m_busy == 0)
                    m_idle.notify_all();
                if (!lane->retire)
                    m_idleLanes.push_back(lane);
            } else if (!task) {
                if (m_running && m_busy <= m_cap) {
                    ++m_spinners; // keep the slot a moment: a burst's next task needs no wake-up
                    spin = true;
                } else if (--m_busy == 0) {
                    m_idle.notify_all();
                }
            }
        }
        notifyFinished(onFinished, result);
        if (promise) {
            promise->addResult(std::move(result));
            promise->finish();
        }
        finished.reset();
        if (!spin)
            continue;
        // Real time, not the injected clock: this only bounds how long a free worker waits.
        // Yielding, so that on a small machine the submitting thread keeps its core (CRITICAL
        // work does not wait for a spinner when a lane is free: see dispatchLocked()). A spinner
        // that loses the race for a new task keeps spinning until its time is up.
        const auto until = std::chrono::steady_clock::now() + kSpinBeforeRelease;
        for (int i = 0;; ++i) {
            const bool expired = (i & 7) == 7 && std::chrono::steady_clock::now() >= until;
            if (expired || m_readyCount.load(std::memory_order_relaxed) > 0) {
                std::unique_lock lock(m_mutex, std::defer_lock);
                if (expired)
                    lock.lock();
                else if (!lock.try_lock()) {
                    std::this_thread::yield();
                    continue;
                }
                if (m_running && m_busy <= m_cap && m_readyCount > 0) {
                    now = m_clock.monotonic();
                    task = pickLocked(now, criticalOnlyLocked());
                    if (task)
                        startLocked(task, now);
                }
                if (task || expired || !m_running) {
                    --m_spinners;
                    if (!task && --m_busy == 0)
                        m_idle.notify_all();
                    break;
                }
            }
            std::this_thread::yield();
        }
    }
    // An idle pool thread may be woken next for a CRITICAL task: it must wake with the default
    // slice.
    setThreadSliceClass(SliceClass::Default);
}

void ExecutionEngine::finishLocked(const TaskPtr &task, Result<QJsonValue> &result, MonoTime now)
{
    heapRemoveLocked(task.get());
    if (task->priority != TaskPriority::Critical)
        --m_nonCriticalRunning;
    const Duration ran = now - task->startedAt;
    m_runTime[size_t(toInt(task->priority))]->recordDuration(ran);
    ++m_runCount;
    m_runSecondsSum += toSeconds(ran);
    RunOutcome outcome = RunOutcome::Completed;
    if (task->timedOut) {
        task->state = TaskState::TimedOut;
        outcome = RunOutcome::TimedOut;
        result = fail(
            QStringLiteral("timeout"),
            QStringLiteral("The task ran past its timeout of %1 s.").arg(toSeconds(task->timeout)));
    } else if (!result && task->cancelReason != CancelReason::None) {
        task->state = TaskState::Cancelled;
        ++m_cancelled;
        outcome = RunOutcome::Failed;
        if (task->cancelReason == CancelReason::EngineStopped)
            result = fail(QStringLiteral("engine_stopped"),
                          QStringLiteral("The execution engine stopped while the task ran."));
        else
            result = fail(QStringLiteral("cancelled"), QStringLiteral("The task was cancelled."));
    } else if (result) {
        task->state = TaskState::Completed;
        ++m_completed;
    } else {
        task->state = TaskState::Failed;
        ++m_failed;
        outcome = RunOutcome::Failed;
        qCDebug(lcExec).noquote() << QStringLiteral("task %1 (%2/%3) failed: %4")
                                         .arg(task->id)
                                         .arg(task->agentId, task->taskType,
                                              result.error().message);
    }
    if (task->overrunning) {
        --m_overrunning;
        qCWarning(lcExec).noquote() << QStringLiteral("overrunning task %1 (%2/%3) returned")
                                           .arg(task->id)
                                           .arg(task->agentId, task->taskType);
    }
    if (AgentEntry *entry = task->agent.get()) {
        entry->inFlight = false;
        if (entry->interval == Duration::zero() && !entry->removed && !entry->paused && m_running) {
            entry->when = now; // back to back: the next cycle is due now
            heapPushLocked(entry);
        }
        entry->duration.recordDuration(ran);
        if (outcome == RunOutcome::Completed)
            ++entry->completed;
        else if (outcome == RunOutcome::TimedOut)
            ++entry->timedOut;
        else
            ++entry->failed;
    }
    if (!task->agentId.isEmpty()) {
        if (AdaptiveScheduler *scheduler = m_scheduler.load())
            scheduler->recordRun(task->agentId, task->taskType, ran, outcome);
    }
    task->work = nullptr; // release captures now, not when the last handle goes
    task->plainWork = nullptr;
    liveRemoveLocked(*task);
    if (!task->agentId.isEmpty())
        releaseAgentLocked(task->agentId);
}

// ---- timer work -------------------------------------------------------------------------------

int ExecutionEngine::processDueWork()
{
    std::vector<TaskPtr> starts;
    std::vector<Completion> done;
    int handled = 0;
    {
        std::lock_guard lock(m_mutex);
        if (!m_running)
            return 0;
        const MonoTime now = m_clock.monotonic();
        while (!m_heap.empty() && m_heap.front()->when <= now) {
            TimerNode *node = m_heap.front();
            heapRemoveLocked(node);
            ++handled;
            if (node->isAgent) {
                handleAgentTickLocked(*static_cast<AgentEntry *>(node), now, starts, done);
                continue;
            }
            const TaskPtr task = static_cast<Task *>(node)->self; // heap entries are live
            if (!task)
                continue;
            switch (task->state) {
            case TaskState::Delayed:
                --m_delayedCount;
                makeReadyLocked(task, task->when, now, done);
                break;
            case TaskState::Queued:
                dropQueuedLocked(
                    task, TaskState::Expired,
                    Error{QStringLiteral("expired"),
                          QStringLiteral("The task passed its queue deadline unstarted."),
                          {}},
                    done);
                break;
            case TaskState::Running:
                if (!task->timedOut) {
                    task->timedOut = true;
                    ++m_timedOut;
                    task->token.cancel(CancelReason::TimedOut);
                    qCInfo(lcExec).noquote()
                        << QStringLiteral("task %1 (%2/%3) timed out after %4 s")
                               .arg(task->id)
                               .arg(task->agentId, task->taskType)
                               .arg(toSeconds(task->timeout));
                    task->when = now + m_options.overrunGrace;
                    heapPushLocked(task.get());
                } else if (!task->overrunning) {
                    task->overrunning = true;
                    ++m_overrunning;
                    ++m_overrunTotal;
                    qCWarning(lcExec).noquote()
                        << QStringLiteral("task %1 (%2/%3) ignores its token: overrunning")
                               .arg(task->id)
                               .arg(task->agentId, task->taskType);
                }
                break;
            default:
                break;
            }
        }
        dispatchLocked(now, starts);
    }
    launch(starts);
    complete(done);
    return handled;
}

void ExecutionEngine::armTimer()
{
    qint64 ms = -1;
    QTimer *timer = nullptr;
    {
        std::lock_guard lock(m_mutex);
        timer = m_timer;
        if (!timer)
            return;
        if (m_heap.empty()) {
            m_armedFor = kNever;
        } else {
            m_armedFor = m_heap.front()->when;
            const Duration left = m_armedFor - m_clock.monotonic();
            ms = left <= Duration::zero() ? 0 : (left.count() + 999'999) / 1'000'000;
            ms = std::min<qint64>(ms, 24LL * 3600 * 1000);
        }
    }
    if (ms < 0)
        timer->stop();
    else
        timer->start(int(ms));
}

// ---- agents -----------------------------------------------------------------------------------

Status ExecutionEngine::scheduleAgentCycle(std::shared_ptr<Agent> agent,
                                           TaskPriority priority,
                                           AgentScheduleOptions options)
{
    if (!agent)
        return fail(QStringLiteral("invalid_argument"), QStringLiteral("No agent was given."));
    const Duration interval = options.interval.value_or(fromSeconds(agent->config().interval));
    if (interval < Duration::zero())
        return fail(QStringLiteral("invalid_argument"),
                    QStringLiteral("The cycle interval must not be negative."));
    auto entry = std::make_shared<AgentEntry>();
    entry->isAgent = true;
    entry->agent = agent;
    entry->id = agent->id();
    entry->priority = priority;
    entry->baseInterval = interval;
    entry->interval = interval;
    entry->cycleTimeout = options.cycleTimeout;
    // Interval 0: back to back (each cycle starts when the previous one returns); nothing to adapt.
    entry->adaptive = options.adaptive && interval > Duration::zero();

    std::vector<TaskPtr> starts;
    std::vector<Completion> done;
    {
        std::lock_guard lock(m_mutex);
        if (!m_running)
            return fail(QStringLiteral("engine_stopped"),
                        QStringLiteral("The execution engine is not running."));
        if (m_agents.contains(entry->id))
            return fail(QStringLiteral("already_scheduled"),
                        QStringLiteral("Agent %1 is already scheduled.").arg(entry->id));
        const MonoTime now = m_clock.monotonic();
        m_agents.insert(entry->id, entry);
        m_agentsSeen.insert(entry->id);
        retainAgentLocked(entry->id);
        entry->when = options.runImmediately ? now : now + interval;
        if (options.runImmediately)
            handleAgentTickLocked(*entry, now, starts, done);
        else
            heapPushLocked(entry.get());
    }
    launch(starts);
    complete(done);
    return ok();
}

void ExecutionEngine::handleAgentTickLocked(AgentEntry &entry,
                                            MonoTime now,
                                            std::vector<TaskPtr> &starts,
                                            std::vector<Completion> &done)
{
    if (entry.removed)
        return;
    const MonoTime scheduled = entry.when;
    const AgentStatus status = entry.agent->status();
    if (status == AgentStatus::Stopping || status == AgentStatus::Stopped
        || status == AgentStatus::Error) {
        qCInfo(lcExec).noquote()
            << QStringLiteral("agent %1 is %2: its cycles end").arg(entry.id, toString(status));
        entry.removed = true;
        const QString id = entry.id;
        m_agents.remove(id); // entry may be destroyed after this if no cycle holds it
        releaseAgentLocked(id);
        return;
    }
    if (entry.paused) {
        // nothing runs, nothing is counted
    } else if (status != AgentStatus::Running) {
        qCInfo(lcExec).noquote() << QStringLiteral("agent %1 is %2, not RUNNING: cycle skipped")
                                        .arg(entry.id, toString(status));
    } else if (entry.inFlight) {
        ++entry.skipped;
        ++m_cyclesSkipped;
    } else {
        auto task = std::allocate_shared<Task>(detail::PoolAllocator<Task>());
        task->token = CancellationToken(); // fires on the cycle's timeout, cancel or stop
        task->agentId = entry.id;
        task->taskType = kCycleType;
        task->priority = entry.priority;
        const Duration timeout = entry.cycleTimeout.value_or(
            entry.interval > Duration::zero() ? std::min<Duration>(entry.interval, 60s) : 60s);
        task->timeout = scaled(timeout, m_multiplier);
        task->agent = m_agents.value(entry.id);
        task->readyAt = scheduled;
        task->id = m_nextId++;
        const quint64 number = ++entry.cycleNumber;
        task->work = [this, agent = entry.agent, scheduled,
                      number](const TaskContext &t) -> Result<QJsonValue> {
            CycleContext context;
            context.cache = m_cache.load();
            context.pool = m_httpPool.load();
            context.token = t.token;
            context.clock = t.clock;
            context.deadline = t.deadline;
            context.scheduledStart = scheduled;
            context.cycleNumber = number;
            Result<QJsonObject> r = agent->runCycle(context);
            if (!r)
                return tl::unexpected(r.error());
            return QJsonValue(*r);
        };
        entry.inFlight = true;
        submitLocked(task, now, starts, done);
    }
    if (entry.removed)
        return;
    if (entry.interval == Duration::zero()) {
        // Back to back: the cycle's end (finishLocked) or resumeAgent() makes the next one due;
        // an agent not RUNNING yet is looked at again shortly.
        if (!entry.inFlight && !entry.paused) {
            entry.when = now + std::chrono::milliseconds(100);
            heapPushLocked(&entry);
        }
        return;
    }
    if (entry.adaptive) {
        if (AdaptiveScheduler *scheduler = m_scheduler.load())
            entry.interval = fromSeconds(
                scheduler->nextInterval(entry.id, kCycleType, toSeconds(entry.baseInterval)));
    }
    MonoTime next = scheduled + entry.interval;
    while (next <= now) { // the timer was late by more than an interval: those slots are lost
        next += entry.interval;
        if (!entry.paused) {
            ++entry.skipped;
            ++m_cyclesSkipped;
        }
    }
    entry.when = next;
    heapPushLocked(&entry);
}

bool ExecutionEngine::unscheduleAgent(const QString &agentId)
{
    std::lock_guard lock(m_mutex);
    const auto entry = m_agents.take(agentId);
    if (!entry)
        return false;
    heapRemoveLocked(entry.get());
    entry->removed = true;
    releaseAgentLocked(agentId);
    return true;
}

bool ExecutionEngine::pauseAgent(const QString &agentId)
{
    std::lock_guard lock(m_mutex);
    const auto entry = m_agents.value(agentId);
    if (!entry)
        return false;
    entry->paused = true;
    return true;
}

bool ExecutionEngine::resumeAgent(const QString &agentId)
{
    std::lock_guard lock(m_mutex);
    const auto entry = m_agents.value(agentId);
    if (!entry)
        return false;
    if (entry->paused) {
        entry->paused = false;
        heapRemoveLocked(entry.get());
        entry->when = m_clock.monotonic();
        heapPushLocked(entry.get());
    }
    return true;
}

AgentCycleStats ExecutionEngine::agentStatsLocked(const AgentEntry &entry) const
{
    AgentCycleStats s;
    s.agentId = entry.id;
    s.priority = entry.priority;
    s.intervalSeconds = toSeconds(entry.interval);
    s.paused = entry.paused;
    s.cycleInFlight = entry.inFlight;
    s.cyclesStarted = entry.started;
    s.cyclesSkipped = entry.skipped;
    s.cyclesCompleted = entry.completed;
    s.cyclesFailed = entry.failed;
    s.cyclesTimedOut = entry.timedOut;
    const HistogramSnapshot drift = entry.drift.snapshot();
    s.driftP50Ms = double(drift.valueAtPercentile(50)) / 1e6;
    s.driftP99Ms = double(drift.valueAtPercentile(99)) / 1e6;
    s.driftMaxMs = double(drift.max()) / 1e6;
    const HistogramSnapshot duration = entry.duration.snapshot();
    s.durationP50Ms = double(duration.valueAtPercentile(50)) / 1e6;
    s.durationP99Ms = double(duration.valueAtPercentile(99)) / 1e6;
    s.durationMaxMs = double(duration.max()) / 1e6;
    return s;
}

std::optional<AgentCycleStats> ExecutionEngine::agentCycleStats(const QString &agentId) const
{
    std::lock_guard lock(m_mutex);
    const auto entry = m_agents.value(agentId);
    if (!entry)
        return std::nullopt;
    return agentStatsLocked(*entry);
}

void ExecutionEngine::retainAgentLocked(const QString &agentId)
{
    ++m_agentRefs[agentId];
}

void ExecutionEngine::releaseAgentLocked(const QString &agentId)
{
    const auto it = m_agentRefs.find(agentId);
    if (it == m_agentRefs.end())
        return;
    if (--it.value() <= 0)
        m_agentRefs.erase(it);
}

// ---- listing, cancel, stats -------------------------------------------------------------------

TaskInfo ExecutionEngine::infoLocked(const Task &task) const
{
    TaskInfo info;
    info.id = task.id;
    info.agentId = task.agentId;
    info.taskType = task.taskType;
    info.priority = task.priority;
    info.state = task.state;
    info.overrunning = task.overrunning;
    info.submittedAt = task.submittedAt;
    info.startedAt = task.state == TaskState::Running ? task.startedAt : MonoTime{};
    info.timeout = task.timeout;
    return info;
}

QList<TaskInfo> ExecutionEngine::listTasks() const
{
    std::lock_guard lock(m_mutex);
    QList<TaskInfo> list;
    list.reserve(m_liveCount);
    for (const Task *t = m_liveHead; t; t = t->liveNext)
        list.append(infoLocked(*t));
    std::sort(list.begin(), list.end(),
              [](const TaskInfo &a, const TaskInfo &b) { return a.id < b.id; });
    return list;
}

std::optional<TaskInfo> ExecutionEngine::taskInfo(TaskId id) const
{
    std::lock_guard lock(m_mutex);
    const TaskPtr task = liveFindLocked(id);
    if (!task)
        return std::nullopt;
    return infoLocked(*task);
}

bool ExecutionEngine::cancel(TaskId id)
{
    std::vector<Completion> done;
    {
        std::lock_guard lock(m_mutex);
        const TaskPtr task = liveFindLocked(id);
        if (!task)
            return false;
        task->token.cancel(CancelReason::Cancelled);
        if (task->state == TaskState::Running) {
            if (task->cancelReason == CancelReason::None)
                task->cancelReason = CancelReason::Cancelled;
        } else {
            dropQueuedLocked(task, TaskState::Cancelled,
                             Error{QStringLiteral("cancelled"),
                                   QStringLiteral("The task was cancelled before it ran."),
                                   {}},
                             done);
        }
    }
    complete(done);
    return true;
}

ExecStats ExecutionEngine::stats() const
{
    return statsImpl(StatsKind::Cumulative);
}

ExecStats ExecutionEngine::takeStats()
{
    return statsImpl(StatsKind::Delta);
}

ExecStats ExecutionEngine::takeIntervalStats()
{
    return statsImpl(StatsKind::Interval);
}

ExecStats ExecutionEngine::statsImpl(StatsKind kind) const
{
    const bool delta = kind != StatsKind::Cumulative;
    ExecStats s;
    {
        std::lock_guard lock(m_mutex);
        s.running = m_running;
        s.maxConcurrentTasks = m_cap;
        s.reservedCriticalSlots = m_reserved;
        s.taskTimeoutMultiplier = m_multiplier;
        s.queuedByPriority = m_queued;
        for (int n : m_queued)
            s.queuedTasks += n;
        s.delayedTasks = m_delayedCount;
        s.runningTasks = m_busy - m_spinners; // a spinning worker holds a slot but no task
        s.agentsTracked = int(m_agentRefs.size());
        s.agentsSeenTotal = int(m_agentsSeen.size());
        s.tasksSubmitted = m_submitted;
        s.tasksCompleted = m_completed;
        s.tasksFailed = m_failed;
        s.tasksTimedOut = m_timedOut;
        s.tasksExpired = m_expired;
        s.tasksCancelled = m_cancelled;
        s.tasksOverrunning = m_overrunning;
        s.tasksOverrunTotal = m_overrunTotal;
        s.cyclesSkipped = m_cyclesSkipped;
        s.poolStarts = m_poolStarts.load(std::memory_order_relaxed);
        s.averageExecutionTime = m_runCount ? m_runSecondsSum / double(m_runCount) : 0.0;
        if (kind != StatsKind::Interval) {
            for (const auto &entry : m_agents)
                s.agents.append(agentStatsLocked(*entry));
        }
    }
    std::sort(
        s.agents.begin(), s.agents.end(),
        [](const AgentCycleStats &a, const AgentCycleStats &b) { return a.agentId < b.agentId; });
    if (kind == StatsKind::Interval) {
        // An unchanged count means nothing was recorded since the last delta, whose baseline
        // then still holds; a record in flight is reported by a later delta, never lost.
        const std::lock_guard lock(m_intervalMutex);
        const auto take = [](LatencyHistogram &h, quint64 &seen) {
            const quint64 count = h.count();
            if (count == seen)
                return HistogramSnapshot();
            seen = count;
            return h.deltaSnapshot();
        };
        for (size_t p = 0; p < size_t(kTaskPriorityCount); ++p) {
            s.queueWait[p] = take(*m_queueWait[p], m_queueWaitSeen[p]);
            s.runTime[p] = take(*m_runTime[p], m_runTimeSeen[p]);
        }
    } else {
        for (size_t p = 0; p < size_t(kTaskPriorityCount); ++p) {
            s.queueWait[p] = delta ? m_queueWait[p]->deltaSnapshot() : m_queueWait[p]->snapshot();
            s.runTime[p] = delta ? m_runTime[p]->deltaSnapshot() : m_runTime[p]->snapshot();
        }
    }
    if (AdaptiveScheduler *scheduler = m_scheduler.load())
        s.schedulerStats = scheduler->stats();
    return s;
}

bool ExecutionEngine::waitForIdle(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_mutex);
    return m_idle.wait_for(lock, timeout, [this] { return m_busy == 0 && m_readyCount == 0; });
}

void ExecutionEngine::liveInsertLocked(const TaskPtr &task)
{
    task->self = task;
    task->livePrev = nullptr;
    task->liveNext = m_liveHead;
    if (m_liveHead)
        m_liveHead->livePrev = task.get();
    m_liveHead = task.get();
    ++m_liveCount;
}

// May destroy the task: callers hold their own TaskPtr while they still use it.
void ExecutionEngine::liveRemoveLocked(Task &task)
{
    if (!task.self)
        return;
    if (task.livePrev)
        task.livePrev->liveNext = task.liveNext;
    else
        m_liveHead = task.liveNext;
    if (task.liveNext)
        task.liveNext->livePrev = task.livePrev;
    task.livePrev = task.liveNext = nullptr;
    --m_liveCount;
    task.self.reset();
}

ExecutionEngine::TaskPtr ExecutionEngine::liveFindLocked(TaskId id) const
{
    for (Task *t = m_liveHead; t; t = t->liveNext) {
        if (t->id == id)
            return t->self;
    }
    return {};
}

QList<ExecutionEngine::TaskPtr> ExecutionEngine::liveTasksLocked() const
{
    QList<TaskPtr> list;
    list.reserve(m_liveCount);
    for (Task *t = m_liveHead; t; t = t->liveNext)
        list.append(t->self);
    return list;
}

// ---- heap -------------------------------------------------------------------------------------

void ExecutionEngine::heapPushLocked(TimerNode *node)
{
    Q_ASSERT(node->heapIndex < 0);
    node->heapIndex = int(m_heap.size());
    m_heap.push_back(node);
    heapSiftUp(node->heapIndex);
    if (node->heapIndex == 0 && m_timer && node->when < m_armedFor) {
        m_armedFor = node->when;
        QMetaObject::invokeMethod(
            m_timer, [this] { armTimer(); }, Qt::QueuedConnection);
    }
}

void ExecutionEngine::heapRemoveLocked(TimerNode *node)
{
    const int i = node->heapIndex;
    if (i < 0)
        return;
    const int last = int(m_heap.size()) - 1;
    if (i != last) {
        m_heap[size_t(i)] = m_heap[size_t(last)];
        m_heap[size_t(i)]->heapIndex = i;
    }
    m_heap.pop_back();
    node->heapIndex = -1;
    if (i < int(m_heap.size())) {
        heapSiftDown(i);
        heapSiftUp(i);
    }
}

void ExecutionEngine::heapSiftUp(int index)
{
    while (index > 0) {
        const int parent = (index - 1) / 2;
        if (!(m_heap[size_t(index)]->when < m_heap[size_t(parent)]->when))
            break;
        std::swap(m_heap[size_t(index)], m_heap[size_t(parent)]);
        m_heap[size_t(index)]->heapIndex = index;
        m_heap[size_t(parent)]->heapIndex = parent;
        index = parent;
    }
}

void ExecutionEngine::heapSiftDown(int index)
{
    const int n = int(m_heap.size());
    for (;;) {
        const int l = 2 * index + 1;
        const int r = l + 1;
        int smallest = index;
        if (l < n && m_heap[size_t(l)]->when < m_heap[size_t(smallest)]->when)
            smallest = l;
        if (r < n && m_heap[size_t(r)]->when < m_heap[size_t(smallest)]->when)
            smallest = r;
        if (smallest == index)
            return;
        std::swap(m_heap[size_t(index)], m_heap[size_t(smallest)]);
        m_heap[size_t(index)]->heapIndex = index;
        m_heap[size_t(smallest)]->heapIndex = smallest;
        index = smallest;
    }
}

} // namespace opsdeck::exec

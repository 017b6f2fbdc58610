#include "core/cache/preloader.h"

#include "core/support/logging.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QScopeGuard>
#include <QtCore/QTimer>
#include <QtCore/QWaitCondition>

#include <algorithm>
#include <cmath>
#include <exception>

namespace opsdeck::cache {

using namespace Qt::StringLiterals;
using MonoTime = Clock::MonoTime;
using Duration = Clock::Duration;

namespace {

// How many guarded sections the current thread is inside: stop() called from one of them (a
// direct connection to taskFinished, say) must not wait for itself.
thread_local int t_guardDepth = 0;

Duration secondsToDuration(double seconds)
{
    return Duration(qint64(std::llround(seconds * 1e9)));
}

double durationToSeconds(Duration duration)
{
    return double(duration.count()) / 1e9;
}

bool isEmpty(const PreloadLoader &loader)
{
    return std::visit([](const auto &function) { return !function; }, loader);
}

Result<QByteArray> callSync(const SyncPreloadLoader &loader)
{
    try {
        return loader();
    } catch (const std::exception &e) {
        return fail(u"loader_exception"_s, QString::fromUtf8(e.what()));
    } catch (...) {
        return fail(u"loader_exception"_s, u"The loader threw an exception."_s);
    }
}

QFuture<Result<QByteArray>> callAsync(const AsyncPreloadLoader &loader)
{
    Result<QByteArray> error;
    try {
        return loader();
    } catch (const std::exception &e) {
        error = fail(u"loader_exception"_s, QString::fromUtf8(e.what()));
    } catch (...) {
        error = fail(u"loader_exception"_s, u"The loader threw an exception."_s);
    }
    return QtFuture::makeReadyFuture(std::move(error));
}

// Calls `done` once with the future's result, whether it finished, failed or was cancelled (a
// QPromise destroyed unfinished cancels), on the thread that finished it.
void whenFinished(QFuture<Result<QByteArray>> future, std::function<void(Result<QByteArray>)> done)
{
    auto callback = std::make_shared<std::function<void(Result<QByteArray>)>>(std::move(done));
    future
        .then(QtFuture::Launch::Sync,
              [callback](QFuture<Result<QByteArray>> finished) {
                  Result<QByteArray> result
                      = fail(u"loader_no_result"_s, u"The loader finished without a result."_s);
                  try {
                      if (finished.resultCount() > 0)
                          result = finished.result();
                      else
                          finished.waitForFinished(); // rethrows a stored exception
                  } catch (const std::exception &e) {
                      result = fail(u"loader_exception"_s, QString::fromUtf8(e.what()));
                  } catch (...) {
                      result = fail(u"loader_exception"_s, u"The loader threw an exception."_s);
                  }
                  (*callback)(std::move(result));
              })
        .onCanceled([callback] {
            (*callback)(fail(u"loader_canceled"_s, u"The loader's future was cancelled."_s));
        });
}

QJsonValue isoOrNull(const std::optional<qint64> &ms)
{
    if (!ms)
        return QJsonValue::Null;
    return QDateTime::fromMSecsSinceEpoch(*ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

QJsonValue numberOrNull(const std::optional<qint64> &ms)
{
    return ms ? QJsonValue(double(*ms)) : QJsonValue(QJsonValue::Null);
}

} // namespace

// What late results need to find: the lock, the stop flag and, while not stopped, the owner.
struct Preloader::Shared
{
    QMutex mutex;
    QWaitCondition changed; // phase changes, stop, guarded sections leaving
    bool stopped = false;
    int inFlight = 0;
    Preloader *owner = nullptr;

    // Runs `work` while keeping the owner alive (stop() waits for it); false, without running
    // it, once the preloader has stopped. `work` takes the lock itself when it needs it.
    template<typename Work> bool guarded(Work &&work)
    {
        {
            QMutexLocker lock(&mutex);
            if (stopped)
                return false;
            ++inFlight;
        }
        ++t_guardDepth;
        const auto leave = qScopeGuard([this] {
            --t_guardDepth;
            QMutexLocker lock(&mutex);
            if (--inFlight == 0)
                changed.wakeAll();
        });
        work();
        return true;
    }

    bool isStopped()
    {
        QMutexLocker lock(&mutex);
        return stopped;
    }
};

struct Preloader::Task
{
    QString name;
    QByteArray key;
    PreloadLoader loader;
    bool periodic = false;
    Duration interval{0};
    bool runAtStart = true;
    std::optional<double> ttlSeconds;
    QList<QByteArray> tags;
    TaskPriority priority = TaskPriority::Normal;
    QStringList dependsOn;
    int maxAttempts = 1;
    Duration timeout{0};
    quint64 order = 0;
    bool enabled = true;

    PreloadTaskState state = PreloadTaskState::Pending;
    bool running = false;
    bool runForPrediction = false;
    quint64 runId = 0; // a result for another run id is late and dropped
    std::optional<MonoTime> deadline;
    std::optional<MonoTime> due; // periodic: next run; startup: end of the retry backoff
    int attempts = 0;
    quint64 runs = 0;
    quint64 errorCount = 0;
    std::optional<qint64> lastRunMs;
    std::optional<qint64> lastSuccessMs;
    std::optional<Error> lastError;

    bool finished() const
    {
        return state == PreloadTaskState::Succeeded || state == PreloadTaskState::Failed;
    }
};

struct Preloader::Actions
{
    struct Launch
    {
        QString name;
        quint64 runId = 0;
        PreloadLoader loader;
        TaskPriority priority = TaskPriority::Normal;
    };
    std::vector<Launch> launches;
    std::vector<QByteArray> refreshes;
    std::vector<std::pair<QString, bool>> finished;
    std::optional<bool> startupCompleted;
    bool wake = false;

    bool empty() const
    {
        return launches.empty() && refreshes.empty() && finished.empty() && !startupCompleted
               && !wake;
    }
};

QString toString(StartupPhase phase)
{
    switch (phase) {
    case StartupPhase::NotStarted:
        return u"NOT_STARTED"_s;
    case StartupPhase::Warming:
        return u"WARMING"_s;
    case StartupPhase::Ready:
        return u"READY"_s;
    case StartupPhase::Degraded:
        return u"DEGRADED"_s;
    }
    return u"NOT_STARTED"_s;
}

QString toString(PreloadTaskState state)
{
    switch (state) {
    case PreloadTaskState::Pending:
        return u"pending"_s;
    case PreloadTaskState::Running:
        return u"running"_s;
    case PreloadTaskState::RetryWait:
        return u"retry_wait"_s;
    case PreloadTaskState::Succeeded:
        return u"succeeded"_s;
    case PreloadTaskState::Failed:
        return u"failed"_s;
    case PreloadTaskState::Scheduled:
        return u"scheduled"_s;
    }
    return u"pending"_s;
}

QJsonObject PreloadTaskStats::toJson() const
{
    QJsonObject json;
    json.insert(u"kind"_s, periodic ? u"periodic"_s : u"startup"_s);
    json.insert(u"key"_s, QString::fromUtf8(key));
    json.insert(u"enabled"_s, enabled);
    json.insert(u"interval"_s, intervalSeconds);
    json.insert(u"priority"_s, toString(priority));
    json.insert(u"depends_on"_s, QJsonArray::fromStringList(dependsOn));
    json.insert(u"last_run"_s, isoOrNull(lastRunMs));
    json.insert(u"last_run_ms"_s, numberOrNull(lastRunMs));
    json.insert(u"last_success"_s, isoOrNull(lastSuccessMs));
    json.insert(u"last_success_ms"_s, numberOrNull(lastSuccessMs));
    json.insert(u"runs"_s, double(runs));
    json.insert(u"error_count"_s, double(errorCount));
    json.insert(u"is_running"_s, running);
    json.insert(u"last_error"_s,
                lastError.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(lastError));
    json.insert(u"last_error_code"_s,
                lastErrorCode.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(lastErrorCode));
    json.insert(u"attempts"_s, attempts);
    json.insert(u"state"_s, toString(state));
    return json;
}

QJsonObject PreloaderStats::toJson() const
{
    QJsonObject json;
    json.insert(u"tasks"_s, tasks);
    json.insert(u"running_tasks"_s, runningTasks);
    json.insert(u"preload_count"_s, double(preloadCount));
    json.insert(u"preload_error_count"_s, double(preloadErrorCount));
    json.insert(u"startup_phase"_s, toString(startupPhase));
    json.insert(u"startup_progress"_s, startupProgress);
    json.insert(u"startup_tasks"_s, startupTasks);
    json.insert(u"startup_failed"_s, startupFailed);
    QJsonObject perTask;
    for (const PreloadTaskStats &task : taskStats)
        perTask.insert(task.name, task.toJson());
    json.insert(u"task_stats"_s, perTask);
    json.insert(u"predictions"_s, double(learning.predictions));
    json.insert(u"prediction_hits"_s, double(learning.predictionHits));
    json.insert(u"prediction_misses"_s, double(learning.predictionMisses));
    json.insert(u"precision"_s, learning.precision());
    json.insert(u"refresh_errors"_s, double(learning.refreshErrors));
    json.insert(u"tracked_keys"_s, double(learning.trackedKeys));
    json.insert(u"scheduled_refreshes"_s, double(learning.scheduledRefreshes));
    json.insert(u"dropped_keys"_s, double(learning.droppedKeys));
    return json;
}

Preloader::Preloader(PreloadTarget &target,
                     Executor &executor,
                     Settings settings,
                     const Clock &clock,
                     QObject *parent)
    : QObject(parent)
    , m_target(target)
    , m_executor(executor)
    , m_settings(settings)
    , m_clock(clock)
    , m_shared(std::make_shared<Shared>())
    , m_predictor(settings.predictor)
{
    m_shared->owner = this;
    m_timerThread.setObjectName(u"cache-preload"_s);
}

Preloader::~Preloader()
{
    stop();
}

Status Preloader::addPeriodicTask(PeriodicTaskSpec spec)
{
    if (!(spec.intervalSeconds > 0) || !std::isfinite(spec.intervalSeconds))
        return fail(u"invalid_interval"_s, u"A periodic task needs an interval above 0 s."_s,
                    {{u"task"_s, spec.name}, {u"interval"_s, spec.intervalSeconds}});
    auto task = std::make_unique<Task>();
    task->name = std::move(spec.name);
    task->key = std::move(spec.key);
    task->loader = std::move(spec.loader);
    task->periodic = true;
    task->interval = secondsToDuration(spec.intervalSeconds);
    task->runAtStart = spec.runAtStart;
    task->ttlSeconds = spec.ttlSeconds;
    task->tags = std::move(spec.tags);
    task->priority = spec.priority;
    task->maxAttempts = 1;
    task->timeout = secondsToDuration(std::max(0.0, spec.timeoutSeconds));
    if (spec.timeoutSeconds < 0)
        return fail(u"invalid_argument"_s, u"A task timeout cannot be negative."_s);
    return addTask(std::move(task));
}

Status Preloader::addStartupTask(StartupTaskSpec spec)
{
    if (spec.maxAttempts < 1)
        return fail(u"invalid_argument"_s, u"A startup task needs at least one attempt."_s,
                    {{u"task"_s, spec.name}, {u"max_attempts"_s, spec.maxAttempts}});
    if (spec.timeoutSeconds < 0)
        return fail(u"invalid_argument"_s, u"A task timeout cannot be negative."_s);
    auto task = std::make_unique<Task>();
    task->name = std::move(spec.name);
    task->key = std::move(spec.key);
    task->loader = std::move(spec.loader);
    task->periodic = false;
    task->priority = spec.priority;
    task->dependsOn = std::move(spec.dependsOn);
    task->dependsOn.removeDuplicates();
    task->ttlSeconds = spec.ttlSeconds;
    task->tags = std::move(spec.tags);
    task->maxAttempts = spec.maxAttempts;
    task->timeout = secondsToDuration(spec.timeoutSeconds);
    return addTask(std::move(task));
}

Status Preloader::addTask(std::unique_ptr<Task> task)
{
    if (task->name.isEmpty())
        return fail(u"invalid_argument"_s, u"A preload task needs a name."_s);
    if (task->key.isEmpty())
        return fail(u"invalid_argument"_s, u"A preload task needs a cache key."_s,
                    {{u"task"_s, task->name}});
    if (isEmpty(task->loader))
        return fail(u"invalid_argument"_s, u"A preload task needs a loader."_s,
                    {{u"task"_s, task->name}});
    if (task->ttlSeconds && (*task->ttlSeconds < 0 || !std::isfinite(*task->ttlSeconds)))
        return fail(u"invalid_ttl"_s, u"A TTL cannot be negative."_s,
                    {{u"task"_s, task->name}, {u"ttl"_s, *task->ttlSeconds}});

    QMutexLocker lock(&m_shared->mutex);
    if (m_shared->stopped)
        return fail(u"preloader_stopped"_s, u"The preloader has stopped."_s);
    if (m_tasks.count(task->name) != 0)
        return fail(u"duplicate_task"_s, u"A preload task with this name exists already."_s,
                    {{u"task"_s, task->name}});
    if (m_started && !task->periodic) {
        for (const QString &dependency : std::as_const(task->dependsOn)) {
            const Task *parent = findLocked(dependency);
            if (!parent || parent->periodic)
                return fail(u"missing_dependency"_s,
                            u"Startup task %1 depends on %2, which is not a registered startup "
                            "task."_s.arg(task->name, dependency),
                            {{u"task"_s, task->name}, {u"dependency"_s, dependency}});
        }
    }
    task->order = m_nextOrder++;
    if (m_started && task->periodic) {
        const MonoTime now = m_clock.monotonic();
        task->due = task->runAtStart ? now : now + task->interval;
        task->state = PreloadTaskState::Scheduled;
    }
    m_keyOwners.insert(task->key, task->name);
    const QString name = task->name;
    m_tasks.emplace(name, std::move(task));
    const bool started = m_started;
    lock.unlock();
    if (started)
        kick();
    return ok();
}

Status Preloader::removeTask(const QString &name)
{
    {
        QMutexLocker lock(&m_shared->mutex);
        const auto it = m_tasks.find(name);
        if (it == m_tasks.end())
            return fail(u"unknown_task"_s, u"No preload task has this name."_s,
                        {{u"task"_s, name}});
        const QByteArray key = it->second->key;
        m_tasks.erase(it);
        m_keyOwners.remove(key);
        for (const auto &[otherName, other] : m_tasks) {
            if (other->key == key)
                m_keyOwners.insert(key, otherName);
        }
    }
    kick();
    return ok();
}

Status Preloader::setTaskEnabled(const QString &name, bool enabled)
{
    {
        QMutexLocker lock(&m_shared->mutex);
        Task *task = findLocked(name);
        if (!task)
            return fail(u"unknown_task"_s, u"No preload task has this name."_s,
                        {{u"task"_s, name}});
        if (task->enabled == enabled)
            return ok();
        task->enabled = enabled;
        if (!task->periodic) {
            if (!enabled && !task->finished()) {
                task->running = false;
                task->runForPrediction = false;
                ++task->runId;
                task->deadline.reset();
                task->due.reset();
                task->state = PreloadTaskState::Failed;
                task->lastError = Error{
                    u"task_disabled"_s, u"The startup task was disabled before it finished."_s, {}};
            } else if (enabled && task->state == PreloadTaskState::Failed) {
                task->state = PreloadTaskState::Pending;
                task->attempts = 0;
            }
        }
    }
    kick();
    return ok();
}

QStringList Preloader::taskNames() const
{
    QMutexLocker lock(&m_shared->mutex);
    QStringList names;
    for (const auto &entry : m_tasks)
        names.append(entry.first);
    return names;
}

Status Preloader::start()
{
    {
        QMutexLocker lock(&m_shared->mutex);
        if (m_shared->stopped)
            return fail(u"preloader_stopped"_s, u"A stopped preloader cannot start again."_s);
        if (m_started)
            return ok();
        m_started = true;
        const MonoTime now = m_clock.monotonic();
        for (auto &entry : m_tasks) {
            Task &task = *entry.second;
            if (task.periodic) {
                task.due = task.runAtStart ? now : now + task.interval;
                task.state = PreloadTaskState::Scheduled;
            }
        }
        detectCyclesLocked();
    }
    if (m_settings.learningEnabled) {
        m_target.setAccessObserver([shared = m_shared](const QByteArray &key, bool) {
            QMutexLocker lock(&shared->mutex);
            if (!shared->stopped)
                shared->owner->observeAccessLocked(key);
        });
        m_observerInstalled = true;
    }
    if (m_settings.driveTimer) {
        m_timer = new QTimer;
        m_timer->setTimerType(Qt::PreciseTimer);
        m_timer->setSingleShot(true);
        m_timer->moveToThread(&m_timerThread);
        connect(m_timer, &QTimer::timeout, m_timer, [this] { onTimer(); });
        connect(&m_timerThread, &QThread::finished, m_timer, &QObject::deleteLater);
        m_timerThread.start();
    }
    kick();
    return ok();
}

void Preloader::stop()
{
    {
        QMutexLocker lock(&m_shared->mutex);
        if (!m_shared->stopped) {
            m_shared->stopped = true;
            for (auto &entry : m_tasks) {
                Task &task = *entry.second;
                if (task.running) {
                    task.running = false;
                    ++task.runId; // whatever arrives later is dropped
                }
            }
            m_shared->changed.wakeAll();
        }
        // Guarded sections are short (no loader runs in one); wait for those of other threads.
        while (m_shared->inFlight > t_guardDepth)
            m_shared->changed.wait(&m_shared->mutex);
    }
    if (m_observerInstalled.exchange(false))
        m_target.setAccessObserver({});
    if (m_timerThread.isRunning()) {
        m_timerThread.quit();
        m_timerThread.wait();
    }
    m_timer = nullptr; // deleted in its thread as it finished
}

bool Preloader::isRunning() const
{
    QMutexLocker lock(&m_shared->mutex);
    return m_started && !m_shared->stopped;
}

bool Preloader::waitForStartupComplete(int timeoutMs)
{
    QDeadlineTimer deadline
        = timeoutMs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever) : QDeadlineTimer(timeoutMs);
    QMutexLocker lock(&m_shared->mutex);
    while (!m_shared->stopped && m_phase != StartupPhase::Ready
           && m_phase != StartupPhase::Degraded) {
        if (!m_shared->changed.wait(&m_shared->mutex, deadline))
            break;
    }
    return m_phase == StartupPhase::Ready;
}

StartupPhase Preloader::startupPhase() const
{
    QMutexLocker lock(&m_shared->mutex);
    return m_phase;
}

std::optional<Clock::MonoTime> Preloader::tick()
{
    std::optional<MonoTime> next;
    m_shared->guarded([&] {
        QMutexLocker lock(&m_shared->mutex);
        if (!m_started)
            return;
        const MonoTime now = m_clock.monotonic();
        if (m_settings.learningEnabled && m_predictor.hasCandidates()
            && (!m_lastEvaluation || now - *m_lastEvaluation >= m_settings.evaluationInterval)) {
            m_lastEvaluation = now;
            const QList<QByteArray> keys
                = m_predictor.takeCandidates(std::max(1, m_settings.maxEvaluationsPerTick));
            // Own keys: the task knows the lifetime a fresh value gets.
            QList<std::optional<std::optional<Duration>>> own;
            own.reserve(keys.size());
            for (const QByteArray &key : keys) {
                const auto owner = m_keyOwners.constFind(key);
                const Task *task = owner == m_keyOwners.cend() ? nullptr : findLocked(*owner);
                if (!task)
                    own.append(std::nullopt);
                else if (task->ttlSeconds && *task->ttlSeconds > 0)
                    own.append(std::optional<Duration>(secondsToDuration(*task->ttlSeconds)));
                else
                    own.append(std::optional<Duration>());
            }
            // Ask the target with the lock released: it may take its own locks.
            lock.unlock();
            std::vector<std::pair<bool, std::optional<Duration>>> answers;
            answers.reserve(size_t(keys.size()));
            for (qsizetype i = 0; i < keys.size(); ++i) {
                const bool loadable = own.at(i).has_value() || m_target.hasLoader(keys.at(i));
                answers.emplace_back(loadable,
                                     loadable ? m_target.timeToLive(keys.at(i)) : std::nullopt);
            }
            lock.relock();
            for (qsizetype i = 0; i < keys.size(); ++i) {
                if (answers[size_t(i)].first) {
                    m_predictor.plan(keys.at(i), answers[size_t(i)].second, now,
                                     own.at(i).value_or(std::nullopt));
                }
            }
        }
        Actions actions;
        collectLocked(now, actions);
        next = nextWakeLocked(now);
        perform(lock, actions);
    });
    return next;
}

PreloaderStats Preloader::stats() const
{
    QMutexLocker lock(&m_shared->mutex);
    PreloaderStats stats;
    stats.tasks = int(m_tasks.size());
    stats.preloadCount = m_preloadCount;
    stats.preloadErrorCount = m_preloadErrorCount;
    stats.startupPhase = m_phase;
    int finished = 0;
    for (const auto &entry : m_tasks) {
        const Task &task = *entry.second;
        PreloadTaskStats t;
        t.name = task.name;
        t.key = task.key;
        t.periodic = task.periodic;
        t.enabled = task.enabled;
        t.intervalSeconds = task.periodic ? durationToSeconds(task.interval) : 0.0;
        t.priority = task.priority;
        t.dependsOn = task.dependsOn;
        t.lastRunMs = task.lastRunMs;
        t.lastSuccessMs = task.lastSuccessMs;
        t.runs = task.runs;
        t.errorCount = task.errorCount;
        t.running = task.running;
        if (task.lastError) {
            t.lastErrorCode = task.lastError->code;
            t.lastError = task.lastError->message;
        }
        t.attempts = task.attempts;
        t.state = task.state;
        stats.taskStats.append(t);
        if (task.running)
            ++stats.runningTasks;
        if (!task.periodic) {
            ++stats.startupTasks;
            if (task.finished())
                ++finished;
            if (task.state == PreloadTaskState::Failed)
                ++stats.startupFailed;
        }
    }
    if (m_started)
        stats.startupProgress = stats.startupTasks == 0 ? 100 : finished * 100 / stats.startupTasks;
    stats.learning = m_predictor.stats();
    return stats;
}

Preloader::Task *Preloader::findLocked(const QString &name) const
{
    const auto it = m_tasks.find(name);
    return it == m_tasks.end() ? nullptr : it->second.get();
}

void Preloader::collectLocked(MonoTime now, Actions &actions)
{
    if (!m_started || m_shared->stopped)
        return;
    for (auto &entry : m_tasks) {
        Task &task = *entry.second;
        if (task.running && task.deadline && *task.deadline <= now) {
            ++task.runId; // the run's result, if it ever comes, is late
            taskFailedLocked(task,
                             Error{u"timeout"_s,
                                   u"The loader did not finish within %1 s."_s.arg(
                                       durationToSeconds(task.timeout)),
                                   {}},
                             now, actions);
        }
        if (task.state == PreloadTaskState::RetryWait && task.due && *task.due <= now) {
            task.state = PreloadTaskState::Pending;
            task.due.reset();
        }
    }
    resolveDependenciesLocked();
    dispatchStartupLocked(now, actions);
    for (auto &entry : m_tasks) {
        Task &task = *entry.second;
        if (!task.periodic || !task.enabled || task.running || !task.due || *task.due > now)
            continue;
        const MonoTime due = *task.due;
        launchLocked(task, now, false, actions);
        MonoTime next = due + task.interval;
        if (next <= now)
            next = now + task.interval; // missed slots are not caught up in a burst
        task.due = next;
    }
    if (m_settings.learningEnabled) {
        m_predictor.expirePredictions(now);
        const QList<QByteArray> due = m_predictor.takeDue(now);
        for (const QByteArray &key : due) {
            const auto owner = m_keyOwners.constFind(key);
            if (owner == m_keyOwners.cend()) {
                m_predictor.refreshIssued(key, now);
                actions.refreshes.push_back(key);
                continue;
            }
            Task *task = findLocked(*owner);
            // A startup task refreshes its key only once it has succeeded.
            if (!task || !task->enabled || task->running
                || (!task->periodic && task->state != PreloadTaskState::Succeeded))
                continue;
            m_predictor.refreshIssued(key, now);
            launchLocked(*task, now, true, actions);
        }
    }
    updatePhaseLocked(actions);
}

void Preloader::resolveDependenciesLocked()
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (auto &entry : m_tasks) {
            Task &task = *entry.second;
            if (task.periodic || task.state != PreloadTaskState::Pending)
                continue;
            for (const QString &dependency : std::as_const(task.dependsOn)) {
                const Task *parent = findLocked(dependency);
                std::optional<Error> error;
                if (!parent || parent->periodic) {
                    error = Error{
                        u"missing_dependency"_s,
                        u"Depends on %1, which is not a registered startup task."_s.arg(dependency),
                        {{u"dependency"_s, dependency}}};
                } else if (parent->state == PreloadTaskState::Failed) {
                    error = Error{u"dependency_failed"_s,
                                  u"Depends on %1, which failed."_s.arg(dependency),
                                  {{u"dependency"_s, dependency}}};
                }
                if (error) {
                    qCWarning(lcCache).noquote()
                        << "preload task" << task.name << "failed:" << error->message;
                    task.state = PreloadTaskState::Failed;
                    task.lastError = std::move(error);
                    changed = true;
                    break;
                }
            }
        }
    }
}

void Preloader::detectCyclesLocked()
{
    // Depth-first search over the startup tasks; a back edge closes a cycle, whose members fail.
    enum class Mark { None, Active, Done };
    QHash<QString, Mark> marks;
    QStringList path;
    std::function<void(Task &)> visit = [&](Task &task) {
        marks.insert(task.name, Mark::Active);
        path.append(task.name);
        for (const QString &dependency : std::as_const(task.dependsOn)) {
            Task *parent = findLocked(dependency);
            if (!parent || parent->periodic)
                continue; // reported as missing by resolveDependenciesLocked
            const Mark mark = marks.value(dependency, Mark::None);
            if (mark == Mark::Active) {
                const QStringList cycle = path.mid(path.indexOf(dependency)) << dependency;
                const QString text = cycle.join(u" -> "_s);
                qCWarning(lcCache).noquote() << "preload tasks form a dependency cycle:" << text;
                for (qsizetype i = 0; i + 1 < cycle.size(); ++i) {
                    Task *member = findLocked(cycle.at(i));
                    member->state = PreloadTaskState::Failed;
                    member->lastError
                        = Error{u"dependency_cycle"_s,
                                u"The startup dependencies form a cycle: %1."_s.arg(text),
                                {{u"cycle"_s, QJsonArray::fromStringList(cycle)}}};
                }
            } else if (mark == Mark::None) {
                visit(*parent);
            }
        }
        path.removeLast();
        marks.insert(task.name, Mark::Done);
    };
    for (auto &entry : m_tasks) {
        Task &task = *entry.second;
        if (!task.periodic && marks.value(task.name, Mark::None) == Mark::None)
            visit(task);
    }
}

void Preloader::dispatchStartupLocked(MonoTime now, Actions &actions)
{
    int running = 0;
    std::vector<Task *> ready;
    for (auto &entry : m_tasks) {
        Task &task = *entry.second;
        if (task.periodic)
            continue;
        if (task.running && !task.runForPrediction)
            ++running;
        if (task.state != PreloadTaskState::Pending || !task.enabled || task.running)
            continue;
        const bool dependenciesDone
            = std::all_of(task.dependsOn.cbegin(), task.dependsOn.cend(), [&](const QString &d) {
                  const Task *parent = findLocked(d);
                  return parent && parent->state == PreloadTaskState::Succeeded;
              });
        if (dependenciesDone)
            ready.push_back(&task);
    }
    std::sort(ready.begin(), ready.end(), [](const Task *a, const Task *b) {
        return std::pair(toInt(a->priority), a->order) < std::pair(toInt(b->priority), b->order);
    });
    const int freeSlots = std::max(0, std::max(1, m_settings.maxConcurrentStartup) - running);
    for (size_t i = 0; i < ready.size() && int(i) < freeSlots; ++i)
        launchLocked(*ready[i], now, false, actions);
}

void Preloader::launchLocked(Task &task, MonoTime now, bool forPrediction, Actions &actions)
{
    task.running = true;
    task.runForPrediction = forPrediction;
    ++task.runId;
    if (task.periodic || !forPrediction) {
        task.state = PreloadTaskState::Running;
        ++task.attempts;
    }
    task.lastRunMs = m_clock.wallMsecs();
    task.deadline.reset();
    if (task.timeout.count() > 0)
        task.deadline = now + task.timeout;
    actions.launches.push_back({task.name, task.runId, task.loader, task.priority});
}

void Preloader::taskFailedLocked(Task &task, const Error &error, MonoTime now, Actions &actions)
{
    const bool forPrediction = task.runForPrediction;
    task.running = false;
    task.runForPrediction = false;
    task.deadline.reset();
    ++task.errorCount;
    ++m_preloadErrorCount;
    task.lastError = error;
    actions.finished.emplace_back(task.name, false);
    if (forPrediction)
        m_predictor.refreshFinished(task.key, now, false, std::nullopt);
    if (task.periodic) {
        task.state = PreloadTaskState::Scheduled;
        qCDebug(lcCache).noquote()
            << "periodic preload" << task.name << "failed:" << error.code << error.message;
        return;
    }
    if (forPrediction)
        return; // a refresh of a startup task that had succeeded: its outcome stands
    if (task.attempts < task.maxAttempts) {
        // Exponential backoff: base, 2 base, 4 base, ... capped.
        const int shift = std::min(task.attempts - 1, 30);
        const double factor = std::ldexp(1.0, shift);
        const Duration delay = std::min(
            m_settings.retryMaxDelay,
            Duration(qint64(std::min(double(m_settings.retryMaxDelay.count()),
                                     double(m_settings.retryBaseDelay.count()) * factor))));
        task.state = PreloadTaskState::RetryWait;
        task.due = now + delay;
        qCInfo(lcCache).noquote() << "startup preload" << task.name << "failed (attempt"
                                  << task.attempts << "of" << task.maxAttempts
                                  << "):" << error.message << "- retrying in"
                                  << durationToSeconds(delay) << "s";
    } else {
        task.state = PreloadTaskState::Failed;
        qCWarning(lcCache).noquote() << "startup preload" << task.name << "failed after"
                                     << task.attempts << "attempts:" << error.code << error.message;
    }
}

StartupPhase Preloader::phaseLocked() const
{
    if (!m_started)
        return StartupPhase::NotStarted;
    bool failed = false;
    for (const auto &entry : m_tasks) {
        const Task &task = *entry.second;
        if (task.periodic)
            continue;
        if (!task.finished())
            return StartupPhase::Warming;
        failed = failed || task.state == PreloadTaskState::Failed;
    }
    return failed ? StartupPhase::Degraded : StartupPhase::Ready;
}

void Preloader::updatePhaseLocked(Actions &actions)
{
    const StartupPhase phase = phaseLocked();
    if (phase == m_phase)
        return;
    m_phase = phase;
    m_shared->changed.wakeAll();
    if (phase == StartupPhase::Ready || phase == StartupPhase::Degraded) {
        actions.startupCompleted = phase == StartupPhase::Ready;
        qCInfo(lcCache).noquote() << "preloader start-up" << toString(phase);
    }
}

std::optional<Clock::MonoTime> Preloader::nextWakeLocked(MonoTime now) const
{
    std::optional<MonoTime> next;
    const auto consider = [&next](MonoTime time) {
        next = next ? std::min(*next, time) : time;
    };
    for (const auto &entry : m_tasks) {
        const Task &task = *entry.second;
        if (task.running && task.deadline)
            consider(*task.deadline);
        if (task.due && !task.running && (task.enabled || !task.periodic))
            consider(*task.due);
    }
    if (m_settings.learningEnabled) {
        if (const auto event = m_predictor.nextEvent())
            consider(*event);
        if (m_predictor.hasCandidates())
            consider(m_lastEvaluation ? *m_lastEvaluation + m_settings.evaluationInterval : now);
    }
    return next;
}

void Preloader::perform(QMutexLocker<QMutex> &lock, Actions &actions)
{
    if (actions.empty())
        return;
    Actions todo = std::move(actions);
    actions = Actions{};
    lock.unlock();
    for (Actions::Launch &launch : todo.launches) {
        const TaskPriority priority = launch.priority;
        m_executor.post(priority, [shared = m_shared, name = std::move(launch.name),
                                   runId = launch.runId, loader = std::move(launch.loader),
                                   priority] {
            if (shared->isStopped())
                return;
            if (const auto *sync = std::get_if<SyncPreloadLoader>(&loader)) {
                deliverRun(shared, name, runId, callSync(*sync));
                return;
            }
            whenFinished(callAsync(std::get<AsyncPreloadLoader>(loader)),
                         [shared, name, runId, priority](Result<QByteArray> result) {
                             // Store from an executor task, never inside a foreign completion.
                             shared->guarded([&] {
                                 shared->owner->m_executor.post(
                                     priority, [shared, name, runId, result]() mutable {
                                         deliverRun(shared, name, runId, std::move(result));
                                     });
                             });
                         });
        });
    }
    for (const QByteArray &key : todo.refreshes) {
        m_executor.post(m_settings.refreshPriority,
                        [shared = m_shared, key] { issueRefresh(shared, key); });
    }
    for (const auto &[name, succeeded] : todo.finished)
        Q_EMIT taskFinished(name, succeeded);
    if (todo.startupCompleted)
        Q_EMIT startupCompleted(*todo.startupCompleted);
    if (todo.wake)
        requestWake();
    lock.relock();
}

void Preloader::kick()
{
    m_shared->guarded([this] {
        QMutexLocker lock(&m_shared->mutex);
        Actions actions;
        collectLocked(m_clock.monotonic(), actions);
        actions.wake = true;
        perform(lock, actions);
    });
}

void Preloader::deliverRun(const std::shared_ptr<Shared> &shared,
                           const QString &name,
                           quint64 runId,
                           Result<QByteArray> result)
{
    shared->guarded([&] { shared->owner->finishRun(name, runId, std::move(result)); });
}

void Preloader::finishRun(const QString &name, quint64 runId, Result<QByteArray> result)
{
    QMutexLocker lock(&m_shared->mutex);
    Task *task = findLocked(name);
    if (!task || !task->running || task->runId != runId)
        return; // removed, timed out or abandoned: a late result
    std::optional<Error> error;
    std::optional<Duration> ttl;
    const bool forPrediction = task->runForPrediction;
    if (result) {
        const QByteArray key = task->key;
        const std::optional<double> ttlSeconds = task->ttlSeconds;
        const QList<QByteArray> tags = task->tags;
        lock.unlock();
        const Status stored = m_target.store(key, *result, ttlSeconds, tags);
        if (stored && forPrediction)
            ttl = m_target.timeToLive(key);
        lock.relock();
        task = findLocked(name);
        if (!task || !task->running || task->runId != runId)
            return;
        if (!stored)
            error = stored.error();
    } else {
        error = result.error();
    }

    const MonoTime now = m_clock.monotonic();
    Actions actions;
    if (error) {
        taskFailedLocked(*task, *error, now, actions);
    } else {
        task->running = false;
        task->runForPrediction = false;
        task->deadline.reset();
        task->state = task->periodic ? PreloadTaskState::Scheduled : PreloadTaskState::Succeeded;
        if (task->periodic)
            task->attempts = 0;
        task->lastSuccessMs = m_clock.wallMsecs();
        ++task->runs;
        ++m_preloadCount;
        if (forPrediction)
            m_predictor.refreshFinished(task->key, now, true, ttl);
        actions.finished.emplace_back(task->name, true);
    }
    collectLocked(now, actions);
    actions.wake = true;
    perform(lock, actions);
}

void Preloader::issueRefresh(const std::shared_ptr<Shared> &shared, const QByteArray &key)
{
    shared->guarded([&] {
        whenFinished(shared->owner->m_target.refresh(key), [shared,
                                                            key](Result<QByteArray> result) {
            const bool succeeded = result.has_value();
            if (!succeeded)
                qCDebug(lcCache).noquote()
                    << "refresh of" << key.toHex() << "failed:" << result.error().message;
            shared->guarded([&] {
                Preloader *owner = shared->owner;
                owner->m_executor.post(owner->m_settings.refreshPriority, [shared, key, succeeded] {
                    shared->guarded([&] { shared->owner->finishRefresh(key, succeeded); });
                });
            });
        });
    });
}

void Preloader::finishRefresh(const QByteArray &key, bool succeeded)
{
    const std::optional<Duration> ttl = succeeded ? m_target.timeToLive(key) : std::nullopt;
    QMutexLocker lock(&m_shared->mutex);
    const MonoTime now = m_clock.monotonic();
    m_predictor.refreshFinished(key, now, succeeded, ttl);
    Actions actions;
    collectLocked(now, actions);
    actions.wake = true;
    perform(lock, actions);
}

void Preloader::observeAccessLocked(const QByteArray &key)
{
    if (!m_started)
        return;
    const bool hadCandidates = m_predictor.hasCandidates();
    m_predictor.recordAccess(key, m_clock.monotonic());
    if (!hadCandidates && m_predictor.hasCandidates())
        requestWake();
}

void Preloader::requestWake()
{
    if (!m_timer || m_wakePending.exchange(true))
        return;
    QMetaObject::invokeMethod(
        m_timer, [this] { onTimer(); }, Qt::QueuedConnection);
}

void Preloader::onTimer()
{
    m_wakePending = false;
    const std::optional<MonoTime> next = tick();
    if (!next) {
        m_timer->stop();
        return;
    }
    const auto delay = std::chrono::ceil<std::chrono::milliseconds>(*next - m_clock.monotonic());
    m_timer->start(int(std::clamp<qint64>(delay.count(), 0, 3'600'000)));
}

} // namespace opsdeck::cache

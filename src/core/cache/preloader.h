// Preloader: warms the cache before agents ask, and keeps hot keys warm.
// Owns named preload tasks, each storing its loader's value under a cache key with a ttl and tags:
// - periodic tasks run at start (unless told not to) and then every interval; a run still going
//   when the next is due is not doubled, the next one starts when it ends;
// - startup tasks run once after start(), most urgent priority first, each after the startup tasks
//   it depends on (across priority groups), at most maxConcurrentStartup at once; a failing one is
//   retried maxAttempts times with exponential backoff, then marked failed with its error, and the
//   tasks that depend on it fail too. A missing dependency or a cycle fails the tasks concerned at
//   start (reported in stats and the log), it never hangs start-up.
// It also owns an AccessPredictor fed by the target's access observer: for keys it knows a loader
// for (the target's hasLoader() keys and its own tasks' keys) it refreshes hot keys shortly before
// they expire, so a key read every few seconds with a short TTL stays warm.
//
//     Preloader preloader(target, executor, {}, clock);
//     preloader.addStartupTask({.name = u"symbols"_s, .key = "symbols", .loader = fetchSymbols,
//                               .priority = TaskPriority::Critical});
//     preloader.start();
//     const bool ready = preloader.waitForStartupComplete(30'000);
//
// Threads: every public function is thread-safe. Loaders run on the Executor (a synchronous loader
// inside its task; an asynchronous one returns a future that may finish on any thread). Scheduling
// is a pure function of the Clock: tick() starts what is due now and returns when it next needs to
// run; with Settings::driveTimer (the default) a Qt::PreciseTimer in the preloader's own
// "cache-preload" thread calls it, tests call it themselves with a ManualClock. No user code runs
// under the preloader's lock. stop() returns at once: loaders still running are abandoned and
// their late results dropped (they must not outlive what they capture). The target and the
// executor must outlive the Preloader.
// It is not an executor (it posts to one) nor a cache (it writes through a PreloadTarget).
#pragma once

#include "core/cache/accesspredictor.h"
#include "core/cache/preloadtarget.h"
#include "core/support/clock.h"
#include "core/support/executor.h"
#include "core/support/result.h"
#include "core/support/taskpriority.h"

#include <QtCore/QFuture>
#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QStringList>
#include <QtCore/QThread>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <variant>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace opsdeck::cache {

using AsyncPreloadLoader = std::function<QFuture<Result<QByteArray>>()>;
using SyncPreloadLoader = std::function<Result<QByteArray>()>; // run inside an executor task
using PreloadLoader = std::variant<AsyncPreloadLoader, SyncPreloadLoader>;

struct PeriodicTaskSpec
{
    QString name{};
    QByteArray key{};
    PreloadLoader loader{};
    double intervalSeconds = 60.0;      // > 0
    std::optional<double> ttlSeconds{}; // nullopt = the cache's default, 0 = no expiry
    QList<QByteArray> tags{};
    TaskPriority priority = TaskPriority::Normal;
    bool runAtStart = true;    // else the first run is one interval after start
    double timeoutSeconds = 0; // > 0: a run taking longer fails with "timeout"
};

struct StartupTaskSpec
{
    QString name{};
    QByteArray key{};
    PreloadLoader loader{};
    TaskPriority priority = TaskPriority::Normal;
    QStringList dependsOn{}; // names of other startup tasks
    std::optional<double> ttlSeconds{};
    QList<QByteArray> tags{};
    int maxAttempts = 3; // >= 1; the backoff doubles from Settings::retryBaseDelay
    double timeoutSeconds = 0;
};

// NOT_STARTED before start(); WARMING while a startup task is pending, running or waiting to be
// retried; READY when every startup task succeeded; DEGRADED when all have finished and at least
// one failed (our addition: the old system stayed WARMING for ever). A startup task registered
// after start() moves READY/DEGRADED back to WARMING until it finishes.
enum class StartupPhase { NotStarted, Warming, Ready, Degraded };
QString toString(StartupPhase phase); // "NOT_STARTED", "WARMING", "READY", "DEGRADED"

// pending: waiting for start, its dependencies or a slot; running; retry_wait: a startup task
// waiting out its backoff; succeeded / failed: a startup task's outcome; scheduled: a periodic
// task between runs.
enum class PreloadTaskState { Pending, Running, RetryWait, Succeeded, Failed, Scheduled };
QString toString(PreloadTaskState state);

struct PreloadTaskStats
{
    QString name;
    QByteArray key;
    bool periodic = false;
    bool enabled = true;
    double intervalSeconds = 0; // 0 for startup tasks
    TaskPriority priority = TaskPriority::Normal;
    QStringList dependsOn;
    std::optional<qint64> lastRunMs;     // wall time the last run started
    std::optional<qint64> lastSuccessMs; // wall time the last successful run finished
    quint64 runs = 0;
    quint64 errorCount = 0;
    bool running = false;
    QString lastErrorCode;
    QString lastError;
    int attempts = 0; // startup: attempts so far; periodic: attempts of the current streak
    PreloadTaskState state = PreloadTaskState::Pending;

    // enabled, interval (s), last_run / last_success (ISO-8601 UTC or null) with *_ms siblings,
    // error_count, is_running, last_error (message or null), last_error_code, attempts, state,
    // kind ("periodic"/"startup"), key, priority, runs, depends_on.
    QJsonObject toJson() const;
};

struct PreloaderStats
{
    int tasks = 0; // registered tasks, periodic and startup
    int runningTasks = 0;
    quint64 preloadCount = 0;      // values loaded and stored by tasks
    quint64 preloadErrorCount = 0; // failed task runs (each attempt counts)
    StartupPhase startupPhase = StartupPhase::NotStarted;
    int startupProgress = 0; // finished startup tasks, 0..100 (100 with none)
    int startupTasks = 0;
    int startupFailed = 0;
    AccessPredictor::Stats learning;
    QList<PreloadTaskStats> taskStats; // by name

    // The old keys (tasks, running_tasks, preload_count, preload_error_count, startup_phase,
    // startup_progress, task_stats {name: {...}}) plus startup_tasks, startup_failed and the
    // learning figures: predictions, prediction_hits, prediction_misses, precision (0..1),
    // refresh_errors, tracked_keys, scheduled_refreshes, dropped_keys.
    QJsonObject toJson() const;
};

struct PreloaderSettings
{
    int maxConcurrentStartup = 10;
    Clock::Duration retryBaseDelay = std::chrono::seconds(1); // then 2 s, 4 s, ...
    Clock::Duration retryMaxDelay = std::chrono::seconds(30);
    bool learningEnabled = true;
    AccessPredictorSettings predictor;
    TaskPriority refreshPriority = TaskPriority::High; // a refresh races an expiry
    Clock::Duration evaluationInterval = std::chrono::milliseconds(100); // plan reads in batches
    int maxEvaluationsPerTick = 1000;
    bool driveTimer = true; // false: nothing runs by itself in time; call tick()
};

class Preloader final : public QObject
{
    Q_OBJECT

public:
    using Settings = PreloaderSettings;

    Preloader(PreloadTarget &target,
              Executor &executor,
              Settings settings = {},
              const Clock &clock = Clock::system(),
              QObject *parent = nullptr);
    ~Preloader() override; // stop()

    // Registration works before and after start(); names are unique. After start() a startup
    // task's dependencies must already be registered ("missing_dependency" otherwise).
    Status addPeriodicTask(PeriodicTaskSpec spec);
    Status addStartupTask(StartupTaskSpec spec);
    // A running task's late result is dropped. Pending startup tasks depending on it fail.
    Status removeTask(const QString &name);
    // A disabled periodic task is not scheduled. Disabling an unfinished startup task fails it
    // ("task_disabled"); enabling a failed startup task queues it again with fresh attempts.
    Status setTaskEnabled(const QString &name, bool enabled);
    QStringList taskNames() const;

    // Starts the startup tasks and the schedule, installs the access observer. Once only: after
    // stop() it fails with "preloader_stopped".
    Status start();
    // Prompt: never waits for a loader. Idempotent.
    void stop();
    bool isRunning() const;

    // Blocks (on a condition, no polling) until the startup phase is READY or DEGRADED, the
    // preloader stops, or timeoutMs passes (-1 = no limit). True when READY.
    bool waitForStartupComplete(int timeoutMs);
    StartupPhase startupPhase() const;

    // Starts what is due at the Clock's current time (periodic runs, retries, timeouts, learned
    // refreshes) and plans the keys read since the last tick. Returns when it next needs to run.
    std::optional<Clock::MonoTime> tick();

    PreloaderStats stats() const;
    const AccessPredictorSettings &predictorSettings() const { return m_settings.predictor; }

Q_SIGNALS:
    // Emitted from whichever thread finished the run; connect with a context object.
    void taskFinished(const QString &name, bool succeeded);
    void startupCompleted(bool ready);

private:
    struct Shared;
    struct Task;
    struct Actions;

    Status addTask(std::unique_ptr<Task> task);
    // All *Locked functions run with m_shared->mutex held.
    void collectLocked(Clock::MonoTime now, Actions &actions);
    Task *findLocked(const QString &name) const;
    void resolveDependenciesLocked();
    void detectCyclesLocked();
    void dispatchStartupLocked(Clock::MonoTime now, Actions &actions);
    void launchLocked(Task &task, Clock::MonoTime now, bool forPrediction, Actions &actions);
    void taskFailedLocked(Task &task, const Error &error, Clock::MonoTime now, Actions &actions);
    void updatePhaseLocked(Actions &actions);
    std::optional<Clock::MonoTime> nextWakeLocked(Clock::MonoTime now) const;
    StartupPhase phaseLocked() const;
    // Runs the collected actions with the lock released (and re-taken before returning).
    void perform(QMutexLocker<QMutex> &lock, Actions &actions);
    // Collects what is due now and performs it; for calls that changed the state.
    void kick();
    void finishRun(const QString &name, quint64 runId, Result<QByteArray> result);
    void finishRefresh(const QByteArray &key, bool succeeded);
    void observeAccessLocked(const QByteArray &key);
    void requestWake();
    void onTimer();

    static void deliverRun(const std::shared_ptr<Shared> &shared,
                           const QString &name,
                           quint64 runId,
                           Result<QByteArray> result);
    static void issueRefresh(const std::shared_ptr<Shared> &shared, const QByteArray &key);

    PreloadTarget &m_target;
    Executor &m_executor;
    const Settings m_settings;
    const Clock &m_clock;
    std::shared_ptr<Shared> m_shared; // the lock, the stop flag; outlives us for late results

    // Guarded by m_shared->mutex.
    std::map<QString, std::unique_ptr<Task>> m_tasks;
    QHash<QByteArray, QString> m_keyOwners; // a task's key -> the task that loads it
    quint64 m_nextOrder = 0;
    bool m_started = false;
    StartupPhase m_phase = StartupPhase::NotStarted;
    AccessPredictor m_predictor;
    std::optional<Clock::MonoTime> m_lastEvaluation;
    quint64 m_preloadCount = 0;
    quint64 m_preloadErrorCount = 0;

    QThread m_timerThread;
    QTimer *m_timer = nullptr; // lives in m_timerThread
    std::atomic<bool> m_wakePending{false};
    std::atomic<bool> m_observerInstalled{false};
};

} // namespace opsdeck::cache

// HttpDispatcher: the HTTP pool's brain. It owns:
// - the global in-flight limit (exactly poolSize attempts on the wire; the rest queue),
// - per api: priority lanes (CRITICAL first, FIFO within a lane), the RateLimiter, the
//   CircuitBreaker, the RetryBudget and 429 pauses,
// - retries with backoff, per-attempt and overall deadlines (one Qt::PreciseTimer wakes it for the
//   next limiter slot, backoff end or deadline: nothing sleeps, nothing polls),
// - the worker threads: W = max(2, ceil(poolSize / 6)) HttpWorkers, added or retired live.
// All of that state sits behind one mutex, and every entry point runs in the caller's thread: a
// request is taken in (and usually sent to its worker) by the thread that asks, an attempt's
// outcome is handled by the worker thread that saw it. So a request costs two thread hops (to
// its worker; the future's continuation back), not four. Promises are resolved, and attempts for
// the current thread's own worker started, only after the mutex is released, so continuations
// (Launch::Sync ones included) may call back in. The QObject itself lives in the pool's
// "http-dispatch" thread, which only runs the wake timer and reaps retired workers.
// Not public API: use HttpPool.
#pragma once

#include "core/http/circuitbreaker.h"
#include "core/http/httpattempt.h"
#include "core/http/httppoolsettings.h"
#include "core/http/httprequest.h"
#include "core/http/httpresponse.h"
#include "core/http/httpstatsrecorder.h"
#include "core/http/ratelimiter.h"
#include "core/http/retrybudget.h"
#include "core/http/retrypolicy.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QPromise>
#include <QtNetwork/QNetworkRequest>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

QT_BEGIN_NAMESPACE
class QThread;
class QTimer;
QT_END_NAMESPACE

namespace opsdeck::http {

class HttpWorker;

class HttpDispatcher final : public QObject
{
    Q_OBJECT

public:
    struct Pending;
    using PendingPtr = std::shared_ptr<Pending>;
    using Timeline = std::multimap<qint64, PendingPtr>; // monotonic ns -> request

    // One logical request, from request() to its result.
    struct Pending
    {
        enum class State { New, Queued, Delayed, InFlight, Done };

        HttpRequest request;
        QPromise<Result<HttpResponse>> promise;
        // Called once with the final result just before the promise finishes (HttpPool::request).
        std::function<void(const Result<HttpResponse> &)> onFinished;
        qint64 createdNs = 0;

        // Owned by the dispatcher (under its mutex) from submit() on.
        quint64 id = 0;
        QString api;
        QByteArray method;
        QNetworkRequest netRequest;
        std::optional<qint64> deadlineNs;
        State state = State::New;
        int attempts = 0;
        bool probe = false;           // this attempt is the breaker's half-open probe
        bool waitedOnLimiter = false; // it has waited on the limiter or a pause
        qint64 admittedNs = 0;        // when the current/last attempt left the queue
        int workerIndex = 0;
        std::optional<HttpAttemptOutcome> last;
        int lastStatus = 0; // the last HTTP status any attempt received (0: none yet)
        std::optional<Timeline::iterator> deadlineEntry;
        std::optional<Timeline::iterator> delayedEntry;
    };

    HttpDispatcher(HttpPoolSettings settings, const Clock &clock, HttpStatsRecorder &stats);
    ~HttpDispatcher() override;

    // Thread-safe; each takes effect before it returns.
    void start(); // spawns the first workers
    void submit(PendingPtr pending);
    void setPoolSize(int size);
    void applyConfig(const opsdeck::HttpConfig &config);
    // nullopt removes the api's limiter.
    void setApiLimit(const QString &api, std::optional<RateLimiter::Limits> limits);
    // Thread-safe: the gauges as they are now (computed on demand, so a request never pays for
    // them and they always agree with the futures already resolved).
    HttpStatsRecorder::Gauges gauges();
    // Dispatcher thread. Fails everything pending with `shutdown` and joins the workers.
    // Nothing works after it.
    void shutdown();

private:
    // Holds the mutex; on leaving, releases it, then starts the attempts queued for the current
    // thread's worker and resolves the promises finished meanwhile.
    class Section;
    using Completion = std::pair<PendingPtr, Result<HttpResponse>>;
    using LocalJob = std::pair<HttpWorker *, HttpAttemptJob>;

    struct Api
    {
        Api(QString apiName, const HttpPoolSettings &settings, const Clock &clock);

        QString name;
        std::unique_ptr<RateLimiter> limiter; // null: unlimited
        CircuitBreaker breaker;
        RetryBudget budget;
        std::array<std::deque<PendingPtr>, kTaskPriorityCount> lanes; // by priority, FIFO
        std::array<double, kTaskPriorityCount> laneWeight{};          // queued weight per lane
        int queued = 0;
        int inFlight = 0;
        qint64 pausedUntilNs = 0; // a 429: nothing goes before this
        bool waitingOnLimiter = false;

        PendingPtr head() const;
        double weightAheadOf(TaskPriority priority) const;
    };

    struct WorkerSlot
    {
        int index = 0;
        QThread *thread = nullptr;
        HttpWorker *worker = nullptr; // lives in `thread`; deleted when it finishes
        int inFlight = 0;
        bool retiring = false; // takes no new attempts; stops when idle
        bool stopping = false; // shutdown posted
    };

    qint64 now() const;
    Api &apiFor(const QString &name);
    void configureLimiter(Api &api, double perMinute, std::optional<double> burst);

    void accept(const PendingPtr &pending);
    void deliver(HttpAttemptOutcome outcome); // worker thread
    void handleOutcome(HttpAttemptOutcome outcome);
    void applyPoolSize(int size);
    void onWake(); // dispatcher thread
    void pump();
    PendingPtr readyHead(Api &api, qint64 now, qint64 &nextWake);
    // When the api's pause and limiter let `pending` go (with aheadWeight queued before it).
    qint64 readyAtFor(const Api &api, const Pending &pending, double aheadWeight = 0.0) const;
    // False when the limiter refused after all (nextWake then says when to try again).
    bool dispatch(Api &api, const PendingPtr &pending, qint64 now, qint64 &nextWake);
    void observeUsageHeaders(Api &api, const Pending &pending, const HttpAttemptOutcome &outcome);

    void enqueue(Api &api, const PendingPtr &pending);
    void removeFromQueue(Api &api, const PendingPtr &pending);
    void delay(Api &api, const PendingPtr &pending, qint64 readyAtNs);
    void addDeadlineEntry(const PendingPtr &pending);
    void dropTimelineEntries(const PendingPtr &pending);

    void finishWithLastOutcome(const PendingPtr &pending);
    void finishWithError(const PendingPtr &pending, HttpErrorKind kind, const QString &message);
    void finish(const PendingPtr &pending, Result<HttpResponse> result);
    void failQueued(Api &api, HttpErrorKind kind, const QString &message);

    void resizeWorkers();
    void spawnWorker();
    void stopWorker(WorkerSlot &slot);
    void reapWorker(QThread *thread);
    WorkerSlot *pickWorker();
    WorkerSlot *slotByIndex(int index);
    int activeWorkerCount() const;

    void armWakeTimer(qint64 nowNs, qint64 limiterWakeNs);


    mutable QMutex m_mutex; // guards everything below but the constants
    std::vector<Completion> m_completions; // resolved when the Section ends
    std::vector<LocalJob> m_localJobs;     // started when the Section ends

    HttpPoolSettings m_settings;
    RetryPolicy m_retryPolicy;
    const Clock &m_clock;
    HttpStatsRecorder &m_stats;
    QTimer *m_wake = nullptr; // lives in the dispatcher thread
    qint64 m_wakeAtNs = -1;   // when it is armed (or asked to be) for; -1: not armed

    std::map<QString, std::unique_ptr<Api>> m_apis;
    std::unordered_map<quint64, PendingPtr> m_inFlight;
    Timeline m_deadlines; // queued and delayed requests with an overall deadline
    Timeline m_delayed;   // backoffs, by the time they may be queued again
    std::vector<std::unique_ptr<WorkerSlot>> m_workers;
    int m_poolSize = 1;
    int m_queued = 0;
    quint64 m_nextId = 0;
    bool m_shuttingDown = false;
};

} // namespace opsdeck::http

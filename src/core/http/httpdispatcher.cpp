#include "core/http/httpdispatcher.h"

#include "core/http/httpdate.h"
#include "core/http/httpstatsrecorder.h"
#include "core/http/httpworker.h"
#include "core/support/logging.h"

#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <limits>

namespace opsdeck::http {

namespace {

constexpr qint64 kNever = std::numeric_limits<qint64>::max();

qint64 toNs(std::chrono::milliseconds ms)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

int ceilMs(qint64 ns)
{
    const qint64 ms = (std::max<qint64>(0, ns) + 999'999) / 1'000'000;
    return int(std::min<qint64>(ms, std::numeric_limits<int>::max()));
}

bool before(const HttpDispatcher::Pending &a, const HttpDispatcher::Pending &b)
{
    const int pa = toInt(a.request.priority);
    const int pb = toInt(b.request.priority);
    return pa != pb ? pa < pb : a.id < b.id;
}

int laneOf(const HttpDispatcher::Pending &pending)
{
    return std::clamp(toInt(pending.request.priority), 0, kTaskPriorityCount - 1);
}

double weightOf(const HttpDispatcher::Pending &pending)
{
    return std::max(0.0, pending.request.weight);
}

// X-MBX-USED-WEIGHT-1M, X-SAPI-USED-IP-WEIGHT-1M, ...: usage in the current minute.
bool isMinuteUsageHeader(QByteArrayView name)
{
    const QByteArray lower = name.toByteArray().toLower();
    return lower.startsWith("x-") && lower.endsWith("weight-1m") && lower.contains("used");
}

} // namespace

class HttpDispatcher::Section final
{
public:
    explicit Section(HttpDispatcher &dispatcher)
        : m_dispatcher(dispatcher)
    {
        m_dispatcher.m_mutex.lock();
    }
    Q_DISABLE_COPY_MOVE(Section)
    ~Section()
    {
        std::vector<LocalJob> jobs;
        std::vector<Completion> completions;
        jobs.swap(m_dispatcher.m_localJobs);
        completions.swap(m_dispatcher.m_completions);
        m_dispatcher.m_mutex.unlock();
        // The network first, then the continuations (which may submit again).
        for (auto &[worker, job] : jobs)
            worker->startAttempt(std::move(job));
        for (auto &[pending, result] : completions) {
            if (auto onFinished = std::move(pending->onFinished)) {
                try {
                    onFinished(result);
                } catch (...) {
                    qCWarning(lcHttp) << "a request's onFinished callback threw";
                }
            }
            pending->promise.addResult(std::move(result));
            pending->promise.finish();
        }
    }

private:
    HttpDispatcher &m_dispatcher;
};

HttpDispatcher::Api::Api(QString apiName, const HttpPoolSettings &settings, const Clock &clock)
    : name(std::move(apiName))
    , breaker(settings.breaker, clock)
    , budget(settings.retryBudget, clock)
{}

HttpDispatcher::PendingPtr HttpDispatcher::Api::head() const
{
    for (const auto &lane : lanes) {
        if (!lane.empty())
            return lane.front();
    }
    return nullptr;
}

double HttpDispatcher::Api::weightAheadOf(TaskPriority priority) const
{
    double total = 0.0;
    for (int lane = 0; lane <= toInt(priority) && lane < kTaskPriorityCount; ++lane)
        total += laneWeight[size_t(lane)];
    return total;
}

HttpDispatcher::HttpDispatcher(HttpPoolSettings settings,
                               const Clock &clock,
                               HttpStatsRecorder &stats)
    : m_settings(std::move(settings))
    , m_retryPolicy(m_settings.retry, m_settings.random)
    , m_clock(clock)
    , m_stats(stats)
    , m_wake(new QTimer(this))
    , m_poolSize(std::max(1, m_settings.poolSize))
{
    m_wake->setSingleShot(true);
    m_wake->setTimerType(Qt::PreciseTimer);
    connect(m_wake, &QTimer::timeout, this, &HttpDispatcher::onWake);
}

HttpDispatcher::~HttpDispatcher() = default;

qint64 HttpDispatcher::now() const
{
    return m_clock.monotonic().count();
}

void HttpDispatcher::start()
{
    const Section section(*this);
    resizeWorkers();
}

void HttpDispatcher::onWake()
{
    const Section section(*this);
    m_wakeAtNs = -1;
    pump();
}

HttpDispatcher::Api &HttpDispatcher::apiFor(const QString &name)
{
    auto it = m_apis.find(name);
    if (it == m_apis.end())
        it = m_apis.emplace(name, std::make_unique<Api>(name, m_settings, m_clock)).first;
    return *it->second;
}

void HttpDispatcher::configureLimiter(Api &api, double perMinute, std::optional<double> burst)
{
    if (!(perMinute > 0.0)) {
        api.limiter.reset();
        return;
    }
    RateLimiter::Limits limits;
    limits.perMinute = perMinute;
    limits.burst = burst.value_or(0.0);
    if (api.limiter)
        api.limiter->setLimits(limits);
    else
        api.limiter = std::make_unique<RateLimiter>(limits, m_clock);
}

void HttpDispatcher::setApiLimit(const QString &api, std::optional<RateLimiter::Limits> limits)
{
    const Section section(*this);
    Api &state = apiFor(api);
    if (!limits) {
        state.limiter.reset();
    } else if (state.limiter) {
        state.limiter->setLimits(*limits);
    } else {
        state.limiter = std::make_unique<RateLimiter>(*limits, m_clock);
    }
    pump();
}

void HttpDispatcher::setPoolSize(int size)
{
    const Section section(*this);
    applyPoolSize(size);
}

void HttpDispatcher::applyPoolSize(int size)
{
    if (m_shuttingDown)
        return;
    m_poolSize = std::max(1, size);
    m_settings.poolSize = m_poolSize;
    resizeWorkers();
    pump();
}

void HttpDispatcher::applyConfig(const HttpConfig &config)
{
    const Section section(*this);
    m_settings.apply(config);
    m_retryPolicy = RetryPolicy(m_settings.retry, m_settings.random);
    applyPoolSize(m_settings.poolSize);
}

// --- Requests -------------------------------------------------------------------------------

void HttpDispatcher::submit(PendingPtr pending)
{
    const Section section(*this);
    accept(pending);
    pump();
}

void HttpDispatcher::accept(const PendingPtr &pending)
{
    pending->id = ++m_nextId;
    pending->api = pending->request.effectiveApiName();
    pending->method = pending->request.normalizedMethod();
    m_stats.requestSubmitted(pending->api);
    if (m_shuttingDown) {
        finishWithError(pending, HttpErrorKind::Shutdown,
                        QStringLiteral("the HTTP pool is shut down"));
        return;
    }
    Api &api = apiFor(pending->api);
    if (pending->request.rateLimit)
        configureLimiter(api, *pending->request.rateLimit, pending->request.burst);
    if (pending->request.deadline)
        pending->deadlineNs = pending->createdNs + toNs(*pending->request.deadline);

    const QUrl &url = pending->request.url;
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || url.host().isEmpty() || (scheme != u"http" && scheme != u"https")) {
        finishWithError(pending, HttpErrorKind::InvalidRequest,
                        QStringLiteral("not an http(s) URL: \"%1\"").arg(url.toDisplayString()));
        return;
    }
    if (pending->method.isEmpty()) {
        finishWithError(pending, HttpErrorKind::InvalidRequest, QStringLiteral("no method"));
        return;
    }
    pending->netRequest = HttpWorker::buildRequest(pending->request, m_settings.userAgent);

    const qint64 t = now();
    if (pending->promise.isCanceled()) {
        finishWithError(pending, HttpErrorKind::Cancelled, QStringLiteral("cancelled"));
        return;
    }
    if (api.breaker.state() == CircuitBreaker::State::Open) {
        finishWithError(pending, HttpErrorKind::CircuitOpen,
                        QStringLiteral("the circuit breaker of api \"%1\" is open").arg(api.name));
        return;
    }
    if (pending->deadlineNs) {
        // Fail at once when the limiter (with everything queued ahead) or a pause would keep it
        // waiting past its deadline.
        const qint64 readyAt
            = std::max(t, readyAtFor(api, *pending, api.weightAheadOf(pending->request.priority)));
        if (readyAt > *pending->deadlineNs) {
            pending->waitedOnLimiter = true;
            finishWithError(pending, HttpErrorKind::RateLimited,
                            QStringLiteral("api \"%1\" is rate limited for %2 ms more than the "
                                           "deadline allows")
                                .arg(api.name)
                                .arg(ceilMs(readyAt - *pending->deadlineNs)));
            return;
        }
    }
    enqueue(api, pending);
}

void HttpDispatcher::enqueue(Api &api, const PendingPtr &pending)
{
    auto &lane = api.lanes[size_t(laneOf(*pending))];
    // A retry keeps its place: the lane stays ordered by submission.
    const auto at
        = std::upper_bound(lane.begin(), lane.end(), pending,
                           [](const PendingPtr &a, const PendingPtr &b) { return a->id < b->id; });
    lane.insert(at, pending);
    api.laneWeight[size_t(laneOf(*pending))] += weightOf(*pending);
    ++api.queued;
    ++m_queued;
    pending->state = Pending::State::Queued;
    addDeadlineEntry(pending);
}

void HttpDispatcher::removeFromQueue(Api &api, const PendingPtr &pending)
{
    if (pending->state != Pending::State::Queued)
        return;
    auto &lane = api.lanes[size_t(laneOf(*pending))];
    const auto it = std::find(lane.begin(), lane.end(), pending);
    if (it != lane.end()) {
        lane.erase(it);
        double &weight = api.laneWeight[size_t(laneOf(*pending))];
        weight = lane.empty() ? 0.0 : std::max(0.0, weight - weightOf(*pending));
        --api.queued;
        --m_queued;
    }
    dropTimelineEntries(pending);
    pending->state = Pending::State::New;
}

void HttpDispatcher::delay(Api &api, const PendingPtr &pending, qint64 readyAtNs)
{
    if (readyAtNs <= now()) {
        enqueue(api, pending);
        return;
    }
    pending->state = Pending::State::Delayed;
    pending->delayedEntry = m_delayed.emplace(readyAtNs, pending);
    addDeadlineEntry(pending);
}

void HttpDispatcher::addDeadlineEntry(const PendingPtr &pending)
{
    if (pending->deadlineNs && !pending->deadlineEntry)
        pending->deadlineEntry = m_deadlines.emplace(*pending->deadlineNs, pending);
}

void HttpDispatcher::dropTimelineEntries(const PendingPtr &pending)
{
    if (pending->deadlineEntry) {
        m_deadlines.erase(*pending->deadlineEntry);
        pending->deadlineEntry.reset();
    }
    if (pending->delayedEntry) {
        m_delayed.erase(*pending->delayedEntry);
        pending->delayedEntry.reset();
    }
}

void HttpDispatcher::pump()
{
    if (m_shuttingDown)
        return;
    const qint64 t = now();

    // Overall deadlines of requests still waiting (in-flight attempts carry their own timer).
    while (!m_deadlines.empty() && m_deadlines.begin()->first <= t) {
        const PendingPtr pending = m_deadlines.begin()->second;
        Api &api = apiFor(pending->api);
        const bool waitedOnLimiter
            = pending->state == Pending::State::Queued && pending->waitedOnLimiter;
        removeFromQueue(api, pending);
        dropTimelineEntries(pending);
        if (waitedOnLimiter) {
            finishWithError(
                pending, HttpErrorKind::RateLimited,
                QStringLiteral("api \"%1\" stayed rate limited until the deadline").arg(api.name));
        } else {
            finishWithError(pending, HttpErrorKind::DeadlineExceeded,
                            QStringLiteral("the request deadline passed"));
        }
    }
    // Backoffs that are over.
    while (!m_delayed.empty() && m_delayed.begin()->first <= t) {
        const PendingPtr pending = m_delayed.begin()->second;
        dropTimelineEntries(pending);
        enqueue(apiFor(pending->api), pending);
    }

    qint64 nextWake = kNever;
    while (int(m_inFlight.size()) < m_poolSize && m_queued > 0) {
        Api *bestApi = nullptr;
        PendingPtr best;
        for (auto &[name, api] : m_apis) {
            if (api->queued == 0)
                continue;
            PendingPtr head = readyHead(*api, t, nextWake);
            if (head && (!best || before(*head, *best))) {
                best = std::move(head);
                bestApi = api.get();
            }
        }
        if (!best || !dispatch(*bestApi, best, t, nextWake))
            break;
    }
    armWakeTimer(t, nextWake);
}

HttpDispatcher::PendingPtr HttpDispatcher::readyHead(Api &api, qint64 t, qint64 &nextWake)
{
    for (;;) {
        PendingPtr head = api.head();
        if (!head)
            return nullptr;
        if (head->promise.isCanceled()) {
            removeFromQueue(api, head);
            finishWithError(head, HttpErrorKind::Cancelled, QStringLiteral("cancelled"));
            continue;
        }
        switch (api.breaker.state()) {
        case CircuitBreaker::State::Open:
            failQueued(api, HttpErrorKind::CircuitOpen,
                       QStringLiteral("the circuit breaker of api \"%1\" opened").arg(api.name));
            return nullptr;
        case CircuitBreaker::State::HalfOpen:
            if (api.breaker.isProbeInFlight())
                return nullptr; // the probe's outcome decides
            break;
        case CircuitBreaker::State::Closed:
            break;
        }
        const qint64 readyAt = readyAtFor(api, *head);
        // The limiter answers against its own (later) reading of the clock.
        if (readyAt > std::max(t, now())) {
            head->waitedOnLimiter = true;
            if (head->deadlineNs && readyAt > *head->deadlineNs) {
                removeFromQueue(api, head);
                finishWithError(
                    head, HttpErrorKind::RateLimited,
                    QStringLiteral("api \"%1\" is rate limited past the deadline").arg(api.name));
                continue;
            }
            nextWake = std::min(nextWake, readyAt);
            return nullptr;
        }
        return head;
    }
}

qint64 HttpDispatcher::readyAtFor(const Api &api, const Pending &pending, double aheadWeight) const
{
    qint64 readyAt = api.pausedUntilNs;
    if (api.limiter) {
        readyAt = std::max(
            readyAt,
            qint64(api.limiter
                       ->earliestAdmission(weightOf(pending), pending.request.priority, aheadWeight)
                       .count()));
    }
    return readyAt;
}

bool HttpDispatcher::dispatch(Api &api, const PendingPtr &pending, qint64 t, qint64 &nextWake)
{
    if (api.limiter) {
        const RateLimiter::Decision decision
            = api.limiter->tryAcquire(weightOf(*pending), pending->request.priority);
        if (!decision.admitted) {
            // Not expected (readyHead() asked the same limiter), but never send past it.
            nextWake = std::min(nextWake, qint64(decision.at.count()));
            return false;
        }
    }
    removeFromQueue(api, pending);
    pending->probe = false;
    if (api.breaker.state() == CircuitBreaker::State::HalfOpen)
        pending->probe = api.breaker.tryAcquire();

    qint64 timeout = toNs(pending->request.timeout.value_or(m_settings.timeout));
    bool timeoutIsDeadline = false;
    if (pending->deadlineNs) {
        const qint64 remaining = *pending->deadlineNs - t;
        if (remaining <= 0) {
            if (pending->probe)
                api.breaker.releaseProbe();
            finishWithError(pending, HttpErrorKind::DeadlineExceeded,
                            QStringLiteral("the request deadline passed"));
            return true;
        }
        if (remaining < timeout) {
            timeout = remaining;
            timeoutIsDeadline = true;
        }
    }
    WorkerSlot *slot = pickWorker();
    Q_ASSERT(slot);
    ++pending->attempts;
    pending->admittedNs = t;
    pending->state = Pending::State::InFlight;
    pending->workerIndex = slot->index;
    m_inFlight.emplace(pending->id, pending);
    ++api.inFlight;
    ++slot->inFlight;
    m_stats.attemptStarted(api.name, pending->request.body.size());

    HttpAttemptJob job;
    job.requestId = pending->id;
    job.request = pending->netRequest;
    job.method = pending->method;
    job.body = pending->request.body;
    job.timeout = std::chrono::nanoseconds(timeout);
    job.timeoutIsDeadline = timeoutIsDeadline;
    if (slot->thread == QThread::currentThread())
        m_localJobs.emplace_back(slot->worker, std::move(job)); // no hop: sent after the Section
    else
        slot->worker->post(std::move(job));
    return true;
}

void HttpDispatcher::deliver(HttpAttemptOutcome outcome)
{
    const Section section(*this);
    handleOutcome(std::move(outcome));
    pump();
}

void HttpDispatcher::handleOutcome(HttpAttemptOutcome outcome)
{
    const auto it = m_inFlight.find(outcome.requestId);
    if (it == m_inFlight.end())
        return;
    const PendingPtr pending = it->second;
    m_inFlight.erase(it);
    if (WorkerSlot *slot = slotByIndex(pending->workerIndex)) {
        --slot->inFlight;
        if (slot->retiring && !slot->stopping && slot->inFlight == 0)
            stopWorker(*slot);
    }
    Api &api = apiFor(pending->api);
    --api.inFlight;
    pending->state = Pending::State::New;
    const qint64 t = now();
    m_stats.attemptFinished(api.name, outcome.status, outcome.body.size());

    if (outcome.kind == HttpErrorKind::Shutdown) {
        pending->last = std::move(outcome);
        finishWithLastOutcome(pending);
        return;
    }

    // Api health: the breaker counts server trouble, the budget earns from successes.
    const HttpErrorKind kind = outcome.kind;
    const int status = outcome.status;
    const bool serverFailure = kind == HttpErrorKind::Connection || kind == HttpErrorKind::Timeout
                               || (kind == HttpErrorKind::HttpStatus && status >= 500);
    const bool answered
        = kind == HttpErrorKind::None || (kind == HttpErrorKind::HttpStatus && status < 500);
    if (serverFailure) {
        api.breaker.recordFailure(pending->probe);
    } else if (answered) {
        api.breaker.recordSuccess(pending->probe);
        api.budget.recordSuccess();
    } else if (pending->probe) {
        api.breaker.releaseProbe();
    }
    pending->probe = false;
    observeUsageHeaders(api, *pending, outcome);

    std::optional<std::chrono::milliseconds> retryAfter;
    if (status == 429 || status == 503) {
        for (const auto &[name, value] : outcome.headers) {
            if (QByteArrayView(name).compare("Retry-After", Qt::CaseInsensitive) == 0) {
                retryAfter = parseRetryAfter(value, m_clock.wallMsecs());
                break;
            }
        }
        // The server asked the whole api to wait: pause it (a 429 without a Retry-After for
        // the base retry delay).
        if (retryAfter || status == 429) {
            const qint64 until = t + toNs(retryAfter.value_or(m_settings.retry.baseDelay));
            api.pausedUntilNs = std::max(api.pausedUntilNs, until);
            if (api.limiter)
                api.limiter->pauseUntil(Clock::MonoTime(until));
            qCDebug(lcHttp) << "api" << api.name << "paused for" << ceilMs(until - t) << "ms";
        }
    }
    if (outcome.status > 0)
        pending->lastStatus = outcome.status;
    pending->last = std::move(outcome);

    if (pending->promise.isCanceled()) {
        finishWithError(pending, HttpErrorKind::Cancelled, QStringLiteral("cancelled"));
        return;
    }

    RetryPolicy::Attempt attempt;
    attempt.attemptsSoFar = pending->attempts;
    attempt.retryCountOverride = pending->request.retryCount;
    attempt.retryAllowedForMethod
        = pending->request.retryNonIdempotent || HttpRequest::isIdempotentMethod(pending->method);
    attempt.kind = kind;
    attempt.status = status;
    attempt.retryAfter = retryAfter;
    if (pending->deadlineNs)
        attempt.remaining = std::chrono::nanoseconds(*pending->deadlineNs - t);
    const RetryPolicy::Decision decision = m_retryPolicy.decide(attempt);

    switch (decision.action) {
    case RetryPolicy::Action::Finish:
        finishWithLastOutcome(pending);
        break;
    case RetryPolicy::Action::FailDeadline:
        finishWithError(pending, HttpErrorKind::DeadlineExceeded,
                        QStringLiteral("the request deadline passed while retrying"));
        break;
    case RetryPolicy::Action::FailRateLimited:
        finishWithError(pending, HttpErrorKind::RateLimited,
                        QStringLiteral("the server asks to retry after %1 ms, beyond the deadline")
                            .arg(ceilMs(decision.delay.count())));
        break;
    case RetryPolicy::Action::Retry:
        if (!api.budget.tryWithdraw()) {
            m_stats.retryDenied(api.name);
            qCDebug(lcHttp) << "retry budget of api" << api.name << "exhausted";
            finishWithLastOutcome(pending);
            break;
        }
        m_stats.retryScheduled(api.name);
        delay(api, pending, t + decision.delay.count());
        break;
    }
}

void HttpDispatcher::observeUsageHeaders(Api &api,
                                         const Pending &pending,
                                         const HttpAttemptOutcome &outcome)
{
    if (!api.limiter)
        return;
    for (const auto &[name, value] : outcome.headers) {
        if (!isMinuteUsageHeader(name))
            continue;
        bool ok = false;
        const double used = value.trimmed().toDouble(&ok);
        if (ok)
            api.limiter->observeUsage(used, Clock::MonoTime(pending.admittedNs));
    }
}

void HttpDispatcher::failQueued(Api &api, HttpErrorKind kind, const QString &message)
{
    for (;;) {
        const PendingPtr head = api.head();
        if (!head)
            return;
        removeFromQueue(api, head);
        finishWithError(head, kind, message);
    }
}

// --- Results --------------------------------------------------------------------------------

void HttpDispatcher::finishWithLastOutcome(const PendingPtr &pending)
{
    if (!pending->last) {
        finishWithError(pending, HttpErrorKind::Connection, QStringLiteral("no attempt finished"));
        return;
    }
    HttpAttemptOutcome &last = *pending->last;
    if (last.kind != HttpErrorKind::None && last.kind != HttpErrorKind::HttpStatus) {
        finishWithError(pending, last.kind,
                        last.errorText.isEmpty() ? toString(last.kind) : last.errorText);
        return;
    }
    HttpResponse response;
    response.status = last.status;
    response.headers = std::move(last.headers);
    response.body = std::move(last.body);
    response.json = std::move(last.json);
    response.jsonError = std::move(last.jsonError);
    response.attempts = pending->attempts;
    response.elapsed = std::chrono::nanoseconds(now() - pending->createdNs);
    response.errorKind = last.kind;
    finish(pending, std::move(response));
}

void HttpDispatcher::finishWithError(const PendingPtr &pending,
                                     HttpErrorKind kind,
                                     const QString &message)
{
    QJsonObject details{
        {QStringLiteral("api"), pending->api},
        {QStringLiteral("attempts"), pending->attempts},
        {QStringLiteral("elapsed_ms"), double(now() - pending->createdNs) / 1e6},
    };
    // The last answer the server gave, even when the deadline then cut a later attempt short.
    if (pending->lastStatus > 0)
        details.insert(QStringLiteral("status"), pending->lastStatus);
    if (pending->last && pending->last->kind != kind && !pending->last->errorText.isEmpty())
        details.insert(QStringLiteral("last_error"), pending->last->errorText);
    const QString text = QStringLiteral("%1 %2: %3")
                             .arg(QString::fromLatin1(pending->method),
                                  pending->request.url.toDisplayString(QUrl::RemoveQuery), message);
    finish(pending, tl::unexpected(Error{toString(kind), text, details}));
}

void HttpDispatcher::finish(const PendingPtr &pending, Result<HttpResponse> result)
{
    dropTimelineEntries(pending);
    pending->state = Pending::State::Done;
    const bool failed = !result || result->status >= 400;
    const HttpErrorKind kind = result ? result->errorKind : httpErrorKindOf(result.error());
    m_stats.requestFinished(pending->api, failed, kind,
                            std::chrono::nanoseconds(now() - pending->createdNs));
    m_completions.emplace_back(pending, std::move(result)); // resolved after the Section
}

// --- Workers --------------------------------------------------------------------------------

int HttpDispatcher::activeWorkerCount() const
{
    return int(std::count_if(m_workers.begin(), m_workers.end(),
                             [](const auto &slot) { return !slot->retiring; }));
}

void HttpDispatcher::resizeWorkers()
{
    const int want = HttpPoolSettings::workerCountFor(m_poolSize);
    int active = activeWorkerCount();
    for (auto &slot : m_workers) {
        if (active < want && slot->retiring && !slot->stopping) {
            slot->retiring = false;
            ++active;
        }
    }
    while (active < want) {
        spawnWorker();
        ++active;
    }
    for (auto it = m_workers.rbegin(); it != m_workers.rend() && active > want; ++it) {
        WorkerSlot &slot = **it;
        if (slot.retiring)
            continue;
        slot.retiring = true;
        --active;
        if (slot.inFlight == 0)
            stopWorker(slot);
    }
}

void HttpDispatcher::spawnWorker()
{
    int index = 1;
    while (slotByIndex(index))
        ++index;
    auto slot = std::make_unique<WorkerSlot>();
    slot->index = index;
    slot->thread = new QThread;
    slot->thread->setObjectName(QStringLiteral("http-%1").arg(index));
    slot->thread->moveToThread(thread()); // reaped and deleted there, whoever spawned it
    slot->worker = new HttpWorker(index, m_settings.useSystemProxy, [this](HttpAttemptOutcome o) {
        // Worker thread: hand the outcome to the dispatcher thread.
        deliver(std::move(o)); // in the worker thread: no hop
    });
    slot->worker->moveToThread(slot->thread);
    connect(slot->thread, &QThread::finished, slot->worker, &QObject::deleteLater);
    slot->thread->start();
    HttpWorker *worker = slot->worker;
    QMetaObject::invokeMethod(
        worker, [worker] { worker->prepare(); }, Qt::QueuedConnection);
    // Sorted by index, so retiring picks the highest.
    const auto at = std::upper_bound(m_workers.begin(), m_workers.end(), index,
                                     [](int i, const auto &s) { return i < s->index; });
    m_workers.insert(at, std::move(slot));
    qCDebug(lcHttp) << "worker" << index << "started";
}

void HttpDispatcher::stopWorker(WorkerSlot &slot)
{
    slot.stopping = true;
    HttpWorker *worker = slot.worker;
    QThread *thread = slot.thread;
    connect(thread, &QThread::finished, this, [this, thread] { reapWorker(thread); });
    QMetaObject::invokeMethod(
        worker,
        [worker] {
            worker->shutdown();
            worker->thread()->quit();
        },
        Qt::QueuedConnection);
}

void HttpDispatcher::reapWorker(QThread *thread)
{
    {
        const Section section(*this);
        const auto it = std::find_if(m_workers.begin(), m_workers.end(),
                                     [thread](const auto &slot) { return slot->thread == thread; });
        if (it == m_workers.end())
            return; // shutdown() took it
        m_workers.erase(it);
    }
    thread->wait();
    delete thread;
}

HttpDispatcher::WorkerSlot *HttpDispatcher::pickWorker()
{
    // Submitted from a worker's own thread (a completion callback issuing the next request): that
    // worker while it has a free connection, so the attempt starts without a thread hop, as in a
    // QNAM loop.
    QThread *const current = QThread::currentThread();
    for (auto &slot : m_workers) {
        if (slot->thread == current) {
            if (!slot->retiring && slot->inFlight < HttpPoolSettings::kConnectionsPerQnam)
                return slot.get();
            break;
        }
    }
    // Otherwise the least busy worker; ties go to the lowest index, so light traffic stays on
    // one QNAM and keeps reusing its connections.
    WorkerSlot *best = nullptr;
    for (auto &slot : m_workers) {
        if (slot->retiring)
            continue;
        if (!best || slot->inFlight < best->inFlight)
            best = slot.get();
    }
    return best;
}

HttpDispatcher::WorkerSlot *HttpDispatcher::slotByIndex(int index)
{
    for (auto &slot : m_workers) {
        if (slot->index == index)
            return slot.get();
    }
    return nullptr;
}

void HttpDispatcher::shutdown()
{
    std::vector<QThread *> threads;
    {
        const Section section(*this);
        if (m_shuttingDown)
            return;
        m_shuttingDown = true;
        m_wake->stop();
        m_wakeAtNs = -1;
        for (auto &slot : m_workers) {
            disconnect(slot->thread, nullptr, this, nullptr);
            if (!slot->stopping) {
                slot->stopping = true;
                HttpWorker *worker = slot->worker;
                QMetaObject::invokeMethod(
                    worker,
                    [worker] {
                        worker->shutdown();
                        worker->thread()->quit();
                    },
                    Qt::QueuedConnection);
            }
            threads.push_back(slot->thread);
        }
    }
    // Joined outside the mutex: a worker may be delivering an outcome right now. Nothing is
    // dispatched any more (pump() is off), so after this no outcome can arrive.
    for (QThread *thread : threads)
        thread->wait();

    const Section section(*this);
    for (QThread *thread : threads)
        delete thread;
    m_workers.clear();

    const QString message = QStringLiteral("the HTTP pool shut down");
    std::vector<PendingPtr> inFlight;
    inFlight.reserve(m_inFlight.size());
    for (auto &[id, pending] : m_inFlight)
        inFlight.push_back(pending);
    m_inFlight.clear();
    for (const PendingPtr &pending : inFlight)
        finishWithError(pending, HttpErrorKind::Shutdown, message);
    while (!m_delayed.empty()) {
        const PendingPtr pending = m_delayed.begin()->second;
        finishWithError(pending, HttpErrorKind::Shutdown, message);
    }
    for (auto &[name, api] : m_apis)
        failQueued(*api, HttpErrorKind::Shutdown, message);
}

// --- Timer and gauges -----------------------------------------------------------------------

void HttpDispatcher::armWakeTimer(qint64 t, qint64 limiterWakeNs)
{
    qint64 next = int(m_inFlight.size()) < m_poolSize ? limiterWakeNs : kNever;
    if (!m_deadlines.empty())
        next = std::min(next, m_deadlines.begin()->first);
    if (!m_delayed.empty())
        next = std::min(next, m_delayed.begin()->first);
    if (QThread::currentThread() != thread()) {
        // The timer belongs to the dispatcher thread: ask it to pump (and so re-arm) only when
        // it would otherwise wake too late. An early or needless wake-up just pumps.
        if (next == kNever || (m_wakeAtNs >= 0 && m_wakeAtNs <= next))
            return;
        m_wakeAtNs = next;
        QMetaObject::invokeMethod(this, &HttpDispatcher::onWake, Qt::QueuedConnection);
        return;
    }
    if (next == kNever) {
        m_wake->stop();
        m_wakeAtNs = -1;
        return;
    }
    if (m_wake->isActive() && m_wakeAtNs == next)
        return;
    m_wakeAtNs = next;
    m_wake->start(ceilMs(next - t));
}

HttpStatsRecorder::Gauges HttpDispatcher::gauges()
{
    const QMutexLocker lock(&m_mutex);
    const qint64 t = now();
    HttpStatsRecorder::Gauges gauges;
    gauges.workers = activeWorkerCount();
    gauges.poolSize = m_poolSize;
    gauges.inFlight = int(m_inFlight.size());
    gauges.queued = m_queued;
    gauges.waitingRetry = int(m_delayed.size());
    gauges.apis.reserve(qsizetype(m_apis.size()));
    for (auto &[name, api] : m_apis) {
        HttpStatsRecorder::ApiGauge gauge;
        gauge.name = name;
        gauge.inFlight = api->inFlight;
        gauge.queued = api->queued;
        gauge.breakerOpen = api->breaker.state() != CircuitBreaker::State::Closed;
        gauge.breakerOpenUntilNs = api->breaker.openUntil().count();
        gauge.pausedUntilNs = api->pausedUntilNs;
        if (api->limiter) {
            gauge.pausedUntilNs
                = std::max(gauge.pausedUntilNs, qint64(api->limiter->pausedUntil().count()));
            gauge.rateLimitPerMinute = api->limiter->limits().perMinute;
        }
        if (const PendingPtr head = api->head(); head && api->limiter)
            gauge.waitingOnLimiter = readyAtFor(*api, *head) > std::max(t, now());
        gauges.apis.append(std::move(gauge));
    }
    return gauges;
}

} // namespace opsdeck::http

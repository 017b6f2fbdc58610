#include "core/perf/loadtestrunner.h"

#include "core/perf/loadtestschedule.h"
#include "core/support/logging.h"

#include <sys/prctl.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <semaphore>
#include <thread>

namespace opsdeck::perf {

using namespace std::chrono_literals;

namespace {

constexpr int kStarting = 0;
constexpr int kInFlight = 1;
constexpr int kDone = 2;

double seconds(Clock::Duration d)
{
    return std::chrono::duration<double>(d).count();
}

Clock::Duration fromSeconds(double s)
{
    return Clock::Duration(qint64(s * 1e9));
}

// Linux coalesces sleeps by 50 µs by default; a load generator wants its wake-ups on time.
void tightenTimerSlack()
{
    thread_local bool done = false;
    if (!done) {
        prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
        done = true;
    }
}

} // namespace

const ComponentFigures *LoadTestRun::component(LoadComponentKind kind) const
{
    for (const ComponentFigures &f : components) {
        if (f.kind == kind)
            return &f;
    }
    return nullptr;
}

struct LoadTestRunner::Driver
{
    std::unique_ptr<LoadComponent> component;
    std::unique_ptr<LoadRecorder> recorder;
    std::optional<LoadSchedule> schedule; // open model
    quint64 seed = 0;
    int workers = 1;
    std::atomic<qint64> next{0};
    std::vector<std::thread> threads;

    std::mutex mutex;
    std::condition_variable cv;
    int outstanding = 0;   // open model, async: operations in flight (guarded)
    int activeWorkers = 0; // closed model, async: workers still issuing (guarded)
    std::vector<std::unique_ptr<std::atomic<int>>> phase; // closed model, async: per worker
};

LoadTestRunner::LoadTestRunner(LoadTestConfig config, const Clock &clock)
    : m_config(std::move(config))
    , m_clock(clock)
{
    m_sleep = [this](Clock::MonoTime until) {
        sleepRealTime(m_clock, until);
    };
}

LoadTestRunner::~LoadTestRunner() = default;

void LoadTestRunner::setSleepFunction(SleepFunction sleep)
{
    if (sleep)
        m_sleep = std::move(sleep);
}

void LoadTestRunner::setProgressCallback(ProgressCallback callback)
{
    m_progress = std::move(callback);
}

void LoadTestRunner::cancel()
{
    m_cancelled.store(true);
}

void LoadTestRunner::sleepRealTime(const Clock &clock, Clock::MonoTime until)
{
    tightenTimerSlack();
    const Clock::Duration left = until - clock.monotonic();
    if (left > Clock::Duration(0))
        std::this_thread::sleep_for(left);
}

bool LoadTestRunner::sleepUntil(Clock::MonoTime until)
{
    for (;;) {
        if (m_cancelled.load(std::memory_order_relaxed))
            return false;
        const Clock::MonoTime now = m_clock.monotonic();
        if (now >= until)
            return true;
        // In slices, so cancel() is seen within 50 ms.
        m_sleep(std::min<Clock::MonoTime>(until, now + 50ms));
    }
}

Result<LoadTestRun> LoadTestRunner::run(std::vector<std::unique_ptr<LoadComponent>> components)
{
    if (Status valid = m_config.validate(); !valid)
        return tl::unexpected(valid.error());
    if (components.empty())
        return fail(QStringLiteral("invalid_load_config"), QStringLiteral("No component to run."));

    std::vector<std::unique_ptr<Driver>> drivers;
    for (auto &component : components) {
        if (!component)
            continue;
        if (Status prepared = component->prepare(); !prepared) {
            for (auto &d : drivers)
                d->component->finish();
            component->finish();
            return tl::unexpected(prepared.error());
        }
        auto driver = std::make_unique<Driver>();
        driver->seed = splitMix64(m_config.seed
                                  ^ (quint64(int(component->kind()) + 1) * 0x9E3779B97F4A7C15ULL));
        driver->workers = m_config.concurrency;
        driver->recorder
            = std::make_unique<LoadRecorder>(component->kind(), component->operationNames());
        if (m_config.rate)
            driver->schedule.emplace(*m_config.rate, fromSeconds(m_config.rampUpSeconds),
                                     fromSeconds(m_config.durationSeconds));
        driver->component = std::move(component);
        drivers.push_back(std::move(driver));
    }

    const Clock::Duration ramp = fromSeconds(m_config.rampUpSeconds);
    const Clock::Duration measured = fromSeconds(m_config.durationSeconds);
    m_start = m_clock.monotonic();
    m_measureStart = m_start + ramp;
    m_end = m_measureStart + measured;
    LoadTestRun result;
    result.config = m_config;
    result.startWallMs = m_clock.wallMsecs();
    qCInfo(lcPerf,
           "Load test: %d component(s), %s model, %d worker(s) each, %.1f s ramp-up + %.1f s",
           int(drivers.size()), m_config.isOpenModel() ? "open" : "closed", m_config.concurrency,
           m_config.rampUpSeconds, m_config.durationSeconds);

    std::mutex doneMutex;
    std::condition_variable doneCv;
    std::atomic<int> running{0};
    auto threadDone = [&] {
        std::lock_guard lock(doneMutex);
        running.fetch_sub(1);
        doneCv.notify_all();
    };

    for (auto &d : drivers) {
        d->recorder->setWindow(m_measureStart, measured);
        Driver *driver = d.get();
        if (!driver->component->isAsync()) {
            for (int w = 0; w < driver->workers; ++w) {
                running.fetch_add(1);
                driver->threads.emplace_back([this, driver, w, threadDone] {
                    runSyncWorker(*driver, w);
                    threadDone();
                });
            }
        } else {
            running.fetch_add(1);
            driver->threads.emplace_back([this, driver, threadDone] {
                if (m_config.isOpenModel())
                    runAsyncOpen(*driver);
                else
                    runAsyncClosed(*driver);
                threadDone();
            });
        }
    }

    // Progress from the caller's thread, at most 10 Hz (real time: it only reads the clock).
    quint64 lastDone = 0;
    Clock::MonoTime lastAt = m_start;
    for (;;) {
        {
            std::unique_lock lock(doneMutex);
            if (doneCv.wait_for(lock, 100ms, [&] { return running.load() == 0; }))
                break;
        }
        if (!m_progress)
            continue;
        Progress p = progressNow(drivers);
        const Clock::MonoTime now = m_clock.monotonic();
        const double dt = seconds(now - lastAt);
        if (dt > 0)
            p.figures.prepend({QStringLiteral("ops/s"),
                               QString::number(double(quint64(p.done) - lastDone) / dt, 'f', 0)});
        lastDone = quint64(p.done);
        lastAt = now;
        m_progress(p);
    }
    for (auto &d : drivers) {
        for (std::thread &t : d->threads)
            t.join();
        d->component->finish();
    }

    const Clock::MonoTime stoppedAt = m_clock.monotonic();
    result.cancelled = m_cancelled.load();
    result.endWallMs = m_clock.wallMsecs();
    if (result.cancelled) {
        result.rampUpSeconds
            = std::clamp(seconds(stoppedAt - m_start), 0.0, m_config.rampUpSeconds);
        result.measuredSeconds = std::clamp(seconds(std::min(stoppedAt, m_end) - m_measureStart),
                                            0.0, m_config.durationSeconds);
    } else {
        result.rampUpSeconds = m_config.rampUpSeconds;
        result.measuredSeconds = m_config.durationSeconds;
    }
    for (auto &d : drivers) {
        ComponentFigures f = d->recorder->finish(result.measuredSeconds);
        f.extra = d->component->extraResults();
        result.components.append(std::move(f));
    }
    if (m_progress) {
        Progress p = progressNow(drivers);
        p.etaSeconds = 0;
        p.phase = result.cancelled ? QStringLiteral("cancelled") : QStringLiteral("done");
        m_progress(p);
    }
    return result;
}

Progress LoadTestRunner::progressNow(const std::vector<std::unique_ptr<Driver>> &drivers) const
{
    Progress p;
    const Clock::MonoTime now = m_clock.monotonic();
    p.elapsedSeconds = std::max(0.0, seconds(now - m_start));
    const double planned = m_config.rampUpSeconds + m_config.durationSeconds;
    p.etaSeconds = std::max(0.0, planned - p.elapsedSeconds);
    p.phase = now < m_measureStart ? QStringLiteral("ramp-up")
              : now < m_end        ? QStringLiteral("measuring")
                                   : QStringLiteral("draining");
    quint64 errors = 0;
    QStringList p99s;
    for (const auto &d : drivers) {
        p.done += qint64(d->recorder->completed());
        errors += d->recorder->failed();
        if (d->schedule)
            p.total += d->schedule->totalOperations();
        // The last whole second of the measured window; "-" before the first one closes.
        const qint64 p99 = d->recorder->lastSecondP99Ns();
        p99s.append(QStringLiteral("%1 %2").arg(toString(d->component->kind()),
                                                p99 > 0 ? QString::number(double(p99) / 1e6, 'g', 3)
                                                        : QStringLiteral("-")));
    }
    if (!m_config.isOpenModel())
        p.total = 0; // unknown in the closed model: the ETA is time-based
    p.figures.append({QStringLiteral("errors"), QString::number(errors)});
    p.figures.append({QStringLiteral("p99 ms"), p99s.join(u' ')});
    return p;
}

void LoadTestRunner::runSyncWorker(Driver &d, int worker)
{
    tightenTimerSlack();
    auto runOne = [&](const OpTicket &ticket, Clock::MonoTime actualStart) {
        std::binary_semaphore finished(0);
        d.component->start(ticket, [&](const OpOutcome &outcome) {
            d.recorder->record(ticket, actualStart, m_clock.monotonic(), outcome);
            finished.release();
        });
        finished.acquire();
    };

    if (d.schedule) {
        for (;;) {
            const qint64 k = d.next.fetch_add(1);
            const auto offset = d.schedule->intendedOffset(k);
            if (!offset)
                return;
            const Clock::MonoTime intended = m_start + *offset;
            if (!sleepUntil(intended))
                return;
            runOne(OpTicket{k, d.seed, intended}, m_clock.monotonic());
        }
    }
    const Clock::Duration ramp = fromSeconds(m_config.rampUpSeconds);
    if (!sleepUntil(m_start + LoadSchedule::workerStartOffset(worker, d.workers, ramp)))
        return;
    for (;;) {
        const Clock::MonoTime now = m_clock.monotonic();
        if (now >= m_end || m_cancelled.load(std::memory_order_relaxed))
            return;
        runOne(OpTicket{d.next.fetch_add(1), d.seed, now}, now);
    }
}

void LoadTestRunner::runAsyncClosed(Driver &d)
{
    for (int w = 0; w < d.workers; ++w)
        d.phase.push_back(std::make_unique<std::atomic<int>>(kInFlight));
    const Clock::Duration ramp = fromSeconds(m_config.rampUpSeconds);
    for (int w = 0; w < d.workers; ++w) {
        if (!sleepUntil(m_start + LoadSchedule::workerStartOffset(w, d.workers, ramp)))
            break;
        {
            std::lock_guard lock(d.mutex);
            ++d.activeWorkers;
        }
        issueClosed(d, w);
    }
    std::unique_lock lock(d.mutex);
    d.cv.wait(lock, [&] { return d.activeWorkers == 0; });
}

// Issues worker `worker`'s next operation; called again from each completion. A completion that
// runs inside start() (a synchronous failure) is looped here instead, so the stack never grows.
void LoadTestRunner::issueClosed(Driver &d, int worker)
{
    std::atomic<int> &phase = *d.phase[size_t(worker)];
    for (;;) {
        const Clock::MonoTime now = m_clock.monotonic();
        if (now >= m_end || m_cancelled.load(std::memory_order_relaxed)) {
            std::lock_guard lock(d.mutex);
            --d.activeWorkers;
            d.cv.notify_all();
            return;
        }
        const OpTicket ticket{d.next.fetch_add(1), d.seed, now};
        phase.store(kStarting);
        d.component->start(ticket, [this, &d, worker, ticket](const OpOutcome &outcome) {
            d.recorder->record(ticket, ticket.intendedStart, m_clock.monotonic(), outcome);
            if (d.phase[size_t(worker)]->exchange(kDone) == kStarting)
                return; // completed inside start(): the issuing loop goes on
            issueClosed(d, worker);
        });
        if (phase.exchange(kInFlight) == kDone)
            continue;
        return;
    }
}

void LoadTestRunner::runAsyncOpen(Driver &d)
{
    tightenTimerSlack();
    for (qint64 k = 0;; ++k) {
        const auto offset = d.schedule->intendedOffset(k);
        if (!offset)
            break;
        const Clock::MonoTime intended = m_start + *offset;
        if (!sleepUntil(intended))
            break;
        {
            // At most `workers` outstanding: a late slot delays the start, and the delay is
            // charged to this operation's corrected latency.
            std::unique_lock lock(d.mutex);
            while (d.outstanding >= d.workers && !m_cancelled.load())
                d.cv.wait_for(lock, 50ms);
            if (m_cancelled.load())
                break;
            ++d.outstanding;
        }
        const OpTicket ticket{k, d.seed, intended};
        const Clock::MonoTime actual = m_clock.monotonic();
        d.component->start(ticket, [this, &d, ticket, actual](const OpOutcome &outcome) {
            d.recorder->record(ticket, actual, m_clock.monotonic(), outcome);
            std::lock_guard lock(d.mutex);
            --d.outstanding;
            d.cv.notify_all();
        });
    }
    std::unique_lock lock(d.mutex);
    d.cv.wait(lock, [&] { return d.outstanding == 0; });
}

} // namespace opsdeck::perf

#include "core/cache/cachemanager.h"
#include "core/cache/cachepreloadtarget.h"
#include "core/cache/preloader.h"

#include "support/testutil.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QMutex>
#include <QtCore/QPromise>
#include <QtCore/QScopeGuard>
#include <QtCore/QSemaphore>
#include <QtTest/QtTest>

#include <atomic>
#include <deque>

using namespace opsdeck;
using namespace opsdeck::cache;
using namespace std::chrono_literals;
using namespace Qt::StringLiterals;

namespace {

using MonoTime = Clock::MonoTime;
using Duration = Clock::Duration;
using Promise = QPromise<Result<QByteArray>>;

// An Executor that queues work until the test drains it: dispatch order is observable and
// nothing runs behind the test's back.
class ManualExecutor final : public Executor
{
public:
    void post(TaskPriority priority, std::function<void()> work) override
    {
        QMutexLocker lock(&m_mutex);
        m_queue.push_back(std::move(work));
        m_priorities.append(priority);
    }
    // Runs queued work, including work posted meanwhile, until none is left.
    int drain()
    {
        int ran = 0;
        for (;;) {
            std::function<void()> work;
            {
                QMutexLocker lock(&m_mutex);
                if (m_queue.empty())
                    return ran;
                work = std::move(m_queue.front());
                m_queue.pop_front();
            }
            work();
            ++ran;
        }
    }
    int pending() const
    {
        QMutexLocker lock(&m_mutex);
        return int(m_queue.size());
    }
    QList<TaskPriority> priorities() const
    {
        QMutexLocker lock(&m_mutex);
        return m_priorities;
    }

private:
    mutable QMutex m_mutex;
    std::deque<std::function<void()>> m_queue;
    QList<TaskPriority> m_priorities;
};

// A PreloadTarget behaving as the CacheManager does for the preloader: TTLs on the injected
// clock, get() and read() (getOrLoad with a synchronous loader) tell the observer about every
// lookup, refresh() reruns the loader read() remembered.
class FakeTarget final : public PreloadTarget
{
public:
    using Loader = std::function<Result<QByteArray>()>;

    explicit FakeTarget(const Clock &clock)
        : m_clock(clock)
    {}

    Status store(const QByteArray &key,
                 const QByteArray &value,
                 std::optional<double> ttlSeconds,
                 const QList<QByteArray> &tags) override
    {
        QMutexLocker lock(&m_mutex);
        ++m_stores;
        if (m_failStores)
            return fail(u"store_failed"_s, u"The fake refuses to store."_s);
        put(key, value, ttlSeconds.value_or(300.0), tags);
        return ok();
    }
    bool hasLoader(const QByteArray &key) const override
    {
        QMutexLocker lock(&m_mutex);
        return m_loaders.contains(key);
    }
    QFuture<Result<QByteArray>> refresh(const QByteArray &key) override
    {
        Loader loader;
        double ttl = 0;
        {
            QMutexLocker lock(&m_mutex);
            ++m_refreshes;
            const auto it = m_loaders.constFind(key);
            if (it == m_loaders.cend())
                return QtFuture::makeReadyFuture(
                    Result<QByteArray>(fail(u"no_loader"_s, u"No loader."_s)));
            loader = it->first;
            ttl = it->second;
        }
        Result<QByteArray> result = loader();
        if (result) {
            QMutexLocker lock(&m_mutex);
            put(key, *result, ttl, {});
        }
        return QtFuture::makeReadyFuture(std::move(result));
    }
    std::optional<Duration> timeToLive(const QByteArray &key) const override
    {
        QMutexLocker lock(&m_mutex);
        const auto it = m_entries.constFind(key);
        if (it == m_entries.cend())
            return std::nullopt;
        if (!it->expiry)
            return Duration::max();
        const Duration left = *it->expiry - m_clock.monotonic();
        if (left.count() <= 0)
            return std::nullopt;
        return left;
    }
    void setAccessObserver(AccessObserver observer) override
    {
        QMutexLocker lock(&m_mutex);
        m_observer = std::move(observer);
    }

    std::optional<QByteArray> get(const QByteArray &key)
    {
        std::optional<QByteArray> value;
        AccessObserver observer;
        {
            QMutexLocker lock(&m_mutex);
            const auto it = m_entries.constFind(key);
            if (it != m_entries.cend() && (!it->expiry || *it->expiry > m_clock.monotonic()))
                value = it->value;
            observer = m_observer;
        }
        if (observer)
            observer(key, value.has_value());
        return value;
    }
    // getOrLoad: true on a hit; a miss loads synchronously and remembers the loader.
    bool read(const QByteArray &key, double ttlSeconds, Loader loader)
    {
        if (get(key))
            return true;
        QMutexLocker lock(&m_mutex);
        m_loaders.insert(key, {loader, ttlSeconds});
        ++m_loads;
        lock.unlock();
        Result<QByteArray> value = loader();
        lock.relock();
        if (value)
            put(key, *value, ttlSeconds, {});
        return false;
    }

    QList<QByteArray> tagsOf(const QByteArray &key) const
    {
        QMutexLocker lock(&m_mutex);
        return m_entries.value(key).tags;
    }
    int stores() const
    {
        QMutexLocker lock(&m_mutex);
        return m_stores;
    }
    int refreshes() const
    {
        QMutexLocker lock(&m_mutex);
        return m_refreshes;
    }
    void setFailStores(bool failStores)
    {
        QMutexLocker lock(&m_mutex);
        m_failStores = failStores;
    }
    bool hasObserver() const
    {
        QMutexLocker lock(&m_mutex);
        return bool(m_observer);
    }

private:
    struct Entry
    {
        QByteArray value;
        QList<QByteArray> tags;
        std::optional<MonoTime> expiry;
    };
    void put(const QByteArray &key,
             const QByteArray &value,
             double ttlSeconds,
             const QList<QByteArray> &tags)
    {
        Entry entry{value, tags, std::nullopt};
        if (ttlSeconds > 0)
            entry.expiry = m_clock.monotonic() + Duration(qint64(ttlSeconds * 1e9));
        m_entries.insert(key, entry);
    }

    const Clock &m_clock;
    mutable QMutex m_mutex;
    QHash<QByteArray, Entry> m_entries;
    QHash<QByteArray, std::pair<Loader, double>> m_loaders;
    AccessObserver m_observer;
    int m_stores = 0;
    int m_refreshes = 0;
    int m_loads = 0;
    bool m_failStores = false;
};

// Ticks and drains until nothing more happens at the current time; returns the next wake-up.
std::optional<MonoTime>
settleNow(Preloader &preloader, ManualExecutor &executor, int *ticks = nullptr)
{
    std::optional<MonoTime> next;
    do {
        next = preloader.tick();
        if (ticks)
            ++*ticks;
    } while (executor.drain() > 0);
    return next;
}

// Moves the clock to `until`, stopping at every wake-up tick() asks for on the way, exactly as
// the precise timer would.
void advanceUntil(ManualClock &clock,
                  Preloader &preloader,
                  ManualExecutor &executor,
                  MonoTime until,
                  int *ticks = nullptr)
{
    Q_ASSERT(until >= clock.monotonic());
    for (;;) {
        const std::optional<MonoTime> next = settleNow(preloader, executor, ticks);
        if (!next || *next > until)
            break;
        if (*next > clock.monotonic())
            clock.advance(*next - clock.monotonic());
    }
    if (until > clock.monotonic())
        clock.advance(until - clock.monotonic());
    settleNow(preloader, executor, ticks);
}

PreloaderSettings manualSettings()
{
    PreloaderSettings settings;
    settings.driveTimer = false;
    return settings;
}

// The preloader driven by hand: time moves only in advanceTo(), which follows the wake-ups tick()
// asks for exactly as the precise timer would.
struct Harness
{
    explicit Harness(PreloaderSettings settings = manualSettings())
        : target(clock)
        , preloader(target, executor, settings, clock)
    {
        start = clock.monotonic();
    }

    MonoTime now() const { return clock.monotonic(); }
    Duration elapsed() const { return clock.monotonic() - start; }

    std::optional<MonoTime> settle() { return settleNow(preloader, executor, &ticks); }
    void advanceTo(Duration sinceStart)
    {
        advanceUntil(clock, preloader, executor, start + sinceStart, &ticks);
    }

    ManualClock clock;
    FakeTarget target;
    ManualExecutor executor;
    Preloader preloader;
    MonoTime start{};
    int ticks = 0;
};

SyncPreloadLoader countingLoader(std::atomic<int> &calls, QByteArray value = "v")
{
    return [&calls, value]() -> Result<QByteArray> {
        ++calls;
        return value;
    };
}

SyncPreloadLoader failingLoader(std::atomic<int> &calls)
{
    return [&calls]() -> Result<QByteArray> {
        ++calls;
        return fail(u"upstream_down"_s, u"The upstream service is down."_s);
    };
}

// Async loaders whose futures the test completes by hand.
struct PromiseBox
{
    std::vector<std::shared_ptr<Promise>> promises;
    QStringList calledBy;

    AsyncPreloadLoader loader(const QString &name)
    {
        return [this, name] {
            auto promise = std::make_shared<Promise>();
            promise->start();
            promises.push_back(promise);
            calledBy.append(name);
            return promise->future();
        };
    }
    static void finish(const std::shared_ptr<Promise> &promise, Result<QByteArray> result)
    {
        promise->addResult(std::move(result));
        promise->finish();
    }
};

const PreloadTaskStats *taskStats(const PreloaderStats &stats, const QString &name)
{
    for (const PreloadTaskStats &task : stats.taskStats) {
        if (task.name == name)
            return &task;
    }
    return nullptr;
}

} // namespace

class TstPreloader : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void registrationIsValidated()
    {
        Harness h;
        std::atomic<int> calls{0};
        QCOMPARE(h.preloader
                     .addPeriodicTask({.name = u"p"_s,
                                       .key = "k",
                                       .loader = countingLoader(calls),
                                       .intervalSeconds = 0})
                     .error()
                     .code,
                 u"invalid_interval"_s);
        QCOMPARE(
            h.preloader.addStartupTask({.name = u""_s, .key = "k", .loader = countingLoader(calls)})
                .error()
                .code,
            u"invalid_argument"_s);
        QCOMPARE(
            h.preloader.addStartupTask({.name = u"s"_s, .key = "k", .loader = SyncPreloadLoader()})
                .error()
                .code,
            u"invalid_argument"_s);
        QCOMPARE(h.preloader
                     .addStartupTask({.name = u"s"_s,
                                      .key = "k",
                                      .loader = countingLoader(calls),
                                      .ttlSeconds = -1.0})
                     .error()
                     .code,
                 u"invalid_ttl"_s);
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"s"_s, .key = "k", .loader = countingLoader(calls)}));
        QCOMPARE(
            h.preloader
                .addPeriodicTask({.name = u"s"_s, .key = "k2", .loader = countingLoader(calls)})
                .error()
                .code,
            u"duplicate_task"_s);
        QCOMPARE(h.preloader.taskNames(), QStringList{u"s"_s});
        QCOMPARE(h.preloader.removeTask(u"nope"_s).error().code, u"unknown_task"_s);
    }

    void periodicTaskRunsAtItsInterval()
    {
        Harness h;
        std::atomic<int> calls{0};
        QVERIFY(h.preloader.addPeriodicTask({.name = u"ticker"_s,
                                             .key = "ticker:BTC",
                                             .loader = countingLoader(calls, "42"),
                                             .intervalSeconds = 10,
                                             .ttlSeconds = 30.0,
                                             .tags = {"market"}}));
        std::atomic<int> lateCalls{0};
        QVERIFY(h.preloader.addPeriodicTask({.name = u"late"_s,
                                             .key = "late",
                                             .loader = countingLoader(lateCalls),
                                             .intervalSeconds = 4,
                                             .runAtStart = false}));
        QVERIFY(h.preloader.start());
        h.settle();
        QCOMPARE(calls.load(), 1); // at start
        QCOMPARE(lateCalls.load(), 0);
        QCOMPARE(h.target.get("ticker:BTC"), std::optional<QByteArray>("42"));
        QCOMPARE(h.target.tagsOf("ticker:BTC"), QList<QByteArray>{"market"});
        QCOMPARE(h.target.timeToLive("ticker:BTC"), std::optional<Duration>(30s));

        h.advanceTo(10s - 1ms);
        QCOMPARE(calls.load(), 1);
        QCOMPARE(lateCalls.load(), 2); // 4 s, 8 s
        h.advanceTo(10s);
        QCOMPARE(calls.load(), 2);
        h.advanceTo(95s);
        QCOMPARE(calls.load(), 10);     // 0, 10, ..., 90 s
        QCOMPARE(lateCalls.load(), 23); // 4, 8, ..., 92 s
        // The schedule is driven by the clock, not by polling: one wake-up per due run, at most a
        // couple of settling ticks each.
        QVERIFY2(h.ticks < 4 * (10 + 23), qPrintable(QString::number(h.ticks)));
    }

    void periodicRunIsNotDoubledWhileRunning()
    {
        Harness h;
        PromiseBox box;
        QVERIFY(h.preloader.addPeriodicTask({.name = u"slow"_s,
                                             .key = "slow",
                                             .loader = box.loader(u"slow"_s),
                                             .intervalSeconds = 1}));
        QVERIFY(h.preloader.start());
        h.advanceTo(3500ms);
        QCOMPARE(box.promises.size(), size_t(1)); // still running: not started again
        QVERIFY(taskStats(h.preloader.stats(), u"slow"_s)->running);
        PromiseBox::finish(box.promises[0], QByteArray("done"));
        h.settle(); // the overdue run starts as soon as the first one ended
        QCOMPARE(box.promises.size(), size_t(2));
        PromiseBox::finish(box.promises[1], QByteArray("done"));
        h.advanceTo(4400ms);
        QCOMPARE(box.promises.size(), size_t(2));
        h.advanceTo(4500ms); // one interval after the catch-up run, no burst of missed runs
        QCOMPARE(box.promises.size(), size_t(3));
        PromiseBox::finish(box.promises[2], QByteArray("done"));
        h.settle();
        QCOMPARE(h.preloader.stats().preloadCount, quint64(3));
    }

    void startupTasksRunInPriorityOrder()
    {
        Harness h;
        PromiseBox box;
        const QList<std::pair<QString, TaskPriority>> tasks
            = {{u"low"_s, TaskPriority::Low},
               {u"normal"_s, TaskPriority::Normal},
               {u"critical"_s, TaskPriority::Critical},
               {u"high"_s, TaskPriority::High},
               {u"critical2"_s, TaskPriority::Critical}};
        for (const auto &[name, priority] : tasks)
            QVERIFY(h.preloader.addStartupTask({.name = name,
                                                .key = name.toUtf8(),
                                                .loader = box.loader(name),
                                                .priority = priority}));
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::NotStarted));
        QVERIFY(h.preloader.start());
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Warming));
        h.settle();
        // Most urgent first; registration order within a priority.
        QCOMPARE(box.calledBy,
                 (QStringList{u"critical"_s, u"critical2"_s, u"high"_s, u"normal"_s, u"low"_s}));
        QStringList posted;
        for (const TaskPriority priority : h.executor.priorities().mid(0, 5))
            posted.append(toString(priority));
        QCOMPARE(posted,
                 (QStringList{u"CRITICAL"_s, u"CRITICAL"_s, u"HIGH"_s, u"NORMAL"_s, u"LOW"_s}));
        for (const auto &promise : box.promises)
            PromiseBox::finish(promise, QByteArray("x"));
        h.settle();
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Ready));
        QVERIFY(h.preloader.waitForStartupComplete(0));
    }

    void startupConcurrencyIsCappedAtTen()
    {
        Harness h;
        std::atomic<int> current{0};
        std::atomic<int> peak{0};
        std::vector<std::shared_ptr<Promise>> promises;
        for (int i = 0; i < 25; ++i) {
            QVERIFY(h.preloader.addStartupTask(
                {.name = u"t%1"_s.arg(i, 2, 10, QLatin1Char('0')),
                 .key = QByteArray::number(i),
                 .loader = AsyncPreloadLoader([&] {
                     const int now = ++current;
                     peak = std::max(peak.load(), now);
                     auto promise = std::make_shared<Promise>();
                     promise->start();
                     promises.push_back(promise);
                     return promise->future();
                 }),
                 .priority = i % 2 == 0 ? TaskPriority::Normal : TaskPriority::High}));
        }
        QVERIFY(h.preloader.start());
        h.settle();
        QCOMPARE(current.load(), 10);
        QCOMPARE(h.preloader.stats().runningTasks, 10);
        // Finishing one frees exactly one slot.
        --current;
        PromiseBox::finish(promises[0], QByteArray("x"));
        h.settle();
        QCOMPARE(current.load(), 10);
        QCOMPARE(promises.size(), size_t(11));
        while (h.preloader.startupPhase() == StartupPhase::Warming) {
            const size_t before = promises.size();
            for (auto &promise : promises) {
                if (!promise->future().isFinished()) {
                    --current;
                    PromiseBox::finish(promise, QByteArray("x"));
                }
            }
            h.settle();
            QVERIFY(promises.size() > before
                    || h.preloader.startupPhase() != StartupPhase::Warming);
        }
        QCOMPARE(promises.size(), size_t(25));
        QCOMPARE(peak.load(), 10);
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Ready));
    }

    void startupConcurrencyIsCappedOnRealThreads()
    {
        ManualClock clock;
        FakeTarget target(clock);
        ThreadPoolExecutor executor(16);
        Preloader preloader(target, executor, manualSettings(), clock);
        std::atomic<int> current{0};
        std::atomic<int> peak{0};
        QSemaphore started;
        QSemaphore gate;
        // Whatever happens, let blocked loaders go before the executor joins its threads.
        const auto openGate = qScopeGuard([&] { gate.release(100); });
        for (int i = 0; i < 30; ++i) {
            QVERIFY(preloader.addStartupTask(
                {.name = u"t%1"_s.arg(i),
                 .key = QByteArray::number(i),
                 .loader = SyncPreloadLoader([&]() -> Result<QByteArray> {
                     const int now = ++current;
                     int seen = peak.load();
                     while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                     }
                     started.release();
                     gate.acquire();
                     --current;
                     return QByteArray("x");
                 })}));
        }
        QVERIFY(preloader.start());
        started.acquire(10); // ten are running and blocked on the gate
        QCOMPARE(preloader.stats().runningTasks, 10);
        gate.release(30);
        QVERIFY(preloader.waitForStartupComplete(30'000));
        QCOMPARE(peak.load(), 10);
        QCOMPARE(preloader.stats().preloadCount, quint64(30));
    }

    void dependenciesResolveAcrossPriorityGroups()
    {
        Harness h;
        QStringList order;
        const auto loader = [&order](const QString &name) {
            return SyncPreloadLoader([&order, name]() -> Result<QByteArray> {
                order.append(name);
                return name.toUtf8();
            });
        };
        // A CRITICAL task needing a LOW one, a HIGH one needing the CRITICAL one.
        QVERIFY(h.preloader.addStartupTask({.name = u"positions"_s,
                                            .key = "positions",
                                            .loader = loader(u"positions"_s),
                                            .priority = TaskPriority::Critical,
                                            .dependsOn = {u"accounts"_s}}));
        QVERIFY(h.preloader.addStartupTask({.name = u"orders"_s,
                                            .key = "orders",
                                            .loader = loader(u"orders"_s),
                                            .priority = TaskPriority::High,
                                            .dependsOn = {u"positions"_s, u"accounts"_s}}));
        QVERIFY(h.preloader.addStartupTask({.name = u"accounts"_s,
                                            .key = "accounts",
                                            .loader = loader(u"accounts"_s),
                                            .priority = TaskPriority::Low}));
        QVERIFY(h.preloader.addStartupTask({.name = u"news"_s,
                                            .key = "news",
                                            .loader = loader(u"news"_s),
                                            .priority = TaskPriority::Normal}));
        QVERIFY(h.preloader.start());
        h.settle();
        QCOMPARE(order, (QStringList{u"news"_s, u"accounts"_s, u"positions"_s, u"orders"_s}));
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Ready));
        QCOMPARE(h.preloader.stats().startupProgress, 100);
    }

    void missingDependencyIsReported()
    {
        Harness h;
        std::atomic<int> calls{0};
        QVERIFY(h.preloader.addStartupTask({.name = u"a"_s,
                                            .key = "a",
                                            .loader = countingLoader(calls),
                                            .dependsOn = {u"ghost"_s}}));
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"b"_s, .key = "b", .loader = countingLoader(calls), .dependsOn = {u"a"_s}}));
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"c"_s, .key = "c", .loader = countingLoader(calls)}));
        QVERIFY(h.preloader.start());
        h.settle();
        QElapsedTimer timer;
        timer.start();
        QVERIFY(!h.preloader.waitForStartupComplete(10'000)); // complete, but not READY
        QVERIFY(timer.elapsed() < 5'000);
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Degraded));
        QCOMPARE(calls.load(), 1); // only c ran
        const PreloaderStats stats = h.preloader.stats();
        QCOMPARE(toString(taskStats(stats, u"a"_s)->state), toString(PreloadTaskState::Failed));
        QCOMPARE(taskStats(stats, u"a"_s)->lastErrorCode, u"missing_dependency"_s);
        QVERIFY(taskStats(stats, u"a"_s)->lastError.contains(u"ghost"_s));
        QCOMPARE(taskStats(stats, u"b"_s)->lastErrorCode, u"dependency_failed"_s);
        QCOMPARE(toString(taskStats(stats, u"c"_s)->state), toString(PreloadTaskState::Succeeded));
        QCOMPARE(stats.startupFailed, 2);
        QCOMPARE(stats.startupProgress, 100);
    }

    void dependencyCycleIsReported()
    {
        Harness h;
        std::atomic<int> calls{0};
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"a"_s, .key = "a", .loader = countingLoader(calls), .dependsOn = {u"c"_s}}));
        QVERIFY(h.preloader.addStartupTask({.name = u"b"_s,
                                            .key = "b",
                                            .loader = countingLoader(calls),
                                            .priority = TaskPriority::Low,
                                            .dependsOn = {u"a"_s}}));
        QVERIFY(h.preloader.addStartupTask({.name = u"c"_s,
                                            .key = "c",
                                            .loader = countingLoader(calls),
                                            .priority = TaskPriority::Critical,
                                            .dependsOn = {u"b"_s}}));
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"d"_s, .key = "d", .loader = countingLoader(calls), .dependsOn = {u"a"_s}}));
        QVERIFY(h.preloader.addStartupTask({.name = u"self"_s,
                                            .key = "self",
                                            .loader = countingLoader(calls),
                                            .dependsOn = {u"self"_s}}));
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"e"_s, .key = "e", .loader = countingLoader(calls)}));
        QVERIFY(h.preloader.start());
        h.settle();
        QVERIFY(!h.preloader.waitForStartupComplete(10'000));
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Degraded));
        QCOMPARE(calls.load(), 1); // e
        const PreloaderStats stats = h.preloader.stats();
        for (const QString &name : {u"a"_s, u"b"_s, u"c"_s, u"self"_s}) {
            QCOMPARE(toString(taskStats(stats, name)->state), toString(PreloadTaskState::Failed));
            QCOMPARE(taskStats(stats, name)->lastErrorCode, u"dependency_cycle"_s);
        }
        QVERIFY(taskStats(stats, u"a"_s)->lastError.contains(u"a -> c -> b -> a"_s));
        QCOMPARE(taskStats(stats, u"d"_s)->lastErrorCode, u"dependency_failed"_s);
    }

    void failingStartupTaskIsRetriedWithBackoffThenFailed()
    {
        PreloaderSettings settings = manualSettings();
        settings.retryBaseDelay = 1s;
        settings.retryMaxDelay = 30s;
        Harness h(settings);
        QList<Duration> attemptsAt;
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"flaky"_s,
             .key = "flaky",
             .loader = SyncPreloadLoader([&]() -> Result<QByteArray> {
                 attemptsAt.append(h.elapsed());
                 return fail(u"upstream_down"_s, u"The upstream service is down."_s);
             }),
             .maxAttempts = 4}));
        QSignalSpy finished(&h.preloader, &Preloader::taskFinished);
        QSignalSpy completed(&h.preloader, &Preloader::startupCompleted);
        QVERIFY(h.preloader.start());
        const std::optional<MonoTime> next = h.settle();
        // No busy loop: after the first failure the next wake-up is the end of the backoff.
        QCOMPARE(next, std::optional<MonoTime>(h.start + 1s));
        QCOMPARE(toString(taskStats(h.preloader.stats(), u"flaky"_s)->state),
                 toString(PreloadTaskState::RetryWait));
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Warming));

        h.advanceTo(10min);
        // Backoff 1 s, 2 s, 4 s: attempts at 0, 1, 3 and 7 s, then no more.
        QCOMPARE(attemptsAt, (QList<Duration>{0s, 1s, 3s, 7s}));
        QVERIFY2(h.ticks < 30, qPrintable(QString::number(h.ticks)));
        const PreloaderStats stats = h.preloader.stats();
        const PreloadTaskStats *task = taskStats(stats, u"flaky"_s);
        QCOMPARE(toString(task->state), toString(PreloadTaskState::Failed));
        QCOMPARE(task->attempts, 4);
        QCOMPARE(task->errorCount, quint64(4));
        QCOMPARE(task->lastErrorCode, u"upstream_down"_s);
        QCOMPARE(task->lastError, u"The upstream service is down."_s);
        QCOMPARE(stats.preloadErrorCount, quint64(4));
        QCOMPARE(toString(stats.startupPhase), toString(StartupPhase::Degraded));
        QCOMPARE(finished.size(), 4);
        QCOMPARE(completed.size(), 1);
        QCOMPARE(completed.at(0).at(0).toBool(), false);
    }

    void backoffIsCapped()
    {
        PreloaderSettings settings = manualSettings();
        settings.retryBaseDelay = 1s;
        settings.retryMaxDelay = 5s;
        Harness h(settings);
        QList<Duration> attemptsAt;
        QVERIFY(
            h.preloader.addStartupTask({.name = u"flaky"_s,
                                        .key = "flaky",
                                        .loader = SyncPreloadLoader([&]() -> Result<QByteArray> {
                                            attemptsAt.append(h.elapsed());
                                            if (attemptsAt.size() < 5)
                                                return fail(u"upstream_down"_s, u"Down."_s);
                                            return QByteArray("finally");
                                        }),
                                        .maxAttempts = 6}));
        QVERIFY(h.preloader.start());
        h.advanceTo(1min);
        // 1, 2, 4, then capped at 5 s; the fifth attempt succeeds.
        QCOMPARE(attemptsAt, (QList<Duration>{0s, 1s, 3s, 7s, 12s}));
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Ready));
        QCOMPARE(taskStats(h.preloader.stats(), u"flaky"_s)->attempts, 5);
        QCOMPARE(h.target.get("flaky"), std::optional<QByteArray>("finally"));
    }

    void hungLoaderTimesOutAndItsLateResultIsDropped()
    {
        Harness h;
        PromiseBox box;
        QVERIFY(h.preloader.addStartupTask({.name = u"hung"_s,
                                            .key = "hung",
                                            .loader = box.loader(u"hung"_s),
                                            .maxAttempts = 2,
                                            .timeoutSeconds = 5}));
        QVERIFY(h.preloader.start());
        h.advanceTo(5s - 1ms);
        QCOMPARE(box.promises.size(), size_t(1));
        h.advanceTo(5s); // timed out; retried after 1 s
        QCOMPARE(taskStats(h.preloader.stats(), u"hung"_s)->lastErrorCode, u"timeout"_s);
        h.advanceTo(6s);
        QCOMPARE(box.promises.size(), size_t(2));
        h.advanceTo(11s);
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Degraded));
        // Both late results are dropped: nothing is stored.
        PromiseBox::finish(box.promises[0], QByteArray("late"));
        PromiseBox::finish(box.promises[1], QByteArray("late"));
        h.settle();
        QCOMPARE(h.target.stores(), 0);
        QCOMPARE(toString(taskStats(h.preloader.stats(), u"hung"_s)->state),
                 toString(PreloadTaskState::Failed));
    }

    void storeFailureCountsAsFailedAttempt()
    {
        Harness h;
        std::atomic<int> calls{0};
        h.target.setFailStores(true);
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"s"_s, .key = "s", .loader = countingLoader(calls), .maxAttempts = 2}));
        QVERIFY(h.preloader.start());
        h.advanceTo(1s);
        QCOMPARE(calls.load(), 2);
        QCOMPARE(taskStats(h.preloader.stats(), u"s"_s)->lastErrorCode, u"store_failed"_s);
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Degraded));
    }

    void loaderExceptionsAndCancellationsAreFailures()
    {
        Harness h;
        QVERIFY(h.preloader.addStartupTask({.name = u"throws"_s,
                                            .key = "throws",
                                            .loader = SyncPreloadLoader([]() -> Result<QByteArray> {
                                                throw std::runtime_error("boom");
                                            }),
                                            .maxAttempts = 1}));
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"cancels"_s,
             .key = "cancels",
             .loader = AsyncPreloadLoader([] {
                 Promise promise; // destroyed unfinished: the future is cancelled
                 promise.start();
                 return promise.future();
             }),
             .maxAttempts = 1}));
        QVERIFY(h.preloader.start());
        h.settle();
        const PreloaderStats stats = h.preloader.stats();
        QCOMPARE(taskStats(stats, u"throws"_s)->lastErrorCode, u"loader_exception"_s);
        QCOMPARE(taskStats(stats, u"throws"_s)->lastError, u"boom"_s);
        QCOMPARE(taskStats(stats, u"cancels"_s)->lastErrorCode, u"loader_canceled"_s);
        QCOMPARE(toString(stats.startupPhase), toString(StartupPhase::Degraded));
    }

    void tasksRegisteredAfterStartRun()
    {
        Harness h;
        std::atomic<int> first{0};
        std::atomic<int> second{0};
        std::atomic<int> periodic{0};
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"first"_s, .key = "first", .loader = countingLoader(first)}));
        QVERIFY(h.preloader.start());
        h.settle();
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Ready));

        QVERIFY(h.preloader.addStartupTask({.name = u"second"_s,
                                            .key = "second",
                                            .loader = countingLoader(second),
                                            .dependsOn = {u"first"_s}}));
        QVERIFY(h.preloader.addPeriodicTask({.name = u"periodic"_s,
                                             .key = "periodic",
                                             .loader = countingLoader(periodic),
                                             .intervalSeconds = 5}));
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Warming));
        h.settle();
        QCOMPARE(second.load(), 1);
        QCOMPARE(periodic.load(), 1);
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Ready));
        h.advanceTo(5s);
        QCOMPARE(periodic.load(), 2);
        QCOMPARE(first.load(), 1);

        // After start a dependency must exist already.
        const Status missing = h.preloader.addStartupTask({.name = u"third"_s,
                                                           .key = "third",
                                                           .loader = countingLoader(second),
                                                           .dependsOn = {u"later"_s}});
        QCOMPARE(missing.error().code, u"missing_dependency"_s);
        QCOMPARE(h.preloader.stats().tasks, 3);
    }

    void disablingAndEnablingTasks()
    {
        Harness h;
        std::atomic<int> periodic{0};
        std::atomic<int> failing{0};
        QVERIFY(h.preloader.addPeriodicTask({.name = u"p"_s,
                                             .key = "p",
                                             .loader = countingLoader(periodic),
                                             .intervalSeconds = 1}));
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"s"_s, .key = "s", .loader = failingLoader(failing), .maxAttempts = 1}));
        QVERIFY(h.preloader.start());
        h.settle();
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Degraded));
        QVERIFY(h.preloader.setTaskEnabled(u"p"_s, false));
        h.advanceTo(5s);
        QCOMPARE(periodic.load(), 1);
        QVERIFY(!taskStats(h.preloader.stats(), u"p"_s)->enabled);
        QVERIFY(h.preloader.setTaskEnabled(u"p"_s, true));
        h.settle();
        QCOMPARE(periodic.load(), 2);

        // Re-enabling a failed startup task runs it again with fresh attempts.
        QVERIFY(h.preloader.setTaskEnabled(u"s"_s, false));
        QVERIFY(h.preloader.setTaskEnabled(u"s"_s, true));
        h.settle();
        QCOMPARE(failing.load(), 2);
        QVERIFY(h.preloader.removeTask(u"s"_s));
        QCOMPARE(toString(h.preloader.startupPhase()), toString(StartupPhase::Ready));
    }

    void stopIsPromptWithLoadersThatNeverFinish()
    {
        ManualClock clock;
        FakeTarget target(clock);
        ThreadPoolExecutor executor(4);
        QSemaphore blocked;
        QSemaphore release;
        auto never = std::make_shared<Promise>(); // an async loader that is never answered
        PreloaderSettings settings;               // with its own timer thread, as in production
        auto preloader = std::make_unique<Preloader>(target, executor, settings, clock);
        const auto unblock = qScopeGuard([&] {
            release.release(10);
            if (!never->future().isFinished()) {
                never->addResult(QByteArray("late"));
                never->finish();
            }
        });
        QVERIFY(preloader->addStartupTask({.name = u"sync"_s,
                                           .key = "sync",
                                           .loader = SyncPreloadLoader([&]() -> Result<QByteArray> {
                                               blocked.release();
                                               release.acquire();
                                               return QByteArray("late");
                                           })}));
        QVERIFY(preloader->addStartupTask(
            {.name = u"async"_s, .key = "async", .loader = AsyncPreloadLoader([never] {
                                                     never->start();
                                                     return never->future();
                                                 })}));
        QVERIFY(preloader->addPeriodicTask(
            {.name = u"p"_s,
             .key = "p",
             .loader = SyncPreloadLoader([&]() -> Result<QByteArray> { return QByteArray("p"); }),
             .intervalSeconds = 1}));
        QVERIFY(preloader->start());
        QVERIFY(target.hasObserver());
        blocked.acquire(); // the synchronous loader is running
        std::atomic<bool> waiterResult{true};
        std::unique_ptr<QThread> waiter(
            QThread::create([&] { waiterResult = preloader->waitForStartupComplete(-1); }));
        waiter->start();

        QElapsedTimer timer;
        timer.start();
        preloader->stop();
        const qint64 stopMs = timer.elapsed();
        QVERIFY2(stopMs < test::scaledMs(100), qPrintable(u"stop took %1 ms"_s.arg(stopMs)));
        QVERIFY(waiter->wait(5'000)); // the waiter was woken
        QVERIFY(!waiterResult);
        QVERIFY(!target.hasObserver());
        QVERIFY(!preloader->isRunning());
        QCOMPARE(preloader->start().error().code, u"preloader_stopped"_s);
        QCOMPARE(preloader
                     ->addStartupTask({.name = u"x"_s,
                                       .key = "x",
                                       .loader = SyncPreloadLoader(
                                           []() -> Result<QByteArray> { return QByteArray("x"); })})
                     .error()
                     .code,
                 u"preloader_stopped"_s);
        const int storesAtStop = target.stores();

        // Late results are dropped, even after the preloader is gone.
        preloader.reset();
        release.release();
        never->addResult(QByteArray("late"));
        never->finish();
        QVERIFY(executor.waitForDone(5'000));
        QCOMPARE(target.stores(), storesAtStop);
        QVERIFY(!target.get("sync"));
        QVERIFY(!target.get("async"));
    }

    void destructionIsPromptToo()
    {
        ManualClock clock;
        FakeTarget target(clock);
        ThreadPoolExecutor executor(2);
        QSemaphore blocked;
        QSemaphore release;
        const auto unblock = qScopeGuard([&] { release.release(10); });
        QElapsedTimer timer;
        {
            Preloader preloader(target, executor, PreloaderSettings{}, clock);
            QVERIFY(
                preloader.addStartupTask({.name = u"sync"_s,
                                          .key = "sync",
                                          .loader = SyncPreloadLoader([&]() -> Result<QByteArray> {
                                              blocked.release();
                                              release.acquire();
                                              return QByteArray("late");
                                          })}));
            QVERIFY(preloader.start());
            blocked.acquire();
            timer.start();
        }
        const qint64 destroyMs = timer.elapsed();
        QVERIFY2(destroyMs < test::scaledMs(100), qPrintable(u"took %1 ms"_s.arg(destroyMs)));
        release.release();
        QVERIFY(executor.waitForDone(5'000));
        QCOMPARE(target.stores(), 0);
    }

    void waitForStartupComplete()
    {
        ManualClock clock;
        FakeTarget target(clock);
        ThreadPoolExecutor executor(4);
        QSemaphore release;
        const auto unblock = qScopeGuard([&] { release.release(10); });
        Preloader preloader(target, executor, manualSettings(), clock);
        QVERIFY(!preloader.waitForStartupComplete(0)); // not started
        QVERIFY(preloader.addStartupTask({.name = u"gated"_s,
                                          .key = "gated",
                                          .loader = SyncPreloadLoader([&]() -> Result<QByteArray> {
                                              release.acquire();
                                              return QByteArray("v");
                                          })}));
        QVERIFY(preloader.start());
        QElapsedTimer timer;
        timer.start();
        QVERIFY(!preloader.waitForStartupComplete(50)); // times out while the loader waits
        QVERIFY(timer.elapsed() >= 45);
        QCOMPARE(toString(preloader.startupPhase()), toString(StartupPhase::Warming));
        release.release();
        QVERIFY(preloader.waitForStartupComplete(30'000)); // woken by the completion, no polling
        QCOMPARE(toString(preloader.startupPhase()), toString(StartupPhase::Ready));
        QCOMPARE(target.get("gated"), std::optional<QByteArray>("v"));
    }

    void startupWithoutStartupTasksIsReadyAtOnce()
    {
        Harness h;
        QSignalSpy completed(&h.preloader, &Preloader::startupCompleted);
        QVERIFY(h.preloader.start());
        QVERIFY(h.preloader.waitForStartupComplete(0));
        QCOMPARE(h.preloader.stats().startupProgress, 100);
        QCOMPARE(completed.size(), 1);
        QCOMPARE(completed.at(0).at(0).toBool(), true);
    }

    void statsReportTheOldKeysAndValues()
    {
        Harness h;
        std::atomic<int> periodic{0};
        std::atomic<int> failing{0};
        PromiseBox box;
        QVERIFY(h.preloader.addPeriodicTask({.name = u"ticker"_s,
                                             .key = "ticker",
                                             .loader = countingLoader(periodic),
                                             .intervalSeconds = 2.5}));
        QVERIFY(h.preloader.addStartupTask(
            {.name = u"bad"_s, .key = "bad", .loader = failingLoader(failing), .maxAttempts = 1}));
        QVERIFY(h.preloader.addStartupTask({.name = u"slow"_s,
                                            .key = "slow",
                                            .loader = box.loader(u"slow"_s),
                                            .priority = TaskPriority::Low}));
        QJsonObject json = h.preloader.stats().toJson();
        QCOMPARE(json.value(u"startup_phase"_s).toString(), u"NOT_STARTED"_s);
        QCOMPARE(json.value(u"startup_progress"_s).toInt(), 0);

        const qint64 startWall = h.clock.wallMsecs();
        QVERIFY(h.preloader.start());
        h.settle();
        json = h.preloader.stats().toJson();
        for (const QString &key :
             {u"tasks"_s, u"running_tasks"_s, u"preload_count"_s, u"preload_error_count"_s,
              u"task_stats"_s, u"startup_phase"_s, u"startup_progress"_s, u"predictions"_s,
              u"prediction_hits"_s, u"precision"_s, u"refresh_errors"_s, u"tracked_keys"_s})
            QVERIFY2(json.contains(key), qPrintable(key));
        QCOMPARE(json.value(u"tasks"_s).toInt(), 3);
        QCOMPARE(json.value(u"running_tasks"_s).toInt(), 1);
        QCOMPARE(json.value(u"preload_count"_s).toInt(), 1);
        QCOMPARE(json.value(u"preload_error_count"_s).toInt(), 1);
        QCOMPARE(json.value(u"startup_phase"_s).toString(), u"WARMING"_s);
        QCOMPARE(json.value(u"startup_progress"_s).toInt(), 50); // bad finished, slow running
        QCOMPARE(json.value(u"precision"_s).toDouble(), 0.0);

        const QJsonObject tasks = json.value(u"task_stats"_s).toObject();
        const QJsonObject ticker = tasks.value(u"ticker"_s).toObject();
        for (const QString &key :
             {u"enabled"_s, u"interval"_s, u"last_run"_s, u"last_success"_s, u"error_count"_s,
              u"is_running"_s, u"last_error"_s, u"attempts"_s, u"state"_s})
            QVERIFY2(ticker.contains(key), qPrintable(key));
        QCOMPARE(ticker.value(u"enabled"_s).toBool(), true);
        QCOMPARE(ticker.value(u"interval"_s).toDouble(), 2.5);
        const QString startIso
            = QDateTime::fromMSecsSinceEpoch(startWall, Qt::UTC).toString(Qt::ISODateWithMs);
        QCOMPARE(ticker.value(u"last_run"_s).toString(), startIso);
        QVERIFY(startIso.endsWith(u'Z'));
        QCOMPARE(ticker.value(u"last_run_ms"_s).toDouble(), double(startWall));
        QCOMPARE(ticker.value(u"last_success"_s).toString(), startIso);
        QCOMPARE(ticker.value(u"error_count"_s).toInt(), 0);
        QCOMPARE(ticker.value(u"is_running"_s).toBool(), false);
        QVERIFY(ticker.value(u"last_error"_s).isNull());
        QCOMPARE(ticker.value(u"state"_s).toString(), u"scheduled"_s);
        QCOMPARE(ticker.value(u"kind"_s).toString(), u"periodic"_s);

        const QJsonObject bad = tasks.value(u"bad"_s).toObject();
        QCOMPARE(bad.value(u"state"_s).toString(), u"failed"_s);
        QCOMPARE(bad.value(u"error_count"_s).toInt(), 1);
        QCOMPARE(bad.value(u"attempts"_s).toInt(), 1);
        QCOMPARE(bad.value(u"last_error"_s).toString(), u"The upstream service is down."_s);
        QCOMPARE(bad.value(u"last_error_code"_s).toString(), u"upstream_down"_s);
        QVERIFY(bad.value(u"last_success"_s).isNull());
        QCOMPARE(bad.value(u"interval"_s).toDouble(), 0.0);

        const QJsonObject slow = tasks.value(u"slow"_s).toObject();
        QCOMPARE(slow.value(u"is_running"_s).toBool(), true);
        QCOMPARE(slow.value(u"state"_s).toString(), u"running"_s);
        QCOMPARE(slow.value(u"priority"_s).toString(), u"LOW"_s);

        PromiseBox::finish(box.promises[0], QByteArray("s"));
        h.settle();
        json = h.preloader.stats().toJson();
        QCOMPARE(json.value(u"startup_phase"_s).toString(), u"DEGRADED"_s);
        QCOMPARE(json.value(u"startup_progress"_s).toInt(), 100);
        QCOMPARE(json.value(u"running_tasks"_s).toInt(), 0);
        QCOMPARE(json.value(u"preload_count"_s).toInt(), 2);
    }

    // --- learning -----------------------------------------------------------------------------

    void keyReadEveryTwoSecondsStaysWarm()
    {
        Harness h;
        QVERIFY(h.preloader.start());
        std::atomic<int> loads{0};
        const auto loader = [&loads]() -> Result<QByteArray> {
            ++loads;
            return QByteArray("quote");
        };
        QList<bool> hits;
        for (int i = 0; i < 30; ++i) {
            h.advanceTo(i * 2s);
            hits.append(h.target.read("ticker:ETH", 3.0, loader));
        }
        // Warm-up: three reads to learn the interval (the read at 4 s misses: 3 s TTL).
        QCOMPARE(hits.mid(0, 3), (QList<bool>{false, true, false}));
        // After it, every read is a hit.
        QCOMPARE(hits.mid(3), QList<bool>(27, true));
        const PreloaderStats stats = h.preloader.stats();
        // A 3 s value covers one or two reads 2 s apart: about two refreshes per three reads.
        QVERIFY(stats.learning.predictions >= 15);
        QCOMPARE(quint64(h.target.refreshes()), stats.learning.predictions);
        // Every refresh was read before it expired.
        QCOMPARE(stats.learning.predictionHits, stats.learning.predictions);
        QCOMPARE(stats.learning.precision(), 1.0);
        QCOMPARE(stats.learning.refreshErrors, quint64(0));
        // Loads: the two warm-up misses and one per refresh, fewer than the reads.
        QCOMPARE(quint64(loads.load()), 2 + stats.learning.predictions);
    }

    void keyReadOnceIsNeverRefreshed()
    {
        Harness h;
        QVERIFY(h.preloader.start());
        const auto loader = []() -> Result<QByteArray> {
            return QByteArray("v");
        };
        h.target.read("once", 3.0, loader);
        h.advanceTo(1s);
        h.target.read("twice", 3.0, loader);
        h.advanceTo(3s);
        h.target.read("twice", 3.0, loader);
        h.advanceTo(2min);
        QCOMPARE(h.target.refreshes(), 0);
        const PreloaderStats stats = h.preloader.stats();
        QCOMPARE(stats.learning.predictions, quint64(0));
        QCOMPARE(stats.learning.precision(), 0.0);
        QCOMPARE(stats.learning.trackedKeys, qint64(2));
    }

    void keysWithoutLoaderAreNeverRefreshed()
    {
        Harness h;
        QVERIFY(h.preloader.start());
        QVERIFY(h.target.store("foreign", "v", 3.0, {}));
        for (int i = 0; i < 10; ++i) {
            h.advanceTo(i * 2s);
            h.target.get("foreign");
        }
        h.advanceTo(30s);
        QCOMPARE(h.target.refreshes(), 0);
        QCOMPARE(h.preloader.stats().learning.predictions, quint64(0));
    }

    void precisionCountsUnreadRefreshes()
    {
        Harness h;
        QVERIFY(h.preloader.start());
        const auto loader = []() -> Result<QByteArray> {
            return QByteArray("v");
        };
        for (int i = 0; i <= 10; ++i) {
            h.advanceTo(i * 2s);
            h.target.read("k", 3.0, loader);
        }
        h.advanceTo(2min); // the reads stopped: what was refreshed after the last read is wasted
        const AccessPredictor::Stats stats = h.preloader.stats().learning;
        QVERIFY(stats.predictions > 0);
        QCOMPARE(quint64(h.target.refreshes()), stats.predictions);
        QVERIFY(stats.predictionMisses >= 1);
        QCOMPARE(stats.predictionHits + stats.predictionMisses, stats.predictions);
        QCOMPARE(stats.precision(), double(stats.predictionHits) / double(stats.predictions));
        QVERIFY(stats.precision() < 1.0);
        const QJsonObject json = h.preloader.stats().toJson();
        QCOMPARE(json.value(u"predictions"_s).toInt(), int(stats.predictions));
        QCOMPARE(json.value(u"prediction_hits"_s).toInt(), int(stats.predictionHits));
        QCOMPARE(json.value(u"precision"_s).toDouble(), stats.precision());
    }

    void refreshErrorsAreCounted()
    {
        Harness h;
        QVERIFY(h.preloader.start());
        std::atomic<bool> broken{false};
        const auto loader = [&broken]() -> Result<QByteArray> {
            if (broken)
                return fail(u"upstream_down"_s, u"Down."_s);
            return QByteArray("v");
        };
        for (int i = 0; i < 5; ++i) {
            h.advanceTo(i * 2s);
            h.target.read("k", 3.0, loader);
        }
        broken = true;
        for (int i = 5; i < 10; ++i) {
            h.advanceTo(i * 2s);
            h.target.read("k", 3.0, loader);
        }
        const PreloaderStats stats = h.preloader.stats();
        QVERIFY(stats.learning.refreshErrors >= 1);
        QCOMPARE(h.preloader.stats().toJson().value(u"refresh_errors"_s).toInt(),
                 int(stats.learning.refreshErrors));
    }

    void ownTaskKeysAreKeptWarmByTheirTask()
    {
        Harness h;
        std::atomic<int> runs{0};
        QVERIFY(h.preloader.addStartupTask({.name = u"config"_s,
                                            .key = "config",
                                            .loader = countingLoader(runs, "cfg"),
                                            .ttlSeconds = 3.0}));
        QVERIFY(h.preloader.start());
        h.settle();
        QCOMPARE(runs.load(), 1);
        QList<bool> hits;
        for (int i = 0; i < 20; ++i) {
            h.advanceTo(i * 2s);
            hits.append(h.target.get("config").has_value());
        }
        // Expired before the third read (nobody else reloads it); warm from the fourth on.
        QCOMPARE(hits.mid(0, 3), (QList<bool>{true, true, false}));
        QCOMPARE(hits.mid(3), QList<bool>(17, true));
        QVERIFY(runs.load() > 10);
        QCOMPARE(h.target.refreshes(), 0); // through the task, not the target's loaders
        const PreloaderStats stats = h.preloader.stats();
        QVERIFY(stats.learning.predictions >= 10);
        QCOMPARE(toString(taskStats(stats, u"config"_s)->state),
                 toString(PreloadTaskState::Succeeded));
        QCOMPARE(toString(stats.startupPhase), toString(StartupPhase::Ready));
    }

    void learningCanBeSwitchedOff()
    {
        PreloaderSettings settings = manualSettings();
        settings.learningEnabled = false;
        Harness h(settings);
        QVERIFY(h.preloader.start());
        QVERIFY(!h.target.hasObserver());
        const auto loader = []() -> Result<QByteArray> {
            return QByteArray("v");
        };
        for (int i = 0; i < 10; ++i) {
            h.advanceTo(i * 2s);
            h.target.read("k", 3.0, loader);
        }
        QCOMPARE(h.target.refreshes(), 0);
    }

    void trackingIsBounded()
    {
        PreloaderSettings settings = manualSettings();
        settings.predictor.maxTrackedKeys = 50;
        Harness h(settings);
        QVERIFY(h.preloader.start());
        const auto loader = []() -> Result<QByteArray> {
            return QByteArray("v");
        };
        for (int round = 0; round < 3; ++round) {
            h.advanceTo(round * 1s);
            for (int i = 0; i < 500; ++i)
                h.target.read(QByteArray::number(i), 60.0, loader);
        }
        // 3 x 500 keys churn through 50 slots, least recently read first out.
        const AccessPredictor::Stats stats = h.preloader.stats().learning;
        QCOMPARE(stats.trackedKeys, qint64(50));
        QCOMPARE(stats.droppedKeys, quint64(3 * 500 - 50));
    }

    // --- with a real CacheManager (memory only) ---------------------------------------------

    void withRealCacheManager()
    {
        ManualClock clock;
        CacheSettings cacheSettings;
        cacheSettings.diskEnabled = false;
        CacheManager cache(cacheSettings, clock);
        QVERIFY(cache.open());
        CachePreloadTarget target(cache);
        ManualExecutor executor;
        Preloader preloader(target, executor, manualSettings(), clock);
        const MonoTime start = clock.monotonic();
        const auto advanceTo = [&](Duration sinceStart) {
            advanceUntil(clock, preloader, executor, start + sinceStart);
        };

        std::atomic<int> configRuns{0};
        QVERIFY(preloader.addStartupTask({.name = u"config"_s,
                                          .key = "config",
                                          .loader = countingLoader(configRuns, "cfg"),
                                          .ttlSeconds = 0.0,
                                          .tags = {"settings"}}));
        QVERIFY(preloader.start());
        advanceTo(0s);
        QCOMPARE(toString(preloader.startupPhase()), toString(StartupPhase::Ready));
        QCOMPARE(cache.get("config"), std::optional<QByteArray>("cfg"));
        QCOMPARE(cache.timeToLive("config"), std::optional<Duration>(Duration::max()));
        QCOMPARE(cache.invalidateTag("settings"), 1); // stored with its tag

        // A getOrLoad key read every 2 s with a 3 s TTL stays warm through refresh().
        std::atomic<int> loads{0};
        const auto loader = [&loads] {
            ++loads;
            return QtFuture::makeReadyFuture(Result<QByteArray>(QByteArray("quote")));
        };
        QList<bool> hits;
        for (int i = 0; i < 20; ++i) {
            advanceTo(i * 2s);
            const quint64 missesBefore = cache.stats().misses;
            QFuture<Result<QByteArray>> value = cache.getOrLoad("ticker:SOL", 3.0, loader);
            QVERIFY(value.isFinished());
            QCOMPARE(value.result().value_or(QByteArray()), QByteArray("quote"));
            hits.append(cache.stats().misses == missesBefore);
        }
        QCOMPARE(hits.mid(0, 3), (QList<bool>{false, true, false}));
        QCOMPARE(hits.mid(3), QList<bool>(17, true));
        const PreloaderStats stats = preloader.stats();
        QVERIFY(stats.learning.predictions >= 10);
        QCOMPARE(stats.learning.predictionHits, stats.learning.predictions);
        QCOMPARE(quint64(loads.load()), 2 + stats.learning.predictions);
        preloader.stop();
        cache.stop();
    }
};

QTEST_GUILESS_MAIN(TstPreloader)
#include "tst_preloader.moc"

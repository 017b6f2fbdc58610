// ExecutionEngine: dispatch order, delays, the cap, the reserved slot, aging, timeouts with the
// multiplier, overruns, queue deadlines, cancel, stop, agent cycles and stats. Time runs on a
// ManualClock: a test advances it and calls processDueWork(). Bodies block on their token (Gate),
// never sleep. Only stopReportsOverrun waits in real time (stop's 1 s bound): the test is TIMING.
#include "core/exec/executionengine.h"
#include "core/exec/threadslice.h"
#include "gate.h"

#include "support/testutil.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QMutex>
#include <QtCore/QThread>
#include <QtTest/QtTest>

#include <stdexcept>

using namespace opsdeck;
using namespace opsdeck::exec;
using namespace opsdeck::exec::test;
using namespace std::chrono_literals;
using opsdeck::test::scaledMs;

namespace {

constexpr int kWaitMs = 5000;

ExecConfig execConfig(int cap, int reserved = 0, double multiplier = 1.2, double aging = 5.0)
{
    ExecConfig c;
    c.maxConcurrentTasks = cap;
    c.reservedCriticalSlots = reserved;
    c.taskTimeoutMultiplier = multiplier;
    c.agingInterval = aging;
    return c;
}

// Records the order bodies ran in.
class OrderLog
{
public:
    void add(const QString &name)
    {
        QMutexLocker lock(&m_mutex);
        m_names.append(name);
    }
    QStringList names() const
    {
        QMutexLocker lock(&m_mutex);
        return m_names;
    }

private:
    mutable QMutex m_mutex;
    QStringList m_names;
};

TaskWork gated(Gate &gate)
{
    return [&gate](const TaskContext &ctx) -> Result<QJsonValue> {
        if (!gate.pass(ctx.token))
            return fail(QStringLiteral("cancelled"), QStringLiteral("token fired"));
        return QJsonValue(true);
    };
}

TaskWork logged(OrderLog &log, const QString &name)
{
    return [&log, name](const TaskContext &) -> Result<QJsonValue> {
        log.add(name);
        return QJsonValue(name);
    };
}

bool waitFinished(const QFuture<Result<QJsonValue>> &f)
{
    QElapsedTimer t;
    t.start();
    while (!f.isFinished() && t.elapsed() < scaledMs(kWaitMs))
        QTest::qWait(1);
    return f.isFinished();
}

class CycleAgent final : public Agent
{
public:
    CycleAgent(const QString &id, double interval, Gate *gate = nullptr)
        : Agent(makeConfig(id, interval))
        , m_gate(gate)
    {}
    static AgentConfig makeConfig(const QString &id, double interval)
    {
        AgentConfig c;
        c.id = id;
        c.type = QStringLiteral("test");
        c.interval = interval;
        return c;
    }
    std::atomic<int> cycles{0};
    QMutex mutex;
    QList<CycleContext> contexts;

protected:
    Result<QJsonObject> cycle(const CycleContext &context) override
    {
        {
            QMutexLocker lock(&mutex);
            contexts.append(context);
        }
        ++cycles;
        if (m_gate && !m_gate->pass(context.token))
            return fail(QStringLiteral("cancelled"), QStringLiteral("token fired"));
        return QJsonObject{{QStringLiteral("n"), int(context.cycleNumber)}};
    }

private:
    Gate *m_gate;
};

} // namespace

class TestExecutionEngine : public QObject
{
    Q_OBJECT
private slots:
    void criticalRunsFirst()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        Gate gate;
        OrderLog log;
        QVERIFY(engine.scheduleTask(QStringLiteral("a"), QStringLiteral("block"), gated(gate)));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        const QList<TaskPriority> order{TaskPriority::Low, TaskPriority::Idle, TaskPriority::Normal,
                                        TaskPriority::Critical, TaskPriority::High};
        for (TaskPriority p : order)
            QVERIFY(engine.scheduleTask(QStringLiteral("a"), QStringLiteral("t"),
                                        logged(log, toString(p)), p));
        QCOMPARE(engine.stats().queuedByPriority[size_t(toInt(TaskPriority::Critical))], 1);
        gate.open();
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        QCOMPARE(log.names(), (QStringList{QStringLiteral("CRITICAL"), QStringLiteral("HIGH"),
                                           QStringLiteral("NORMAL"), QStringLiteral("LOW"),
                                           QStringLiteral("IDLE")}));
    }

    void fifoWithinAPriority()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        Gate gate;
        OrderLog log;
        QVERIFY(engine.scheduleTask({}, QStringLiteral("block"), gated(gate)));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        for (int i = 0; i < 5; ++i)
            QVERIFY(engine.scheduleTask({}, QStringLiteral("t"), logged(log, QString::number(i))));
        gate.open();
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        QCOMPARE(log.names().join(QLatin1Char(',')), QStringLiteral("0,1,2,3,4"));
    }

    void delayedCriticalDoesNotBlockDueNormal()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        OrderLog log;
        TaskOptions delayed;
        delayed.delay = 10s;
        auto critical
            = engine.scheduleTask({}, QStringLiteral("t"), logged(log, QStringLiteral("critical")),
                                  TaskPriority::Critical, delayed);
        auto normal
            = engine.scheduleTask({}, QStringLiteral("t"), logged(log, QStringLiteral("normal")));
        QVERIFY(critical && normal);
        QVERIFY(waitFinished(normal->result));
        QVERIFY(!critical->result.isFinished());
        QCOMPARE(engine.stats().delayedTasks, 1);
        QVERIFY(engine.taskInfo(critical->id)->state == TaskState::Delayed);
        clock.advance(9s);
        QCOMPARE(engine.processDueWork(), 0);
        clock.advance(1s);
        QCOMPARE(engine.processDueWork(), 1);
        QVERIFY(waitFinished(critical->result));
        QCOMPARE(log.names(), (QStringList{QStringLiteral("normal"), QStringLiteral("critical")}));
    }

    void capHoldsForABurst_data()
    {
        QTest::addColumn<int>("cap");
        QTest::addColumn<int>("reserved");
        QTest::newRow("cap 1") << 1 << 0;
        QTest::newRow("cap 3") << 3 << 0;
        QTest::newRow("cap 8, 1 reserved") << 8 << 1;
    }
    void capHoldsForABurst()
    {
        QFETCH(int, cap);
        QFETCH(int, reserved);
        ManualClock clock;
        ExecutionEngine engine(execConfig(cap, reserved), clock);
        QVERIFY(engine.start());
        Gate gate;
        QList<QFuture<Result<QJsonValue>>> futures;
        for (int i = 0; i < 50; ++i) {
            const TaskPriority p = i % 5 == 0 ? TaskPriority::Critical : TaskPriority::Normal;
            auto h = engine.scheduleTask(QStringLiteral("a%1").arg(i % 7), QStringLiteral("t"),
                                         gated(gate), p);
            QVERIFY(h);
            futures.append(h->result);
        }
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == cap, scaledMs(kWaitMs));
        QCOMPARE(engine.stats().runningTasks, cap);
        QCOMPARE(engine.stats().queuedTasks, 50 - cap);
        // Let them through one at a time, then all.
        for (int i = 0; i < 10; ++i) {
            gate.release();
            QTRY_VERIFY_WITH_TIMEOUT(gate.finished() == i + 1, scaledMs(kWaitMs));
            QVERIFY(engine.stats().runningTasks <= cap);
        }
        gate.open();
        for (const auto &f : futures)
            QVERIFY(waitFinished(f));
        QCOMPARE(gate.maxInside(), cap);
        const ExecStats s = engine.stats();
        QCOMPARE(s.tasksCompleted, quint64(50));
        QCOMPARE(s.runningTasks, 0);
        QCOMPARE(s.queuedTasks, 0);
    }

    void capChangesLive()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        Gate gate;
        for (int i = 0; i < 6; ++i)
            QVERIFY(engine.scheduleTask({}, QStringLiteral("t"), gated(gate)));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 2, scaledMs(kWaitMs));
        engine.setMaxConcurrentTasks(4);
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 4, scaledMs(kWaitMs));
        QCOMPARE(engine.stats().runningTasks, 4);
        engine.setMaxConcurrentTasks(1);
        gate.release(3); // three finish; no new one may start while 1 is still running
        QTRY_VERIFY_WITH_TIMEOUT(gate.finished() == 3, scaledMs(kWaitMs));
        QTRY_VERIFY_WITH_TIMEOUT(engine.stats().runningTasks == 1, scaledMs(kWaitMs));
        QCOMPARE(gate.started(), 4);
        gate.open();
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        QCOMPARE(gate.started(), 6);
        QCOMPARE(engine.config().maxConcurrentTasks, 1);
    }

    void reservedSlotRunsOnlyCritical()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(3, 1), clock);
        QVERIFY(engine.start());
        Gate cycles;
        for (int i = 0; i < 5; ++i)
            QVERIFY(engine.scheduleTask(QStringLiteral("a"), QStringLiteral("cycle"), gated(cycles),
                                        TaskPriority::Normal));
        QTRY_VERIFY_WITH_TIMEOUT(cycles.started() == 2, scaledMs(kWaitMs));
        QCOMPARE(engine.stats().queuedTasks, 3); // the third slot stays free
        Gate stopLoss;
        auto critical = engine.scheduleTask(QStringLiteral("a"), QStringLiteral("stop_loss"),
                                            gated(stopLoss), TaskPriority::Critical);
        QVERIFY(critical);
        QTRY_VERIFY_WITH_TIMEOUT(stopLoss.started() == 1, scaledMs(kWaitMs));
        QCOMPARE(engine.stats().runningTasks, 3);
        QCOMPARE(cycles.started(), 2);
        stopLoss.open();
        QVERIFY(waitFinished(critical->result));
        QCOMPARE(cycles.started(), 2); // the freed reserved slot is not given to NORMAL work
        cycles.open();
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
    }

    // The reservation limits NORMAL work to cap - reserved; CRITICAL tasks running do not shrink
    // that further. (They did: with one CRITICAL task running, cap 3 and 1 reserved ran a single
    // NORMAL task, both at submission and when a worker looked for its next task.)
    void criticalWorkDoesNotShrinkNormalCapacity()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(3, 1), clock);
        QVERIFY(engine.start());
        Gate stopLoss;
        auto critical = engine.scheduleTask(QStringLiteral("a"), QStringLiteral("stop_loss"),
                                            gated(stopLoss), TaskPriority::Critical);
        QVERIFY(critical);
        QTRY_VERIFY_WITH_TIMEOUT(stopLoss.started() == 1, scaledMs(kWaitMs));
        Gate cycles;
        for (int i = 0; i < 4; ++i)
            QVERIFY(engine.scheduleTask(QStringLiteral("a"), QStringLiteral("cycle"), gated(cycles),
                                        TaskPriority::Normal));
        QTRY_VERIFY_WITH_TIMEOUT(cycles.started() == 2, scaledMs(kWaitMs));
        QCOMPARE(engine.stats().runningTasks, 3);
        QCOMPARE(engine.stats().queuedTasks, 2);
        cycles.release(); // its worker takes the next NORMAL task: still 2 NORMAL + 1 CRITICAL
        QTRY_VERIFY_WITH_TIMEOUT(cycles.started() == 3, scaledMs(kWaitMs));
        QTRY_COMPARE_WITH_TIMEOUT(engine.stats().runningTasks, 3, scaledMs(kWaitMs));
        QCOMPARE(engine.stats().queuedTasks, 1);
        stopLoss.open();
        cycles.open();
        QVERIFY(waitFinished(critical->result));
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        QCOMPARE(cycles.maxInside(), 2);
    }

    // CRITICAL tasks start on the lanes (one pool thread per reserved slot, woken by a thread
    // holding no lock); the lanes follow reserved_critical_slots live and leave on stop.
    void criticalTasksRunOnLanes()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(3, 1), clock);
        QVERIFY(engine.start());
        auto threadOf = [&engine](TaskPriority priority) -> QString {
            auto h = engine.scheduleTask(
                QStringLiteral("a"), QStringLiteral("probe"),
                [](const TaskContext &) -> Result<QJsonValue> {
                    return QJsonValue(QThread::currentThread()->objectName());
                },
                priority);
            if (!h || !waitFinished(h->result) || !h->result.result())
                return QStringLiteral("(failed)");
            return h->result.result()->toString();
        };
        QVERIFY2(threadOf(TaskPriority::Critical).startsWith(QStringLiteral("exec-critical-")),
                 qPrintable(threadOf(TaskPriority::Critical)));
        QVERIFY(!threadOf(TaskPriority::Normal).contains(QStringLiteral("critical")));
        ExecConfig none = engine.config();
        none.reservedCriticalSlots = 0;
        engine.applyConfig(none);
        QVERIFY(!threadOf(TaskPriority::Critical).contains(QStringLiteral("critical")));
        ExecConfig two = engine.config();
        two.reservedCriticalSlots = 2;
        engine.applyConfig(two);
        // Two CRITICAL tasks at once, each on a lane of its own.
        Gate gate;
        QStringList names;
        QMutex namesMutex;
        QList<QFuture<Result<QJsonValue>>> futures;
        for (int i = 0; i < 2; ++i) {
            auto h = engine.scheduleTask(
                QStringLiteral("a"), QStringLiteral("probe"),
                [&](const TaskContext &ctx) -> Result<QJsonValue> {
                    {
                        QMutexLocker lock(&namesMutex);
                        names.append(QThread::currentThread()->objectName());
                    }
                    gate.pass(ctx.token);
                    return QJsonValue();
                },
                TaskPriority::Critical);
            QVERIFY(h);
            futures.append(h->result);
        }
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 2, scaledMs(kWaitMs));
        gate.open();
        for (const auto &f : futures)
            QVERIFY(waitFinished(f));
        QCOMPARE(names.size(), 2);
        QVERIFY2(names[0] != names[1], qPrintable(names.join(u',')));
        for (const QString &name : std::as_const(names))
            QVERIFY2(name.startsWith(QStringLiteral("exec-critical-")), qPrintable(name));
        engine.stop(); // the lanes leave: the destructor's waitForDone() returns
    }

    // LOW and IDLE work runs with the long background slice, everything else (and an idle
    // worker) with the kernel's default, where the kernel has per-thread slices (Linux 6.12+).
    void backgroundWorkGetsTheLongSlice()
    {
        bool supported = false;
        std::thread probe([&supported] {
            supported = setThreadSliceClass(SliceClass::Background)
                        && currentThreadSliceNs()
                               == std::chrono::nanoseconds(kBackgroundSlice).count();
            setThreadSliceClass(SliceClass::Default);
        });
        probe.join();
        if (!supported)
            QSKIP("This kernel has no per-thread slices (sched_setattr runtime for SCHED_OTHER).");
        ManualClock clock;
        ExecutionEngine engine(execConfig(1, 0), clock);
        QVERIFY(engine.start());
        auto sliceOf = [&engine](TaskPriority priority) -> qint64 {
            auto h = engine.scheduleTask(
                {}, QStringLiteral("probe"),
                [](const TaskContext &) -> Result<QJsonValue> {
                    return QJsonValue(double(currentThreadSliceNs()));
                },
                priority);
            if (!h || !waitFinished(h->result) || !h->result.result())
                return -1;
            return qint64(h->result.result()->toDouble());
        };
        const qint64 background = std::chrono::nanoseconds(kBackgroundSlice).count();
        QCOMPARE(sliceOf(TaskPriority::Low), background);
        QCOMPARE(sliceOf(TaskPriority::Idle), background);
        const qint64 normal = sliceOf(TaskPriority::Normal);
        QVERIFY(normal > 0);
        QVERIFY(normal != background);
        QCOMPARE(sliceOf(TaskPriority::Low), background);
        QCOMPARE(sliceOf(TaskPriority::Critical), normal);
    }

    // Threads inherit their creator's slice: a pool thread started from a LOW worker must not
    // keep the background slice when it is asked for the default one (it did: the first call
    // in a thread assumed the default and skipped the kernel).
    void aNewThreadDoesNotKeepAnInheritedSlice()
    {
        const qint64 background = std::chrono::nanoseconds(kBackgroundSlice).count();
        bool supported = false;
        qint64 inherited = -1;
        qint64 after = -1;
        std::thread parent([&] {
            supported = setThreadSliceClass(SliceClass::Background)
                        && currentThreadSliceNs() == background;
            std::thread child([&] {
                inherited = currentThreadSliceNs();
                setThreadSliceClass(SliceClass::Default);
                after = currentThreadSliceNs();
            });
            child.join();
            setThreadSliceClass(SliceClass::Default);
        });
        parent.join();
        if (!supported)
            QSKIP("This kernel has no per-thread slices (sched_setattr runtime for SCHED_OTHER).");
        QCOMPARE(inherited, background); // what the kernel does
        QVERIFY(after > 0);
        QVERIFY(after != background); // what we must undo
    }

    // An IDLE task under a continuous HIGH load starts within about 4 × aging_interval.
    void agingBoundsTheWait()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1, 0, 1.2, 5.0), clock);
        QVERIFY(engine.start());
        Gate gate;
        OrderLog log;
        auto highTask = [&](int n) {
            return [&gate, &log, n](const TaskContext &ctx) -> Result<QJsonValue> {
                log.add(QStringLiteral("high%1").arg(n));
                gate.pass(ctx.token);
                return QJsonValue(n);
            };
        };
        int n = 0;
        QVERIFY(engine.scheduleTask({}, QStringLiteral("t"), highTask(n++), TaskPriority::High));
        QVERIFY(engine.scheduleTask({}, QStringLiteral("t"), highTask(n++), TaskPriority::High));
        std::atomic<bool> idleRan{false};
        const Clock::MonoTime idleQueued = clock.monotonic();
        Clock::MonoTime idleStarted{};
        auto idle = engine.scheduleTask(
            {}, QStringLiteral("t"),
            [&](const TaskContext &ctx) -> Result<QJsonValue> {
                idleStarted = ctx.clock->monotonic();
                idleRan = true;
                return QJsonValue();
            },
            TaskPriority::Idle);
        QVERIFY(idle);
        // Every second: a new HIGH task arrives and the running one finishes.
        for (int step = 0; step < 40 && !idleRan.load(); ++step) {
            QTRY_VERIFY_WITH_TIMEOUT(gate.inside() == 1 || idleRan.load(), scaledMs(kWaitMs));
            QVERIFY(
                engine.scheduleTask({}, QStringLiteral("t"), highTask(n++), TaskPriority::High));
            clock.advance(1s);
            const int finished = gate.finished();
            gate.release();
            QTRY_VERIFY_WITH_TIMEOUT(gate.finished() == finished + 1, scaledMs(kWaitMs));
        }
        QVERIFY(waitFinished(idle->result));
        const auto waited = idleStarted - idleQueued;
        QVERIFY2(waited <= 4 * 5s + 1s, qPrintable(QString::number(waited.count() / 1e9)));
        QVERIFY(waited >= 3 * 5s); // it did wait behind HIGH work first
        gate.open();
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
    }

    void everyOutcomeFreesItsSlot_data()
    {
        QTest::addColumn<QString>("outcome");
        QTest::addColumn<QString>("code");
        QTest::newRow("success") << QStringLiteral("success") << QString();
        QTest::newRow("error") << QStringLiteral("error") << QStringLiteral("no_data");
        QTest::newRow("exception")
            << QStringLiteral("exception") << QStringLiteral("task_exception");
        QTest::newRow("timeout") << QStringLiteral("timeout") << QStringLiteral("timeout");
        QTest::newRow("cancel") << QStringLiteral("cancel") << QStringLiteral("cancelled");
    }
    void everyOutcomeFreesItsSlot()
    {
        QFETCH(QString, outcome);
        QFETCH(QString, code);
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        Gate gate;
        TaskOptions options;
        options.timeout = 1s;
        auto h = engine.scheduleTask(
            QStringLiteral("a"), QStringLiteral("t"),
            [&](const TaskContext &ctx) -> Result<QJsonValue> {
                const bool passed = gate.pass(ctx.token);
                if (outcome == u"error")
                    return fail(QStringLiteral("no_data"), QStringLiteral("No data."));
                if (outcome == u"exception")
                    throw std::runtime_error("boom");
                if (!passed)
                    return fail(QStringLiteral("cancelled"), QStringLiteral("token fired"));
                return QJsonValue(1);
            },
            TaskPriority::Normal, options);
        QVERIFY(h);
        OrderLog log;
        auto next = engine.scheduleTask({}, QStringLiteral("t"), logged(log, QStringLiteral("n")));
        QVERIFY(next);
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        if (outcome == u"timeout") {
            clock.advance(1200ms); // timeout × 1.2
            QCOMPARE(engine.processDueWork(), 1);
        } else if (outcome == u"cancel") {
            QVERIFY(engine.cancel(h->id));
        } else {
            gate.release();
        }
        QVERIFY(waitFinished(h->result));
        QVERIFY(waitFinished(next->result));
        const Result<QJsonValue> r = h->result.result();
        QCOMPARE(bool(r), code.isEmpty());
        if (!code.isEmpty())
            QCOMPARE(r.error().code, code);
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        const ExecStats s = engine.stats();
        QCOMPARE(s.runningTasks, 0);
        QCOMPARE(s.tasksTimedOut, quint64(outcome == u"timeout" ? 1 : 0));
        QCOMPARE(s.tasksCancelled, quint64(outcome == u"cancel" ? 1 : 0));
        QCOMPARE(s.tasksFailed, quint64(outcome == u"error" || outcome == u"exception" ? 1 : 0));
        QCOMPARE(s.tasksCompleted, quint64(outcome == u"success" ? 2 : 1));
    }

    // 0.5 s × 1.2: a 0.55 s task completes, a 0.75 s task times out and is counted.
    void timeoutMultiplier_data()
    {
        QTest::addColumn<int>("workMs");
        QTest::addColumn<bool>("timesOut");
        QTest::newRow("0.55 s completes") << 550 << false;
        QTest::newRow("0.75 s times out") << 750 << true;
    }
    void timeoutMultiplier()
    {
        QFETCH(int, workMs);
        QFETCH(bool, timesOut);
        ManualClock clock;
        ExecutionEngine engine(execConfig(2, 0, 1.2), clock);
        QVERIFY(engine.start());
        Gate gate;
        TaskOptions options;
        options.timeout = 500ms;
        // The body "works" until the test says the work is done (the clock has moved by workMs)
        // or its token fires.
        auto h = engine.scheduleTask(QStringLiteral("a"), QStringLiteral("work"), gated(gate),
                                     TaskPriority::Normal, options);
        QVERIFY(h);
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        QCOMPARE(engine.taskInfo(h->id)->timeout, std::chrono::nanoseconds(600ms));
        clock.advance(std::chrono::milliseconds(workMs));
        engine.processDueWork();
        if (!timesOut) {
            QVERIFY(!h->token.isCancelled());
            gate.release(); // the work is done
        }
        QVERIFY(waitFinished(h->result));
        QCOMPARE(bool(h->result.result()), !timesOut);
        QCOMPARE(h->token.reason() == CancelReason::TimedOut, timesOut);
        const ExecStats s = engine.stats();
        QCOMPARE(s.tasksTimedOut, quint64(timesOut ? 1 : 0));
        QCOMPARE(s.tasksCompleted, quint64(timesOut ? 0 : 1));
        QCOMPARE(s.runningTasks, 0);
    }

    void defaultTimeoutIsSixtySecondsTimesMultiplier()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1, 0, 1.5), clock);
        QVERIFY(engine.start());
        Gate gate;
        auto h = engine.scheduleTask({}, QStringLiteral("t"), gated(gate));
        QVERIFY(h);
        QCOMPARE(engine.taskInfo(h->id)->timeout, std::chrono::nanoseconds(90s));
        gate.open();
        QVERIFY(waitFinished(h->result));
    }

    void ignoringTheTokenIsOverrunning()
    {
        ManualClock clock;
        EngineOptions options;
        options.overrunGrace = 2s;
        ExecutionEngine engine(execConfig(1), clock, options);
        QVERIFY(engine.start());
        Gate gate;
        TaskOptions t;
        t.timeout = 1s;
        auto h = engine.scheduleTask(
            QStringLiteral("a"), QStringLiteral("stubborn"),
            [&](const TaskContext &) -> Result<QJsonValue> {
                gate.passIgnoringToken();
                return QJsonValue(1);
            },
            TaskPriority::Normal, t);
        QVERIFY(h);
        OrderLog log;
        auto next = engine.scheduleTask({}, QStringLiteral("t"), logged(log, QStringLiteral("n")));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        clock.advance(1200ms);
        engine.processDueWork();
        QVERIFY(h->token.isCancelled());
        QCOMPARE(engine.stats().tasksTimedOut, quint64(1));
        QCOMPARE(engine.stats().tasksOverrunning, 0);
        clock.advance(2s);
        engine.processDueWork();
        ExecStats s = engine.stats();
        QCOMPARE(s.tasksOverrunning, 1);
        QCOMPARE(s.runningTasks, 1); // its slot stays busy
        QVERIFY(engine.taskInfo(h->id)->overrunning);
        QVERIFY(!next->result.isFinished());
        gate.release();
        QVERIFY(waitFinished(h->result));
        QVERIFY(waitFinished(next->result));
        s = engine.stats();
        QCOMPARE(s.tasksOverrunning, 0);
        QCOMPARE(s.tasksOverrunTotal, quint64(1));
        QCOMPARE(h->result.result().error().code, QStringLiteral("timeout"));
    }

    // TaskOptions::onFinished gets every outcome exactly once, before the future finishes: a
    // body's value, its error, a cancelled queued task and one dropped at stop. (The load
    // tester's execution component used QFuture::then() here and crashed Qt 6.4 in 1 run in 5.)
    void onFinishedGetsEveryOutcomeOnce()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        QMutex mutex;
        QStringList seen; // "value", or the error code
        const auto options = [&] {
            TaskOptions o;
            o.onFinished = [&](const Result<QJsonValue> &r) {
                QMutexLocker lock(&mutex);
                seen.append(r ? r->toString() : r.error().code);
            };
            return o;
        };
        auto ok = engine.scheduleTask(
            {}, QStringLiteral("ok"),
            [](const TaskContext &) -> Result<QJsonValue> { return QJsonValue(QStringLiteral("value")); },
            TaskPriority::Normal, options());
        QVERIFY(ok);
        QVERIFY(waitFinished(ok->result));
        auto bad = engine.scheduleTask(
            {}, QStringLiteral("bad"),
            [](const TaskContext &) -> Result<QJsonValue> {
                return fail(QStringLiteral("body_failed"), QStringLiteral("no"));
            },
            TaskPriority::Normal, options());
        QVERIFY(bad);
        QVERIFY(waitFinished(bad->result));
        Gate gate;
        QVERIFY(engine.scheduleTask({}, QStringLiteral("block"), gated(gate)));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        auto cancelled = engine.scheduleTask({}, QStringLiteral("queued"), gated(gate),
                                             TaskPriority::Normal, options());
        auto dropped = engine.scheduleTask({}, QStringLiteral("queued"), gated(gate),
                                           TaskPriority::Normal, options());
        QVERIFY(cancelled && dropped);
        QVERIFY(engine.cancel(cancelled->id));
        QVERIFY(waitFinished(cancelled->result));
        gate.open();
        engine.stop();
        QVERIFY(waitFinished(dropped->result));
        QMutexLocker lock(&mutex);
        QCOMPARE(seen.size(), 4);
        QCOMPARE(seen.mid(0, 3), (QStringList{QStringLiteral("value"), QStringLiteral("body_failed"),
                                             QStringLiteral("cancelled")}));
        QCOMPARE(seen.at(3), dropped->result.result() ? QStringLiteral("value")
                                                      : dropped->result.result().error().code);
    }

    void queueDeadlineDropsWithCallback()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        Gate gate;
        QVERIFY(engine.scheduleTask({}, QStringLiteral("block"), gated(gate)));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        std::atomic<bool> ran{false};
        QList<TaskInfo> expired;
        QMutex mutex;
        TaskOptions options;
        options.queueDeadline = 1s;
        options.onExpired = [&](const TaskInfo &info) {
            QMutexLocker lock(&mutex);
            expired.append(info);
        };
        auto h = engine.scheduleTask(
            QStringLiteral("a"), QStringLiteral("late"),
            [&](const TaskContext &) -> Result<QJsonValue> {
                ran = true;
                return QJsonValue();
            },
            TaskPriority::High, options);
        QVERIFY(h);
        clock.advance(999ms);
        QCOMPARE(engine.processDueWork(), 0);
        clock.advance(1ms);
        QCOMPARE(engine.processDueWork(), 1);
        QVERIFY(waitFinished(h->result));
        QCOMPARE(h->result.result().error().code, QStringLiteral("expired"));
        {
            QMutexLocker lock(&mutex);
            QCOMPARE(expired.size(), 1);
            QCOMPARE(expired.first().id, h->id);
            QCOMPARE(expired.first().taskType, QStringLiteral("late"));
        }
        gate.open();
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        QVERIFY(!ran.load());
        QCOMPARE(engine.stats().tasksExpired, quint64(1));
        QCOMPARE(engine.stats().queuedTasks, 0);
    }

    void schedulingOnAStoppedEngineFails()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        auto before = engine.scheduleTask({}, QStringLiteral("t"), logged(m_log, QString()));
        QVERIFY(!before);
        QCOMPARE(before.error().code, QStringLiteral("engine_stopped"));
        QVERIFY(engine.start());
        QVERIFY(engine.scheduleTask({}, QStringLiteral("t"), logged(m_log, QString())));
        engine.stop();
        auto after = engine.scheduleTask({}, QStringLiteral("t"), logged(m_log, QString()));
        QVERIFY(!after);
        QCOMPARE(after.error().code, QStringLiteral("engine_stopped"));
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("x"), 1.0);
        QCOMPARE(engine.scheduleAgentCycle(agent).error().code, QStringLiteral("engine_stopped"));
        QVERIFY(!engine.scheduleTask({}, QStringLiteral("t"), TaskWork()));
    }

    void listAndCancelById()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        Gate gate;
        auto running = engine.scheduleTask(QStringLiteral("a"), QStringLiteral("r"), gated(gate));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        auto q1 = engine.scheduleTask(QStringLiteral("b"), QStringLiteral("q"), gated(gate));
        auto q2 = engine.scheduleTask(QStringLiteral("c"), QStringLiteral("q"), gated(gate),
                                      TaskPriority::Low);
        TaskOptions later;
        later.delay = 1h;
        auto d = engine.scheduleTask(QStringLiteral("d"), QStringLiteral("d"), gated(gate),
                                     TaskPriority::Normal, later);
        QVERIFY(running && q1 && q2 && d);
        const QList<TaskInfo> list = engine.listTasks();
        QCOMPARE(list.size(), 4);
        QVERIFY(list[0].state == TaskState::Running);
        QVERIFY(list[1].state == TaskState::Queued);
        QVERIFY(list[3].state == TaskState::Delayed);
        QCOMPARE(list[2].agentId, QStringLiteral("c"));
        QVERIFY(list[2].priority == TaskPriority::Low);
        QVERIFY(engine.cancel(q1->id));
        QVERIFY(engine.cancel(d->id));
        QVERIFY(!engine.cancel(999));
        QCOMPARE(q1->result.result().error().code, QStringLiteral("cancelled"));
        QCOMPARE(d->result.result().error().code, QStringLiteral("cancelled"));
        QCOMPARE(engine.listTasks().size(), 2);
        QCOMPARE(engine.stats().queuedTasks, 1);
        QVERIFY(engine.cancel(running->id)); // fires its token
        QVERIFY(waitFinished(running->result));
        QCOMPARE(running->result.result().error().code, QStringLiteral("cancelled"));
        gate.open();
        QVERIFY(waitFinished(q2->result));
        QVERIFY(bool(q2->result.result()));
        QVERIFY(!engine.cancel(q2->id)); // finished
        QCOMPARE(gate.started(), 2);     // q1 never ran
    }

    void stopCancelsQueueAndFiresTokens()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        Gate gate;
        auto r1 = engine.scheduleTask({}, QStringLiteral("t"), gated(gate));
        auto r2 = engine.scheduleTask({}, QStringLiteral("t"), gated(gate));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 2, scaledMs(kWaitMs));
        auto q = engine.scheduleTask({}, QStringLiteral("t"), gated(gate));
        QElapsedTimer t;
        t.start();
        const StopReport report = engine.stop();
        QVERIFY(t.elapsed() < scaledMs(1000));
        QVERIFY(report.clean());
        QCOMPARE(report.cancelledQueued, 1);
        QCOMPARE(report.cancelledRunning, 2);
        QCOMPARE(q->result.result().error().code, QStringLiteral("engine_stopped"));
        QVERIFY(waitFinished(r1->result) && waitFinished(r2->result));
        QCOMPARE(r1->result.result().error().code, QStringLiteral("engine_stopped"));
        QVERIFY(!engine.isRunning());
        QCOMPARE(gate.started(), 2);
    }

    // Real time: stop() waits at most 1 s for a body that ignores its token, then reports it.
    void stopReportsOverrun()
    {
        ExecutionEngine engine(execConfig(2));
        QVERIFY(engine.start());
        Gate gate;
        auto h = engine.scheduleTask(QStringLiteral("stuck"), QStringLiteral("t"),
                                     [&](const TaskContext &) -> Result<QJsonValue> {
                                         gate.passIgnoringToken();
                                         return QJsonValue();
                                     });
        QVERIFY(h);
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        QElapsedTimer t;
        t.start();
        const StopReport report = engine.stop();
        const qint64 elapsed = t.elapsed();
        QVERIFY2(elapsed >= 900 && elapsed <= scaledMs(1500), qPrintable(QString::number(elapsed)));
        QCOMPARE(report.overrunning.size(), 1);
        QCOMPARE(report.overrunning.first().id, h->id);
        QCOMPARE(report.overrunning.first().agentId, QStringLiteral("stuck"));
        gate.release();
        QVERIFY(waitFinished(h->result));
    }

    void workersAreNamedAndOwned()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(3), clock);
        QVERIFY(engine.start());
        QString name;
        auto h = engine.scheduleTask({}, QStringLiteral("t"),
                                     [&](const TaskContext &) -> Result<QJsonValue> {
                                         name = QThread::currentThread()->objectName();
                                         return QJsonValue();
                                     });
        QVERIFY(waitFinished(h->result));
        QVERIFY2(name.startsWith(QStringLiteral("exec-")), qPrintable(name));
        QVERIFY(QThread::currentThread()->objectName() != name);
    }

    void executorPostRuns()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        Executor &executor = engine;
        executor.post(TaskPriority::Low, [] {}); // stopped: dropped with a warning
        QVERIFY(engine.start());
        std::atomic<int> ran{0};
        for (int i = 0; i < 20; ++i)
            executor.post(TaskPriority::Normal, [&ran] { ++ran; });
        QTRY_VERIFY_WITH_TIMEOUT(ran.load() == 20, scaledMs(kWaitMs));
        QCOMPARE(engine.stats().tasksSubmitted, quint64(20));
    }

    void realTimerDrivesDelaysAndTimeouts()
    {
        ExecutionEngine engine(execConfig(2)); // system clock: the precise timer does the work
        QVERIFY(engine.start());
        TaskOptions delayed;
        delayed.delay = 20ms;
        OrderLog log;
        auto d = engine.scheduleTask({}, QStringLiteral("t"), logged(log, QStringLiteral("d")),
                                     TaskPriority::Normal, delayed);
        TaskOptions shortTimeout;
        shortTimeout.timeout = 20ms;
        auto t = engine.scheduleTask(
            {}, QStringLiteral("t"),
            [](const TaskContext &ctx) -> Result<QJsonValue> {
                ctx.token.waitUntilCancelled();
                return fail(QStringLiteral("cancelled"), QStringLiteral("token fired"));
            },
            TaskPriority::Normal, shortTimeout);
        QVERIFY(waitFinished(d->result));
        QVERIFY(waitFinished(t->result));
        QCOMPARE(t->result.result().error().code, QStringLiteral("timeout"));
    }

    // ---- agent cycles -------------------------------------------------------------------------

    void agentCyclesArePeriodic()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(4), clock);
        QVERIFY(engine.start());
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("mm1"), 10.0);
        QVERIFY(agent->start());
        QVERIFY(engine.scheduleAgentCycle(agent, TaskPriority::Normal));
        QCOMPARE(engine.scheduleAgentCycle(agent).error().code,
                 QStringLiteral("already_scheduled"));
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == 1, scaledMs(kWaitMs));
        for (int i = 2; i <= 4; ++i) {
            clock.advance(10s);
            QCOMPARE(engine.processDueWork(), 1);
            QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == quint64(i),
                                     scaledMs(kWaitMs));
        }
        const AgentCycleStats s = *engine.agentCycleStats(QStringLiteral("mm1"));
        QCOMPARE(s.cyclesStarted, quint64(4));
        QCOMPARE(s.cyclesCompleted, quint64(4));
        QCOMPARE(s.cyclesSkipped, quint64(0));
        QCOMPARE(s.intervalSeconds, 10.0);
        {
            QMutexLocker lock(&agent->mutex);
            QCOMPARE(agent->contexts.size(), 4);
            const CycleContext &c = agent->contexts.last();
            QCOMPARE(c.cycleNumber, quint64(4));
            QVERIFY(c.clock == &clock);
            QVERIFY(c.cache == nullptr && c.pool == nullptr);
            // cycle timeout = min(interval, 60 s) × 1.2
            QVERIFY(c.deadline - c.scheduledStart == std::chrono::nanoseconds(12s));
        }
        // Stopping the agent ends its schedule.
        agent->stop();
        clock.advance(10s);
        engine.processDueWork();
        QVERIFY(!engine.agentCycleStats(QStringLiteral("mm1")));
        QCOMPARE(engine.stats().agentsTracked, 0);
        QCOMPARE(engine.stats().agentsSeenTotal, 1);
        QCOMPARE(agent->metrics().cyclesCompleted, quint64(4));
    }

    void overlappingCycleIsSkippedAndCounted()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(4), clock);
        QVERIFY(engine.start());
        Gate gate;
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("slow"), 5.0, &gate);
        QVERIFY(agent->start());
        AgentScheduleOptions options;
        options.cycleTimeout = 60s;
        QVERIFY(engine.scheduleAgentCycle(agent, TaskPriority::Normal, options));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        clock.advance(5s);
        engine.processDueWork();
        clock.advance(5s);
        engine.processDueWork();
        QCOMPARE(engine.stats().cyclesSkipped, quint64(2));
        QCOMPARE(gate.inside(), 1); // never two cycles of one agent at once
        gate.release();
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == 1, scaledMs(kWaitMs));
        clock.advance(5s);
        engine.processDueWork();
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 2, scaledMs(kWaitMs));
        const AgentCycleStats s = *engine.agentCycleStats(QStringLiteral("slow"));
        QCOMPARE(s.cyclesSkipped, quint64(2));
        QCOMPARE(s.cyclesStarted, quint64(2));
        QCOMPARE(gate.maxInside(), 1);
        gate.open();
    }

    void pausedAgentRunsNoCycles()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("p"), 1.0);
        QVERIFY(agent->start());
        AgentScheduleOptions options;
        options.runImmediately = false;
        QVERIFY(engine.scheduleAgentCycle(agent, TaskPriority::Normal, options));
        QVERIFY(engine.pauseAgent(QStringLiteral("p")));
        for (int i = 0; i < 3; ++i) {
            clock.advance(1s);
            engine.processDueWork();
        }
        QCOMPARE(agent->cycles.load(), 0);
        QVERIFY(engine.agentCycleStats(QStringLiteral("p"))->paused);
        QCOMPARE(engine.stats().cyclesSkipped, quint64(0));
        QVERIFY(engine.resumeAgent(QStringLiteral("p")));
        engine.processDueWork();
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == 1, scaledMs(kWaitMs));
        QVERIFY(engine.unscheduleAgent(QStringLiteral("p")));
        QVERIFY(!engine.pauseAgent(QStringLiteral("p")));
    }

    void cycleTimeoutDefault_data()
    {
        QTest::addColumn<double>("interval");
        QTest::addColumn<int>("expectedMs"); // × 1.2
        QTest::newRow("short interval") << 10.0 << 12000;
        QTest::newRow("long interval") << 300.0 << 72000;
    }
    void cycleTimeoutDefault()
    {
        QFETCH(double, interval);
        QFETCH(int, expectedMs);
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        Gate gate;
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("t"), interval, &gate);
        QVERIFY(agent->start());
        QVERIFY(engine.scheduleAgentCycle(agent));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        const QList<TaskInfo> tasks = engine.listTasks();
        QCOMPARE(tasks.size(), 1);
        QCOMPARE(tasks.first().taskType, QStringLiteral("cycle"));
        QCOMPARE(tasks.first().timeout,
                 std::chrono::nanoseconds(std::chrono::milliseconds(expectedMs)));
        gate.open();
    }

    void cycleTokenFiresOnTimeout()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        Gate gate;
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("slow"), 10.0, &gate);
        QVERIFY(agent->start());
        QVERIFY(engine.scheduleAgentCycle(agent));
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        clock.advance(12s); // min(10 s, 60 s) × 1.2; the next tick (10 s) is skipped meanwhile
        engine.processDueWork();
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesFailed == 1, scaledMs(kWaitMs));
        QTRY_VERIFY_WITH_TIMEOUT(engine.stats().runningTasks == 0, scaledMs(kWaitMs));
        const AgentCycleStats s = *engine.agentCycleStats(QStringLiteral("slow"));
        QCOMPARE(s.cyclesTimedOut, quint64(1));
        QCOMPARE(s.cyclesSkipped, quint64(1));
        QCOMPARE(engine.stats().tasksTimedOut, quint64(1));
        gate.open();
    }

    void driftIsRecorded()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("d"), 10.0);
        QVERIFY(agent->start());
        AgentScheduleOptions options;
        options.runImmediately = false;
        QVERIFY(engine.scheduleAgentCycle(agent, TaskPriority::Normal, options));
        const int lateMs[] = {0, 100, 300};
        int done = 0;
        for (int late : lateMs) {
            clock.advance(10s - std::chrono::milliseconds(done ? lateMs[done - 1] : 0)
                          + std::chrono::milliseconds(late));
            engine.processDueWork();
            ++done;
            QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == quint64(done),
                                     scaledMs(kWaitMs));
        }
        const AgentCycleStats s = *engine.agentCycleStats(QStringLiteral("d"));
        QVERIFY(qAbs(s.driftMaxMs - 300) < 1);
        QVERIFY(qAbs(s.driftP50Ms - 100) < 1);
        QVERIFY(qAbs(s.driftP99Ms - 300) < 1);
        const QJsonObject j = s.toJson();
        QVERIFY(j.contains(QStringLiteral("drift_p99_ms")));
    }

    // Interval 0 runs cycles back to back: each starts when the previous one returns, so none
    // is ever skipped (a periodic schedule at a tiny interval would skip nearly all of them).
    void zeroIntervalRunsBackToBack()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("busy"), 0.0);
        QVERIFY(agent->start());
        AgentScheduleOptions options;
        options.adaptive = true; // ignored for interval 0
        QVERIFY(engine.scheduleAgentCycle(agent, TaskPriority::Normal, options));
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted >= 50, scaledMs(kWaitMs));
        QVERIFY(engine.unscheduleAgent(QStringLiteral("busy")));
        agent->stop();
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        QCOMPARE(agent->metrics().cyclesFailed, quint64(0));
        const QJsonObject stats = engine.stats().toJson();
        QCOMPARE(stats.value(QStringLiteral("cycles_skipped")).toInteger(), 0);
        QVERIFY(!engine.scheduleAgentCycle(std::make_shared<CycleAgent>(QStringLiteral("neg"), -1.0),
                                           TaskPriority::Normal));
    }

    // Each cycle's run time goes into the agent's duration histogram (the per-agent cycle
    // latency the runtime reports): a cycle that takes 250 ms on the clock reads 250 ms.
    void cycleDurationIsRecorded()
    {
        class SlowAgent final : public Agent
        {
        public:
            explicit SlowAgent(ManualClock &clock)
                : Agent(CycleAgent::makeConfig(QStringLiteral("slow"), 10.0))
                , m_clock(clock)
            {}

        protected:
            Result<QJsonObject> cycle(const CycleContext &) override
            {
                m_clock.advance(250ms);
                return QJsonObject{};
            }

        private:
            ManualClock &m_clock;
        };
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        QVERIFY(engine.start());
        auto agent = std::make_shared<SlowAgent>(clock);
        QVERIFY(agent->start());
        QVERIFY(engine.scheduleAgentCycle(agent, TaskPriority::Normal));
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == 1, scaledMs(kWaitMs));
        QTRY_VERIFY_WITH_TIMEOUT(engine.agentCycleStats(QStringLiteral("slow"))->cyclesCompleted == 1,
                                 scaledMs(kWaitMs));
        const AgentCycleStats s = *engine.agentCycleStats(QStringLiteral("slow"));
        QVERIFY2(qAbs(s.durationP50Ms - 250) < 1, qPrintable(QString::number(s.durationP50Ms)));
        QVERIFY(qAbs(s.durationMaxMs - 250) < 1);
        QVERIFY(s.toJson().contains(QStringLiteral("duration_p99_ms")));
    }

    void adaptiveIntervalIsUsed()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(2), clock);
        AdaptiveScheduler scheduler;
        engine.setAdaptiveScheduler(&scheduler);
        QVERIFY(engine.start());
        class Busy final : public MarketConditionSource
        {
        public:
            std::optional<MarketCondition> marketCondition(const QString &) const override
            {
                MarketCondition c;
                c.volatility = c.tradingVolume = 1.0; // M = 0.5
                return c;
            }
        } busy;
        scheduler.setMarketConditionSource(&busy);
        auto agent = std::make_shared<CycleAgent>(QStringLiteral("ad"), 10.0);
        QVERIFY(agent->start());
        AgentScheduleOptions options;
        options.adaptive = true;
        QVERIFY(engine.scheduleAgentCycle(agent, TaskPriority::Normal, options));
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == 1, scaledMs(kWaitMs));
        // P: no duration recorded before the first decision → 1 ; 0.4 + 0.2 + 0.2 = 0.8
        QCOMPARE(engine.agentCycleStats(QStringLiteral("ad"))->intervalSeconds, 8.0);
        clock.advance(8s);
        QCOMPARE(engine.processDueWork(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(agent->metrics().cyclesCompleted == 2, scaledMs(kWaitMs));
        QVERIFY(!engine.stats().schedulerStats.isEmpty());
        engine.stop();
        scheduler.setMarketConditionSource(nullptr);
    }

    // ---- stats --------------------------------------------------------------------------------

    void statsCountAgentsAndHistograms()
    {
        ManualClock clock;
        ExecutionEngine engine(execConfig(1), clock);
        QVERIFY(engine.start());
        Gate gate;
        auto a = engine.scheduleTask(QStringLiteral("a"), QStringLiteral("t"), gated(gate),
                                     TaskPriority::High);
        QTRY_VERIFY_WITH_TIMEOUT(gate.started() == 1, scaledMs(kWaitMs));
        auto b = engine.scheduleTask(QStringLiteral("b"), QStringLiteral("t"), gated(gate),
                                     TaskPriority::Low);
        ExecStats s = engine.stats();
        QCOMPARE(s.agentsTracked, 2);
        QCOMPARE(s.agentsSeenTotal, 2);
        QCOMPARE(s.queuedByPriority[size_t(toInt(TaskPriority::Low))], 1);
        clock.advance(200ms);
        gate.release();
        QVERIFY(waitFinished(a->result));
        clock.advance(300ms);
        gate.release();
        QVERIFY(waitFinished(b->result));
        QVERIFY(engine.waitForIdle(std::chrono::milliseconds(scaledMs(kWaitMs))));
        s = engine.takeStats();
        QCOMPARE(s.agentsTracked, 0);
        QCOMPARE(s.agentsSeenTotal, 2);
        const auto &runHigh = s.runTime[size_t(toInt(TaskPriority::High))];
        QCOMPARE(runHigh.count(), quint64(1));
        QVERIFY(qAbs(double(runHigh.max()) - 200e6) < 1e6);
        const auto &waitLow = s.queueWait[size_t(toInt(TaskPriority::Low))];
        QVERIFY(qAbs(double(waitLow.max()) - 200e6) < 1e6);
        QVERIFY(qAbs(s.averageExecutionTime - 0.25) < 1e-3);
        // Deltas: nothing new since the previous takeStats().
        QCOMPARE(engine.takeStats().runTime[size_t(toInt(TaskPriority::High))].count(), quint64(0));
        QCOMPARE(engine.stats().runTime[size_t(toInt(TaskPriority::High))].count(), quint64(1));
    }

private:
    OrderLog m_log;
};

QTEST_GUILESS_MAIN(TestExecutionEngine)
#include "tst_executionengine.moc"

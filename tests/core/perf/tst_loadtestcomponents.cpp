// The real load-test components and the asynchronous drivers, on real sockets and real time
// (ctest label `timing`; tolerances scaled by OPSDECK_TIME_FACTOR):
// - the http component's errors by kind against the fault server (HTTP status with its code,
//   429 as rate-limited, a timeout, a refused connection) and its GET/POST mix against the
//   embedded simulator (every answer 200: the order/test body is valid);
// - the execution component on a real engine;
// - the closed and open models' asynchronous drivers: never more than N outstanding, a
//   completion inside start() loops instead of recursing;
// - the open model's achieved rate on the cache at 2000/s, within +-1 % on the real clock.
#include "core/perf/loadtestcomponents.h"
#include "core/perf/loadtestrunner.h"
#include "support/faultserver.h"
#include "support/testutil.h"

#include <QtCore/QThreadPool>
#include <QtTest/QtTest>

#include <atomic>
#include <future>
#include <thread>

using namespace opsdeck;
using namespace opsdeck::perf;
using namespace std::chrono_literals;

namespace {

OpOutcome runOne(LoadComponent &component, qint64 index)
{
    auto promise = std::make_shared<std::promise<OpOutcome>>();
    std::future<OpOutcome> future = promise->get_future();
    component.start(OpTicket{index, 1, Clock::system().monotonic()},
                    [promise](const OpOutcome &o) { promise->set_value(o); });
    if (future.wait_for(std::chrono::milliseconds(opsdeck::test::scaledMs(15'000)))
        != std::future_status::ready)
        qFatal("operation did not complete");
    return future.get();
}

// Shared with the test: the runner destroys its components before run() returns.
struct Counters
{
    std::atomic<int> outstanding{0};
    std::atomic<int> max{0};
    std::atomic<qint64> started{0};
};

// Asynchronous: each operation completes on a pool thread after `workMs` of real time, or inside
// start() when `inline` is set. Tracks the most operations outstanding at once.
class CountingAsyncComponent final : public LoadComponent
{
public:
    explicit CountingAsyncComponent(int workMs,
                                    bool completeInline = false,
                                    std::shared_ptr<Counters> counters
                                    = std::make_shared<Counters>())
        : m_c(std::move(counters))
        , m_workMs(workMs)
        , m_inline(completeInline)
    {
        m_pool.setMaxThreadCount(16);
    }
    ~CountingAsyncComponent() override { m_pool.waitForDone(); }

    LoadComponentKind kind() const override { return LoadComponentKind::Execution; }
    bool isAsync() const override { return true; }
    QStringList operationNames() const override { return {QStringLiteral("op")}; }
    Status prepare() override { return ok(); }
    void start(const OpTicket &, Completion done) override
    {
        const int now = ++m_c->outstanding;
        int seen = m_c->max.load();
        while (now > seen && !m_c->max.compare_exchange_weak(seen, now)) {
        }
        ++m_c->started;
        if (m_inline) {
            --m_c->outstanding;
            done(OpOutcome{});
            return;
        }
        m_pool.start([this, done = std::move(done)] {
            std::this_thread::sleep_for(std::chrono::milliseconds(m_workMs));
            --m_c->outstanding;
            done(OpOutcome{});
        });
    }
    void finish() override { m_pool.waitForDone(); }

private:
    std::shared_ptr<Counters> m_c;
    int m_workMs;
    bool m_inline;
    QThreadPool m_pool;
};

std::vector<std::unique_ptr<LoadComponent>> one(std::unique_ptr<LoadComponent> c)
{
    std::vector<std::unique_ptr<LoadComponent>> v;
    v.push_back(std::move(c));
    return v;
}

} // namespace

class TestLoadTestComponents : public QObject
{
    Q_OBJECT

private slots:
    void httpErrorsByKind_data()
    {
        QTest::addColumn<bool>("throughPool");
        QTest::addColumn<int>("rule"); // 0 ok, 1 500, 2 429, 3 slow (timeout), 4 closed port
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("status");
        for (bool pool : {false, true}) {
            const char *client = pool ? "pool" : "direct";
            QTest::addRow("%s 200", client) << pool << 0 << int(LoadErrorKind::None) << 200;
            QTest::addRow("%s 500", client) << pool << 1 << int(LoadErrorKind::HttpStatus) << 500;
            QTest::addRow("%s 429", client) << pool << 2 << int(LoadErrorKind::RateLimited) << 429;
            QTest::addRow("%s timeout", client) << pool << 3 << int(LoadErrorKind::Timeout) << 0;
            QTest::addRow("%s refused", client) << pool << 4 << int(LoadErrorKind::Connect) << 0;
        }
    }
    void httpErrorsByKind()
    {
        QFETCH(bool, throughPool);
        QFETCH(int, rule);
        QFETCH(int, kind);
        QFETCH(int, status);
        opsdeck::test::FaultServer server;
        QVERIFY(server.start() != 0);
        const QUrl base = server.baseUrl();
        if (rule == 1)
            server.addRule(opsdeck::test::FaultRule::status(500));
        if (rule == 2)
            server.addRule(opsdeck::test::FaultRule::tooManyRequests("1"));
        if (rule == 3)
            server.addRule(opsdeck::test::FaultRule::delay(3000));
        if (rule == 4)
            server.stop(); // nothing listens there any more
        HttpLoadComponent http(base, 2, 300, throughPool);
        QVERIFY(http.prepare());
        for (qint64 index : {0, 1, 2, 3}) { // both GETs and POSTs among them
            const OpOutcome o = runOne(http, index);
            QCOMPARE(int(o.error), kind);
            QCOMPARE(o.httpStatus, status);
            QVERIFY(o.operation == 0 || o.operation == 1);
        }
        http.finish();
    }

    void httpMixAgainstTheEmbeddedSimulator_data()
    {
        QTest::addColumn<bool>("throughPool");
        QTest::newRow("direct") << false;
        QTest::newRow("pool") << true;
    }
    void httpMixAgainstTheEmbeddedSimulator()
    {
        QFETCH(bool, throughPool);
        LoadTestConfig config;
        config.httpThroughPool = throughPool;
        config.components = {LoadComponentKind::Http};
        config.concurrency = 4;
        config.durationSeconds = 1;
        config.rampUpSeconds = 0.2;
        LoadTestRunner runner(config);
        auto run = runner.run(makeLoadComponents(config));
        QVERIFY2(run, run ? "" : qPrintable(run.error().message));
        const ComponentFigures &f = run->components.constFirst();
        QVERIFY(f.operations > 20);
        QCOMPARE(f.errors, quint64(0));
        QCOMPARE(f.statusCodes.value(200), f.operations); // GETs and the POST /order/test alike
        QVERIFY(f.operationCounts[0] > 0 && f.operationCounts[1] > 0);
        QCOMPARE(f.extra.value(QStringLiteral("client")).toString(),
                 throughPool ? QStringLiteral("pool") : QStringLiteral("direct"));
        const QJsonObject clientStats
            = f.extra.value(throughPool ? QStringLiteral("pool_stats") : QStringLiteral("client_stats"))
                  .toObject();
        QVERIFY(!clientStats.isEmpty());
        if (!throughPool) { // one keep-alive connection per worker, reused
            QCOMPARE(clientStats.value(QStringLiteral("connections_opened")).toInt(), 4);
            QVERIFY(clientStats.value(QStringLiteral("requests")).toDouble()
                    >= double(f.operations));
        }
    }

    void executionComponent()
    {
        ExecutionLoadComponent exec;
        QVERIFY(exec.prepare());
        int counts[3] = {0, 0, 0};
        for (qint64 i = 0; i < 200; ++i) {
            const OpOutcome o = runOne(exec, i);
            QCOMPARE(int(o.error), int(LoadErrorKind::None));
            ++counts[o.operation];
        }
        // NORMAL 60 % / HIGH 30 % / LOW 10 %, within sampling noise of 200 draws.
        QVERIFY(counts[0] > 90 && counts[0] < 150);
        QVERIFY(counts[1] > 35 && counts[1] < 85);
        QVERIFY(counts[2] > 5 && counts[2] < 40);
        exec.finish();
        QVERIFY(exec.extraResults().contains(QStringLiteral("engine_stats")));
    }

    void asyncClosedModelKeepsNOutstanding()
    {
        LoadTestConfig config;
        config.components = {LoadComponentKind::Execution};
        config.concurrency = 3;
        config.durationSeconds = 0.5;
        config.rampUpSeconds = 0.2;
        LoadTestRunner runner(config);
        auto counters = std::make_shared<Counters>();
        auto run = runner.run(one(std::make_unique<CountingAsyncComponent>(2, false, counters)));
        QVERIFY(run);
        const ComponentFigures &f = run->components.constFirst();
        QCOMPARE(counters->max.load(), 3);
        QCOMPARE(qint64(f.operations + f.rampUpOperations),
                 counters->started.load()); // each completed once
        QVERIFY(f.operations > 50);
        QVERIFY(f.rampUpOperations > 0);
    }

    void asyncCompletionInsideStartDoesNotRecurse()
    {
        LoadTestConfig config;
        config.components = {LoadComponentKind::Execution};
        config.concurrency = 2;
        config.durationSeconds = 0.3;
        config.rampUpSeconds = 0;
        LoadTestRunner runner(config);
        auto run = runner.run(one(std::make_unique<CountingAsyncComponent>(0, true)));
        QVERIFY(run);
        // Hundreds of thousands of operations on one stack would have overflowed it.
        QVERIFY(run->components.constFirst().operations > 10'000);
    }

    void asyncOpenModelRunsTheSchedule()
    {
        LoadTestConfig config;
        config.components = {LoadComponentKind::Execution};
        config.concurrency = 2;
        config.durationSeconds = 1;
        config.rampUpSeconds = 0;
        config.rate = 300;
        LoadTestRunner runner(config);
        auto run = runner.run(one(std::make_unique<CountingAsyncComponent>(1)));
        QVERIFY(run);
        const ComponentFigures &f = run->components.constFirst();
        QCOMPARE(f.operations, quint64(300)); // every intended start in the window, completed
        QVERIFY(f.corrected.valueAtPercentile(50) >= f.uncorrected.valueAtPercentile(50));
    }

    // The open model on the real clock: 2000 operations/s on the cache for 3 s.
    void openModelRateOnTheRealClock()
    {
        LoadTestConfig config;
        config.components = {LoadComponentKind::Cache};
        config.concurrency = 4;
        config.durationSeconds = 3;
        config.rampUpSeconds = 0.5;
        config.rate = 2000;
        LoadTestRunner runner(config);
        auto run = runner.run(makeLoadComponents(config));
        QVERIFY(run);
        const ComponentFigures &f = run->components.constFirst();
        const double achieved = f.operationsPerSecond();
        qInfo("achieved %.1f operations/s for a target of 2000 (p99 %.3f ms corrected, %.3f ms "
              "uncorrected)",
              achieved, f.corrected.valueAtPercentile(99) / 1e6,
              f.uncorrected.valueAtPercentile(99) / 1e6);
        QCOMPARE(f.operations, quint64(6000));
        QVERIFY2(std::abs(achieved - 2000.0) <= 20.0 * opsdeck::test::timeFactor(),
                 qPrintable(QString::number(achieved)));
    }
};

QTEST_GUILESS_MAIN(TestLoadTestComponents)
#include "tst_loadtestcomponents.moc"

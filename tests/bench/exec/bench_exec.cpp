// bench_exec: the execution engine benchmark of issue 5 point 7. One run prints, each figure
// beside a baseline measured in the same run (the machine is shared and noisy):
//   1. empty-task dispatch throughput against raw QThreadPool::start on a pool of the same size:
//      ExecutionEngine::post() (fire-and-forget, like QThreadPool::start; goal >= 0.7x) and
//      scheduleTask() (which also makes a QFuture and a token per task);
//   2. start latency of a CRITICAL task submitted while 2 workers run CPU-bound 20 ms LOW tasks
//      with 200 more queued: the engine with a cap of 3 and one reserved slot (goal p99 <= 1 ms),
//      the engine with a cap of 2 and none, and a raw 2-thread QThreadPool (both wait for a
//      running task);
//   3. idle submit-to-start latency (goal p99 <= 200 us) beside raw QThreadPool::start.
// Usage: bench_exec [--quick] [--json FILE] [--only throughput,critical,idle]. With
// BENCH_EXEC_DEBUG set it also prints pool starts and the slowest CRITICAL starts. Exit 0 when it
// ran (a MISSed goal is reported, not an error), 2 on a usage error. Not a test: ctest never runs
// it (CONTRACTS.md).
#include "benchsupport.h"
#include "core/exec/executionengine.h"
#include "core/support/latencyhistogram.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QThreadPool>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

using namespace opsdeck;
using namespace opsdeck::bench;
using namespace opsdeck::exec;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr int kSchemaVersion = 1;

double secondsSince(SteadyClock::time_point start)
{
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

double median(std::vector<double> values)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

qint64 nsSince(SteadyClock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t).count();
}

QString us(double ns)
{
    return QString::number(ns / 1e3, 'f', 1) + QStringLiteral(" us");
}

QString msText(double ns)
{
    return QString::number(ns / 1e6, 'f', 3) + QStringLiteral(" ms");
}

ExecConfig engineConfig(int cap, int reserved)
{
    ExecConfig c;
    c.maxConcurrentTasks = cap;
    c.reservedCriticalSlots = reserved;
    return c;
}

void spinFor(std::chrono::nanoseconds d, const CancellationToken *token)
{
    const auto end = SteadyClock::now() + d;
    while (SteadyClock::now() < end) {
        if (token && token->isCancelled())
            return;
    }
}

QJsonObject latencyJson(const HistogramSnapshot &s)
{
    return {{QStringLiteral("count"), double(s.count())},
            {QStringLiteral("p50_us"), double(s.valueAtPercentile(50)) / 1e3},
            {QStringLiteral("p99_us"), double(s.valueAtPercentile(99)) / 1e3},
            {QStringLiteral("max_us"), double(s.max()) / 1e3}};
}

// ---------------------------------------------------------------------------------------------
// 1. Dispatch throughput

constexpr int kPoolSize = 4;

double rawThroughput(int tasks)
{
    QThreadPool pool;
    pool.setMaxThreadCount(kPoolSize);
    std::atomic<int> done{0};
    const auto start = SteadyClock::now();
    for (int i = 0; i < tasks; ++i)
        pool.start([&done] { done.fetch_add(1, std::memory_order_relaxed); });
    pool.waitForDone();
    return tasks / secondsSince(start);
}

double engineThroughput(int tasks, bool withFuture)
{
    ExecutionEngine engine(engineConfig(kPoolSize, 0));
    engine.start();
    std::atomic<int> done{0};
    const auto start = SteadyClock::now();
    for (int i = 0; i < tasks; ++i) {
        if (withFuture) {
            auto h = engine.scheduleTask({}, QStringLiteral("empty"),
                                         [&done](const TaskContext &) -> Result<QJsonValue> {
                                             done.fetch_add(1, std::memory_order_relaxed);
                                             return QJsonValue();
                                         });
            Q_UNUSED(h);
        } else {
            engine.post(TaskPriority::Normal,
                        [&done] { done.fetch_add(1, std::memory_order_relaxed); });
        }
    }
    engine.waitForIdle(60s);
    const double rate = tasks / secondsSince(start);
    if (qEnvironmentVariableIsSet("BENCH_EXEC_DEBUG"))
        print(QStringLiteral("   (pool starts: %1 of %2 tasks)")
                  .arg(engine.stats().poolStarts)
                  .arg(tasks));
    engine.stop();
    return rate;
}

QJsonObject benchThroughput(bool quick, QList<Goal> &goals)
{
    const int tasks = quick ? 50'000 : 200'000;
    const int rounds = 3;
    print(QStringLiteral("1. empty-task dispatch throughput, pool of %1 threads, %2 tasks x %3 "
                         "rounds (median)")
              .arg(kPoolSize)
              .arg(tasks)
              .arg(rounds));
    std::vector<double> raw, withFuture, posted;
    for (int r = 0; r < rounds; ++r) {
        raw.push_back(rawThroughput(tasks));
        withFuture.push_back(engineThroughput(tasks, true));
        posted.push_back(engineThroughput(tasks, false));
    }
    const double rawM = median(raw), futM = median(withFuture), postM = median(posted);
    const double ratio = futM / rawM;
    const double postRatio = postM / rawM;
    // The goal compares like with like: post() is fire-and-forget, as QThreadPool::start is;
    // scheduleTask() also creates a QPromise/QFuture and a token per task (shown beside it).
    Goal goal{QStringLiteral("dispatch_throughput.post_ratio_to_raw"), QStringLiteral(">= 0.7x"),
              postRatio, postRatio >= 0.7};
    goals.append(goal);
    print(QStringLiteral("   raw QThreadPool::start          %1 tasks/s (baseline)")
              .arg(rawM, 0, 'f', 0));
    print(QStringLiteral("   engine post (Executor)          %1 tasks/s = %2x  goal %3 %4")
              .arg(postM, 0, 'f', 0)
              .arg(postRatio, 0, 'f', 2)
              .arg(goal.target, passMiss(goal.pass)));
    print(QStringLiteral(
              "   engine scheduleTask (QFuture)   %1 tasks/s = %2x  (with future + token)   %3")
              .arg(futM, 0, 'f', 0)
              .arg(ratio, 0, 'f', 2)
              .arg(loadText()));
    print(QString());
    return {{QStringLiteral("pool_size"), kPoolSize},
            {QStringLiteral("tasks"), tasks},
            {QStringLiteral("raw_tasks_per_s"), rawM},
            {QStringLiteral("engine_schedule_tasks_per_s"), futM},
            {QStringLiteral("engine_post_tasks_per_s"), postM},
            {QStringLiteral("ratio"), ratio},
            {QStringLiteral("post_ratio"), postRatio},
            {QStringLiteral("goal"), goal.toJson()}};
}

// ---------------------------------------------------------------------------------------------
// 2. CRITICAL start latency under a full pool of LOW work

constexpr int kBusyWorkers = 2;
constexpr int kQueuedLow = 200;
constexpr auto kLowWork = 20ms;

// Each LOW task queues its successor as it ends, so 200 stay queued for the whole measurement.
void submitLow(ExecutionEngine &engine, const std::atomic<bool> &stop)
{
    auto h = engine.scheduleTask(
        QStringLiteral("cycles"), QStringLiteral("cpu"),
        [&engine, &stop](const TaskContext &ctx) -> Result<QJsonValue> {
            spinFor(kLowWork, &ctx.token);
            if (!stop)
                submitLow(engine, stop);
            return QJsonValue();
        },
        TaskPriority::Low);
    Q_UNUSED(h);
}

// The gaps between CRITICAL submissions: 7..17 ms, not a multiple of the LOW task length.
std::chrono::milliseconds sampleGap(int i)
{
    return std::chrono::milliseconds(7 + (i * 5) % 11);
}

void printSlowest(int cap, const LatencyHistogram &latency)
{
    if (!qEnvironmentVariableIsSet("BENCH_EXEC_DEBUG"))
        return;
    QStringList top;
    for (const auto &b : latency.snapshot().nonEmptyBuckets())
        top.append(QStringLiteral("%1us x%2").arg(b.lowest / 1000).arg(b.count));
    print(QStringLiteral("   (cap %1, slowest: %2)")
              .arg(cap)
              .arg(top.mid(std::max(0, int(top.size()) - 6)).join(QStringLiteral(", "))));
}

HistogramSnapshot criticalOnEngine(int cap, int reserved, int samples)
{
    ExecutionEngine engine(engineConfig(cap, reserved));
    engine.start();
    std::atomic<bool> stop{false};
    for (int i = 0; i < kBusyWorkers + kQueuedLow; ++i)
        submitLow(engine, stop);
    std::this_thread::sleep_for(5ms); // the two LOW tasks are running
    LatencyHistogram latency;
    for (int i = 0; i < samples; ++i) {
        const auto t0 = SteadyClock::now();
        auto h = engine.scheduleTask(
            QStringLiteral("risk"), QStringLiteral("stop_loss"),
            [&](const TaskContext &) -> Result<QJsonValue> {
                latency.record(nsSince(t0));
                return QJsonValue();
            },
            TaskPriority::Critical);
        if (h)
            h->result.waitForFinished();
        std::this_thread::sleep_for(sampleGap(i));
    }
    stop = true;
    engine.stop();
    printSlowest(cap, latency);
    return latency.snapshot();
}

HistogramSnapshot criticalOnRawPool(int samples)
{
    QThreadPool pool;
    pool.setMaxThreadCount(kBusyWorkers);
    std::atomic<bool> stop{false};
    std::function<void()> low = [&] {
        if (stop)
            return;
        spinFor(kLowWork, nullptr);
        pool.start(low, 0);
    };
    for (int i = 0; i < kBusyWorkers + kQueuedLow; ++i)
        pool.start(low, 0);
    std::this_thread::sleep_for(5ms);
    LatencyHistogram latency;
    for (int i = 0; i < samples; ++i) {
        std::atomic<bool> started{false};
        const auto t0 = SteadyClock::now();
        pool.start(
            [&] {
                latency.record(nsSince(t0));
                started = true;
            },
            100);
        while (!started.load())
            std::this_thread::sleep_for(100us);
        std::this_thread::sleep_for(sampleGap(i));
    }
    stop = true;
    pool.clear();
    pool.waitForDone();
    return latency.snapshot();
}

QJsonObject benchCritical(bool quick, QList<Goal> &goals)
{
    // 400 samples, so that p99 is not simply the maximum (with 80 it is).
    const int samples = quick ? 60 : 400;
    print(
        QStringLiteral("2. CRITICAL start latency: %1 workers busy with %2 ms CPU-bound LOW tasks, "
                       "%3 more queued; %4 samples")
            .arg(kBusyWorkers)
            .arg(kLowWork.count())
            .arg(kQueuedLow)
            .arg(samples));
    const HistogramSnapshot reserved = criticalOnEngine(3, 1, samples);
    const HistogramSnapshot noReserve = criticalOnEngine(2, 0, samples);
    const HistogramSnapshot raw = criticalOnRawPool(samples);
    const double p99 = double(reserved.valueAtPercentile(99));
    Goal goal{QStringLiteral("critical_start.p99_ms_reserved"), QStringLiteral("<= 1 ms"),
              p99 / 1e6, p99 <= 1e6};
    goals.append(goal);
    auto line = [](const QString &name, const HistogramSnapshot &s) {
        return QStringLiteral("   %1 p50 %2  p99 %3  max %4")
            .arg(name, -34)
            .arg(msText(double(s.valueAtPercentile(50))), msText(double(s.valueAtPercentile(99))),
                 msText(double(s.max())));
    };
    print(line(QStringLiteral("engine cap 3, 1 reserved"), reserved) + QStringLiteral("  goal ")
          + goal.target + QLatin1Char(' ') + passMiss(goal.pass));
    print(line(QStringLiteral("engine cap 2, none reserved"), noReserve)
          + QStringLiteral("  (baseline: waits for a LOW task)"));
    print(line(QStringLiteral("raw QThreadPool 2 threads, prio"), raw)
          + QStringLiteral("  (baseline)   ") + loadText());
    print(QString());
    return {{QStringLiteral("samples"), samples},
            {QStringLiteral("engine_cap3_reserved1"), latencyJson(reserved)},
            {QStringLiteral("engine_cap2_reserved0"), latencyJson(noReserve)},
            {QStringLiteral("raw_pool_2"), latencyJson(raw)},
            {QStringLiteral("goal"), goal.toJson()}};
}

// ---------------------------------------------------------------------------------------------
// 3. Idle submit-to-start

QJsonObject benchIdle(bool quick, QList<Goal> &goals)
{
    const int samples = quick ? 500 : 2000;
    print(QStringLiteral("3. idle submit-to-start, %1 samples, 1 ms apart").arg(samples));
    LatencyHistogram engineLatency;
    LatencyHistogram rawLatency;
    {
        ExecutionEngine engine(engineConfig(kPoolSize, 1));
        engine.start();
        QThreadPool pool;
        pool.setMaxThreadCount(kPoolSize);
        for (int i = 0; i < samples; ++i) {
            std::atomic<bool> started{false};
            auto t0 = SteadyClock::now();
            auto h = engine.scheduleTask({}, QStringLiteral("probe"),
                                         [&](const TaskContext &) -> Result<QJsonValue> {
                                             engineLatency.record(nsSince(t0));
                                             started = true;
                                             return QJsonValue();
                                         });
            if (h)
                h->result.waitForFinished();
            engine.waitForIdle(1s);
            std::this_thread::sleep_for(1ms);

            std::atomic<bool> rawStarted{false};
            t0 = SteadyClock::now();
            pool.start([&] {
                rawLatency.record(nsSince(t0));
                rawStarted = true;
            });
            pool.waitForDone();
            std::this_thread::sleep_for(1ms);
        }
        engine.stop();
    }
    const HistogramSnapshot e = engineLatency.snapshot();
    const HistogramSnapshot r = rawLatency.snapshot();
    const double p99 = double(e.valueAtPercentile(99));
    Goal goal{QStringLiteral("idle_start.p99_us"), QStringLiteral("<= 200 us"), p99 / 1e3,
              p99 <= 200e3};
    goals.append(goal);
    print(QStringLiteral("   engine          p50 %1  p99 %2  max %3  goal %4 %5")
              .arg(us(double(e.valueAtPercentile(50))), us(p99), us(double(e.max())), goal.target,
                   passMiss(goal.pass)));
    print(QStringLiteral("   raw QThreadPool p50 %1  p99 %2  max %3  (baseline)   %4")
              .arg(us(double(r.valueAtPercentile(50))), us(double(r.valueAtPercentile(99))),
                   us(double(r.max())), loadText()));
    print(QString());
    return {{QStringLiteral("samples"), samples},
            {QStringLiteral("engine"), latencyJson(e)},
            {QStringLiteral("raw_pool"), latencyJson(r)},
            {QStringLiteral("goal"), goal.toJson()}};
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("bench_exec"));
    QCoreApplication::setApplicationVersion(QStringLiteral(OPSDECK_VERSION_STRING));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("OpsDeck execution engine benchmark (issue 5, point 7)."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption jsonOption(QStringLiteral("json"),
                                        QStringLiteral("Write every figure to FILE as JSON."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption quickOption(QStringLiteral("quick"),
                                         QStringLiteral("Fewer tasks and samples (< 10 s)."));
    const QCommandLineOption onlyOption(
        QStringLiteral("only"), QStringLiteral("Run only these parts: throughput,critical,idle."),
        QStringLiteral("PARTS"));
    parser.addOptions({jsonOption, quickOption, onlyOption});
    if (!parser.parse(QCoreApplication::arguments())) {
        QTextStream(stderr) << parser.errorText() << '\n';
        return 2;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty()) {
        QTextStream(stderr) << "unexpected argument: " << parser.positionalArguments().first()
                            << '\n';
        return 2;
    }
    const bool quick = parser.isSet(quickOption);
    const QStringList allParts{QStringLiteral("throughput"), QStringLiteral("critical"),
                               QStringLiteral("idle")};
    QStringList parts = allParts;
    if (parser.isSet(onlyOption)) {
        parts = parser.value(onlyOption).split(QLatin1Char(','), Qt::SkipEmptyParts);
        for (const QString &part : parts) {
            if (!allParts.contains(part)) {
                QTextStream(stderr)
                    << "unknown part: " << part << " (throughput, critical, idle)\n";
                return 2;
            }
        }
    }

    const auto started = SteadyClock::now();
    QJsonObject document = startRun(QStringLiteral("bench_exec"), quick, kSchemaVersion);
    QList<Goal> goals;
    if (parts.contains(QLatin1String("throughput")))
        document.insert(QStringLiteral("dispatch_throughput"), benchThroughput(quick, goals));
    if (parts.contains(QLatin1String("critical")))
        document.insert(QStringLiteral("critical_start"), benchCritical(quick, goals));
    if (parts.contains(QLatin1String("idle")))
        document.insert(QStringLiteral("idle_start"), benchIdle(quick, goals));

    int passed = 0;
    QJsonArray goalArray;
    for (const Goal &goal : goals) {
        passed += goal.pass ? 1 : 0;
        goalArray.append(goal.toJson());
    }
    const double total = secondsSince(started);
    print(QStringLiteral("goals: %1 of %2 PASS; %3 s; %4")
              .arg(passed)
              .arg(goals.size())
              .arg(total, 0, 'f', 1)
              .arg(loadText()));
    document.insert(QStringLiteral("goals"), goalArray);
    document.insert(QStringLiteral("seconds"), total);
    document.insert(QStringLiteral("load_average_end"), loadAverage());
    if (parser.isSet(jsonOption) && !writeJsonFile(parser.value(jsonOption), document))
        return 3;
    return 0;
}

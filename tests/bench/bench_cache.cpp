// bench_cache: the cache benchmark of issue 3 point 8. One run prints, each beside a baseline
// measured in the same run (the machine is shared and noisy):
//   1. hit ratios of every memory-tier policy, the best static cache and Bélády on seeded traces;
//   2. memory-tier get throughput (adaptive) against a mutex + std::list + unordered_map LRU;
//   3. disk-tier batched writes and read p99 under writes against one file per key.
// Usage: bench_cache [--quick] [--json FILE] [--only hit,memory,disk]. Exit 0 when it ran (a
// MISSed goal is reported, not an error), 2 on a usage error, 3 when it could not run a part.
// Not a test: ctest never runs it; tests only check correctness (CONTRACTS.md).
#include "benchsupport.h"
#include "core/cache/disktier.h"
#include "core/cache/memorytier.h"
#include "core/perf/hitratiosimulator.h"
#include "core/perf/tracegenerator.h"
#include "core/support/clock.h"
#include "core/support/latencyhistogram.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFuture>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTextStream>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <latch>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace opsdeck;
using namespace opsdeck::perf;
using cache::Policy;
using SteadyClock = std::chrono::steady_clock;

using namespace opsdeck::bench;

namespace {

constexpr int kSchemaVersion = 1;
constexpr quint32 kKeys = 10'000;

double secondsSince(SteadyClock::time_point start)
{
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

QString percent(double ratio)
{
    return QString::number(ratio * 100.0, 'f', 1) + QLatin1Char('%');
}

QString millions(double perSecond)
{
    return QString::number(perSecond / 1e6, 'f', 2) + QStringLiteral(" M");
}

double median(std::vector<double> values)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

// Runs jobs on `workers` threads; each job writes only its own result slot.
void runParallel(const std::vector<std::function<void()>> &jobs, int workers)
{
    std::atomic<size_t> nextJob{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&] {
            for (size_t j = nextJob++; j < jobs.size(); j = nextJob++)
                jobs[j]();
        });
    }
    for (std::thread &t : threads)
        t.join();
}

int workerCount()
{
    return int(std::clamp(std::thread::hardware_concurrency(), 1u, 2u));
}

// ---------------------------------------------------------------------------------------------
// 1. Hit ratios

struct HitTrace
{
    QString name;
    TraceSpec spec;
    enum class GoalKind { OfStatic, Absolute, OverLru } goalKind;
    double goalValue;
};

QJsonObject benchHitRatios(bool quick, QList<Goal> &goals)
{
    constexpr qint64 kCapacity = 100;
    const qint64 zipfLength = quick ? 500'000 : 5'000'000;
    const qint64 shiftLength = quick ? 500'000 : 5'000'000;
    const qint64 shiftPeriod = quick ? 50'000 : 500'000;

    std::vector<HitTrace> traces;
    {
        TraceSpec zipf10{TraceSpec::Kind::Zipf, kKeys, zipfLength, 1.0, 0, 0, 1};
        TraceSpec zipf09{TraceSpec::Kind::Zipf, kKeys, zipfLength, 0.9, 0, 0, 2};
        TraceSpec loop{TraceSpec::Kind::Loop,
                       quint32(kCapacity * 3 / 2),
                       quick ? 150'000 : 1'500'000,
                       0.0,
                       0,
                       0,
                       0};
        TraceSpec shifting{
            TraceSpec::Kind::ShiftingZipf, kKeys, shiftLength, 1.0, shiftPeriod, 1000, 3};
        traces.push_back({QStringLiteral("zipf-1.0"), zipf10, HitTrace::GoalKind::OfStatic, 0.97});
        traces.push_back({QStringLiteral("zipf-0.9"), zipf09, HitTrace::GoalKind::OfStatic, 0.97});
        traces.push_back({QStringLiteral("loop-1.5x"), loop, HitTrace::GoalKind::Absolute, 0.60});
        traces.push_back({QStringLiteral("shifting"), shifting, HitTrace::GoalKind::OverLru, 0.10});
    }
    const QList<Policy> policies{Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Ttl,
                                 Policy::Adaptive};
    constexpr size_t kLru = 0; // indexes into `policies`
    constexpr size_t kAdaptive = 4;
    constexpr int kStatic = 5;
    constexpr int kBelady = 6;
    constexpr int kColumns = 7;

    print(QStringLiteral("== 1. Hit ratio: %1 keys, capacity %2 (1 %), one shard, read-through "
                         "replay (get, set on miss); %3")
              .arg(kKeys)
              .arg(kCapacity)
              .arg(loadText()));
    const auto started = SteadyClock::now();
    std::vector<Trace> generated(traces.size());
    {
        std::vector<std::function<void()>> jobs;
        for (size_t t = 0; t < traces.size(); ++t)
            jobs.emplace_back([&, t] { generated[t] = TraceGenerator::generate(traces[t].spec); });
        runParallel(jobs, workerCount());
    }
    std::vector<std::unique_ptr<HitRatioSimulator>> simulators;
    for (const Trace &trace : generated)
        simulators.push_back(std::make_unique<HitRatioSimulator>(trace));

    std::vector<std::array<HitRatio, kColumns>> results(traces.size());
    std::vector<std::function<void()>> jobs;
    for (size_t t = 0; t < traces.size(); ++t) {
        jobs.emplace_back([&, t] { results[t][kBelady] = simulators[t]->belady(kCapacity); });
        for (int p = 0; p < policies.size(); ++p) {
            jobs.emplace_back([&, t, p] {
                results[t][size_t(p)] = simulators[t]->replay(policies.at(p), kCapacity);
            });
        }
        jobs.emplace_back([&, t] { results[t][kStatic] = simulators[t]->bestStatic(kCapacity); });
    }
    runParallel(jobs, workerCount());

    QString header = QStringLiteral("%1").arg(QStringLiteral("trace"), -12);
    for (const Policy policy : policies)
        header += QStringLiteral("%1").arg(cache::toString(policy), 9);
    header += QStringLiteral("%1%2  goal for adaptive")
                  .arg(QStringLiteral("static"), 9)
                  .arg(QStringLiteral("belady"), 9);
    print(header);

    QJsonArray traceRows;
    for (size_t t = 0; t < traces.size(); ++t) {
        const auto &row = results[t];
        const double adaptive = row[kAdaptive].ratio();
        const double lru = row[kLru].ratio();
        const double pinned = row[kStatic].ratio();
        Goal goal;
        goal.name = QStringLiteral("hit_ratio.") + traces[t].name;
        switch (traces[t].goalKind) {
        case HitTrace::GoalKind::OfStatic:
            goal.value = pinned > 0 ? adaptive / pinned : 0.0;
            goal.target = QStringLiteral(">= %1 % of static").arg(traces[t].goalValue * 100);
            goal.pass = goal.value >= traces[t].goalValue;
            break;
        case HitTrace::GoalKind::Absolute:
            goal.value = adaptive;
            goal.target = QStringLiteral(">= %1 %").arg(traces[t].goalValue * 100);
            goal.pass = adaptive >= traces[t].goalValue;
            break;
        case HitTrace::GoalKind::OverLru:
            goal.value = adaptive - lru;
            goal.target = QStringLiteral(">= LRU + %1 points").arg(traces[t].goalValue * 100);
            goal.pass = goal.value >= traces[t].goalValue - 1e-12;
            break;
        }
        goals.append(goal);

        QString line = QStringLiteral("%1").arg(traces[t].name, -12);
        for (const HitRatio &r : row)
            line += QStringLiteral("%1").arg(percent(r.ratio()), 9);
        QString achieved = percent(goal.value);
        if (traces[t].goalKind == HitTrace::GoalKind::OfStatic)
            achieved += QStringLiteral(" of static");
        else if (traces[t].goalKind == HitTrace::GoalKind::OverLru)
            achieved = QStringLiteral("%1%2 points")
                           .arg(goal.value >= 0 ? QStringLiteral("+") : QString())
                           .arg(goal.value * 100, 0, 'f', 1);
        line += QStringLiteral("  %1 (%2) %3").arg(achieved, goal.target, passMiss(goal.pass));
        print(line);

        QJsonObject ratios;
        for (int p = 0; p < policies.size(); ++p)
            ratios.insert(cache::toString(policies.at(p)), row[size_t(p)].ratio());
        ratios.insert(QStringLiteral("static"), pinned);
        ratios.insert(QStringLiteral("belady"), row[kBelady].ratio());
        traceRows.append(QJsonObject{{QStringLiteral("name"), traces[t].name},
                                     {QStringLiteral("trace"), traces[t].spec.describe()},
                                     {QStringLiteral("requests"), qint64(generated[t].size())},
                                     {QStringLiteral("hit_ratio"), ratios},
                                     {QStringLiteral("goal"), goal.toJson()}});
    }
    for (const HitTrace &trace : traces)
        print(QStringLiteral("  %1: %2").arg(trace.name, trace.spec.describe()));
    print(QStringLiteral("  static = the %1 most frequent keys pinned; belady = offline optimum "
                         "(MIN with bypass); %2 s")
              .arg(kCapacity)
              .arg(secondsSince(started), 0, 'f', 1));
    print(QString());
    return {{QStringLiteral("keys"), qint64(kKeys)},
            {QStringLiteral("capacity"), kCapacity},
            {QStringLiteral("shards"), 1},
            {QStringLiteral("traces"), traceRows}};
}

// ---------------------------------------------------------------------------------------------
// 2. Memory-tier throughput

// The baseline: the LRU anyone would write first. One mutex, a list in recency order and a hash
// map from key to list node.
class BaselineLru
{
public:
    explicit BaselineLru(size_t capacity)
        : m_capacity(capacity)
    {
        m_index.reserve(capacity * 2);
    }

    std::optional<QByteArray> get(const QByteArray &key)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto it = m_index.find(key);
        if (it == m_index.end())
            return std::nullopt;
        m_order.splice(m_order.begin(), m_order, it->second);
        return it->second->second;
    }

    void set(const QByteArray &key, const QByteArray &value)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto it = m_index.find(key);
        if (it != m_index.end()) {
            it->second->second = value;
            m_order.splice(m_order.begin(), m_order, it->second);
            return;
        }
        m_order.emplace_front(key, value);
        m_index.emplace(key, m_order.begin());
        if (m_order.size() > m_capacity) {
            m_index.erase(m_order.back().first);
            m_order.pop_back();
        }
    }

private:
    struct KeyHash
    {
        size_t operator()(const QByteArray &key) const noexcept { return qHash(key); }
    };
    using Node = std::pair<QByteArray, QByteArray>;

    const size_t m_capacity;
    std::mutex m_mutex;
    std::list<Node> m_order;
    std::unordered_map<QByteArray, std::list<Node>::iterator, KeyHash> m_index;
};

struct TierUnderTest
{
    cache::MemoryTier *tier = nullptr;
    BaselineLru *baseline = nullptr;

    bool get(const QByteArray &key) const
    {
        return tier ? tier->get(key).has_value() : baseline->get(key).has_value();
    }
    void set(const QByteArray &key, const QByteArray &value) const
    {
        if (tier)
            tier->set(key, cache::MemoryTier::Item{value, {}, {}, {}});
        else
            baseline->set(key, value);
    }
};

struct ThroughputRound
{
    double opsPerSecond = 0.0;
    double hitRatio = 0.0;
};

// `threads` threads call get() back to back over their own Zipf traces for `seconds`.
ThroughputRound measureGets(const TierUnderTest &target,
                            const QList<QByteArray> &keys,
                            const std::vector<Trace> &traces,
                            int threads,
                            double seconds)
{
    std::atomic<bool> stop{false};
    std::latch ready(threads + 1);
    std::vector<quint64> ops(size_t(threads), 0);
    std::vector<quint64> hits(size_t(threads), 0);
    std::vector<double> elapsed(size_t(threads), 0.0);
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w) {
        workers.emplace_back([&, w] {
            const Trace &trace = traces[size_t(w)];
            quint64 n = 0;
            quint64 h = 0;
            size_t at = 0;
            ready.arrive_and_wait();
            const auto start = SteadyClock::now();
            while (!stop.load(std::memory_order_relaxed)) {
                for (int batch = 0; batch < 256; ++batch) {
                    h += target.get(keys[qsizetype(trace[at])]) ? 1 : 0;
                    if (++at == trace.size())
                        at = 0;
                }
                n += 256;
            }
            elapsed[size_t(w)] = secondsSince(start);
            ops[size_t(w)] = n;
            hits[size_t(w)] = h;
        });
    }
    ready.arrive_and_wait();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop.store(true);
    for (std::thread &t : workers)
        t.join();
    ThroughputRound round;
    quint64 totalOps = 0;
    quint64 totalHits = 0;
    for (int w = 0; w < threads; ++w) {
        round.opsPerSecond += double(ops[size_t(w)]) / elapsed[size_t(w)];
        totalOps += ops[size_t(w)];
        totalHits += hits[size_t(w)];
    }
    round.hitRatio = totalOps ? double(totalHits) / double(totalOps) : 0.0;
    return round;
}

void warm(const TierUnderTest &target, const QList<QByteArray> &keys, const Trace &trace)
{
    const QByteArray value(64, 'v');
    for (const quint32 id : trace) {
        const QByteArray &key = keys[qsizetype(id)];
        if (!target.get(key))
            target.set(key, value);
    }
}

QJsonObject benchMemoryThroughput(bool quick, QList<Goal> &goals)
{
    constexpr qint64 kCapacity = 1000;
    const int rounds = quick ? 3 : 5;
    const double seconds = quick ? 0.2 : 0.8;
    const QList<QByteArray> keys = TraceGenerator::formatKeys(kKeys);

    cache::MemoryTier::Settings settings;
    settings.maxEntries = kCapacity;
    settings.policy = Policy::Adaptive;
    settings.shards = 0; // default
    cache::MemoryTier tier(settings, Clock::system());
    BaselineLru baseline{size_t(kCapacity)};
    const TierUnderTest tierTarget{&tier, nullptr};
    const TierUnderTest baselineTarget{nullptr, &baseline};

    print(QStringLiteral("== 2. Memory-tier get throughput: adaptive (%1 shards) vs mutex + "
                         "std::list + std::unordered_map LRU; Zipf 1.0 over %2 keys (16..32 "
                         "bytes), capacity %3, warm, get only; median of %4 rounds x %5 s, "
                         "interleaved; %6")
              .arg(cache::MemoryTier::effectiveShards(settings))
              .arg(kKeys)
              .arg(kCapacity)
              .arg(rounds)
              .arg(seconds)
              .arg(loadText()));

    const Trace warmTrace = TraceGenerator::zipf(kKeys, 1.0, 300'000, 100);
    warm(tierTarget, keys, warmTrace);
    warm(baselineTarget, keys, warmTrace);
    std::vector<Trace> traces;
    for (int t = 0; t < 2; ++t)
        traces.push_back(TraceGenerator::zipf(kKeys, 1.0, 1'000'000, quint64(200 + t)));

    print(QStringLiteral("%1%2%3%4  goal")
              .arg(QStringLiteral("threads"), -9)
              .arg(QStringLiteral("adaptive ops/s"), 16)
              .arg(QStringLiteral("baseline ops/s"), 16)
              .arg(QStringLiteral("ratio"), 8));
    QJsonArray rows;
    for (const int threads : {1, 2}) {
        std::vector<double> tierOps;
        std::vector<double> baseOps;
        std::vector<double> ratios;
        double tierHits = 0.0;
        double baseHits = 0.0;
        for (int r = 0; r < rounds; ++r) {
            // Alternate which goes first, so a load change in the middle hurts both alike.
            ThroughputRound a;
            ThroughputRound b;
            if (r % 2 == 0) {
                a = measureGets(tierTarget, keys, traces, threads, seconds);
                b = measureGets(baselineTarget, keys, traces, threads, seconds);
            } else {
                b = measureGets(baselineTarget, keys, traces, threads, seconds);
                a = measureGets(tierTarget, keys, traces, threads, seconds);
            }
            tierOps.push_back(a.opsPerSecond);
            baseOps.push_back(b.opsPerSecond);
            ratios.push_back(a.opsPerSecond / b.opsPerSecond);
            tierHits = a.hitRatio;
            baseHits = b.hitRatio;
        }
        const double ratio = median(ratios);
        const double target = threads == 1 ? 0.9 : 1.5;
        Goal goal{QStringLiteral("memory_get_throughput.threads_%1").arg(threads),
                  QStringLiteral(">= %1x baseline").arg(target, 0, 'f', 1), ratio, ratio >= target};
        goals.append(goal);
        print(QStringLiteral("%1%2%3%4  %5 %6")
                  .arg(threads, -9)
                  .arg(millions(median(tierOps)), 16)
                  .arg(millions(median(baseOps)), 16)
                  .arg(QString::number(ratio, 'f', 2) + QLatin1Char('x'), 8)
                  .arg(goal.target, passMiss(goal.pass)));
        print(QStringLiteral("%1hit ratio while measuring: adaptive %2, baseline %3; ratio per "
                             "round %4")
                  .arg(QString(), -9)
                  .arg(percent(tierHits), percent(baseHits))
                  .arg([&] {
                      QStringList parts;
                      for (const double x : ratios)
                          parts.append(QString::number(x, 'f', 2));
                      return parts.join(QStringLiteral(" "));
                  }()));
        rows.append(QJsonObject{{QStringLiteral("threads"), threads},
                                {QStringLiteral("tier_ops_per_s"), median(tierOps)},
                                {QStringLiteral("baseline_ops_per_s"), median(baseOps)},
                                {QStringLiteral("ratio"), ratio},
                                {QStringLiteral("tier_hit_ratio"), tierHits},
                                {QStringLiteral("baseline_hit_ratio"), baseHits},
                                {QStringLiteral("goal"), goal.toJson()}});
    }
    print(QString());
    return {{QStringLiteral("keys"), qint64(kKeys)},
            {QStringLiteral("capacity"), kCapacity},
            {QStringLiteral("policy"), QStringLiteral("adaptive")},
            {QStringLiteral("shards"), cache::MemoryTier::effectiveShards(settings)},
            {QStringLiteral("rounds"), rounds},
            {QStringLiteral("round_seconds"), seconds},
            {QStringLiteral("runs"), rows}};
}

// ---------------------------------------------------------------------------------------------
// 3. Disk tier

constexpr qint64 kValueBytes = 1024;
constexpr qint64 kDiskBudget = 8 * 1024 * 1024;
// The concurrent write load during the read test: this rate, or half the slower store's measured
// write rate when that is lower, so the load never outruns a store (reads would then find
// their keys still queued in memory, not on disk).
constexpr double kMaxWriteLoadPerSecond = 20'000;

// What both disk stores offer the benchmark.
class DiskStore
{
public:
    virtual ~DiskStore() = default;
    virtual void write(const QByteArray &key, const QByteArray &value) = 0;
    // Resolves when everything written so far is committed.
    virtual QFuture<void> sync() = 0;
    virtual bool read(const QByteArray &key) = 0;
};

class TierStore final : public DiskStore
{
public:
    explicit TierStore(cache::DiskTier &tier)
        : m_tier(tier)
    {}
    void write(const QByteArray &key, const QByteArray &value) override
    {
        m_tier.set(key, cache::DiskTier::Entry{value, 0, {}, {}});
    }
    QFuture<void> sync() override { return m_tier.flush(); }
    bool read(const QByteArray &key) override { return m_tier.get(key).has_value(); }

private:
    cache::DiskTier &m_tier;
};

// The baseline: one file per key (hex name) in a directory, kept under the same byte budget by
// deleting the oldest files (FIFO). No fsync, like the tier's synchronous=NORMAL in WAL mode.
class FilePerKeyStore final : public DiskStore
{
public:
    explicit FilePerKeyStore(const QString &dir)
        : m_dir(dir + QLatin1Char('/'))
    {}
    void write(const QByteArray &key, const QByteArray &value) override
    {
        QFile file(pathOf(key));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return;
        file.write(value);
        file.close();
        std::lock_guard<std::mutex> lock(m_mutex);
        m_fifo.emplace_back(key, value.size());
        m_bytes += value.size();
        while (m_bytes > kDiskBudget && !m_fifo.empty()) {
            QFile::remove(pathOf(m_fifo.front().first));
            m_bytes -= m_fifo.front().second;
            m_fifo.pop_front();
        }
    }
    QFuture<void> sync() override { return QtFuture::makeReadyFuture(); }
    bool read(const QByteArray &key) override
    {
        QFile file(pathOf(key));
        if (!file.open(QIODevice::ReadOnly))
            return false;
        return file.readAll().size() == kValueBytes;
    }
    qint64 files() const { return qint64(m_fifo.size()); }

private:
    QString pathOf(const QByteArray &key) const { return m_dir + QString::fromLatin1(key.toHex()); }

    const QString m_dir;
    std::mutex m_mutex;
    std::deque<std::pair<QByteArray, qint64>> m_fifo;
    qint64 m_bytes = 0;
};

struct DiskFigures
{
    double writesPerSecond = 0.0;
    HistogramSnapshot reads;    // every read
    HistogramSnapshot hitReads; // reads that found their value
    double readHitRatio = 0.0;
    qint64 writesDuringReads = 0;
};

QByteArray diskKey(qint64 id)
{
    return TraceGenerator::formatKey(quint32(id));
}

// Fills the store to its budget (and well past it), then measures `entries` more writes with
// eviction active, up to their commit. `next` is the next unused key id.
double measureWrites(DiskStore &store, qint64 entries, qint64 &next)
{
    const QByteArray value(kValueBytes, 'x');
    for (const qint64 end = next + entries; next < end; ++next)
        store.write(diskKey(next), value);
    store.sync().waitForFinished();
    const auto started = SteadyClock::now();
    for (const qint64 end = next + entries; next < end; ++next)
        store.write(diskKey(next), value);
    store.sync().waitForFinished();
    return double(entries) / secondsSince(started);
}

// The read workload: a read-through cache over a hot set of kHotKeys keys (half the budget),
// Zipf 1.0, where a miss writes the key back; meanwhile a paced writer streams new keys (read
// never again) at `writeRate` per second. Only read() calls are timed.
constexpr quint32 kHotKeys = 4096;
constexpr qint64 kHotBase = 2'000'000'000; // hot ids, apart from the streamed ones

void measureReads(
    DiskStore &store, qint64 &next, double writeRate, double seconds, DiskFigures &figures)
{
    const QByteArray value(kValueBytes, 'x');
    for (quint32 i = 0; i < kHotKeys; ++i)
        store.write(diskKey(kHotBase + i), value);
    store.sync().waitForFinished();

    const qint64 first = next;
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        const auto start = SteadyClock::now();
        qint64 id = next;
        for (qint64 tick = 1; !stop.load(); ++tick) { // 1 ms ticks
            const auto due = qint64(writeRate * double(tick) / 1000.0);
            for (; id < first + due; ++id)
                store.write(diskKey(id), value);
            std::this_thread::sleep_until(start + std::chrono::milliseconds(tick));
        }
        next = id;
    });
    const Trace hot = TraceGenerator::zipf(kHotKeys, 1.0, 1 << 20, 78);
    LatencyHistogram histogram;
    LatencyHistogram hitHistogram;
    quint64 hits = 0;
    quint64 reads = 0;
    size_t at = 0;
    const auto readStart = SteadyClock::now();
    while (secondsSince(readStart) < seconds) {
        const QByteArray key = diskKey(kHotBase + hot[at]);
        at = (at + 1) % hot.size();
        const auto t0 = SteadyClock::now();
        const bool hit = store.read(key);
        const auto took = SteadyClock::now() - t0;
        histogram.recordDuration(took);
        if (hit) {
            hitHistogram.recordDuration(took);
            ++hits;
        } else {
            store.write(key, value);
        }
        ++reads;
    }
    stop.store(true);
    writer.join();
    store.sync().waitForFinished();
    figures.reads = histogram.snapshot();
    figures.hitReads = hitHistogram.snapshot();
    figures.readHitRatio = reads ? double(hits) / double(reads) : 0.0;
    figures.writesDuringReads = next - first;
}

double usOf(qint64 ns)
{
    return double(ns) / 1000.0;
}

QJsonObject diskJson(const DiskFigures &f)
{
    return {{QStringLiteral("writes_per_s"), f.writesPerSecond},
            {QStringLiteral("read_count"), qint64(f.reads.count())},
            {QStringLiteral("read_p50_us"), double(f.reads.valueAtPercentile(50)) / 1000.0},
            {QStringLiteral("read_p99_us"), double(f.reads.valueAtPercentile(99)) / 1000.0},
            {QStringLiteral("read_max_us"), double(f.reads.max()) / 1000.0},
            {QStringLiteral("hit_read_p50_us"), usOf(f.hitReads.valueAtPercentile(50))},
            {QStringLiteral("hit_read_p99_us"), usOf(f.hitReads.valueAtPercentile(99))},
            {QStringLiteral("read_hit_ratio"), f.readHitRatio},
            {QStringLiteral("writes_during_reads"), f.writesDuringReads}};
}

std::optional<QJsonObject> benchDisk(bool quick, QList<Goal> &goals)
{
    const qint64 entries = quick ? 16'384 : 32'768;
    const double readSeconds = quick ? 1.5 : 4.0;
    QTemporaryDir tierDir;
    QTemporaryDir fileDir;
    if (!tierDir.isValid() || !fileDir.isValid()) {
        print(QStringLiteral("cannot create a temporary directory"));
        return std::nullopt;
    }
    cache::DiskTier::Settings settings;
    settings.path = tierDir.filePath(QStringLiteral("cache.db"));
    settings.maxBytes = kDiskBudget;
    settings.policy = Policy::Adaptive;
    print(QStringLiteral(
              "== 3. Disk tier (%1, %2 readers, batches of %3 ops / %4 ms): 1 KiB "
              "values, budget %5 MiB (eviction active), %6 writes to fill then %6 "
              "measured; then %7 s of read-through reads (Zipf 1.0 over %8 hot keys) under a "
              "paced stream of new keys; baseline one file per key (FIFO under the same "
              "budget); %9")
              .arg(cache::toString(settings.policy))
              .arg(settings.readers)
              .arg(settings.batchMaxOps)
              .arg(settings.batchMaxDelayMs)
              .arg(kDiskBudget / (1024 * 1024))
              .arg(entries)
              .arg(readSeconds)
              .arg(kHotKeys)
              .arg(loadText()));
    cache::DiskTier tier(settings, Clock::system());
    if (const Status opened = tier.open(); !opened || !tier.available()) {
        print(QStringLiteral("disk tier did not open: %1")
                  .arg(opened ? QStringLiteral("unavailable") : opened.error().message));
        return std::nullopt;
    }
    TierStore tierStore(tier);
    FilePerKeyStore fileStore(fileDir.path());
    DiskFigures tierFigures;
    DiskFigures fileFigures;
    qint64 tierNext = 0;
    qint64 fileNext = 0;
    tierFigures.writesPerSecond = measureWrites(tierStore, entries, tierNext);
    fileFigures.writesPerSecond = measureWrites(fileStore, entries, fileNext);
    const double writeLoad
        = std::floor(std::min({kMaxWriteLoadPerSecond, tierFigures.writesPerSecond / 2,
                               fileFigures.writesPerSecond / 2}));
    measureReads(tierStore, tierNext, writeLoad, readSeconds, tierFigures);
    const cache::TierStats stats = tier.stats();
    tier.close();
    measureReads(fileStore, fileNext, writeLoad, readSeconds, fileFigures);

    const auto us = [](qint64 ns) {
        return QString::number(double(ns) / 1000.0, 'f', 1);
    };
    // The goal is judged on reads that returned a value (a miss skips the value's I/O).
    const HistogramSnapshot &judged
        = tierFigures.hitReads.isEmpty() ? tierFigures.reads : tierFigures.hitReads;
    const double p99 = double(judged.valueAtPercentile(99)) / 1000.0;
    Goal writeGoal{QStringLiteral("disk.writes_per_s"), QStringLiteral(">= 100000/s"),
                   tierFigures.writesPerSecond, tierFigures.writesPerSecond >= 100'000};
    Goal readGoal{QStringLiteral("disk.read_p99_us"), QStringLiteral("<= 200 us"), p99,
                  p99 <= 200.0};
    goals.append(writeGoal);
    goals.append(readGoal);
    const auto row = [](const QString &name, const QString &tierValue, const QString &fileValue,
                        const QString &goal) {
        print(QStringLiteral("%1%2%3  %4")
                  .arg(name, -30)
                  .arg(tierValue, 16)
                  .arg(fileValue, 16)
                  .arg(goal));
    };
    row(QString(), QStringLiteral("disk tier"), QStringLiteral("file per key"),
        QStringLiteral("goal"));
    row(QStringLiteral("batched writes/s"), QString::number(tierFigures.writesPerSecond, 'f', 0),
        QString::number(fileFigures.writesPerSecond, 'f', 0),
        writeGoal.target + QLatin1Char(' ') + passMiss(writeGoal.pass));
    row(QStringLiteral("read p99 under writes, hits (us)"),
        us(tierFigures.hitReads.valueAtPercentile(99)),
        us(fileFigures.hitReads.valueAtPercentile(99)),
        readGoal.target + QLatin1Char(' ') + passMiss(readGoal.pass));
    row(QStringLiteral("read p99, all reads (us)"), us(tierFigures.reads.valueAtPercentile(99)),
        us(fileFigures.reads.valueAtPercentile(99)), QString());
    row(QStringLiteral("read p50, hits (us)"), us(tierFigures.hitReads.valueAtPercentile(50)),
        us(fileFigures.hitReads.valueAtPercentile(50)), QString());
    row(QStringLiteral("write load during reads (/s)"), QString::number(writeLoad, 'f', 0),
        QString::number(writeLoad, 'f', 0), QString());
    row(QStringLiteral("reads (hit ratio)"),
        QStringLiteral("%1 (%2)")
            .arg(tierFigures.reads.count())
            .arg(percent(tierFigures.readHitRatio)),
        QStringLiteral("%1 (%2)")
            .arg(fileFigures.reads.count())
            .arg(percent(fileFigures.readHitRatio)),
        QString());
    print(QStringLiteral("  tier after the run: %1 entries, %2 payload bytes (budget %3), %4 "
                         "evicted (size), file %5 bytes, %6 errors")
              .arg(stats.entries)
              .arg(stats.bytes)
              .arg(kDiskBudget)
              .arg(stats.evictedSize)
              .arg(stats.fileBytes)
              .arg(stats.errors));
    print(QString());
    QJsonObject tierJson = diskJson(tierFigures);
    tierJson.insert(QStringLiteral("entries"), stats.entries);
    tierJson.insert(QStringLiteral("payload_bytes"), stats.bytes);
    tierJson.insert(QStringLiteral("file_bytes"), stats.fileBytes);
    tierJson.insert(QStringLiteral("evicted_size"), qint64(stats.evictedSize));
    tierJson.insert(QStringLiteral("errors"), qint64(stats.errors));
    QJsonObject fileJson = diskJson(fileFigures);
    fileJson.insert(QStringLiteral("files"), fileStore.files());
    return QJsonObject{
        {QStringLiteral("value_bytes"), kValueBytes},
        {QStringLiteral("budget_bytes"), kDiskBudget},
        {QStringLiteral("entries_per_phase"), entries},
        {QStringLiteral("write_load_per_s"), writeLoad},
        {QStringLiteral("tier"), tierJson},
        {QStringLiteral("baseline_file_per_key"), fileJson},
        {QStringLiteral("goals"), QJsonArray{writeGoal.toJson(), readGoal.toJson()}}};
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("bench_cache"));
    QCoreApplication::setApplicationVersion(QStringLiteral(OPSDECK_VERSION_STRING));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("OpsDeck cache benchmark (issue 3, point 8)."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption jsonOption(QStringLiteral("json"),
                                        QStringLiteral("Write every figure to FILE as JSON."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption quickOption(QStringLiteral("quick"),
                                         QStringLiteral("Short traces and rounds (< 30 s)."));
    const QCommandLineOption onlyOption(QStringLiteral("only"),
                                        QStringLiteral("Run only these parts: hit,memory,disk."),
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
    QStringList parts{QStringLiteral("hit"), QStringLiteral("memory"), QStringLiteral("disk")};
    if (parser.isSet(onlyOption)) {
        parts = parser.value(onlyOption).split(QLatin1Char(','), Qt::SkipEmptyParts);
        for (const QString &part : parts) {
            if (part != QLatin1String("hit") && part != QLatin1String("memory")
                && part != QLatin1String("disk")) {
                QTextStream(stderr) << "unknown part: " << part << " (hit, memory, disk)\n";
                return 2;
            }
        }
    }
    const bool quick = parser.isSet(quickOption);

    const auto started = SteadyClock::now();
    QJsonObject document = startRun(QStringLiteral("bench_cache"), quick, kSchemaVersion);
    QList<Goal> goals;
    int exitCode = 0;
    if (parts.contains(QLatin1String("hit")))
        document.insert(QStringLiteral("hit_ratio"), benchHitRatios(quick, goals));
    if (parts.contains(QLatin1String("memory")))
        document.insert(QStringLiteral("memory_throughput"), benchMemoryThroughput(quick, goals));
    if (parts.contains(QLatin1String("disk"))) {
        if (const std::optional<QJsonObject> disk = benchDisk(quick, goals))
            document.insert(QStringLiteral("disk"), *disk);
        else
            exitCode = 3;
    }

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
    return exitCode;
}

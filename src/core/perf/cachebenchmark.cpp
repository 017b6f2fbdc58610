#include "core/perf/cachebenchmark.h"

#include "core/support/logging.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QTemporaryDir>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

namespace opsdeck::perf {

using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr qint64 kGroupSize = 10;
constexpr double kTtlSeconds = 3600.0;
constexpr int kValuePool = 16;
// Key draws, 80/20 masks and workload mixes are made before the clock starts, at most this many
// per thread and phase, and reused cyclically beyond: memory stays bounded for huge --iterations
// (the mix and the 80/20 split are exact per block of this size).
constexpr qint64 kMaxPregenerated = qint64(1) << 20;

// SplitMix64: a tiny seeded stream for shuffles and values (never std:: distributions, whose
// algorithms differ between implementations).
class Random
{
public:
    explicit Random(quint64 seed)
        : m_state(seed)
    {
    }
    quint64 next()
    {
        quint64 z = (m_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n); the modulo bias (n / 2^64) is irrelevant here.
    quint64 below(quint64 n) { return next() % n; }

private:
    quint64 m_state;
};

quint64 mix(quint64 seed, quint64 a, quint64 b = 0, quint64 c = 0)
{
    Random r(seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL)
             ^ (c * 0x165667b19e3779f9ULL));
    return r.next();
}

template<typename T> void shuffle(std::vector<T> &items, quint64 seed)
{
    Random random(seed);
    for (size_t i = items.size(); i > 1; --i)
        std::swap(items[i - 1], items[size_t(random.below(i))]);
}

double ms(qint64 ns)
{
    return double(ns) / 1e6;
}

// The one place the benchmark reports progress: counts calls from every thread, and lets one
// thread at a time call the callback, throttled to 10 Hz on the injected clock.
class ProgressReporter
{
public:
    ProgressReporter(const ProgressCallback &callback, const Clock &clock, qint64 total)
        : m_callback(callback)
        , m_clock(clock)
        , m_throttle(clock, 10.0)
        , m_total(total)
        , m_start(clock.monotonic())
    {
    }

    void setPhase(const QString &phase)
    {
        std::lock_guard lock(m_mutex);
        m_phase = phase;
        m_phaseStartDone = m_done.load();
        m_phaseStart = m_clock.monotonic();
        m_phaseHits = m_hits.load();
        m_phaseLookups = m_lookups.load();
    }

    // Called by the measuring threads; cheap when no callback is set.
    void add(qint64 calls, quint64 lookups = 0, quint64 hits = 0)
    {
        m_done.fetch_add(calls, std::memory_order_relaxed);
        if (!m_callback)
            return;
        m_lookups.fetch_add(lookups, std::memory_order_relaxed);
        m_hits.fetch_add(hits, std::memory_order_relaxed);
        std::unique_lock lock(m_mutex, std::try_to_lock);
        if (lock.owns_lock() && m_throttle.ready())
            report(lock);
    }

    void final()
    {
        if (!m_callback)
            return;
        std::unique_lock lock(m_mutex);
        report(lock);
    }

private:
    void report(std::unique_lock<std::mutex> &)
    {
        Progress p;
        p.done = std::min(m_done.load(), m_total);
        p.total = m_total;
        const auto now = m_clock.monotonic();
        p.elapsedSeconds = std::chrono::duration<double>(now - m_start).count();
        // An ETA from the first few calls is noise (populate is not the slowest phase).
        p.etaSeconds = p.fraction() < 0.01 && p.elapsedSeconds < 1.0
                           ? -1.0
                           : estimateEtaSeconds(p.elapsedSeconds, p.done, p.total);
        p.phase = m_phase;
        const double phaseSeconds = std::chrono::duration<double>(now - m_phaseStart).count();
        const qint64 phaseDone = m_done.load() - m_phaseStartDone;
        if (phaseSeconds > 0)
            p.figures.append({QStringLiteral("ops/s"),
                              QString::number(qint64(double(phaseDone) / phaseSeconds))});
        const quint64 lookups = m_lookups.load() - m_phaseLookups;
        if (lookups > 0)
            p.figures.append(
                {QStringLiteral("hit rate"),
                 QString::number(100.0 * double(m_hits.load() - m_phaseHits) / double(lookups),
                                 'f', 1)
                     + QStringLiteral(" %")});
        m_callback(p);
    }

    const ProgressCallback &m_callback;
    const Clock &m_clock;
    ProgressThrottle m_throttle;
    const qint64 m_total;
    const Clock::MonoTime m_start;
    std::atomic<qint64> m_done{0};
    std::atomic<quint64> m_lookups{0};
    std::atomic<quint64> m_hits{0};
    std::mutex m_mutex;
    QString m_phase;
    qint64 m_phaseStartDone = 0;
    quint64 m_phaseLookups = 0;
    quint64 m_phaseHits = 0;
    Clock::MonoTime m_phaseStart{};
};

// Runs work(thread, index) for index in [0, count) on `threads` threads (index % threads ==
// thread), the calling thread included; returns the wall-clock seconds from the common start to
// the last thread's end. work returns false to stop its thread (cancelled).
template<typename Work> double runParallel(int threads, qint64 count, const Work &work)
{
    if (count <= 0)
        return 0.0;
    threads = int(std::clamp<qint64>(threads, 1, count));
    if (threads == 1) {
        const auto start = SteadyClock::now();
        for (qint64 i = 0; i < count; ++i) {
            if (!work(0, i))
                break;
        }
        return std::chrono::duration<double>(SteadyClock::now() - start).count();
    }
    std::latch ready(threads);
    std::atomic<SteadyClock::rep> start{0};
    std::vector<std::thread> pool;
    const auto body = [&](int t) {
        ready.arrive_and_wait();
        if (t == 0)
            start.store(SteadyClock::now().time_since_epoch().count());
        for (qint64 i = t; i < count; i += threads) {
            if (!work(t, i))
                break;
        }
    };
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(body, t);
    body(0);
    for (std::thread &th : pool)
        th.join();
    const auto end = SteadyClock::now().time_since_epoch().count();
    return std::chrono::duration<double>(SteadyClock::duration(end - start.load())).count();
}

struct WorkloadMix
{
    QString name;
    QList<QPair<QString, double>> weights; // kinds: get, set, delete, invalidate
};

QList<WorkloadMix> workloadMixes()
{
    return {{QStringLiteral("read_heavy"), {{QStringLiteral("get"), 0.9}, {QStringLiteral("set"), 0.1}}},
            {QStringLiteral("write_heavy"),
             {{QStringLiteral("get"), 0.3}, {QStringLiteral("set"), 0.6}, {QStringLiteral("delete"), 0.1}}},
            {QStringLiteral("balanced"),
             {{QStringLiteral("get"), 0.6},
              {QStringLiteral("set"), 0.3},
              {QStringLiteral("delete"), 0.05},
              {QStringLiteral("invalidate"), 0.05}}}};
}

// Exact counts (largest remainder) for n calls.
std::vector<int> exactMix(const QList<QPair<QString, double>> &weights, qint64 n)
{
    std::vector<qint64> counts(size_t(weights.size()));
    std::vector<QPair<double, int>> remainders;
    qint64 assigned = 0;
    for (int k = 0; k < weights.size(); ++k) {
        const double exact = weights.at(k).second * double(n);
        counts[size_t(k)] = qint64(std::floor(exact));
        assigned += counts[size_t(k)];
        remainders.push_back({exact - std::floor(exact), k});
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto &a, const auto &b) { return a.first > b.first; });
    for (int i = 0; assigned < n; ++i, ++assigned)
        ++counts[size_t(remainders[size_t(i) % remainders.size()].second)];
    std::vector<int> kinds;
    kinds.reserve(size_t(n));
    for (int k = 0; k < weights.size(); ++k)
        kinds.insert(kinds.end(), size_t(counts[size_t(k)]), k);
    return kinds;
}

// Everything one configuration's run needs.
class ConfigurationRun
{
public:
    ConfigurationRun(const CacheBenchmarkOptions &options, CacheConfiguration configuration,
                     ProgressReporter &progress)
        : m_options(options)
        , m_configuration(configuration)
        , m_progress(progress)
        , m_threads(std::max(1, options.threads))
    {
    }

    Result<ConfigurationResult> run();

private:
    bool cancelled() const { return m_options.cancel.isCancelled(); }
    QString phase(const QString &what) const { return toString(m_configuration) + QStringLiteral(" / ") + what; }
    // Key ids for `count` calls of one phase and thread, drawn by the distribution.
    Trace drawKeys(quint64 stream, int thread, qint64 count) const;
    // true: existing, false: missing; exactly 80 % existing, shuffled.
    std::vector<char> existingMask(quint64 stream, qint64 count) const;
    void setKey(qint64 id);
    bool restore(const std::vector<qint64> &ids);
    bool populate();
    Result<OperationResult> runGet();
    Result<OperationResult> runSet();
    Result<OperationResult> runDestructive(const QString &name);
    Result<OperationResult> runWorkload(const WorkloadMix &mix, int index);
    void takeCacheDelta(OperationResult &result, const cache::CacheStats &before) const;

    const CacheBenchmarkOptions &m_options;
    const CacheConfiguration m_configuration;
    ProgressReporter &m_progress;
    const int m_threads;
    std::unique_ptr<cache::CacheManager> m_cache;
    QList<QByteArray> m_keys;        // benchmark:key:<i>
    QList<QByteArray> m_missingKeys; // benchmark:key:<keyCount + j>
    std::vector<cache::SetOptions> m_groupOptions; // tag per group of 10
    QList<QByteArray> m_values;
    qint64 m_groups = 0;
};

Trace ConfigurationRun::drawKeys(quint64 stream, int thread, qint64 count) const
{
    const auto keyCount = quint32(m_options.keyCount);
    const quint64 seed = mix(m_options.seed, stream, quint64(thread), 0x4b455953 /* KEYS */);
    return drawBenchmarkKeys(m_options.distribution, keyCount, count, seed);
}

std::vector<char> ConfigurationRun::existingMask(quint64 stream, qint64 count) const
{
    const qint64 missing = count / 5;
    std::vector<char> mask(size_t(count), 1);
    std::fill(mask.begin(), mask.begin() + missing, 0);
    shuffle(mask, mix(m_options.seed, stream, 0x4d495353 /* MISS */));
    return mask;
}

void ConfigurationRun::setKey(qint64 id)
{
    const QByteArray &value = m_values.at(int(id % m_values.size()));
    (void)m_cache->set(m_keys.at(int(id)), value, m_groupOptions[size_t(id / kGroupSize)]);
}

bool ConfigurationRun::restore(const std::vector<qint64> &ids)
{
    runParallel(m_threads, qint64(ids.size()), [&](int, qint64 i) {
        setKey(ids[size_t(i)]);
        return true;
    });
    return !cancelled();
}

bool ConfigurationRun::populate()
{
    m_progress.setPhase(phase(QStringLiteral("populate")));
    const double seconds = runParallel(m_threads, m_options.keyCount, [&](int, qint64 i) {
        if (cancelled())
            return false;
        setKey(i);
        m_progress.add(1);
        return true;
    });
    qCDebug(lcPerf) << toString(m_configuration) << "populated" << m_options.keyCount << "keys in"
                    << seconds << "s";
    return !cancelled();
}

void ConfigurationRun::takeCacheDelta(OperationResult &result, const cache::CacheStats &before) const
{
    const cache::CacheStats after = m_cache->stats();
    result.cacheLookups = after.lookups - before.lookups;
    result.cacheHits = after.hits - before.hits;
}

tl::unexpected<Error> cancelledError()
{
    return fail(QStringLiteral("cancelled"), QStringLiteral("The cache benchmark was cancelled."));
}

Result<OperationResult> ConfigurationRun::runGet()
{
    OperationResult result;
    result.name = QStringLiteral("get");
    m_progress.setPhase(phase(result.name));
    const qint64 warmup = m_options.effectiveWarmup();
    const qint64 n = m_options.iterations;
    const quint64 stream = 1;
    // Per thread: warm-up keys then timed keys, drawn before the clock starts.
    std::vector<Trace> keys(static_cast<size_t>(m_threads));
    for (int t = 0; t < m_threads; ++t)
        keys[size_t(t)] = drawKeys(stream, t, std::min((warmup + n) / m_threads + 2, kMaxPregenerated));
    const std::vector<char> warmMask = existingMask(stream * 2, std::min(warmup, kMaxPregenerated));
    const std::vector<char> mask = existingMask(stream * 2 + 1, std::min(n, kMaxPregenerated));
    const qint64 missingSpace = m_missingKeys.size();

    std::vector<qint64> cursor(static_cast<size_t>(m_threads), 0);
    const auto keyFor = [&](int t, qint64 i, bool existing) -> const QByteArray & {
        const quint32 id = keys[size_t(t)][size_t(cursor[size_t(t)]++ % qint64(keys[size_t(t)].size()))];
        return existing ? m_keys.at(int(id)) : m_missingKeys.at(int(qint64(id + quint64(i)) % missingSpace));
    };
    runParallel(m_threads, warmup, [&](int t, qint64 i) {
        if (cancelled())
            return false;
        (void)m_cache->get(keyFor(t, i, warmMask[size_t(i) % warmMask.size()] != 0));
        m_progress.add(1);
        return true;
    });
    if (cancelled())
        return cancelledError();

    LatencyHistogram histogram;
    std::atomic<quint64> hits{0}, lookups{0}, existing{0};
    const cache::CacheStats before = m_cache->stats();
    result.wallSeconds = runParallel(m_threads, n, [&](int t, qint64 i) {
        if (cancelled())
            return false;
        const bool exists = mask[size_t(i) % mask.size()] != 0;
        const QByteArray &key = keyFor(t, i, exists);
        const auto start = SteadyClock::now();
        const std::optional<QByteArray> value = m_cache->get(key);
        histogram.recordDuration(SteadyClock::now() - start);
        const bool hit = value.has_value();
        lookups.fetch_add(1, std::memory_order_relaxed);
        existing.fetch_add(exists ? 1 : 0, std::memory_order_relaxed);
        hits.fetch_add(hit ? 1 : 0, std::memory_order_relaxed);
        m_progress.add(1, 1, hit ? 1 : 0);
        return true;
    });
    if (cancelled())
        return cancelledError();
    takeCacheDelta(result, before);
    result.latencyNs = histogram.snapshot();
    result.lookups = lookups.load();
    result.hits = hits.load();
    result.existingLookups = existing.load();
    return result;
}

Result<OperationResult> ConfigurationRun::runSet()
{
    OperationResult result;
    result.name = QStringLiteral("set");
    m_progress.setPhase(phase(result.name));
    const qint64 warmup = m_options.effectiveWarmup();
    const qint64 n = m_options.iterations;
    std::vector<Trace> keys(static_cast<size_t>(m_threads));
    for (int t = 0; t < m_threads; ++t)
        keys[size_t(t)] = drawKeys(2, t, std::min((warmup + n) / m_threads + 2, kMaxPregenerated));
    std::vector<qint64> cursor(static_cast<size_t>(m_threads), 0);
    const auto next = [&](int t) {
        return qint64(keys[size_t(t)][size_t(cursor[size_t(t)]++ % qint64(keys[size_t(t)].size()))]);
    };
    runParallel(m_threads, warmup, [&](int t, qint64) {
        if (cancelled())
            return false;
        setKey(next(t));
        m_progress.add(1);
        return true;
    });
    if (cancelled())
        return cancelledError();
    LatencyHistogram histogram;
    std::atomic<qint64> errors{0};
    const cache::CacheStats before = m_cache->stats();
    result.wallSeconds = runParallel(m_threads, n, [&](int t, qint64 i) {
        if (cancelled())
            return false;
        const qint64 id = next(t);
        const QByteArray &key = m_keys.at(int(id));
        // A different value than populate wrote, so the tiers really replace it.
        const QByteArray &value = m_values.at(int((id + i + 1) % m_values.size()));
        const cache::SetOptions &options = m_groupOptions[size_t(id / kGroupSize)];
        const auto start = SteadyClock::now();
        const Status status = m_cache->set(key, value, options);
        histogram.recordDuration(SteadyClock::now() - start);
        if (!status)
            errors.fetch_add(1, std::memory_order_relaxed);
        m_progress.add(1);
        return true;
    });
    if (cancelled())
        return cancelledError();
    takeCacheDelta(result, before);
    result.latencyNs = histogram.snapshot();
    result.errors = errors.load();
    return result;
}

// delete (distinct keys), invalidate_pattern and invalidate_tag (distinct groups of 10).
Result<OperationResult> ConfigurationRun::runDestructive(const QString &name)
{
    OperationResult result;
    result.name = name;
    m_progress.setPhase(phase(name));
    const bool isDelete = name == u"delete";
    const bool isPattern = name == u"invalidate_pattern";
    const quint64 stream = isDelete ? 3 : (isPattern ? 4 : 5);
    // Targets: key ids for delete, group ids >= 1 for the invalidations.
    std::vector<qint64> targets;
    if (isDelete) {
        targets.resize(size_t(m_options.keyCount));
        for (qint64 i = 0; i < m_options.keyCount; ++i)
            targets[size_t(i)] = i;
    } else {
        for (qint64 g = 1; g < m_groups; ++g)
            targets.push_back(g);
    }
    shuffle(targets, mix(m_options.seed, stream, 0x54415247 /* TARG */));
    QList<QString> patterns;
    QList<QByteArray> tags;
    if (!isDelete) {
        for (qint64 g = 0; g < m_groups; ++g) {
            patterns.append(QStringLiteral("benchmark:key:%1[0-9]$").arg(g));
            tags.append(QByteArrayLiteral("benchmark:tag:") + QByteArray::number(g));
        }
    }
    const auto keysOf = [&](qint64 target) {
        std::vector<qint64> ids;
        if (isDelete) {
            ids.push_back(target);
        } else {
            for (qint64 k = target * kGroupSize; k < (target + 1) * kGroupSize; ++k)
                ids.push_back(k);
        }
        return ids;
    };
    std::atomic<qint64> removed{0};
    std::atomic<qint64> errors{0};
    LatencyHistogram histogram;
    const auto call = [&](qint64 target, bool timed) {
        int count = 0;
        const auto start = SteadyClock::now();
        if (isDelete) {
            count = m_cache->remove(m_keys.at(int(target)));
        } else if (isPattern) {
            const Result<int> r = m_cache->invalidatePattern(patterns.at(int(target))).result();
            if (r)
                count = *r;
            else
                errors.fetch_add(1, std::memory_order_relaxed);
        } else {
            count = m_cache->invalidateTag(tags.at(int(target)));
        }
        if (timed) {
            histogram.recordDuration(SteadyClock::now() - start);
            removed.fetch_add(count, std::memory_order_relaxed);
        }
    };
    // Runs `count` calls over distinct targets in rounds; restores what each round removed
    // outside the timed windows. Returns the timed wall seconds.
    const auto runRounds = [&](qint64 count, qint64 offset, bool timed) -> std::optional<double> {
        double seconds = 0;
        const qint64 perRound = qint64(targets.size());
        for (qint64 done = 0; done < count;) {
            const qint64 round = std::min(perRound, count - done);
            const qint64 first = (offset + done) % perRound;
            const auto targetAt = [&](qint64 i) { return targets[size_t((first + i) % perRound)]; };
            seconds += runParallel(m_threads, round, [&](int, qint64 i) {
                if (cancelled())
                    return false;
                call(targetAt(i), timed);
                m_progress.add(1);
                return true;
            });
            if (cancelled())
                return std::nullopt;
            std::vector<qint64> ids;
            for (qint64 i = 0; i < round; ++i) {
                for (qint64 id : keysOf(targetAt(i)))
                    ids.push_back(id);
            }
            if (!restore(ids))
                return std::nullopt;
            done += round;
        }
        return seconds;
    };
    const qint64 warmup = m_options.effectiveWarmup();
    if (!runRounds(warmup, 0, false))
        return cancelledError();
    const cache::CacheStats before = m_cache->stats();
    const std::optional<double> seconds = runRounds(m_options.iterations, warmup, true);
    if (!seconds)
        return cancelledError();
    takeCacheDelta(result, before);
    result.wallSeconds = *seconds;
    result.latencyNs = histogram.snapshot();
    result.keysRemoved = removed.load();
    result.errors = errors.load();
    return result;
}

Result<OperationResult> ConfigurationRun::runWorkload(const WorkloadMix &workload, int index)
{
    OperationResult result;
    result.name = workload.name;
    m_progress.setPhase(phase(workload.name));
    std::vector<qint64> all(size_t(m_options.keyCount));
    for (qint64 i = 0; i < m_options.keyCount; ++i)
        all[size_t(i)] = i;
    if (!restore(all))
        return cancelledError();

    const quint64 stream = 100 + quint64(index) * 10;
    const qint64 warmup = m_options.effectiveWarmup();
    const qint64 n = m_options.iterations;
    std::vector<int> warmKinds = exactMix(workload.weights, std::min(warmup, kMaxPregenerated));
    std::vector<int> kinds = exactMix(workload.weights, std::min(n, kMaxPregenerated));
    shuffle(warmKinds, mix(m_options.seed, stream, 1));
    shuffle(kinds, mix(m_options.seed, stream, 2));
    // Exactly 80 % of the get calls (not of all calls) ask for existing keys.
    const auto getMask = [&](const std::vector<int> &calls, quint64 maskStream) {
        const qint64 gets = std::count(calls.begin(), calls.end(), 0); // kind 0 is get
        const std::vector<char> getsMask = existingMask(maskStream, gets);
        std::vector<char> out(calls.size(), 1);
        size_t g = 0;
        for (size_t i = 0; i < calls.size(); ++i) {
            if (calls[i] == 0)
                out[i] = getsMask[g++];
        }
        return out;
    };
    const std::vector<char> warmMask = getMask(warmKinds, stream + 3);
    const std::vector<char> mask = getMask(kinds, stream + 4);
    std::vector<Trace> keys(static_cast<size_t>(m_threads));
    for (int t = 0; t < m_threads; ++t)
        keys[size_t(t)] = drawKeys(stream + 5, t, std::min((warmup + n) / m_threads + 2, kMaxPregenerated));
    std::vector<qint64> cursor(static_cast<size_t>(m_threads), 0);
    const auto nextId = [&](int t) {
        return qint64(keys[size_t(t)][size_t(cursor[size_t(t)]++ % qint64(keys[size_t(t)].size()))]);
    };
    QList<QByteArray> tags;
    for (qint64 g = 0; g < m_groups; ++g)
        tags.append(QByteArrayLiteral("benchmark:tag:") + QByteArray::number(g));

    const int kindCount = int(workload.weights.size());
    std::vector<std::unique_ptr<LatencyHistogram>> perKind;
    for (int k = 0; k < kindCount; ++k)
        perKind.push_back(std::make_unique<LatencyHistogram>());
    LatencyHistogram histogram;
    std::atomic<quint64> hits{0}, lookups{0}, existing{0};
    std::atomic<qint64> removed{0}, errors{0};

    const auto call = [&](int t, qint64 i, int kind, bool exists, bool timed) {
        const QString &what = workload.weights.at(kind).first;
        const qint64 id = nextId(t);
        bool hit = false;
        const auto start = SteadyClock::now();
        if (what == u"get") {
            const QByteArray &key
                = exists ? m_keys.at(int(id)) : m_missingKeys.at(int((id + i) % m_missingKeys.size()));
            hit = m_cache->get(key).has_value();
        } else if (what == u"set") {
            if (!m_cache->set(m_keys.at(int(id)), m_values.at(int((id + i + 1) % m_values.size())),
                              m_groupOptions[size_t(id / kGroupSize)]))
                errors.fetch_add(1, std::memory_order_relaxed);
        } else if (what == u"delete") {
            const int count = m_cache->remove(m_keys.at(int(id)));
            if (timed)
                removed.fetch_add(count, std::memory_order_relaxed);
        } else {
            const int count = m_cache->invalidateTag(tags.at(int(id / kGroupSize)));
            if (timed)
                removed.fetch_add(count, std::memory_order_relaxed);
        }
        if (!timed)
            return;
        const auto elapsed = SteadyClock::now() - start;
        histogram.recordDuration(elapsed);
        perKind[size_t(kind)]->recordDuration(elapsed);
        if (what == u"get") {
            lookups.fetch_add(1, std::memory_order_relaxed);
            existing.fetch_add(exists ? 1 : 0, std::memory_order_relaxed);
            hits.fetch_add(hit ? 1 : 0, std::memory_order_relaxed);
        }
        m_progress.add(1, what == u"get" ? 1 : 0, hit ? 1 : 0);
    };
    runParallel(m_threads, warmup, [&](int t, qint64 i) {
        if (cancelled())
            return false;
        const size_t at = size_t(i) % warmKinds.size();
        call(t, i, warmKinds[at], warmMask[at] != 0, false);
        m_progress.add(1);
        return true;
    });
    if (cancelled() || !restore(all))
        return cancelledError();
    const cache::CacheStats before = m_cache->stats();
    result.wallSeconds = runParallel(m_threads, n, [&](int t, qint64 i) {
        if (cancelled())
            return false;
        const size_t at = size_t(i) % kinds.size();
        call(t, i, kinds[at], mask[at] != 0, true);
        return true;
    });
    if (cancelled())
        return cancelledError();
    takeCacheDelta(result, before);
    result.latencyNs = histogram.snapshot();
    result.lookups = lookups.load();
    result.hits = hits.load();
    result.existingLookups = existing.load();
    result.keysRemoved = removed.load();
    result.errors = errors.load();
    for (int k = 0; k < kindCount; ++k) {
        const QString &what = workload.weights.at(k).first;
        result.perKindNs.insert(what, perKind[size_t(k)]->snapshot());
        result.operationCounts.insert(what, qint64(perKind[size_t(k)]->count()));
    }
    return result;
}

Result<ConfigurationResult> ConfigurationRun::run()
{
    ConfigurationResult out;
    out.configuration = m_configuration;
    const auto started = SteadyClock::now();
    const QString parent = m_options.tempParent.isEmpty() ? QDir::tempPath() : m_options.tempParent;
    auto dir = std::make_unique<QTemporaryDir>(parent + QStringLiteral("/opsdeck-cachebench-XXXXXX"));
    if (!dir->isValid()) {
        return fail(QStringLiteral("temp_dir_failed"),
                    QStringLiteral("Cannot create a temporary directory in \"%1\": %2.")
                        .arg(parent, dir->errorString()));
    }
    out.tempDir = dir->path();

    cache::CacheSettings settings;
    settings.memory.maxEntries = m_configuration == CacheConfiguration::DiskOnly
                                     ? 0
                                     : std::max<qint64>(10000, 2 * m_options.keyCount);
    settings.memory.policy = m_options.policy;
    settings.diskEnabled = m_configuration != CacheConfiguration::MemoryOnly;
    settings.disk.path = dir->filePath(QStringLiteral("cache.db"));
    settings.disk.policy = m_options.policy;
    settings.defaultTtlSeconds = kTtlSeconds;
    out.cacheSettings = {{QStringLiteral("memory_max_size"), settings.memory.maxEntries},
                         {QStringLiteral("disk_enabled"), settings.diskEnabled},
                         {QStringLiteral("disk_max_size"), settings.disk.maxBytes},
                         {QStringLiteral("invalidation_strategy"), cache::toString(m_options.policy)},
                         {QStringLiteral("default_ttl"), kTtlSeconds}};

    m_keys.clear();
    for (qint64 i = 0; i < m_options.keyCount; ++i)
        m_keys.append(QByteArrayLiteral("benchmark:key:") + QByteArray::number(i));
    m_missingKeys.clear();
    const qint64 missing = std::min<qint64>(m_options.keyCount, 1 << 20);
    for (qint64 j = 0; j < missing; ++j)
        m_missingKeys.append(QByteArrayLiteral("benchmark:key:") + QByteArray::number(m_options.keyCount + j));
    m_groups = m_options.keyCount / kGroupSize;
    m_groupOptions.clear();
    for (qint64 g = 0; g <= m_groups; ++g)
        m_groupOptions.push_back(cache::SetOptions().withTtl(kTtlSeconds).withTags(
            {QByteArrayLiteral("benchmark:tag:") + QByteArray::number(g)}));
    m_values.clear();
    Random valueRandom(mix(m_options.seed, 0x56414c55 /* VALU */));
    for (int v = 0; v < kValuePool; ++v) {
        QByteArray value(qsizetype(m_options.valueSize), Qt::Uninitialized);
        for (char &c : value)
            c = char(valueRandom.next() & 0xff);
        m_values.append(value);
    }

    m_cache = std::make_unique<cache::CacheManager>(settings);
    if (Status s = m_cache->open(); !s) {
        return fail(QStringLiteral("cache_open_failed"),
                    QStringLiteral("The cache for %1 could not be opened: %2")
                        .arg(toString(m_configuration), s.error().message));
    }
    if (settings.diskEnabled && !m_cache->stats().disk.enabled) {
        m_cache->stop();
        return fail(QStringLiteral("disk_tier_unavailable"),
                    QStringLiteral("The disk tier in \"%1\" could not be opened, so %2 cannot be "
                                   "measured.")
                        .arg(dir->path(), toString(m_configuration)));
    }

    const auto finish = [&](Result<ConfigurationResult> r) -> Result<ConfigurationResult> {
        m_cache->stop();
        m_cache.reset();
        const QString path = dir->path();
        dir.reset(); // removes the directory and everything in it
        if (r) {
            r->tempDirRemoved = !QFileInfo::exists(path);
            if (!r->tempDirRemoved)
                qCWarning(lcPerf) << "could not remove the benchmark directory" << path;
        }
        return r;
    };

    if (!populate())
        return finish(cancelledError());
    Result<OperationResult> get = runGet();
    if (!get)
        return finish(tl::unexpected(get.error()));
    out.operations.append(*get);
    Result<OperationResult> set = runSet();
    if (!set)
        return finish(tl::unexpected(set.error()));
    out.operations.append(*set);
    for (const QString &name : {QStringLiteral("delete"), QStringLiteral("invalidate_pattern"),
                                QStringLiteral("invalidate_tag")}) {
        Result<OperationResult> r = runDestructive(name);
        if (!r)
            return finish(tl::unexpected(r.error()));
        out.operations.append(*r);
    }
    const QList<WorkloadMix> mixes = workloadMixes();
    for (int w = 0; w < mixes.size(); ++w) {
        Result<OperationResult> r = runWorkload(mixes.at(w), w);
        if (!r)
            return finish(tl::unexpected(r.error()));
        out.workloads.append(*r);
    }
    out.finalStats = m_cache->stats();
    out.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    return finish(out);
}

QJsonObject histogramJson(const HistogramSnapshot &h)
{
    QJsonArray buckets;
    h.forEachNonEmptyBucket([&](const HistogramSnapshot::Bucket &b) {
        buckets.append(QJsonArray{b.lowest, b.highest, qint64(b.count)});
    });
    QJsonObject percentiles;
    for (const auto &[label, p] : {std::pair{"50", 50.0}, std::pair{"90", 90.0},
                                   std::pair{"95", 95.0}, std::pair{"99", 99.0},
                                   std::pair{"99.9", 99.9}, std::pair{"100", 100.0}})
        percentiles.insert(QString::fromLatin1(label), h.valueAtPercentile(p));
    return {{QStringLiteral("unit"), QStringLiteral("ns")},
            {QStringLiteral("significant_digits"), h.layout().isValid() ? h.layout().significantDigits() : 0},
            {QStringLiteral("count"), qint64(h.count())},
            {QStringLiteral("min"), h.min()},
            {QStringLiteral("max"), h.max()},
            {QStringLiteral("mean"), h.mean()},
            {QStringLiteral("percentiles"), percentiles},
            {QStringLiteral("buckets"), buckets}};
}

QString formatMs(double value)
{
    if (value >= 100)
        return QString::number(value, 'f', 1);
    if (value >= 1)
        return QString::number(value, 'f', 3);
    return QString::number(value, 'f', 4);
}

} // namespace

// ---- Public types ----------------------------------------------------------------------------

Trace drawBenchmarkKeys(const KeyDistribution &distribution, quint32 keyCount, qint64 count,
                        quint64 seed)
{
    if (distribution.kind == KeyDistribution::Kind::Zipf)
        return TraceGenerator::zipf(keyCount, distribution.exponent, count, seed);
    return TraceGenerator::uniform(keyCount, count, seed);
}

Result<KeyDistribution> KeyDistribution::parse(const QString &text)
{
    const QString t = text.trimmed().toLower();
    if (t == u"uniform")
        return KeyDistribution{};
    if (t.startsWith(QStringLiteral("zipf:"))) {
        bool ok = false;
        const double s = t.mid(5).toDouble(&ok);
        if (ok && std::isfinite(s) && s > 0 && s <= 10)
            return KeyDistribution{Kind::Zipf, s};
    }
    return fail(QStringLiteral("invalid_distribution"),
                QStringLiteral("--distribution must be \"uniform\" or \"zipf:S\" with 0 < S <= 10 "
                               "(e.g. zipf:1.1), not \"%1\".")
                    .arg(text));
}

QString KeyDistribution::toString() const
{
    return kind == Kind::Uniform ? QStringLiteral("uniform")
                                 : QStringLiteral("zipf:") + QString::number(exponent, 'g', 6);
}

QString toString(CacheConfiguration configuration)
{
    switch (configuration) {
    case CacheConfiguration::MemoryOnly:
        return QStringLiteral("memory_only");
    case CacheConfiguration::DiskOnly:
        return QStringLiteral("disk_only");
    case CacheConfiguration::Tiered:
        break;
    }
    return QStringLiteral("tiered");
}

std::optional<CacheConfiguration> cacheConfigurationFromString(QStringView text)
{
    for (CacheConfiguration c : allCacheConfigurations()) {
        if (text.compare(toString(c), Qt::CaseInsensitive) == 0)
            return c;
    }
    return std::nullopt;
}

QList<CacheConfiguration> allCacheConfigurations()
{
    return {CacheConfiguration::MemoryOnly, CacheConfiguration::DiskOnly, CacheConfiguration::Tiered};
}

QStringList cacheBenchmarkOperationNames()
{
    return {QStringLiteral("get"), QStringLiteral("set"), QStringLiteral("delete"),
            QStringLiteral("invalidate_pattern"), QStringLiteral("invalidate_tag")};
}

QStringList cacheBenchmarkWorkloadNames()
{
    return {QStringLiteral("read_heavy"), QStringLiteral("write_heavy"), QStringLiteral("balanced")};
}

Status CacheBenchmarkOptions::validate() const
{
    const auto bad = [](const QString &field, const QString &message) {
        return fail(QStringLiteral("invalid_argument"), message, {{QStringLiteral("field"), field}});
    };
    if (iterations < 1)
        return bad(QStringLiteral("iterations"), QStringLiteral("iterations must be at least 1."));
    if (keyCount < 2 * kGroupSize || keyCount > (1 << 30))
        return bad(QStringLiteral("key_count"),
                   QStringLiteral("key_count must be from 20 (two groups of 10 keys for the "
                                  "invalidations) to 1073741824."));
    if (valueSize < 1 || valueSize > (64 << 20))
        return bad(QStringLiteral("value_size"),
                   QStringLiteral("value_size must be from 1 byte to 64 MiB."));
    if (threads < 1 || threads > 256)
        return bad(QStringLiteral("threads"), QStringLiteral("threads must be from 1 to 256."));
    if (configurations.isEmpty())
        return bad(QStringLiteral("configurations"), QStringLiteral("no configuration selected."));
    if (distribution.kind == KeyDistribution::Kind::Zipf && !(distribution.exponent > 0))
        return bad(QStringLiteral("distribution"), QStringLiteral("zipf needs an exponent > 0."));
    return ok();
}

QJsonObject CacheBenchmarkOptions::toJson() const
{
    QJsonArray configs;
    for (CacheConfiguration c : configurations)
        configs.append(toString(c));
    return {{QStringLiteral("mode"), QStringLiteral("operations")},
            {QStringLiteral("iterations"), iterations},
            {QStringLiteral("key_count"), keyCount},
            {QStringLiteral("value_size"), valueSize},
            {QStringLiteral("warmup_iterations"), effectiveWarmup()},
            {QStringLiteral("configurations"), configs},
            {QStringLiteral("threads"), threads},
            {QStringLiteral("distribution"), distribution.toString()},
            {QStringLiteral("seed"), QString::number(seed)},
            {QStringLiteral("invalidation_strategy"), cache::toString(policy)},
            {QStringLiteral("group_size"), kGroupSize},
            {QStringLiteral("missing_key_fraction"), 0.2},
            {QStringLiteral("ttl_seconds"), kTtlSeconds}};
}

double OperationResult::operationsPerSecond() const
{
    return wallSeconds > 0 ? double(count()) / wallSeconds : 0.0;
}

QJsonObject OperationResult::toJson() const
{
    const HistogramSnapshot &h = latencyNs;
    QJsonObject o{{QStringLiteral("min"), ms(h.min())},
                  {QStringLiteral("max"), ms(h.max())},
                  {QStringLiteral("avg"), h.mean() / 1e6},
                  {QStringLiteral("median"), ms(h.valueAtPercentile(50))},
                  {QStringLiteral("p95"), ms(h.valueAtPercentile(95))},
                  {QStringLiteral("p99"), ms(h.valueAtPercentile(99))},
                  {QStringLiteral("p999"), ms(h.valueAtPercentile(99.9))},
                  {QStringLiteral("operations_per_second"), operationsPerSecond()},
                  {QStringLiteral("hit_rate"), hitRate()},
                  {QStringLiteral("count"), count()},
                  {QStringLiteral("wall_time_ms"), wallSeconds * 1000.0},
                  {QStringLiteral("lookups"), qint64(lookups)},
                  {QStringLiteral("hits"), qint64(hits)},
                  {QStringLiteral("existing_lookups"), qint64(existingLookups)},
                  {QStringLiteral("cache_lookups"), qint64(cacheLookups)},
                  {QStringLiteral("cache_hits"), qint64(cacheHits)},
                  {QStringLiteral("keys_removed"), keysRemoved},
                  {QStringLiteral("errors"), errors},
                  {QStringLiteral("histogram"), histogramJson(h)}};
    if (!operationCounts.isEmpty()) {
        QJsonObject counts;
        QJsonObject kinds;
        for (auto it = operationCounts.cbegin(); it != operationCounts.cend(); ++it)
            counts.insert(it.key(), it.value());
        for (auto it = perKindNs.cbegin(); it != perKindNs.cend(); ++it) {
            const HistogramSnapshot &k = it.value();
            kinds.insert(it.key(),
                         QJsonObject{{QStringLiteral("count"), qint64(k.count())},
                                     {QStringLiteral("avg"), k.mean() / 1e6},
                                     {QStringLiteral("median"), ms(k.valueAtPercentile(50))},
                                     {QStringLiteral("p95"), ms(k.valueAtPercentile(95))},
                                     {QStringLiteral("p99"), ms(k.valueAtPercentile(99))},
                                     {QStringLiteral("max"), ms(k.max())}});
        }
        o.insert(QStringLiteral("operation_counts"), counts);
        o.insert(QStringLiteral("operations"), kinds);
    }
    return o;
}

const ConfigurationResult *CacheBenchmarkResult::find(CacheConfiguration configuration) const
{
    for (const ConfigurationResult &c : configurations) {
        if (c.configuration == configuration)
            return &c;
    }
    return nullptr;
}

QJsonObject CacheBenchmarkResult::toJson() const
{
    QJsonObject result{{QStringLiteral("schema_version"), kCacheBenchmarkSchemaVersion},
                       {QStringLiteral("mode"), QStringLiteral("operations")},
                       {QStringLiteral("config"), config}};
    run.writeInto(result);
    QJsonObject configs, operations, workloads, settings;
    for (const ConfigurationResult &c : configurations) {
        const QString cfg = toString(c.configuration);
        QJsonObject stats = c.finalStats.toJson();
        configs.insert(cfg, stats);
        QJsonObject s = c.cacheSettings;
        s.insert(QStringLiteral("temp_dir_removed"), c.tempDirRemoved);
        s.insert(QStringLiteral("seconds"), c.seconds);
        settings.insert(cfg, s);
        for (const OperationResult &op : c.operations) {
            QJsonObject perCfg = operations.value(op.name).toObject();
            perCfg.insert(cfg, op.toJson());
            operations.insert(op.name, perCfg);
        }
        for (const OperationResult &w : c.workloads) {
            QJsonObject perCfg = workloads.value(w.name).toObject();
            perCfg.insert(cfg, w.toJson());
            workloads.insert(w.name, perCfg);
        }
    }
    result.insert(QStringLiteral("configurations"), configs);
    result.insert(QStringLiteral("configuration_settings"), settings);
    result.insert(QStringLiteral("operations"), operations);
    result.insert(QStringLiteral("workloads"), workloads);
    return result;
}

QString CacheBenchmarkResult::summaryText() const
{
    QString text = QStringLiteral("Cache benchmark: %1 iterations (+%2 warm-up), %3 keys, %4-byte "
                                  "values, %5 keys, %6 thread(s), seed %7; %8 build, commit %9\n")
                       .arg(config.value(QStringLiteral("iterations")).toInteger())
                       .arg(config.value(QStringLiteral("warmup_iterations")).toInteger())
                       .arg(config.value(QStringLiteral("key_count")).toInteger())
                       .arg(config.value(QStringLiteral("value_size")).toInteger())
                       .arg(config.value(QStringLiteral("distribution")).toString())
                       .arg(config.value(QStringLiteral("threads")).toInteger())
                       .arg(config.value(QStringLiteral("seed")).toString(), run.buildType,
                            run.gitCommit);
    const auto header = [] {
        return QStringLiteral("%1%2%3%4%5%6%7%8\n")
            .arg(QStringLiteral("operation"), -20)
            .arg(QStringLiteral("configuration"), -14)
            .arg(QStringLiteral("median ms"), 11)
            .arg(QStringLiteral("p95 ms"), 11)
            .arg(QStringLiteral("p99 ms"), 11)
            .arg(QStringLiteral("max ms"), 11)
            .arg(QStringLiteral("ops/s"), 12)
            .arg(QStringLiteral("hit rate"), 10);
    };
    const auto row = [](const OperationResult &op, const QString &cfg) {
        const HistogramSnapshot &h = op.latencyNs;
        const QString hit = op.lookups > 0
                                ? QString::number(op.hitRate() * 100.0, 'f', 1) + QStringLiteral(" %")
                                : QStringLiteral("-");
        return QStringLiteral("%1%2%3%4%5%6%7%8\n")
            .arg(op.name, -20)
            .arg(cfg, -14)
            .arg(formatMs(ms(h.valueAtPercentile(50))), 11)
            .arg(formatMs(ms(h.valueAtPercentile(95))), 11)
            .arg(formatMs(ms(h.valueAtPercentile(99))), 11)
            .arg(formatMs(ms(h.max())), 11)
            .arg(QString::number(qint64(std::llround(op.operationsPerSecond()))), 12)
            .arg(hit, 10);
    };
    text += QLatin1Char('\n') + header();
    for (const QString &name : cacheBenchmarkOperationNames()) {
        for (const ConfigurationResult &c : configurations) {
            for (const OperationResult &op : c.operations) {
                if (op.name == name)
                    text += row(op, toString(c.configuration));
            }
        }
    }
    text += QLatin1Char('\n') + header().replace(QStringLiteral("operation "), QStringLiteral("workload  "));
    for (const QString &name : cacheBenchmarkWorkloadNames()) {
        for (const ConfigurationResult &c : configurations) {
            for (const OperationResult &w : c.workloads) {
                if (w.name == name)
                    text += row(w, toString(c.configuration));
            }
        }
    }
    text += QStringLiteral("\nLatency: nearest-rank percentiles of an HDR histogram of every timed "
                           "call; ops/s: timed calls / their wall-clock time. Disk writes are "
                           "write-behind (set/delete on disk measure the enqueue).\n");
    for (const ConfigurationResult &c : configurations)
        text += QStringLiteral("  %1: %2 s, temporary directory %3\n")
                    .arg(toString(c.configuration), -12)
                    .arg(c.seconds, 0, 'f', 1)
                    .arg(c.tempDirRemoved ? QStringLiteral("removed") : QStringLiteral("NOT removed: ") + c.tempDir);
    return text;
}

QStringList CacheBenchmarkResult::csvHeader()
{
    return {QStringLiteral("kind"),   QStringLiteral("name"),    QStringLiteral("configuration"),
            QStringLiteral("count"),  QStringLiteral("min_ms"),  QStringLiteral("avg_ms"),
            QStringLiteral("median_ms"), QStringLiteral("p95_ms"), QStringLiteral("p99_ms"),
            QStringLiteral("max_ms"), QStringLiteral("operations_per_second"),
            QStringLiteral("hit_rate"), QStringLiteral("wall_time_ms")};
}

QList<QStringList> CacheBenchmarkResult::csvRows() const
{
    const auto num = [](double v) { return QString::number(v, 'g', 12); };
    QList<QStringList> rows;
    const auto add = [&](const QString &kind, const OperationResult &op, const QString &cfg) {
        const HistogramSnapshot &h = op.latencyNs;
        rows.append({kind, op.name, cfg, QString::number(op.count()), num(ms(h.min())),
                     num(h.mean() / 1e6), num(ms(h.valueAtPercentile(50))),
                     num(ms(h.valueAtPercentile(95))), num(ms(h.valueAtPercentile(99))),
                     num(ms(h.max())), num(op.operationsPerSecond()), num(op.hitRate()),
                     num(op.wallSeconds * 1000.0)});
    };
    for (const ConfigurationResult &c : configurations) {
        for (const OperationResult &op : c.operations)
            add(QStringLiteral("operation"), op, toString(c.configuration));
        for (const OperationResult &w : c.workloads)
            add(QStringLiteral("workload"), w, toString(c.configuration));
    }
    return rows;
}

QList<BaselineFigure> cacheBenchmarkBaselineFigures(const QJsonObject &current)
{
    QList<BaselineFigure> figures;
    if (current.value(QStringLiteral("mode")).toString() == u"trace") {
        const QJsonObject ratios = current.value(QStringLiteral("hit_ratios")).toObject();
        for (auto it = ratios.begin(); it != ratios.end(); ++it)
            figures.append(BaselineFigure::higher({QStringLiteral("hit_ratios"), it.key(), QStringLiteral("ratio")}));
        return figures;
    }
    for (const QString &section : {QStringLiteral("operations"), QStringLiteral("workloads")}) {
        const QJsonObject ops = current.value(section).toObject();
        const QStringList order = section == u"operations" ? cacheBenchmarkOperationNames()
                                                           : cacheBenchmarkWorkloadNames();
        for (const QString &name : order) {
            const QJsonObject perCfg = ops.value(name).toObject();
            for (CacheConfiguration c : allCacheConfigurations()) {
                const QString cfg = toString(c);
                if (!perCfg.contains(cfg))
                    continue;
                figures.append(BaselineFigure::lower({section, name, cfg, QStringLiteral("median")}));
                figures.append(BaselineFigure::lower({section, name, cfg, QStringLiteral("p95")}));
                figures.append(BaselineFigure::higher(
                    {section, name, cfg, QStringLiteral("operations_per_second")}));
            }
        }
    }
    return figures;
}

CacheBenchmark::CacheBenchmark(CacheBenchmarkOptions options)
    : m_options(std::move(options))
{
}

Result<CacheBenchmarkResult> CacheBenchmark::run()
{
    if (Status s = m_options.validate(); !s)
        return tl::unexpected(s.error());
    CacheBenchmarkResult result;
    result.config = m_options.toJson();
    result.run = RunInfo::begin();
    const qint64 warmup = m_options.effectiveWarmup();
    const qint64 perConfig = m_options.keyCount
                             + qint64(cacheBenchmarkOperationNames().size()
                                      + cacheBenchmarkWorkloadNames().size())
                                   * (warmup + m_options.iterations);
    const Clock &clock = m_options.progressClock ? *m_options.progressClock : Clock::system();
    ProgressReporter progress(m_options.progress, clock, perConfig * m_options.configurations.size());
    for (CacheConfiguration c : m_options.configurations) {
        if (m_options.cancel.isCancelled())
            return cancelledError();
        ConfigurationRun runner(m_options, c, progress);
        Result<ConfigurationResult> r = runner.run();
        if (!r)
            return tl::unexpected(r.error());
        result.configurations.append(*r);
    }
    progress.final();
    result.run.finish();
    return result;
}

// ---- Trace mode ------------------------------------------------------------------------------

QStringList namedTraceNames()
{
    return {QStringLiteral("zipf-1.0"), QStringLiteral("zipf-0.9"), QStringLiteral("loop-1.5x"),
            QStringLiteral("shifting"), QStringLiteral("uniform")};
}

Result<TraceSpec> namedTraceSpec(const QString &name, quint32 keyCount, qint64 capacity,
                                 qint64 length, std::optional<quint64> seed)
{
    TraceSpec spec;
    spec.keyCount = keyCount;
    const QString n = name.trimmed().toLower();
    // The specs of tests/bench/bench_cache.cpp (its full, non-quick lengths).
    if (n == u"zipf-1.0" || n == u"zipf-0.9") {
        spec.kind = TraceSpec::Kind::Zipf;
        spec.exponent = n == u"zipf-1.0" ? 1.0 : 0.9;
        spec.length = 5'000'000;
        spec.seed = n == u"zipf-1.0" ? 1 : 2;
    } else if (n == u"loop-1.5x") {
        spec.kind = TraceSpec::Kind::Loop;
        spec.keyCount = quint32(std::max<qint64>(1, capacity * 3 / 2));
        spec.exponent = 0.0;
        spec.length = 1'500'000;
        spec.seed = 0;
    } else if (n == u"shifting") {
        spec.kind = TraceSpec::Kind::ShiftingZipf;
        spec.exponent = 1.0;
        spec.length = 5'000'000;
        spec.period = 500'000;
        spec.shift = 1000;
        spec.seed = 3;
    } else if (n == u"uniform") {
        spec.kind = TraceSpec::Kind::Uniform;
        spec.length = 5'000'000;
        spec.seed = 4;
    } else {
        return fail(QStringLiteral("unknown_trace"),
                    QStringLiteral("Unknown trace \"%1\"; the named traces are %2.")
                        .arg(name, namedTraceNames().join(QStringLiteral(", "))));
    }
    if (length > 0) {
        if (spec.kind == TraceSpec::Kind::ShiftingZipf)
            spec.period = std::max<qint64>(1, length / 10); // ten rotations, as the default
        spec.length = length;
    }
    if (seed)
        spec.seed = *seed;
    return spec;
}

Result<TraceFile> readTraceFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return fail(QStringLiteral("trace_file_unreadable"),
                    QStringLiteral("Cannot read the trace file \"%1\": %2.").arg(path, file.errorString()),
                    {{QStringLiteral("path"), path}});
    }
    TraceFile out;
    QHash<QByteArray, quint32> ids;
    constexpr quint64 kMax = 0xFFFFFFFEULL;
    while (!file.atEnd()) {
        const QByteArray key = file.readLine().trimmed();
        if (key.isEmpty()) {
            ++out.skippedLines;
            continue;
        }
        auto it = ids.constFind(key);
        if (it == ids.cend()) {
            if (quint64(ids.size()) >= kMax)
                return fail(QStringLiteral("trace_file_too_large"),
                            QStringLiteral("The trace file \"%1\" has too many distinct keys.").arg(path));
            it = ids.insert(key, quint32(ids.size()));
        }
        if (out.trace.size() >= kMax)
            return fail(QStringLiteral("trace_file_too_large"),
                        QStringLiteral("The trace file \"%1\" has too many requests.").arg(path));
        out.trace.push_back(it.value());
    }
    if (file.error() != QFileDevice::NoError) {
        return fail(QStringLiteral("trace_file_unreadable"),
                    QStringLiteral("Cannot read the trace file \"%1\": %2.").arg(path, file.errorString()),
                    {{QStringLiteral("path"), path}});
    }
    if (out.trace.empty()) {
        return fail(QStringLiteral("trace_file_empty"),
                    QStringLiteral("The trace file \"%1\" holds no keys (one key per line).").arg(path),
                    {{QStringLiteral("path"), path}});
    }
    out.distinctKeys = quint32(ids.size());
    return out;
}

std::optional<HitRatio> TraceComparisonResult::ratio(const QString &policy) const
{
    for (const auto &r : ratios) {
        if (r.first == policy)
            return r.second;
    }
    return std::nullopt;
}

QJsonObject TraceComparisonResult::toJson() const
{
    QJsonObject hitRatios;
    for (const auto &r : ratios)
        hitRatios.insert(r.first, QJsonObject{{QStringLiteral("hits"), qint64(r.second.hits)},
                                              {QStringLiteral("requests"), qint64(r.second.requests)},
                                              {QStringLiteral("ratio"), r.second.ratio()}});
    QJsonObject result{{QStringLiteral("schema_version"), kCacheBenchmarkSchemaVersion},
                       {QStringLiteral("mode"), QStringLiteral("trace")},
                       {QStringLiteral("config"), config},
                       {QStringLiteral("trace"),
                        QJsonObject{{QStringLiteral("name"), name},
                                    {QStringLiteral("description"), description},
                                    {QStringLiteral("requests"), requests},
                                    {QStringLiteral("distinct_keys"), qint64(distinctKeys)},
                                    {QStringLiteral("capacity"), capacity}}},
                       {QStringLiteral("hit_ratios"), hitRatios},
                       {QStringLiteral("seconds"), seconds}};
    run.writeInto(result);
    return result;
}

QString TraceComparisonResult::summaryText() const
{
    const std::optional<HitRatio> lru = ratio(QStringLiteral("lru"));
    const std::optional<HitRatio> belady = ratio(QStringLiteral("belady"));
    QString text = QStringLiteral("Trace %1: %2\n  %3 requests, %4 distinct keys, capacity %5; "
                                  "every policy replays the same trace (read-through, one shard)\n\n")
                       .arg(name, description)
                       .arg(requests)
                       .arg(distinctKeys)
                       .arg(capacity);
    text += QStringLiteral("%1%2%3%4%5\n")
                .arg(QStringLiteral("policy"), -10)
                .arg(QStringLiteral("hits"), 12)
                .arg(QStringLiteral("hit ratio"), 11)
                .arg(QStringLiteral("vs LRU"), 12)
                .arg(QStringLiteral("of Belady"), 11);
    for (const auto &r : ratios) {
        const double points = lru ? (r.second.ratio() - lru->ratio()) * 100.0 : 0.0;
        const double of = belady && belady->ratio() > 0 ? r.second.ratio() / belady->ratio() * 100.0 : 0.0;
        text += QStringLiteral("%1%2%3%4%5\n")
                    .arg(r.first, -10)
                    .arg(qint64(r.second.hits), 12)
                    .arg(QString::number(r.second.ratio() * 100.0, 'f', 2) + QStringLiteral(" %"), 11)
                    .arg(QStringLiteral("%1%2 pt").arg(points >= 0 ? QStringLiteral("+") : QString()).arg(points, 0, 'f', 2), 12)
                    .arg(QString::number(of, 'f', 1) + QStringLiteral(" %"), 11);
    }
    text += QStringLiteral("\nstatic = the %1 most frequent keys pinned; belady = the offline "
                           "optimum (MIN with bypass); %2 s\n")
                .arg(capacity)
                .arg(seconds, 0, 'f', 2);
    return text;
}

QStringList TraceComparisonResult::csvHeader()
{
    return {QStringLiteral("policy"), QStringLiteral("hits"), QStringLiteral("requests"),
            QStringLiteral("hit_ratio"), QStringLiteral("vs_lru_points"), QStringLiteral("of_belady")};
}

QList<QStringList> TraceComparisonResult::csvRows() const
{
    const std::optional<HitRatio> lru = ratio(QStringLiteral("lru"));
    const std::optional<HitRatio> belady = ratio(QStringLiteral("belady"));
    QList<QStringList> rows;
    for (const auto &r : ratios) {
        rows.append({r.first, QString::number(r.second.hits), QString::number(r.second.requests),
                     QString::number(r.second.ratio(), 'g', 12),
                     QString::number(lru ? (r.second.ratio() - lru->ratio()) * 100.0 : 0.0, 'g', 12),
                     QString::number(belady && belady->ratio() > 0 ? r.second.ratio() / belady->ratio() : 0.0, 'g', 12)});
    }
    return rows;
}

Result<TraceComparisonResult> runTraceComparison(const TraceComparisonOptions &options)
{
    if (options.traceName.isEmpty() == options.traceFile.isEmpty())
        return fail(QStringLiteral("invalid_argument"),
                    QStringLiteral("Give exactly one of a trace name and a trace file."));
    if (options.capacity < 1 || options.capacity > (1 << 30))
        return fail(QStringLiteral("invalid_argument"),
                    QStringLiteral("capacity must be from 1 to 1073741824."));
    TraceComparisonResult result;
    result.run = RunInfo::begin();
    result.capacity = options.capacity;
    const auto started = SteadyClock::now();
    Trace trace;
    if (!options.traceName.isEmpty()) {
        Result<TraceSpec> spec = namedTraceSpec(options.traceName, options.keyCount, options.capacity,
                                                options.length, options.seed);
        if (!spec)
            return tl::unexpected(spec.error());
        result.name = options.traceName.trimmed().toLower();
        result.description = spec->describe();
        trace = TraceGenerator::generate(*spec);
    } else {
        Result<TraceFile> file = readTraceFile(options.traceFile);
        if (!file)
            return tl::unexpected(file.error());
        result.name = options.traceFile;
        result.description = QStringLiteral("file(%1, %2 empty lines skipped)")
                                 .arg(options.traceFile)
                                 .arg(file->skippedLines);
        trace = std::move(file->trace);
    }
    if (options.cancel.isCancelled())
        return cancelledError();
    const HitRatioSimulator simulator(trace);
    result.requests = qint64(trace.size());
    result.distinctKeys = simulator.keySpace();

    const QList<cache::Policy> policies{cache::Policy::Lru, cache::Policy::Lfu, cache::Policy::Fifo,
                                        cache::Policy::Ttl, cache::Policy::Adaptive};
    const int columns = int(policies.size()) + 2; // + static + belady
    std::vector<HitRatio> ratios(static_cast<size_t>(columns));
    const Clock &clock = options.progressClock ? *options.progressClock : Clock::system();
    ProgressReporter progress(options.progress, clock, columns);
    progress.setPhase(QStringLiteral("trace ") + result.name);
    std::atomic<int> nextJob{0};
    const auto worker = [&] {
        for (int j = nextJob++; j < columns; j = nextJob++) {
            if (options.cancel.isCancelled())
                return;
            if (j < policies.size())
                ratios[size_t(j)] = simulator.replay(policies.at(j), options.capacity);
            else if (j == policies.size())
                ratios[size_t(j)] = simulator.bestStatic(options.capacity);
            else
                ratios[size_t(j)] = simulator.belady(options.capacity);
            progress.add(1);
        }
    };
    const int threads = std::clamp(options.threads, 1, columns);
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(worker);
    worker();
    for (std::thread &t : pool)
        t.join();
    if (options.cancel.isCancelled())
        return cancelledError();
    progress.final();
    for (int p = 0; p < policies.size(); ++p)
        result.ratios.append({cache::toString(policies.at(p)), ratios[size_t(p)]});
    result.ratios.append({QStringLiteral("static"), ratios[size_t(policies.size())]});
    result.ratios.append({QStringLiteral("belady"), ratios[size_t(policies.size()) + 1]});
    result.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    result.config = {{QStringLiteral("mode"), QStringLiteral("trace")},
                     {QStringLiteral("trace"), options.traceName},
                     {QStringLiteral("trace_file"), options.traceFile},
                     {QStringLiteral("capacity"), options.capacity},
                     {QStringLiteral("key_count"), qint64(options.keyCount)},
                     {QStringLiteral("length"), options.length},
                     {QStringLiteral("seed"), options.seed ? QJsonValue(QString::number(*options.seed))
                                                           : QJsonValue(QJsonValue::Null)},
                     {QStringLiteral("threads"), threads}};
    result.run.finish();
    return result;
}

} // namespace opsdeck::perf

#include "core/perf/loadtestselfcheck.h"

#include "core/perf/loadtestcomponents.h"
#include "core/perf/loadtestrunner.h"
#include "market/faultsettings.h"
#include "market/marketservice.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

namespace opsdeck::perf {

namespace {

double nearestRank(std::vector<qint64> samples, double p)
{
    if (samples.empty())
        return 0;
    std::sort(samples.begin(), samples.end());
    const size_t rank = size_t(std::ceil(p / 100.0 * double(samples.size())));
    return double(samples[std::clamp<size_t>(rank, 1, samples.size()) - 1]);
}

// What the wrapper saw; shared, because the runner destroys its components when it returns.
struct Observed
{
    std::mutex mutex;
    std::vector<qint64> raw; // end − intended start, ns
    std::vector<Clock::MonoTime> intended;
    Clock::MonoTime stallOrigin{};
};

// The real http component, with the stall injected once the simulator is up (so the stall
// period starts with the run) and every raw corrected latency kept.
class StallingHttpComponent final : public LoadComponent
{
public:
    StallingHttpComponent(const SelfCheckSettings &s,
                          const Clock &clock,
                          std::shared_ptr<Observed> observed)
        : m_inner(QUrl(), s.concurrency, 30'000)
        , m_settings(s)
        , m_clock(clock)
        , m_observed(std::move(observed))
    {}

    LoadComponentKind kind() const override { return m_inner.kind(); }
    bool isAsync() const override { return true; }
    QStringList operationNames() const override { return m_inner.operationNames(); }
    Status prepare() override
    {
        if (Status s = m_inner.prepare(); !s)
            return s;
        market::FaultSettings faults = m_inner.simulator()->faults();
        faults.stallMs = m_settings.stallMs;
        faults.stallEverySeconds = m_settings.stallEverySeconds;
        const Status set = m_inner.simulator()->setFaults(faults);
        m_observed->stallOrigin
            = m_clock.monotonic(); // the simulator counts periods from the change
        return set;
    }
    void start(const OpTicket &ticket, Completion done) override
    {
        {
            std::lock_guard lock(m_observed->mutex);
            m_observed->intended.push_back(ticket.intendedStart);
        }
        m_inner.start(ticket, [this, ticket, done = std::move(done)](const OpOutcome &o) {
            const qint64 ns = (m_clock.monotonic() - ticket.intendedStart).count();
            {
                std::lock_guard lock(m_observed->mutex);
                m_observed->raw.push_back(ns);
            }
            done(o);
        });
    }
    void finish() override { m_inner.finish(); }

private:
    HttpLoadComponent m_inner;
    SelfCheckSettings m_settings;
    const Clock &m_clock;
    std::shared_ptr<Observed> m_observed;
};

// What the corrected latencies should be: `servers` request slots, each request taking
// `serviceNs` unless it reaches the server inside a stall (the last stallNs of every period from
// `origin`), when its answer waits for the period's end. Returns the nearest-rank p99 in ns.
double expectedP99(std::vector<Clock::MonoTime> intended,
                   int servers,
                   qint64 serviceNs,
                   Clock::MonoTime origin,
                   qint64 periodNs,
                   qint64 stallNs)
{
    std::sort(intended.begin(), intended.end());
    std::vector<qint64> freeAt(size_t(std::max(1, servers)), std::numeric_limits<qint64>::min());
    std::vector<qint64> latencies;
    latencies.reserve(intended.size());
    for (const Clock::MonoTime &at : intended) {
        const qint64 a = (at - origin).count();
        auto slot = std::min_element(freeAt.begin(), freeAt.end());
        const qint64 start = std::max(a, *slot);
        const qint64 arrival = start + serviceNs / 2;
        const qint64 phase = ((arrival % periodNs) + periodNs) % periodNs;
        const qint64 finish = phase >= periodNs - stallNs
                                  ? arrival - phase + periodNs + serviceNs / 2
                                  : start + serviceNs;
        *slot = finish;
        latencies.push_back(finish - a);
    }
    return nearestRank(std::move(latencies), 99);
}

} // namespace

QJsonObject SelfCheckReport::toJson() const
{
    return QJsonObject{{QStringLiteral("operations"), double(operations)},
                       {QStringLiteral("errors"), double(errors)},
                       {QStringLiteral("stall_fraction"), stallFraction},
                       {QStringLiteral("model_p99_ms"), modelP99Ms},
                       {QStringLiteral("expected_corrected_p99_ms"), expectedCorrectedP99Ms},
                       {QStringLiteral("corrected_p99_ms"), correctedP99Ms},
                       {QStringLiteral("raw_corrected_p99_ms"), rawCorrectedP99Ms},
                       {QStringLiteral("uncorrected_p99_ms"), uncorrectedP99Ms},
                       {QStringLiteral("corrected_p50_ms"), correctedP50Ms},
                       {QStringLiteral("uncorrected_p50_ms"), uncorrectedP50Ms},
                       {QStringLiteral("achieved_rate"), achievedRate},
                       {QStringLiteral("passed"), passed},
                       {QStringLiteral("failures"), QJsonValue::fromVariant(failures)}};
}

Result<SelfCheckReport> runLoadTestSelfCheck(const SelfCheckSettings &s, ProgressCallback progress)
{
    LoadTestConfig config;
    config.components = {LoadComponentKind::Http};
    config.concurrency = s.concurrency;
    config.durationSeconds = s.durationSeconds;
    config.rampUpSeconds = 0; // the stall period starts with the run
    config.rate = s.rate;
    config.seed = s.seed;
    config.httpTimeoutMs = 30'000;

    const Clock &clock = Clock::system();
    LoadTestRunner runner(config, clock);
    runner.setProgressCallback(std::move(progress));
    auto observed = std::make_shared<Observed>();
    auto component = std::make_unique<StallingHttpComponent>(s, clock, observed);
    std::vector<std::unique_ptr<LoadComponent>> components;
    components.push_back(std::move(component));
    Result<LoadTestRun> run = runner.run(std::move(components));
    if (!run)
        return tl::unexpected(run.error());
    const ComponentFigures *f = run->component(LoadComponentKind::Http);

    SelfCheckReport r;
    r.operations = f->operations;
    r.errors = f->errors;
    r.stallFraction = double(s.stallMs) / (s.stallEverySeconds * 1000.0);
    r.modelP99Ms = r.stallFraction > 0.01 ? s.stallMs * (1.0 - 0.01 / r.stallFraction) : 0.0;
    r.correctedP99Ms = double(f->corrected.valueAtPercentile(99)) / 1e6;
    r.rawCorrectedP99Ms = nearestRank(observed->raw, 99) / 1e6;
    r.uncorrectedP99Ms = double(f->uncorrected.valueAtPercentile(99)) / 1e6;
    r.correctedP50Ms = double(f->corrected.valueAtPercentile(50)) / 1e6;
    r.uncorrectedP50Ms = double(f->uncorrected.valueAtPercentile(50)) / 1e6;
    r.achievedRate = f->operationsPerSecond();
    // The unstalled service time: the uncorrected median (most requests never meet a stall).
    r.expectedCorrectedP99Ms
        = expectedP99(observed->intended, s.concurrency, f->uncorrected.valueAtPercentile(50),
                      observed->stallOrigin, qint64(s.stallEverySeconds * 1e9),
                      qint64(s.stallMs) * 1'000'000)
          / 1e6;

    const double allowed = s.tolerance * s.timeFactor * s.stallMs;
    if (r.errors > 0)
        r.failures << QStringLiteral("%1 request(s) failed").arg(r.errors);
    if (std::abs(r.correctedP99Ms - r.expectedCorrectedP99Ms) > allowed)
        r.failures << QStringLiteral(
                          "corrected p99 %1 ms is not within %2 ms of the expected %3 ms")
                          .arg(r.correctedP99Ms, 0, 'f', 1)
                          .arg(allowed, 0, 'f', 1)
                          .arg(r.expectedCorrectedP99Ms, 0, 'f', 1);
    // Histogram vs exact: within the histogram's 0.1 % plus the few µs between the two clocks.
    if (std::abs(r.rawCorrectedP99Ms - r.correctedP99Ms) > 0.002 * r.rawCorrectedP99Ms + 0.05)
        r.failures << QStringLiteral("histogram p99 %1 ms differs from the raw samples' %2 ms")
                          .arg(r.correctedP99Ms, 0, 'f', 3)
                          .arg(r.rawCorrectedP99Ms, 0, 'f', 3);
    if (!(r.uncorrectedP99Ms < 0.5 * r.correctedP99Ms))
        r.failures << QStringLiteral("uncorrected p99 %1 ms is not well below the corrected %2 ms")
                          .arg(r.uncorrectedP99Ms, 0, 'f', 1)
                          .arg(r.correctedP99Ms, 0, 'f', 1);
    r.passed = r.failures.isEmpty();

    QStringList lines;
    lines << QStringLiteral("Self-check: open model, %1 requests/s, %2 outstanding at most, %3 s, "
                            "embedded simulator stalling %4 ms every %5 s")
                 .arg(s.rate)
                 .arg(s.concurrency)
                 .arg(s.durationSeconds)
                 .arg(s.stallMs)
                 .arg(s.stallEverySeconds);
    lines << QStringLiteral("  requests %1, errors %2, achieved %3 requests/s")
                 .arg(r.operations)
                 .arg(r.errors)
                 .arg(r.achievedRate, 0, 'f', 1);
    lines << QStringLiteral("  stalled fraction of intended starts     %1 %")
                 .arg(100.0 * r.stallFraction, 0, 'f', 1);
    lines << QStringLiteral("  corrected p99, ideal server (s·(1−0.01/f)) %1 ms")
                 .arg(r.modelP99Ms, 0, 'f', 1);
    lines << QStringLiteral("  expected corrected p99 (queue replay)   %1 ms")
                 .arg(r.expectedCorrectedP99Ms, 0, 'f', 1);
    lines << QStringLiteral("  corrected p99 (histogram)               %1 ms")
                 .arg(r.correctedP99Ms, 0, 'f', 1);
    lines << QStringLiteral("  corrected p99 (raw samples, exact)      %1 ms")
                 .arg(r.rawCorrectedP99Ms, 0, 'f', 1);
    lines << QStringLiteral("  uncorrected p99 (from actual start)     %1 ms")
                 .arg(r.uncorrectedP99Ms, 0, 'f', 3);
    lines << QStringLiteral("  p50 corrected / uncorrected             %1 / %2 ms")
                 .arg(r.correctedP50Ms, 0, 'f', 3)
                 .arg(r.uncorrectedP50Ms, 0, 'f', 3);
    lines << (r.passed
                  ? QStringLiteral("Self-check PASSED")
                  : QStringLiteral("Self-check FAILED: ") + r.failures.join(QStringLiteral("; ")));
    r.text = lines.join(u'\n') + u'\n';
    return r;
}

} // namespace opsdeck::perf

// LoadTestRunner: drives LoadComponents for a ramp-up plus a measured window, in the closed model
// (N workers, each issuing its next operation when the previous one ends) or the open model
// (operations due at LoadSchedule's intended starts; at most N outstanding; latency counted from
// the intended start, so a stall that delays later starts is charged to them: coordinated
// omission corrected, the uncorrected figure kept beside it). Components run at the same time,
// each with its own workers and recorder.
//
//     LoadTestRunner runner(config);
//     runner.setProgressCallback([](const Progress &p) { ... });   // <= 10 Hz, caller's thread
//     Result<LoadTestRun> run = runner.run(std::move(components));  // blocks until done
//
// Threads: synchronous components get N worker threads each; asynchronous ones are driven from
// their completions (closed model: the next operation is issued from the completion, in the
// component's thread) and, for waits, one issuer thread per component. run() blocks the caller,
// which reports progress; cancel() (any thread) stops issuing, waits for outstanding operations
// and returns what was measured (LoadTestRun::cancelled).
// Time: all from the injected Clock; waits go through a SleepFunction, so a test can pass a
// ManualClock and a sleeper that advances it (deterministic with one worker and a synchronous
// component). The default sleeper sleeps in real time with 1 µs timer slack.
#pragma once

#include "core/perf/loadtestcomponent.h"
#include "core/perf/loadtestconfig.h"
#include "core/perf/loadtestrecorder.h"
#include "core/perf/runinfo.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace opsdeck::perf {

struct LoadTestRun
{
    LoadTestConfig config;
    qint64 startWallMs = 0;
    qint64 endWallMs = 0;
    double rampUpSeconds = 0.0;   // as run (shorter when cancelled)
    double measuredSeconds = 0.0; // the measured window as run (shorter when cancelled)
    bool cancelled = false;
    QList<ComponentFigures> components;

    const ComponentFigures *component(LoadComponentKind kind) const;
};

class LoadTestRunner
{
public:
    // Blocks until the clock's monotonic time reaches `until` (it may return early; the runner
    // calls it again). Called from worker threads.
    using SleepFunction = std::function<void(Clock::MonoTime until)>;

    explicit LoadTestRunner(LoadTestConfig config, const Clock &clock = Clock::system());
    Q_DISABLE_COPY_MOVE(LoadTestRunner)
    ~LoadTestRunner();

    void setSleepFunction(SleepFunction sleep);
    void setProgressCallback(ProgressCallback callback);

    // Prepares every component (an error ends the run before it starts: the prepared ones are
    // finished), runs them all at once, then finishes and destroys them before returning (keep
    // anything a component observed in state shared with it). Pass what should run:
    // makeLoadComponents(config) builds the configured ones.
    Result<LoadTestRun> run(std::vector<std::unique_ptr<LoadComponent>> components);

    // Any thread, at any time (also before run()).
    void cancel();
    bool isCancelled() const { return m_cancelled.load(); }

    // The default sleeper: real time, interruptible by cancel() within 50 ms.
    static void sleepRealTime(const Clock &clock, Clock::MonoTime until);

private:
    struct Driver;

    void runSyncWorker(Driver &driver, int worker);
    void runAsyncClosed(Driver &driver);
    void issueClosed(Driver &driver, int worker);
    void runAsyncOpen(Driver &driver);
    bool sleepUntil(Clock::MonoTime until); // false when cancelled
    Progress progressNow(const std::vector<std::unique_ptr<Driver>> &drivers) const;

    const LoadTestConfig m_config;
    const Clock &m_clock;
    SleepFunction m_sleep;
    ProgressCallback m_progress;
    std::atomic<bool> m_cancelled{false};

    Clock::MonoTime m_start{};
    Clock::MonoTime m_measureStart{};
    Clock::MonoTime m_end{};
};

} // namespace opsdeck::perf

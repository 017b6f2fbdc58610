// Agent: the interface every trading agent implements (the agents issue builds the real ones).
// An agent owns its own state; the ExecutionEngine calls runCycle() on one of its "exec-N" pool
// threads, never two cycles of one agent at once. start()/stop() run on the caller's thread.
//
//     class MyAgent final : public exec::Agent {
//         Result<QJsonObject> cycle(const exec::CycleContext &ctx) override { ... }
//     };
//     engine.scheduleAgentCycle(agent, TaskPriority::Normal);   // after agent->start()
//
// The base class keeps the status and the counters (cycles_completed, cycles_failed,
// last_cycle_time); it is thread-safe. It is not a scheduler: the engine decides when cycles run.
#pragma once

#include "core/exec/cancellationtoken.h"
#include "core/runtime/runtimeconfig.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QJsonObject>
#include <QtCore/QString>

#include <mutex>
#include <optional>

namespace opsdeck::cache {
class CacheManager;
}
namespace opsdeck::http {
class HttpPool;
}

namespace opsdeck::exec {

enum class AgentStatus { Initialized, Starting, Running, Stopping, Stopped, Error };

// "INITIALIZED", "STARTING", "RUNNING", "STOPPING", "STOPPED", "ERROR".
QString toString(AgentStatus status);

// What a cycle may use. Pointers may be null (tests, or a runtime without a cache or pool).
struct CycleContext
{
    cache::CacheManager *cache = nullptr;
    http::HttpPool *pool = nullptr;
    CancellationToken token;          // fires on the cycle's timeout, cancel or engine stop
    const Clock *clock = nullptr;     // never null when the engine runs the cycle
    Clock::MonoTime deadline{};       // monotonic time when the token fires (timeout × multiplier)
    Clock::MonoTime scheduledStart{}; // when the cycle was due
    quint64 cycleNumber = 0;          // 1-based, per agent schedule
};

struct AgentMetrics
{
    quint64 cyclesCompleted = 0;
    quint64 cyclesFailed = 0;
    quint64 cyclesRejected = 0;     // runCycle() while not RUNNING ("skipped with a message")
    qint64 lastCycleTimeMs = 0;     // wall time (epoch ms) when the last cycle ended, 0 = never
    double lastCycleDurationMs = 0; // monotonic duration of the last cycle
    QString lastError;              // message of the last failed cycle

    // {"cycles_completed","cycles_failed","cycles_rejected","last_cycle_time" (ISO-8601 UTC or
    // null),"last_cycle_time_ms","last_cycle_duration_ms","last_error"}
    QJsonObject toJson() const;
};

class Agent
{
public:
    explicit Agent(AgentConfig config);
    virtual ~Agent() = default;
    Q_DISABLE_COPY_MOVE(Agent)

    QString id() const { return m_config.id; }
    const AgentConfig &config() const { return m_config; }
    AgentStatus status() const;
    AgentMetrics metrics() const;

    // STARTING, then onStart(); RUNNING on success, ERROR (with the error kept) on failure.
    // Starting a RUNNING agent is a no-op.
    Status start();
    // STOPPING, onStop(), STOPPED. The engine stops scheduling a stopped agent's cycles.
    void stop();

    // Called by the engine: checks the status (a non-running agent's cycle is rejected with a
    // message and counted), calls cycle(), catches any exception and updates the counters.
    Result<QJsonObject> runCycle(const CycleContext &context);

protected:
    // One cycle's work. Return the results or an Error; check context.token in long loops.
    virtual Result<QJsonObject> cycle(const CycleContext &context) = 0;
    virtual Status onStart() { return ok(); }
    virtual void onStop() {}
    void setStatus(AgentStatus status);

private:
    const AgentConfig m_config;
    mutable std::mutex m_mutex;
    AgentStatus m_status = AgentStatus::Initialized;
    AgentMetrics m_metrics;
};

} // namespace opsdeck::exec

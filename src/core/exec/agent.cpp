#include "core/exec/agent.h"

#include "core/support/logging.h"

#include <QtCore/QDateTime>

#include <exception>

namespace opsdeck::exec {

QString toString(AgentStatus status)
{
    switch (status) {
    case AgentStatus::Initialized:
        return QStringLiteral("INITIALIZED");
    case AgentStatus::Starting:
        return QStringLiteral("STARTING");
    case AgentStatus::Running:
        return QStringLiteral("RUNNING");
    case AgentStatus::Stopping:
        return QStringLiteral("STOPPING");
    case AgentStatus::Stopped:
        return QStringLiteral("STOPPED");
    case AgentStatus::Error:
        return QStringLiteral("ERROR");
    }
    return QStringLiteral("ERROR");
}

QJsonObject AgentMetrics::toJson() const
{
    QJsonObject o{{QStringLiteral("cycles_completed"), double(cyclesCompleted)},
                  {QStringLiteral("cycles_failed"), double(cyclesFailed)},
                  {QStringLiteral("cycles_rejected"), double(cyclesRejected)},
                  {QStringLiteral("last_cycle_time_ms"), double(lastCycleTimeMs)},
                  {QStringLiteral("last_cycle_duration_ms"), lastCycleDurationMs},
                  {QStringLiteral("last_error"), lastError}};
    o.insert(QStringLiteral("last_cycle_time"),
             lastCycleTimeMs == 0
                 ? QJsonValue()
                 : QJsonValue(QDateTime::fromMSecsSinceEpoch(lastCycleTimeMs, Qt::UTC)
                                  .toString(Qt::ISODateWithMs)));
    return o;
}

Agent::Agent(AgentConfig config)
    : m_config(std::move(config))
{}

AgentStatus Agent::status() const
{
    std::lock_guard lock(m_mutex);
    return m_status;
}

AgentMetrics Agent::metrics() const
{
    std::lock_guard lock(m_mutex);
    return m_metrics;
}

void Agent::setStatus(AgentStatus status)
{
    std::lock_guard lock(m_mutex);
    m_status = status;
}

Status Agent::start()
{
    {
        std::lock_guard lock(m_mutex);
        if (m_status == AgentStatus::Running || m_status == AgentStatus::Starting)
            return ok();
        m_status = AgentStatus::Starting;
    }
    Status started = fail(QStringLiteral("agent_start_failed"),
                          QStringLiteral("The agent threw while starting."));
    try {
        started = onStart();
    } catch (const std::exception &e) {
        started = fail(QStringLiteral("agent_start_failed"), QString::fromUtf8(e.what()));
    } catch (...) {
    }
    std::lock_guard lock(m_mutex);
    if (started) {
        m_status = AgentStatus::Running;
    } else {
        m_status = AgentStatus::Error;
        m_metrics.lastError = started.error().message;
    }
    return started;
}

void Agent::stop()
{
    {
        std::lock_guard lock(m_mutex);
        if (m_status == AgentStatus::Stopped)
            return;
        m_status = AgentStatus::Stopping;
    }
    try {
        onStop();
    } catch (...) {
        qCWarning(lcExec) << "agent" << m_config.id << "threw while stopping";
    }
    setStatus(AgentStatus::Stopped);
}

Result<QJsonObject> Agent::runCycle(const CycleContext &context)
{
    const Clock &clock = context.clock ? *context.clock : Clock::system();
    {
        std::lock_guard lock(m_mutex);
        if (m_status != AgentStatus::Running) {
            ++m_metrics.cyclesRejected;
            const QString message = QStringLiteral("Agent %1 is %2, not RUNNING: cycle skipped.")
                                        .arg(m_config.id, toString(m_status));
            qCInfo(lcExec).noquote() << message;
            return fail(QStringLiteral("agent_not_running"), message);
        }
    }
    const Clock::MonoTime started = clock.monotonic();
    Result<QJsonObject> result = QJsonObject();
    try {
        result = cycle(context);
    } catch (const std::exception &e) {
        result = fail(QStringLiteral("agent_exception"),
                      QStringLiteral("The cycle threw: %1").arg(QString::fromUtf8(e.what())));
    } catch (...) {
        result = fail(QStringLiteral("agent_exception"),
                      QStringLiteral("The cycle threw a non-standard exception."));
    }
    const double durationMs
        = std::chrono::duration<double, std::milli>(clock.monotonic() - started).count();
    std::lock_guard lock(m_mutex);
    m_metrics.lastCycleTimeMs = clock.wallMsecs();
    m_metrics.lastCycleDurationMs = durationMs;
    if (result) {
        ++m_metrics.cyclesCompleted;
    } else {
        ++m_metrics.cyclesFailed;
        m_metrics.lastError = result.error().message;
    }
    return result;
}

} // namespace opsdeck::exec

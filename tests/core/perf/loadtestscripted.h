// Test helpers for the load tester: a scripted synchronous LoadComponent whose "service"
// advances a ManualClock, and a sleeper that advances it, so a one-worker run is deterministic.
#pragma once

#include "core/perf/loadtestcomponent.h"
#include "core/perf/loadtestrunner.h"
#include "core/support/clock.h"

#include <functional>
#include <memory>
#include <vector>

namespace opsdeck::perf::test {

// Synchronous; each operation "takes" service(actualStart, ticket) of manual time.
class ScriptedComponent final : public LoadComponent
{
public:
    using Service = std::function<Clock::Duration(Clock::MonoTime start, const OpTicket &)>;
    using ErrorOf = std::function<LoadErrorKind(const OpTicket &)>;

    ScriptedComponent(ManualClock &clock,
                      Service service,
                      ErrorOf error = {},
                      LoadComponentKind kind = LoadComponentKind::Cache)
        : m_clock(clock)
        , m_service(std::move(service))
        , m_error(std::move(error))
        , m_kind(kind)
    {}

    LoadComponentKind kind() const override { return m_kind; }
    bool isAsync() const override { return false; }
    // The real component's names, so results look like the real thing.
    QStringList operationNames() const override
    {
        switch (m_kind) {
        case LoadComponentKind::Cache:
            return {QStringLiteral("get"), QStringLiteral("set"), QStringLiteral("delete"),
                    QStringLiteral("invalidate")};
        case LoadComponentKind::Http:
            return {QStringLiteral("GET"), QStringLiteral("POST")};
        case LoadComponentKind::Execution:
            return {QStringLiteral("NORMAL"), QStringLiteral("HIGH"), QStringLiteral("LOW")};
        }
        return {};
    }
    Status prepare() override { return ok(); }
    void start(const OpTicket &ticket, Completion done) override
    {
        if (onStart)
            onStart(ticket);
        m_clock.advance(m_service(m_clock.monotonic(), ticket));
        OpOutcome outcome;
        outcome.operation = int(ticket.drawBelow(0, quint64(operationNames().size())));
        if (m_error)
            outcome.error = m_error(ticket);
        done(outcome);
    }
    void finish() override {}

    std::function<void(const OpTicket &)> onStart;

private:
    ManualClock &m_clock;
    Service m_service;
    ErrorOf m_error;
    LoadComponentKind m_kind;
};

// Advances the manual clock to the deadline: "sleeping" costs no real time.
inline LoadTestRunner::SleepFunction manualSleeper(ManualClock &clock)
{
    return [&clock](Clock::MonoTime until) {
        const Clock::MonoTime now = clock.monotonic();
        if (until > now)
            clock.advance(until - now);
    };
}

inline std::vector<std::unique_ptr<LoadComponent>> one(std::unique_ptr<LoadComponent> c)
{
    std::vector<std::unique_ptr<LoadComponent>> v;
    v.push_back(std::move(c));
    return v;
}

} // namespace opsdeck::perf::test

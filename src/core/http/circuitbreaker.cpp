#include "core/http/circuitbreaker.h"

#include <algorithm>

namespace opsdeck::http {

CircuitBreaker::CircuitBreaker(Settings settings, const Clock &clock)
    : m_settings(settings)
    , m_clock(clock)
    , m_nextOpenDuration(settings.openDuration)
{}

CircuitBreaker::State CircuitBreaker::state() const
{
    if (!m_open)
        return State::Closed;
    return m_clock.monotonic() < m_openUntil ? State::Open : State::HalfOpen;
}

bool CircuitBreaker::tryAcquire()
{
    switch (state()) {
    case State::Closed:
        return true;
    case State::Open:
        return false;
    case State::HalfOpen:
        if (m_probeInFlight)
            return false;
        m_probeInFlight = true;
        return true;
    }
    return false;
}

void CircuitBreaker::recordSuccess(bool probe)
{
    Q_UNUSED(probe) // any success shows the api answers again
    m_open = false;
    m_probeInFlight = false;
    m_failures = 0;
    m_nextOpenDuration = m_settings.openDuration;
}

void CircuitBreaker::recordFailure(bool probe)
{
    if (m_settings.failureThreshold <= 0)
        return;
    if (m_open) {
        // A probe's failure re-opens it for longer; late failures of attempts sent before it
        // opened change nothing.
        if (probe && m_probeInFlight) {
            m_probeInFlight = false;
            open();
        }
        return;
    }
    if (++m_failures >= m_settings.failureThreshold)
        open();
}

void CircuitBreaker::open()
{
    m_open = true;
    m_openUntil = m_clock.monotonic() + m_nextOpenDuration;
    m_nextOpenDuration
        = std::min<std::chrono::nanoseconds>(m_nextOpenDuration * 2, m_settings.maxOpenDuration);
}

QString CircuitBreaker::toString(State state)
{
    switch (state) {
    case State::Closed:
        return QStringLiteral("closed");
    case State::Open:
        return QStringLiteral("open");
    case State::HalfOpen:
        return QStringLiteral("half_open");
    }
    return {};
}

} // namespace opsdeck::http

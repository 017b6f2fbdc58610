// CircuitBreaker: one api's health switch. Closed: everything goes. After failureThreshold
// consecutive failures (connection errors, timeouts, 5xx) it opens: requests fail at once with
// circuit_open for openDuration. Then it half-opens: exactly one probe goes; its success closes
// the breaker, its failure re-opens it for twice as long (up to maxOpenDuration).
// Not thread-safe: it belongs to the pool's dispatcher thread. Time comes from the Clock.
#pragma once

#include "core/support/clock.h"

#include <QtCore/QString>

#include <chrono>

namespace opsdeck::http {

struct CircuitBreakerSettings
{
    int failureThreshold = 5; // consecutive failures; <= 0 disables the breaker
    std::chrono::milliseconds openDuration{5'000};
    std::chrono::milliseconds maxOpenDuration{60'000};
};

class CircuitBreaker final
{
public:
    enum class State { Closed, Open, HalfOpen };

    using Settings = CircuitBreakerSettings;

    explicit CircuitBreaker(Settings settings = {}, const Clock &clock = Clock::system());

    // Open turns HalfOpen once its time is up.
    State state() const;
    // May an attempt be sent now? Closed: yes. Open: no. HalfOpen: yes for one probe, then no
    // until that probe's outcome is recorded.
    bool tryAcquire();
    bool isProbeInFlight() const { return m_probeInFlight; }
    // `probe`: the outcome of the attempt tryAcquire() let through while half-open.
    void recordSuccess(bool probe = false);
    void recordFailure(bool probe = false);
    // Forget an acquired probe whose attempt never produced an outcome (cancelled, shut down).
    void releaseProbe() { m_probeInFlight = false; }

    Clock::MonoTime openUntil() const { return m_openUntil; }
    int consecutiveFailures() const { return m_failures; }

    static QString toString(State state); // "closed", "open", "half_open"

private:
    void open();

    Settings m_settings;
    const Clock &m_clock;
    bool m_open = false; // Open or HalfOpen
    bool m_probeInFlight = false;
    int m_failures = 0;
    std::chrono::nanoseconds m_nextOpenDuration;
    Clock::MonoTime m_openUntil{0};
};

} // namespace opsdeck::http

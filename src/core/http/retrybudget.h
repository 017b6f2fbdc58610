// RetryBudget: how many retries one api may send, so a failing server is not hammered: retries
// stay within ratio (10 %) of successes plus perSecond (1) per second, with at most `cap`
// saved up (the balance starts full). A token bucket fed by successes and by time.
// Not thread-safe: it belongs to the pool's dispatcher thread. Time comes from the Clock.
#pragma once

#include "core/support/clock.h"

namespace opsdeck::http {

struct RetryBudgetSettings
{
    double ratio = 0.1;     // retry tokens earned per success
    double perSecond = 1.0; // retry tokens earned per second
    double cap = 10.0;      // most tokens saved up (and the starting balance)
};

class RetryBudget final
{
public:
    using Settings = RetryBudgetSettings;

    explicit RetryBudget(Settings settings = {}, const Clock &clock = Clock::system());

    void recordSuccess();
    // Takes one token for a retry; false (nothing taken) when less than one is left.
    bool tryWithdraw();
    double balance() const; // after refilling up to now

private:
    void refill() const;

    Settings m_settings;
    const Clock &m_clock;
    mutable double m_balance;
    mutable Clock::MonoTime m_refilledAt;
};

} // namespace opsdeck::http

#include "core/http/retrybudget.h"

#include <algorithm>

namespace opsdeck::http {

RetryBudget::RetryBudget(Settings settings, const Clock &clock)
    : m_settings(settings)
    , m_clock(clock)
    , m_balance(std::max(0.0, settings.cap))
    , m_refilledAt(clock.monotonic())
{}

void RetryBudget::refill() const
{
    const Clock::MonoTime now = m_clock.monotonic();
    if (now <= m_refilledAt)
        return;
    const double seconds = std::chrono::duration<double>(now - m_refilledAt).count();
    m_balance = std::min(m_settings.cap, m_balance + seconds * m_settings.perSecond);
    m_refilledAt = now;
}

void RetryBudget::recordSuccess()
{
    refill();
    m_balance = std::min(m_settings.cap, m_balance + m_settings.ratio);
}

bool RetryBudget::tryWithdraw()
{
    refill();
    if (m_balance < 1.0 - 1e-9) // ten successes of 0.1 make one token, rounding aside
        return false;
    m_balance = std::max(0.0, m_balance - 1.0);
    return true;
}

double RetryBudget::balance() const
{
    refill();
    return m_balance;
}

} // namespace opsdeck::http

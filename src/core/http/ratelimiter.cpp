#include "core/http/ratelimiter.h"

#include <algorithm>
#include <cmath>

namespace opsdeck::http {

namespace {

constexpr qint64 kMinuteNs = 60'000'000'000;

bool isUrgent(TaskPriority priority)
{
    return priority == TaskPriority::Critical || priority == TaskPriority::High;
}

double sanitizedPerMinute(double perMinute)
{
    return std::isfinite(perMinute) && perMinute > 0.0 ? perMinute : 1.0;
}

} // namespace

RateLimiter::RateLimiter(Limits limits, const Clock &clock)
    : m_clock(clock)
    , m_limits(limits)
{
    m_limits.perMinute = sanitizedPerMinute(m_limits.perMinute);
    m_unitNs = double(kMinuteNs) / m_limits.perMinute;
    m_tatNs = m_clock.monotonic().count();
}

void RateLimiter::setLimits(Limits limits)
{
    limits.perMinute = sanitizedPerMinute(limits.perMinute);
    const std::lock_guard lock(m_mutex);
    if (limits == m_limits)
        return;
    const qint64 now = m_clock.monotonic().count();
    const double debtUnits = double(std::max<qint64>(0, m_tatNs - now)) / m_unitNs;
    m_limits = limits;
    m_unitNs = double(kMinuteNs) / m_limits.perMinute;
    m_tatNs = now + costNsLocked(debtUnits);
}

RateLimiter::Limits RateLimiter::limits() const
{
    const std::lock_guard lock(m_mutex);
    return m_limits;
}

double RateLimiter::burst() const
{
    const std::lock_guard lock(m_mutex);
    return effectiveBurstLocked();
}

double RateLimiter::reservedUnits() const
{
    const std::lock_guard lock(m_mutex);
    return reservedLocked();
}

double RateLimiter::effectiveBurstLocked() const
{
    if (m_limits.burst > 0.0 && std::isfinite(m_limits.burst))
        return m_limits.burst;
    return std::max(1.0, m_limits.perMinute / 60.0);
}

double RateLimiter::reservedLocked() const
{
    const double burst = effectiveBurstLocked();
    if (burst < 2.0)
        return 0.0;
    const double share = std::clamp(m_limits.reservedShare, 0.0, 0.9);
    return std::min(std::floor(burst * share), burst - 1.0);
}

qint64 RateLimiter::laneLimitNsLocked(TaskPriority priority) const
{
    const double units = effectiveBurstLocked() - (isUrgent(priority) ? 0.0 : reservedLocked());
    return costNsLocked(units);
}

qint64 RateLimiter::costNsLocked(double units) const
{
    return qint64(std::llround(units * m_unitNs));
}

RateLimiter::Decision RateLimiter::tryAcquire(double cost, TaskPriority priority)
{
    cost = std::max(0.0, cost);
    const std::lock_guard lock(m_mutex);
    const qint64 now = m_clock.monotonic().count();
    const qint64 inc = costNsLocked(cost);
    const qint64 newTat = std::max(m_tatNs, now) + inc;
    if (now >= m_pausedUntilNs && (newTat - now <= laneLimitNsLocked(priority) || m_tatNs <= now)) {
        m_tatNs = newTat;
        bookLocked(now, cost);
        return {true, Ns(now)};
    }
    return {false, Ns(earliestLocked(now, cost, priority, 0.0))};
}

Clock::MonoTime
RateLimiter::earliestAdmission(double cost, TaskPriority priority, double aheadCost) const
{
    const std::lock_guard lock(m_mutex);
    return Ns(earliestLocked(m_clock.monotonic().count(), std::max(0.0, cost), priority,
                             std::max(0.0, aheadCost)));
}

qint64
RateLimiter::earliestLocked(qint64 now, double cost, TaskPriority priority, double aheadCost) const
{
    const qint64 inc = costNsLocked(cost);
    const qint64 limit = laneLimitNsLocked(priority);
    const qint64 base = std::max(m_tatNs, now) + costNsLocked(aheadCost);
    // Fits when max(tat, t) + inc - t <= limit; a cost above the limit needs a full bucket.
    const qint64 need = inc > limit ? base : base + inc - limit;
    return std::max({now, need, m_pausedUntilNs});
}

double RateLimiter::availableUnits(TaskPriority priority) const
{
    const std::lock_guard lock(m_mutex);
    const qint64 now = m_clock.monotonic().count();
    if (now < m_pausedUntilNs)
        return 0.0;
    const qint64 debt = std::max<qint64>(0, m_tatNs - now);
    return std::max(0.0, double(laneLimitNsLocked(priority) - debt) / m_unitNs);
}

void RateLimiter::pauseUntil(Clock::MonoTime until)
{
    const std::lock_guard lock(m_mutex);
    m_pausedUntilNs = std::max(m_pausedUntilNs, qint64(until.count()));
    m_tatNs = std::max(m_tatNs, m_pausedUntilNs + costNsLocked(effectiveBurstLocked() - 1.0));
}

Clock::MonoTime RateLimiter::pausedUntil() const
{
    const std::lock_guard lock(m_mutex);
    return Ns(m_pausedUntilNs);
}

bool RateLimiter::isPaused() const
{
    const std::lock_guard lock(m_mutex);
    return m_clock.monotonic().count() < m_pausedUntilNs;
}

void RateLimiter::observeUsage(double usedUnits, Clock::MonoTime admittedAt)
{
    if (!std::isfinite(usedUnits) || usedUnits < 0.0)
        return;
    bool pause = false;
    {
        const std::lock_guard lock(m_mutex);
        const qint64 now = m_clock.monotonic().count();
        m_admissions.trim(now);
        m_corrections.trim(now);
        // Ours: what we admitted in the server's window, plus corrections still inside a minute
        // (the server's count includes them too).
        const double ours = m_admissions.unitsIn(admittedAt.count() - kMinuteNs, admittedAt.count())
                            + m_corrections.unitsIn(now - kMinuteNs, now);
        const double extra = usedUnits - ours;
        if (extra >= 1.0) {
            // Book the usage we did not see, at most one minute's worth of debt.
            m_tatNs = std::min(std::max(m_tatNs, now) + costNsLocked(extra), now + kMinuteNs);
            m_corrections.append(now, extra);
        }
        pause = usedUnits >= m_limits.perMinute;
    }
    if (pause) {
        const qint64 wall = m_clock.wallMsecs();
        const qint64 toNextMinuteMs = 60'000 - ((wall % 60'000) + 60'000) % 60'000;
        pauseUntil(m_clock.monotonic() + std::chrono::milliseconds(toNextMinuteMs));
    }
}

quint64 RateLimiter::admittedRequests() const
{
    const std::lock_guard lock(m_mutex);
    return m_admittedRequests;
}

double RateLimiter::admittedUnits() const
{
    const std::lock_guard lock(m_mutex);
    return m_admittedUnits;
}

void RateLimiter::bookLocked(qint64 now, double units)
{
    ++m_admittedRequests;
    m_admittedUnits += units;
    m_admissions.append(now, units);
    m_admissions.trim(now);
}

void RateLimiter::Ledger::append(qint64 when, double units)
{
    m_total += units;
    m_entries.push_back({when, m_total});
}

double RateLimiter::Ledger::cumulativeAt(qint64 t) const
{
    const auto it
        = std::upper_bound(m_entries.begin(), m_entries.end(), t,
                           [](qint64 value, const Entry &entry) { return value < entry.when; });
    return it == m_entries.begin() ? m_base : std::prev(it)->cumulative;
}

double RateLimiter::Ledger::unitsIn(qint64 after, qint64 upTo) const
{
    return std::max(0.0, cumulativeAt(upTo) - cumulativeAt(after));
}

void RateLimiter::Ledger::trim(qint64 now)
{
    // Two minutes: observeUsage() looks one minute back from an admission in the past.
    while (!m_entries.empty() && m_entries.front().when <= now - 2 * kMinuteNs) {
        m_base = m_entries.front().cumulative;
        m_entries.pop_front();
    }
}

} // namespace opsdeck::http

#include "core/perf/loadtestschedule.h"

#include <algorithm>
#include <cmath>

namespace opsdeck::perf {

namespace {
double toSeconds(Clock::Duration d)
{
    return std::chrono::duration<double>(d).count();
}
} // namespace

LoadSchedule::LoadSchedule(double ratePerSecond, Clock::Duration rampUp, Clock::Duration measured)
    : m_rate(std::max(ratePerSecond, 1e-9))
    , m_rampSeconds(std::max(0.0, toSeconds(rampUp)))
    , m_endSeconds(m_rampSeconds + std::max(0.0, toSeconds(measured)))
{
    m_rampOps = countBefore(m_rampSeconds);
    m_totalOps = countBefore(m_endSeconds);
}

double LoadSchedule::offsetSeconds(qint64 k) const
{
    const double rampCount = m_rate * m_rampSeconds / 2.0; // N(T), not necessarily whole
    const double kd = double(k);
    if (kd < rampCount)
        return std::sqrt(2.0 * m_rampSeconds * kd / m_rate);
    return m_rampSeconds + (kd - rampCount) / m_rate;
}

qint64 LoadSchedule::countBefore(double seconds) const
{
    // The inverse of offsetSeconds, then corrected by +-1 for rounding so it agrees with it
    // exactly.
    const double rampCount = m_rate * m_rampSeconds / 2.0;
    double n;
    if (seconds <= m_rampSeconds)
        n = m_rampSeconds > 0 ? m_rate * seconds * seconds / (2.0 * m_rampSeconds) : 0.0;
    else
        n = rampCount + (seconds - m_rampSeconds) * m_rate;
    qint64 k = std::max<qint64>(0, qint64(std::ceil(n)) - 1);
    while (k > 0 && offsetSeconds(k - 1) >= seconds)
        --k;
    while (offsetSeconds(k) < seconds)
        ++k;
    return k;
}

std::optional<Clock::Duration> LoadSchedule::intendedOffset(qint64 k) const
{
    if (k < 0 || k >= m_totalOps)
        return std::nullopt;
    return Clock::Duration(qint64(std::llround(offsetSeconds(k) * 1e9)));
}

Clock::Duration LoadSchedule::workerStartOffset(int worker, int workers, Clock::Duration rampUp)
{
    if (workers <= 0 || worker <= 0)
        return Clock::Duration(0);
    return Clock::Duration(qint64(double(rampUp.count()) * double(worker) / double(workers)));
}

} // namespace opsdeck::perf

#include "market/weightwindow.h"

#include "core/support/clock.h"

namespace opsdeck::market {

WeightWindow::WeightWindow(const Clock &clock)
    : m_clock(clock)
{}

void WeightWindow::roll(qint64 nowMs, qint64 windowMs) const
{
    qint64 start = nowMs - nowMs % windowMs;
    if (nowMs < 0 && nowMs % windowMs != 0)
        start -= windowMs;
    if (start != m_windowStart || windowMs != m_windowMs) {
        m_windowStart = start;
        m_windowMs = windowMs;
        m_used = 0;
    }
}

WeightWindow::Admission WeightWindow::admit(int weight, qint64 limit, qint64 windowMs)
{
    const qint64 now = m_clock.wallMsecs();
    QMutexLocker lock(&m_mutex);
    roll(now, qMax<qint64>(1, windowMs));
    Admission a;
    if (m_used + weight > limit) {
        a.admitted = false;
        a.usedWeight = m_used;
        const qint64 left = m_windowStart + m_windowMs - now;
        a.retryAfterSeconds = int(qMax<qint64>(1, (left + 999) / 1000));
        return a;
    }
    m_used += weight;
    a.usedWeight = m_used;
    return a;
}

qint64 WeightWindow::usedWeight(qint64 windowMs) const
{
    const qint64 now = m_clock.wallMsecs();
    QMutexLocker lock(&m_mutex);
    roll(now, qMax<qint64>(1, windowMs));
    return m_used;
}

} // namespace opsdeck::market

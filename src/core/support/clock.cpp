#include "core/support/clock.h"

namespace opsdeck {

const Clock &Clock::system()
{
    static const SystemClock clock;
    return clock;
}

Clock::MonoTime SystemClock::monotonic() const
{
    return std::chrono::duration_cast<MonoTime>(
        std::chrono::steady_clock::now().time_since_epoch());
}

qint64 SystemClock::wallMsecs() const
{
    return QDateTime::currentMSecsSinceEpoch();
}

ManualClock::ManualClock(qint64 wallMsecsAtStart, MonoTime monotonicAtStart)
    : m_mono(monotonicAtStart.count())
    , m_wallMs(wallMsecsAtStart)
{}

void ManualClock::advance(Duration by)
{
    Q_ASSERT(by.count() >= 0);
    const qint64 before = m_mono.fetch_add(by.count());
    // Keep the wall clock in step at millisecond resolution without accumulating rounding.
    const qint64 after = before + by.count();
    const qint64 msSteps = after / 1'000'000 - before / 1'000'000;
    m_wallMs.fetch_add(msSteps);
}

} // namespace opsdeck

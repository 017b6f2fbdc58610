// Clock: the one source of time for core logic. Use Clock::system() in production and a
// ManualClock in tests, so TTLs, rate limits, alerts and schedules are tested without sleeping.
#pragma once

#include <QtCore/QDateTime>

#include <atomic>
#include <chrono>

namespace opsdeck {

// Thread-safe; an instance lives as long as the parts that hold a reference to it.
class Clock
{
public:
    using Duration = std::chrono::nanoseconds;
    // A point on the monotonic clock, as the time since an arbitrary fixed epoch.
    using MonoTime = std::chrono::nanoseconds;

    virtual ~Clock() = default;

    // Monotonic time: never goes back, unaffected by wall-clock changes.
    virtual MonoTime monotonic() const = 0;
    // Wall time in milliseconds since the Unix epoch (UTC).
    virtual qint64 wallMsecs() const = 0;

    QDateTime wallTime() const
    {
        return QDateTime::fromMSecsSinceEpoch(wallMsecs(), Qt::UTC);
    }

    // The process-wide real clock (stateless, so sharing it is safe).
    static const Clock &system();
};

// The real clock: std::chrono::steady_clock and the system's wall clock.
class SystemClock final : public Clock
{
public:
    MonoTime monotonic() const override;
    qint64 wallMsecs() const override;
};

// A clock that moves only when told. Monotonic and wall time advance together.
class ManualClock final : public Clock
{
public:
    explicit ManualClock(qint64 wallMsecsAtStart = 1'798'761'600'000 /* 2027-01-01T00:00Z */,
                         MonoTime monotonicAtStart = std::chrono::hours(1));

    MonoTime monotonic() const override { return MonoTime(m_mono.load()); }
    qint64 wallMsecs() const override { return m_wallMs.load(); }

    void advance(Duration by);
    // Jumps the wall clock only (as an NTP step would); monotonic time is untouched.
    void setWallMsecs(qint64 msecs) { m_wallMs.store(msecs); }

private:
    std::atomic<qint64> m_mono;
    std::atomic<qint64> m_wallMs;
};

} // namespace opsdeck

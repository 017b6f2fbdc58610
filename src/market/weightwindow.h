// WeightWindow: the exchange's request-weight limit as a fixed window on the market clock
// (the exchange counts per calendar minute; the window length is a setting so tests and the
// integration run can use a few seconds). A request whose weight would exceed the limit is
// refused and not counted. Thread-safe (one mutex); the clock must outlive it.
//
//     WeightWindow w(clock);
//     const auto a = w.admit(5, 6000, 60'000);   // a.admitted, a.usedWeight, a.retryAfterSeconds
#pragma once

#include <QtCore/QMutex>
#include <QtCore/QtGlobal>

namespace opsdeck {
class Clock;
}

namespace opsdeck::market {

class WeightWindow final
{
public:
    struct Admission
    {
        bool admitted = true;
        qint64 usedWeight = 0;     // in the current window, after this request
        int retryAfterSeconds = 0; // when refused: whole seconds until the window ends (>= 1)
    };

    explicit WeightWindow(const Clock &clock);

    Admission admit(int weight, qint64 limit, qint64 windowMs);
    // The weight used in the current window (0 once it has passed).
    qint64 usedWeight(qint64 windowMs) const;

private:
    void roll(qint64 nowMs, qint64 windowMs) const;

    const Clock &m_clock;
    mutable QMutex m_mutex;
    mutable qint64 m_windowStart = 0;
    mutable qint64 m_windowMs = 0;
    mutable qint64 m_used = 0;
};

} // namespace opsdeck::market

#include "ui/eventlooplagprobe.h"

#include <algorithm>

namespace opsdeck::ui {

EventLoopLagProbe::EventLoopLagProbe(int intervalMs, QObject *parent)
    : QObject(parent)
    , m_intervalMs(intervalMs)
    // Lags up to one minute, in nanoseconds.
    , m_histogram(60'000'000'000LL, 3)
{
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &EventLoopLagProbe::tick);
    m_elapsed.start();
    m_expectedNs = qint64(m_intervalMs) * 1'000'000;
    m_timer.start(m_intervalMs);
}

void EventLoopLagProbe::tick()
{
    const qint64 now = m_elapsed.nsecsElapsed();
    m_histogram.record(std::max<qint64>(0, now - m_expectedNs));
    m_expectedNs = now + qint64(m_intervalMs) * 1'000'000;
}

double EventLoopLagProbe::lagMsAtPercentile(double percentile) const
{
    return double(m_histogram.snapshot().valueAtPercentile(percentile)) / 1e6;
}

qint64 EventLoopLagProbe::samples() const
{
    return qint64(m_histogram.snapshot().count());
}

} // namespace opsdeck::ui

// EventLoopLagProbe: measures how late the GUI thread's event loop serves a precise timer (the
// lag a user feels as a stutter) into a LatencyHistogram. GUI thread; cheap (one timer).
#pragma once

#include "core/support/latencyhistogram.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QTimer>

namespace opsdeck::ui {

class EventLoopLagProbe final : public QObject
{
    Q_OBJECT

public:
    explicit EventLoopLagProbe(int intervalMs = 20, QObject *parent = nullptr);

    // Lag in milliseconds at a percentile, over everything measured so far.
    double lagMsAtPercentile(double percentile) const;
    qint64 samples() const;
    const LatencyHistogram &histogram() const { return m_histogram; }

private:
    void tick();

    int m_intervalMs;
    QTimer m_timer;
    QElapsedTimer m_elapsed;
    qint64 m_expectedNs = 0;
    LatencyHistogram m_histogram;
};

} // namespace opsdeck::ui

// SystemChart: the live chart of process and system CPU and memory over the last five minutes.
// Redraws from each published snapshot with one replace() per series and tick, no animations,
// nothing while hidden. GUI thread.
#pragma once

#include "core/monitor/metricssnapshot.h"

#include <QtCharts/QChartView>

class QLineSeries;
class QDateTimeAxis;
class QValueAxis;

namespace opsdeck::ui {

class SystemChart final : public QChartView
{
    Q_OBJECT

public:
    static constexpr qint64 kWindowMs = 5 * 60 * 1000;

    explicit SystemChart(QWidget *parent = nullptr);

    void showSnapshot(const opsdeck::SnapshotPtr &snapshot);
    // Points currently drawn per series (process CPU, system CPU, process memory, system memory).
    QList<int> pointCounts() const;

protected:
    void showEvent(QShowEvent *event) override;

private:
    void redraw();

    QLineSeries *m_processCpu;
    QLineSeries *m_systemCpu;
    QLineSeries *m_processMemory;
    QLineSeries *m_systemMemory;
    QDateTimeAxis *m_timeAxis;
    QValueAxis *m_percentAxis;
    SnapshotPtr m_pending;
};

} // namespace opsdeck::ui

#include "ui/charts/systemchart.h"

#include <QtCharts/QChart>
#include <QtCharts/QDateTimeAxis>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>

#include <algorithm>
#include <cmath>

namespace opsdeck::ui {

SystemChart::SystemChart(QWidget *parent)
    // Hand the chart to the constructor: setChart() would release (leak) the view's default one.
    : QChartView(new QChart, parent)
    , m_processCpu(new QLineSeries)
    , m_systemCpu(new QLineSeries)
    , m_processMemory(new QLineSeries)
    , m_systemMemory(new QLineSeries)
    , m_timeAxis(new QDateTimeAxis)
    , m_percentAxis(new QValueAxis)
{
    QChart *chart = this->chart();
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->setTitle(tr("CPU and memory, last 5 minutes"));
    m_processCpu->setName(tr("Process CPU %"));
    m_systemCpu->setName(tr("System CPU %"));
    m_processMemory->setName(tr("Process memory %"));
    m_systemMemory->setName(tr("System memory %"));
    m_timeAxis->setFormat(QStringLiteral("HH:mm:ss"));
    m_timeAxis->setTitleText(tr("Time"));
    m_timeAxis->setTickCount(6);
    m_percentAxis->setRange(0, 100);
    m_percentAxis->setLabelFormat(QStringLiteral("%.0f"));
    m_percentAxis->setTitleText(tr("Percent"));
    chart->addAxis(m_timeAxis, Qt::AlignBottom);
    chart->addAxis(m_percentAxis, Qt::AlignLeft);
    for (QLineSeries *series : {m_processCpu, m_systemCpu, m_processMemory, m_systemMemory}) {
        series->setUseOpenGL(false);
        chart->addSeries(series);
        series->attachAxis(m_timeAxis);
        series->attachAxis(m_percentAxis);
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(now - kWindowMs),
                         QDateTime::fromMSecsSinceEpoch(now));
    setRenderHint(QPainter::Antialiasing, true);
    setMinimumSize(480, 300);
}

void SystemChart::showSnapshot(const SnapshotPtr &snapshot)
{
    m_pending = snapshot;
    if (isVisible())
        redraw();
}

void SystemChart::showEvent(QShowEvent *event)
{
    QChartView::showEvent(event);
    redraw();
}

void SystemChart::redraw()
{
    if (!m_pending)
        return;
    const MetricsSnapshot &snapshot = *m_pending;
    const qint64 end = snapshot.timestampMs;
    const qint64 begin = end - kWindowMs;
    QList<QPointF> processCpu, systemCpu, processMemory, systemMemory;
    double maxValue = 100.0;
    for (const SystemSample &sample : snapshot.system) {
        if (sample.timestampMs < begin)
            continue;
        const auto x = double(sample.timestampMs);
        processCpu.append({x, sample.process.cpuPercent});
        systemCpu.append({x, sample.system.cpuPercent});
        processMemory.append({x, sample.process.memoryPercent});
        systemMemory.append({x, sample.system.memoryPercent});
        maxValue = std::max(maxValue, sample.process.cpuPercent);
    }
    m_processCpu->replace(processCpu);
    m_systemCpu->replace(systemCpu);
    m_processMemory->replace(processMemory);
    m_systemMemory->replace(systemMemory);
    m_timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(begin), QDateTime::fromMSecsSinceEpoch(end));
    // Process CPU passes 100 % on several busy cores: grow the axis in steps of 100.
    m_percentAxis->setMax(std::ceil(maxValue / 100.0) * 100.0);
    m_pending.reset();
}

QList<int> SystemChart::pointCounts() const
{
    return {int(m_processCpu->count()), int(m_systemCpu->count()), int(m_processMemory->count()),
            int(m_systemMemory->count())};
}

} // namespace opsdeck::ui

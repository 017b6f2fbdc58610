// MainWindow: the console's main window: the live system chart, a status bar with the API
// address, the last sample time and the event loop's lag, and remembered geometry (state.ini).
// GUI thread. It draws snapshots it is handed; it never reads files or sockets itself.
#pragma once

#include "core/monitor/metricssnapshot.h"

#include <QtWidgets/QMainWindow>

class QLabel;

namespace opsdeck::ui {

class EventLoopLagProbe;
class SystemChart;
class UiState;

class MainWindow final : public QMainWindow
{
    Q_OBJECT

public:
    MainWindow(QString apiUrl, UiState &state, QWidget *parent = nullptr);
    ~MainWindow() override;

    SystemChart *systemChart() const { return m_chart; }
    EventLoopLagProbe *lagProbe() const { return m_lagProbe; }
    QString statusText() const;

public Q_SLOTS:
    void showSnapshot(const opsdeck::SnapshotPtr &snapshot);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void updateLagLabel();

    UiState &m_state;
    SystemChart *m_chart;
    EventLoopLagProbe *m_lagProbe;
    QLabel *m_apiLabel;
    QLabel *m_sampleLabel;
    QLabel *m_lagLabel;
};

} // namespace opsdeck::ui

#include "ui/mainwindow.h"

#include "ui/charts/systemchart.h"
#include "ui/eventlooplagprobe.h"
#include "ui/uistate.h"

#include <QtGui/QCloseEvent>
#include <QtGui/QKeySequence>
#include <QtWidgets/QApplication>
#include <QtWidgets/QLabel>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QStatusBar>

namespace opsdeck::ui {

namespace {
const Preference<QByteArray> kGeometry{"mainwindow/geometry"};
const Preference<QByteArray> kWindowState{"mainwindow/state"};
} // namespace

MainWindow::MainWindow(QString apiUrl, UiState &state, QWidget *parent)
    : QMainWindow(parent)
    , m_state(state)
    , m_chart(new SystemChart(this))
    , m_lagProbe(new EventLoopLagProbe(20, this))
    , m_apiLabel(new QLabel(this))
    , m_sampleLabel(new QLabel(tr("Waiting for the first sample…"), this))
    , m_lagLabel(new QLabel(this))
{
    setWindowTitle(tr("OpsDeck"));
    setCentralWidget(m_chart);

    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *quit = file->addAction(tr("&Quit"), qApp, &QApplication::quit);
    quit->setShortcut(QKeySequence::Quit);
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About OpsDeck"), this, [this] {
        QMessageBox::about(this, tr("About OpsDeck"),
                           tr("<b>OpsDeck %1</b><p>Operations console and runtime for trading "
                              "agents.</p><p>Licensed under the GNU GPL version 3.</p>")
                               .arg(QStringLiteral(OPSDECK_VERSION_STRING)));
    });

    m_apiLabel->setText(apiUrl.isEmpty() ? tr("API: off") : tr("API: %1").arg(apiUrl));
    m_apiLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusBar()->addWidget(m_sampleLabel, 1);
    statusBar()->addPermanentWidget(m_lagLabel);
    statusBar()->addPermanentWidget(m_apiLabel);
    updateLagLabel();

    const QByteArray geometry = kGeometry.get(m_state);
    if (geometry.isEmpty() || !restoreGeometry(geometry))
        resize(1000, 640);
    restoreState(kWindowState.get(m_state));
}

MainWindow::~MainWindow() = default;

void MainWindow::showSnapshot(const SnapshotPtr &snapshot)
{
    if (!snapshot)
        return;
    m_chart->showSnapshot(snapshot);
    if (const SystemSample *latest = snapshot->latestSystem()) {
        m_sampleLabel->setText(
            tr("Last sample %1 · process CPU %2 % · system CPU %3 % · memory %4 %")
                .arg(QDateTime::fromMSecsSinceEpoch(latest->timestampMs).toString(QStringLiteral("HH:mm:ss")))
                .arg(latest->process.cpuPercent, 0, 'f', 1)
                .arg(latest->system.cpuPercent, 0, 'f', 1)
                .arg(latest->system.memoryPercent, 0, 'f', 1));
    } else if (!snapshot->systemError.isEmpty()) {
        m_sampleLabel->setText(tr("System metrics unavailable: %1").arg(snapshot->systemError));
    }
    updateLagLabel();
}

QString MainWindow::statusText() const
{
    return m_sampleLabel->text() + u" | " + m_lagLabel->text() + u" | " + m_apiLabel->text();
}

void MainWindow::updateLagLabel()
{
    m_lagLabel->setText(tr("Event loop lag p99: %1 ms").arg(m_lagProbe->lagMsAtPercentile(99.0), 0, 'f', 1));
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    kGeometry.set(m_state, saveGeometry());
    kWindowState.set(m_state, saveState());
    m_state.sync();
    QMainWindow::closeEvent(event);
}

} // namespace opsdeck::ui

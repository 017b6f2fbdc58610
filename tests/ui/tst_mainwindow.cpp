#include "ui/charts/systemchart.h"
#include "ui/eventlooplagprobe.h"
#include "ui/mainwindow.h"
#include "ui/uistate.h"

#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>
#include <QtWidgets/QApplication>

using namespace opsdeck;
using namespace opsdeck::ui;

namespace {

SnapshotPtr makeSnapshot(int samples, qint64 endMs, qint64 stepMs = 1000)
{
    auto snapshot = std::make_shared<MetricsSnapshot>();
    snapshot->sequence = 1;
    snapshot->monitorRunning = true;
    snapshot->timestampMs = endMs;
    for (int i = samples - 1; i >= 0; --i) {
        SystemSample s;
        s.timestampMs = endMs - i * stepMs;
        s.process.cpuPercent = 10 + i % 5;
        s.system.cpuPercent = 20;
        s.process.memoryPercent = 1;
        s.system.memoryPercent = 50;
        snapshot->system.push_back(s);
    }
    return snapshot;
}

} // namespace

class TstMainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void chartShowsOnlyLastFiveMinutes()
    {
        QTemporaryDir tmp;
        UiState state(tmp.filePath(QStringLiteral("state.ini")));
        MainWindow window(QStringLiteral("http://127.0.0.1:8765"), state);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        // 400 samples a second apart: only the last 301 (0..300 s back) are in the window.
        window.showSnapshot(makeSnapshot(400, 1'800'000'000'000));
        const QList<int> counts = window.systemChart()->pointCounts();
        QCOMPARE(counts.size(), 4);
        for (int count : counts)
            QCOMPARE(count, 301);
        QVERIFY(window.statusText().contains(QStringLiteral("http://127.0.0.1:8765")));
        QVERIFY(window.statusText().contains(QStringLiteral("Last sample")));
    }

    void hiddenChartDrawsWhenShown()
    {
        SystemChart chart;
        chart.showSnapshot(makeSnapshot(10, 1'800'000'000'000));
        QCOMPARE(chart.pointCounts().first(), 0);
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        QCOMPARE(chart.pointCounts().first(), 10);
    }

    void geometryIsRemembered()
    {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("state.ini"));
        {
            UiState state(path);
            MainWindow window(QString(), state);
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.resize(777, 555);
            window.close();
        }
        QVERIFY(QFileInfo::exists(path));
        UiState state(path);
        MainWindow again(QString(), state);
        QCOMPARE(again.size(), QSize(777, 555));
    }

    void lagProbeMeasures()
    {
        EventLoopLagProbe probe(5);
        QTRY_VERIFY_WITH_TIMEOUT(probe.samples() >= 5, 10000);
        QVERIFY(probe.lagMsAtPercentile(50) >= 0.0);
    }
};

QTEST_MAIN(TstMainWindow)
#include "tst_mainwindow.moc"

#include "core/monitor/performancemonitor.h"

#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

using namespace opsdeck;
using namespace std::chrono_literals;

namespace {

SystemProbe::Options realProbe()
{
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    return options;
}

} // namespace

class TstPerformanceMonitor : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { qRegisterMetaType<SnapshotPtr>(); }

    void nothingBeforeFirstSample()
    {
        PerformanceMonitor monitor(realProbe(), {});
        QVERIFY(!monitor.latestSnapshot());
        QVERIFY(!monitor.isRunning());
    }

    void sampleNowPublishesTypedSnapshot()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        QSignalSpy spy(&monitor, &PerformanceMonitor::snapshotPublished);
        monitor.sampleNow();
        QCOMPARE(spy.size(), 1);
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot);
        QCOMPARE(snapshot->sequence, quint64(1));
        QCOMPARE(snapshot->timestampMs, clock.wallMsecs());
        QCOMPARE(snapshot->system.size(), size_t(1));
        QVERIFY(snapshot->systemError.isEmpty());
        QVERIFY(snapshot->latestSystem()->process.memoryRss > 0);
        QCOMPARE(spy.first().first().value<SnapshotPtr>(), snapshot);
    }

    void ringIsBoundedAndOldestFirst()
    {
        ManualClock clock;
        PerformanceMonitor::Settings settings;
        settings.collectionIntervalSeconds = 1.0;
        settings.memoryRetentionSeconds = 5.0;
        PerformanceMonitor monitor(realProbe(), settings, clock);
        QCOMPARE(monitor.ringCapacity(), 5);
        for (int i = 0; i < 8; ++i) {
            monitor.sampleNow();
            clock.advance(1s);
        }
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QCOMPARE(snapshot->system.size(), size_t(5));
        QCOMPARE(snapshot->sequence, quint64(8));
        for (size_t i = 1; i < snapshot->system.size(); ++i)
            QCOMPARE(snapshot->system[i].timestampMs - snapshot->system[i - 1].timestampMs, qint64(1000));
    }

    void publishedSnapshotsNeverChange()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        monitor.sampleNow();
        const SnapshotPtr first = monitor.latestSnapshot();
        clock.advance(1s);
        monitor.sampleNow();
        QCOMPARE(first->system.size(), size_t(1));
        QCOMPARE(first->sequence, quint64(1));
        QCOMPARE(monitor.latestSnapshot()->system.size(), size_t(2));
    }

    void shrinkingRetentionTrimsRing()
    {
        ManualClock clock;
        PerformanceMonitor monitor(realProbe(), {}, clock);
        for (int i = 0; i < 10; ++i) {
            monitor.sampleNow();
            clock.advance(1s);
        }
        PerformanceMonitor::Settings smaller;
        smaller.memoryRetentionSeconds = 3.0;
        monitor.applySettings(smaller);
        monitor.sampleNow();
        QCOMPARE(monitor.latestSnapshot()->system.size(), size_t(3));
    }

    void failingProbeGivesErrorNotCrash()
    {
        SystemProbe::Options broken;
        broken.procRoot = QStringLiteral("/nonexistent-proc");
        broken.selfDir = QStringLiteral("/nonexistent-proc/self");
        broken.diskPath = QDir::tempPath();
        PerformanceMonitor monitor(broken, {});
        monitor.sampleNow();
        const SnapshotPtr snapshot = monitor.latestSnapshot();
        QVERIFY(snapshot);
        QVERIFY(snapshot->system.empty());
        QVERIFY(!snapshot->systemError.isEmpty());
    }

    void runsInItsOwnThread()
    {
        QThread thread;
        PerformanceMonitor::Settings settings;
        settings.collectionIntervalSeconds = 0.05;
        auto *monitor = new PerformanceMonitor(realProbe(), settings);
        monitor->moveToThread(&thread);
        connect(&thread, &QThread::finished, monitor, &QObject::deleteLater);
        QSignalSpy spy(monitor, &PerformanceMonitor::snapshotPublished);
        thread.start();
        QMetaObject::invokeMethod(monitor, &PerformanceMonitor::start, Qt::QueuedConnection);
        // The first sample comes at once, then one per interval: wait for three.
        QTRY_VERIFY_WITH_TIMEOUT(spy.size() >= 3, 10000);
        QVERIFY(monitor->isRunning());
        const SnapshotPtr latest = monitor->latestSnapshot();
        QVERIFY(latest->monitorRunning);
        QVERIFY(latest->sequence >= 3);
        QMetaObject::invokeMethod(monitor, &PerformanceMonitor::stop, Qt::BlockingQueuedConnection);
        QVERIFY(!monitor->isRunning());
        QVERIFY(!monitor->latestSnapshot()->monitorRunning);
        thread.quit();
        QVERIFY(thread.wait(5000));
    }
};

QTEST_GUILESS_MAIN(TstPerformanceMonitor)
#include "tst_performancemonitor.moc"

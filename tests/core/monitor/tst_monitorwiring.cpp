// The Runtime hands the monitor a provider for every part: one tick samples all four categories.
#include "core/monitor/metricsjson.h"
#include "core/runtime/datadir.h"
#include "core/runtime/runtime.h"

#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace opsdeck;

class TstMonitorWiring : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void runtimeWiresEveryCategory()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto dataDir = DataDir::open(tmp.path());
        QVERIFY(dataDir);
        ManualClock clock;
        Runtime runtime(RuntimeConfig{}, **dataDir, clock);
        // Not started: the monitor still lives in this thread, so a tick can be taken here.
        runtime.monitor().sampleNow();
        clock.advance(std::chrono::seconds(1));
        runtime.monitor().sampleNow();
        const SnapshotPtr snapshot = runtime.monitor().latestSnapshot();
        QVERIFY(snapshot);
        QVERIFY2(snapshot->currentSystem(), qPrintable(snapshot->systemError));
        QVERIFY2(snapshot->currentCache(), qPrintable(snapshot->cacheError));
        QVERIFY2(snapshot->currentHttp(), qPrintable(snapshot->httpError));
        QVERIFY2(snapshot->currentExecution(), qPrintable(snapshot->executionError));
        QVERIFY(snapshot->currentCache()->preloader); // the preloader answered too
        QVERIFY(snapshot->currentExecution()->scheduler.present);
        QCOMPARE(snapshot->currentHttp()->poolSize, 20);
        for (const QString &category : metricsjson::categories()) {
            const QJsonObject sample = metricsjson::currentSampleJson(*snapshot, category);
            QVERIFY2(!sample.contains(QStringLiteral("error")), qPrintable(category));
            QVERIFY(sample.value(QStringLiteral("interval")).isObject()
                    || category == u"system");
            QCOMPARE(snapshot->latestValues.value(category + u".error", -1), 0.0);
        }
    }
};

QTEST_GUILESS_MAIN(TstMonitorWiring)
#include "tst_monitorwiring.moc"

// `opsdeck-loadtest --self-check` against the real embedded simulator with a 1 s stall every
// 5 s (about 10 s of real time; ctest label `timing`: the tool scales its tolerance by
// OPSDECK_TIME_FACTOR, which the child inherits). The corrected p99 must land near the queue
// replay's expectation and the uncorrected p99 well below it.
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtTest/QtTest>

class TestLoadTestSelfCheck : public QObject
{
    Q_OBJECT

private slots:
    void selfCheckPasses()
    {
        QProcess p;
        p.start(QStringLiteral(OPSDECK_LOADTEST_BIN),
                {QStringLiteral("--self-check"), QStringLiteral("--log-level"),
                 QStringLiteral("WARNING")});
        QVERIFY(p.waitForFinished(120'000));
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        qInfo().noquote() << out;
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(out.contains(u"Self-check PASSED"));
        auto figure = [&](const QString &label) {
            const QRegularExpressionMatch m
                = QRegularExpression(QRegularExpression::escape(label)
                                     + QStringLiteral("\\s+([0-9.]+) ms"))
                      .match(out);
            return m.hasMatch() ? m.captured(1).toDouble() : -1.0;
        };
        const double corrected = figure(QStringLiteral("corrected p99 (histogram)"));
        const double raw = figure(QStringLiteral("corrected p99 (raw samples, exact)"));
        const double uncorrected = figure(QStringLiteral("uncorrected p99 (from actual start)"));
        QVERIFY(corrected > 500.0); // the stall shows when corrected ...
        QVERIFY(uncorrected >= 0.0 && uncorrected < corrected / 2); // ... and hides when not
        QVERIFY(std::abs(raw - corrected) <= 0.002 * raw + 0.1);
    }
};

QTEST_GUILESS_MAIN(TestLoadTestSelfCheck)
#include "tst_loadtestselfcheck.moc"

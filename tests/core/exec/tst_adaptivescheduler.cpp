#include "core/exec/adaptivescheduler.h"

#include <QtTest/QtTest>

using namespace opsdeck::exec;
using namespace std::chrono_literals;

namespace {

class FixedLoad final : public LoadSource
{
public:
    std::optional<SystemLoad> load;
    std::optional<SystemLoad> currentLoad() const override { return load; }
};

class FixedMarket final : public MarketConditionSource
{
public:
    std::optional<MarketCondition> condition;
    std::optional<MarketCondition> marketCondition(const QString &) const override
    {
        return condition;
    }
};

SystemLoad uniformLoad(double v)
{
    SystemLoad l;
    l.cpu = l.memory = l.network = l.io = v;
    return l;
}

} // namespace

class TestAdaptiveScheduler : public QObject
{
    Q_OBJECT
private slots:
    void neutralStateReturnsBaseInterval()
    {
        AdaptiveScheduler s;
        QCOMPARE(s.nextInterval(QStringLiteral("a"), QStringLiteral("cycle"), 5.0), 5.0);
        // Mean duration == target (0.1 × base), no failures, default market and load.
        for (int i = 0; i < 10; ++i)
            s.recordRun(QStringLiteral("a"), QStringLiteral("cycle"), 500ms, RunOutcome::Completed);
        const auto d = s.decide(QStringLiteral("a"), QStringLiteral("cycle"), 5.0);
        QCOMPARE(d.performance, 1.0);
        QCOMPARE(d.market, 1.0);
        QCOMPARE(d.system, 1.0);
        QCOMPARE(d.interval, 5.0);
    }

    void reliability_data()
    {
        QTest::addColumn<int>("timeouts");
        QTest::addColumn<int>("errors");
        QTest::addColumn<double>("expected");
        QTest::newRow("clean") << 0 << 0 << 1.0;
        QTest::newRow("1 timeout") << 1 << 0 << 0.9;
        QTest::newRow("2 errors") << 0 << 2 << 0.8;
        QTest::newRow("3+3") << 3 << 3 << 0.4;
        QTest::newRow("capped at 0.5 each, floor") << 5 << 5 << 0.25;
    }
    void reliability()
    {
        QFETCH(int, timeouts);
        QFETCH(int, errors);
        QFETCH(double, expected);
        AdaptiveScheduler s;
        const QString a = QStringLiteral("a"), t = QStringLiteral("t");
        for (int i = 0; i < timeouts; ++i)
            s.recordRun(a, t, 1s, RunOutcome::TimedOut);
        for (int i = 0; i < errors; ++i)
            s.recordRun(a, t, 1s, RunOutcome::Failed);
        QVERIFY(qAbs(s.reliability(a, t) - expected) < 1e-9);
    }

    void onlyLastTenRunsCount()
    {
        AdaptiveScheduler s;
        const QString a = QStringLiteral("a"), t = QStringLiteral("t");
        for (int i = 0; i < 5; ++i)
            s.recordRun(a, t, 1s, RunOutcome::Failed);
        for (int i = 0; i < 10; ++i)
            s.recordRun(a, t, 1s, RunOutcome::Completed);
        QCOMPARE(s.reliability(a, t), 1.0);
    }

    void formula_data()
    {
        QTest::addColumn<double>("meanSeconds"); // durations recorded (completed)
        QTest::addColumn<double>("activity");    // volatility = volume = activity
        QTest::addColumn<double>("load");
        QTest::addColumn<double>("expected"); // base 10 s
        // P = clamp(mean / 1 s, 0.5, 2); M = 1.5 − activity; S = 0.5 + load
        QTest::newRow("slow cycles") << 4.0 << 0.5 << 0.5 << 10 * (0.4 * 2 + 0.4 + 0.2);
        QTest::newRow("fast cycles") << 0.1 << 0.5 << 0.5 << 10 * (0.4 * 0.5 + 0.4 + 0.2);
        QTest::newRow("busy market") << 1.0 << 1.0 << 0.5 << 10 * (0.4 + 0.4 * 0.5 + 0.2);
        QTest::newRow("calm market") << 1.0 << 0.0 << 0.5 << 10 * (0.4 + 0.4 * 1.5 + 0.2);
        QTest::newRow("loaded system") << 1.0 << 0.5 << 1.0 << 10 * (0.4 + 0.4 + 0.2 * 1.5);
        QTest::newRow("idle system") << 1.0 << 0.5 << 0.0 << 10 * (0.4 + 0.4 + 0.2 * 0.5);
    }
    void formula()
    {
        QFETCH(double, meanSeconds);
        QFETCH(double, activity);
        QFETCH(double, load);
        QFETCH(double, expected);
        AdaptiveScheduler s;
        FixedLoad loadSource;
        loadSource.load = uniformLoad(load);
        FixedMarket market;
        MarketCondition c;
        c.volatility = c.tradingVolume = activity;
        market.condition = c;
        s.setLoadSource(&loadSource);
        s.setMarketConditionSource(&market);
        const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(meanSeconds));
        for (int i = 0; i < 3; ++i)
            s.recordRun(QStringLiteral("a"), QStringLiteral("cycle"), d, RunOutcome::Completed);
        QVERIFY(qAbs(s.nextInterval(QStringLiteral("a"), QStringLiteral("cycle"), 10.0) - expected)
                < 1e-9);
    }

    void unreliabilityStretchesTheInterval()
    {
        AdaptiveScheduler s;
        const QString a = QStringLiteral("a"), t = QStringLiteral("cycle");
        for (int i = 0; i < 5; ++i)
            s.recordRun(a, t, 1s, RunOutcome::Failed); // mean 1 s == target for base 10 s
        const auto d = s.decide(a, t, 10.0);
        QCOMPARE(d.reliability, 0.5);
        QCOMPARE(d.performance, 2.0);
        QVERIFY(qAbs(d.interval - 10 * (0.8 + 0.4 + 0.2)) < 1e-9);
    }

    void clampedToMinAndMax_data()
    {
        QTest::addColumn<double>("base");
        QTest::addColumn<double>("expected");
        QTest::newRow("below min") << 0.2 << 1.0;
        QTest::newRow("above max") << 10000.0 << 3600.0;
    }
    void clampedToMinAndMax()
    {
        QFETCH(double, base);
        QFETCH(double, expected);
        AdaptiveScheduler s;
        QCOMPARE(s.nextInterval(QStringLiteral("a"), QStringLiteral("t"), base), expected);
    }

    void sourceWithoutDataIsNeutral()
    {
        AdaptiveScheduler s;
        FixedLoad load;     // nullopt
        FixedMarket market; // nullopt
        s.setLoadSource(&load);
        s.setMarketConditionSource(&market);
        QCOMPARE(s.nextInterval(QStringLiteral("a"), QStringLiteral("t"), 7.0), 7.0);
    }

    void statsNameTheKeys()
    {
        AdaptiveScheduler s;
        s.recordRun(QStringLiteral("mm1"), QStringLiteral("cycle"), 200ms, RunOutcome::TimedOut);
        s.decide(QStringLiteral("mm1"), QStringLiteral("cycle"), 5.0);
        const QJsonObject j = s.stats();
        QCOMPARE(j.value(QStringLiteral("tracked_keys")).toInt(), 1);
        QCOMPARE(j.value(QStringLiteral("decisions")).toInt(), 1);
        const QJsonObject key = j.value(QStringLiteral("keys")).toArray().first().toObject();
        QCOMPARE(key.value(QStringLiteral("agent_id")).toString(), QStringLiteral("mm1"));
        QCOMPARE(key.value(QStringLiteral("task_type")).toString(), QStringLiteral("cycle"));
        QCOMPARE(key.value(QStringLiteral("timeouts")).toInt(), 1);
        QCOMPARE(key.value(QStringLiteral("mean_duration_ms")).toDouble(), 200.0);
        QVERIFY(key.value(QStringLiteral("last_interval")).toDouble() > 0);
    }
};

QTEST_GUILESS_MAIN(TestAdaptiveScheduler)
#include "tst_adaptivescheduler.moc"

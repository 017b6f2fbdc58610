#include "core/exec/agent.h"

#include <QtTest/QtTest>

#include <stdexcept>

using namespace opsdeck;
using namespace opsdeck::exec;
using namespace std::chrono_literals;

namespace {

class ScriptedAgent final : public Agent
{
public:
    explicit ScriptedAgent(AgentConfig c)
        : Agent(std::move(c))
    {}
    enum class Mode { Succeed, Fail, Throw } mode = Mode::Succeed;
    bool failStart = false;
    ManualClock *clock = nullptr;

protected:
    Result<QJsonObject> cycle(const CycleContext &) override
    {
        if (clock)
            clock->advance(250ms);
        switch (mode) {
        case Mode::Succeed:
            return QJsonObject{{QStringLiteral("ok"), true}};
        case Mode::Fail:
            return fail(QStringLiteral("no_data"), QStringLiteral("No market data."));
        case Mode::Throw:
            throw std::runtime_error("boom");
        }
        return QJsonObject();
    }
    Status onStart() override
    {
        if (failStart)
            return fail(QStringLiteral("bad_config"), QStringLiteral("Bad configuration."));
        return ok();
    }
};

AgentConfig config()
{
    AgentConfig c;
    c.id = QStringLiteral("mm1");
    c.type = QStringLiteral("market_maker");
    return c;
}

} // namespace

class TestAgent : public QObject
{
    Q_OBJECT
private slots:
    void lifecycle()
    {
        ScriptedAgent agent(config());
        QVERIFY(agent.status() == AgentStatus::Initialized);
        QVERIFY(agent.start());
        QVERIFY(agent.status() == AgentStatus::Running);
        agent.stop();
        QVERIFY(agent.status() == AgentStatus::Stopped);
        QCOMPARE(toString(AgentStatus::Stopped), QStringLiteral("STOPPED"));
    }
    void failedStartIsError()
    {
        ScriptedAgent agent(config());
        agent.failStart = true;
        const Status s = agent.start();
        QVERIFY(!s);
        QCOMPARE(s.error().code, QStringLiteral("bad_config"));
        QVERIFY(agent.status() == AgentStatus::Error);
    }
    void cycleOfNonRunningAgentIsRejected()
    {
        ScriptedAgent agent(config());
        CycleContext ctx;
        const auto r = agent.runCycle(ctx);
        QVERIFY(!r);
        QCOMPARE(r.error().code, QStringLiteral("agent_not_running"));
        QCOMPARE(agent.metrics().cyclesRejected, quint64(1));
        QCOMPARE(agent.metrics().cyclesCompleted, quint64(0));
    }
    void countersCount_data()
    {
        QTest::addColumn<int>("mode");
        QTest::addColumn<bool>("success");
        QTest::addColumn<QString>("code");
        QTest::newRow("success") << int(ScriptedAgent::Mode::Succeed) << true << QString();
        QTest::newRow("error") << int(ScriptedAgent::Mode::Fail) << false
                               << QStringLiteral("no_data");
        QTest::newRow("exception")
            << int(ScriptedAgent::Mode::Throw) << false << QStringLiteral("agent_exception");
    }
    void countersCount()
    {
        QFETCH(int, mode);
        QFETCH(bool, success);
        QFETCH(QString, code);
        ManualClock clock;
        ScriptedAgent agent(config());
        agent.mode = ScriptedAgent::Mode(mode);
        agent.clock = &clock;
        QVERIFY(agent.start());
        CycleContext ctx;
        ctx.clock = &clock;
        const auto r = agent.runCycle(ctx);
        QCOMPARE(bool(r), success);
        if (!success)
            QCOMPARE(r.error().code, code);
        const AgentMetrics m = agent.metrics();
        QCOMPARE(m.cyclesCompleted, quint64(success ? 1 : 0));
        QCOMPARE(m.cyclesFailed, quint64(success ? 0 : 1));
        QCOMPARE(m.lastCycleDurationMs, 250.0);
        QCOMPARE(m.lastCycleTimeMs, clock.wallMsecs());
        const QJsonObject j = m.toJson();
        QCOMPARE(j.value(QStringLiteral("cycles_completed")).toInt(), success ? 1 : 0);
        QCOMPARE(j.value(QStringLiteral("cycles_failed")).toInt(), success ? 0 : 1);
        QCOMPARE(j.value(QStringLiteral("last_cycle_time")).toString(),
                 clock.wallTime().toString(Qt::ISODateWithMs));
    }
};

QTEST_GUILESS_MAIN(TestAgent)
#include "tst_agent.moc"

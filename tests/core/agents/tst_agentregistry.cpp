// AgentRegistry: type names, the default agents, creation from [agent.<id>] configs with
// per-type options, and errors that name the agent and the key.
#include "core/agents/agentregistry.h"
#include "core/agents/marketmakeragent.h"
#include "core/agents/momentumagent.h"
#include "core/agents/stoplossguardianagent.h"

#include <QtCore/QJsonArray>
#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::agents;

namespace {

AgentConfig
configOf(const QString &id, const QString &type, const QString &symbol = QStringLiteral("BTCUSDT"))
{
    AgentConfig c;
    c.id = id;
    c.type = type;
    c.symbol = symbol;
    return c;
}

} // namespace

class TestAgentRegistry : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void typeNames()
    {
        QCOMPARE(AgentRegistry::typeNames(),
                 (QStringList{QStringLiteral("market_maker"), QStringLiteral("momentum"),
                              QStringLiteral("stop_loss_guardian")}));
        QVERIFY(AgentRegistry::optionKeys(QStringLiteral("market_maker"))
                    .contains(QStringLiteral("spread_bps")));
        QVERIFY(AgentRegistry::optionKeys(QStringLiteral("momentum"))
                    .contains(QStringLiteral("slow_period")));
        QVERIFY(AgentRegistry::optionKeys(QStringLiteral("stop_loss_guardian"))
                    .contains(QStringLiteral("max_loss_percent")));
        QVERIFY(AgentRegistry::optionKeys(QStringLiteral("nope")).isEmpty());
    }

    void defaultsWhenNothingIsConfigured()
    {
        AgentRegistry registry(AgentServices{});
        QVERIFY(registry.addAll({}));
        QCOMPARE(registry.ids(),
                 (QStringList{QStringLiteral("market_maker"), QStringLiteral("momentum"),
                              QStringLiteral("stop_loss_guardian")}));
        const auto guard = registry.find(QStringLiteral("stop_loss_guardian"));
        QVERIFY(guard);
        QCOMPARE(guard->typeName(), QStringLiteral("stop_loss_guardian"));
        QVERIFY(guard->cyclePriority() == TaskPriority::Critical);
        QVERIFY(guard->config().priority == TaskPriority::Critical);
        QVERIFY(dynamic_cast<StopLossGuardianAgent *>(guard.get()));
        QVERIFY(
            dynamic_cast<MarketMakerAgent *>(registry.find(QStringLiteral("market_maker")).get()));
        const auto mom = registry.find(QStringLiteral("momentum"));
        QVERIFY(dynamic_cast<MomentumAgent *>(mom.get()));
        QCOMPARE(mom->config().symbol, QStringLiteral("ETHUSDT"));
        QVERIFY(mom->cyclePriority() == TaskPriority::Normal);
        QCOMPARE(registry.size(), 3);
        for (const AgentConfig &c : AgentRegistry::defaultAgents())
            QVERIFY(AgentRegistry::validate(c));
    }

    void createsFromConfigsWithOptions()
    {
        AgentRegistry registry(AgentServices{});
        QHash<QString, AgentOptions> options;
        options.insert(QStringLiteral("mm2"),
                       {{QStringLiteral("spread_bps"), QStringLiteral("20")},
                        {QStringLiteral("quote_notional"), QStringLiteral(" 50 ")}});
        options.insert(QStringLiteral("m2"),
                       {{QStringLiteral("fast_period"), QStringLiteral("3")},
                        {QStringLiteral("slow_period"), QStringLiteral("8")},
                        {QStringLiteral("allow_short"), QStringLiteral("yes")},
                        {QStringLiteral("kline_interval"), QStringLiteral("5m")}});
        options.insert(QStringLiteral("g2"),
                       {{QStringLiteral("max_loss_absolute"), QStringLiteral("25")}});
        QVERIFY(registry.addAll(
            {configOf(QStringLiteral("mm2"), QStringLiteral("market_maker")),
             configOf(QStringLiteral("m2"), QStringLiteral("momentum"), QStringLiteral("SOLUSDT")),
             configOf(QStringLiteral("g2"), QStringLiteral("stop_loss_guardian"))},
            options));
        auto *mm = dynamic_cast<MarketMakerAgent *>(registry.find(QStringLiteral("mm2")).get());
        QVERIFY(mm);
        QCOMPARE(mm->settings().spreadBps, 20.0);
        QCOMPARE(mm->settings().quoteNotional, 50.0);
        QCOMPARE(mm->settings().skewBps, MarketMakerSettings().skewBps);
        auto *m = dynamic_cast<MomentumAgent *>(registry.find(QStringLiteral("m2")).get());
        QVERIFY(m);
        QCOMPARE(m->settings().fastPeriod, 3);
        QCOMPARE(m->settings().slowPeriod, 8);
        QVERIFY(m->settings().allowShort);
        QCOMPARE(m->settings().interval, QStringLiteral("5m"));
        auto *g = dynamic_cast<StopLossGuardianAgent *>(registry.find(QStringLiteral("g2")).get());
        QVERIFY(g);
        QCOMPARE(g->settings().maxLossAbsolute, 25.0);
        QVERIFY(!registry.find(QStringLiteral("missing")));
        QVERIFY(registry.remove(QStringLiteral("g2")));
        QVERIFY(!registry.remove(QStringLiteral("g2")));
        QCOMPARE(registry.agents().size(), 2);
    }

    void errorsNameTheAgentAndKey_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("symbol");
        QTest::addColumn<double>("interval");
        QTest::addColumn<QString>("optionKey");
        QTest::addColumn<QString>("optionValue");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("needle");
        const QString btc = QStringLiteral("BTCUSDT");
        QTest::newRow("unknown type")
            << QStringLiteral("arbitrage") << btc << 5.0 << QString() << QString()
            << QStringLiteral("type") << QStringLiteral("known types: market_maker");
        QTest::newRow("missing type") << QString() << btc << 5.0 << QString() << QString()
                                      << QStringLiteral("type") << QStringLiteral("missing");
        QTest::newRow("bad symbol")
            << QStringLiteral("momentum") << QStringLiteral("btc-usdt") << 5.0 << QString()
            << QString() << QStringLiteral("symbol") << QStringLiteral("btc-usdt");
        QTest::newRow("negative interval")
            << QStringLiteral("momentum") << btc << -1.0 << QString() << QString()
            << QStringLiteral("interval") << QStringLiteral("-1");
        QTest::newRow("not a number")
            << QStringLiteral("market_maker") << btc << 5.0 << QStringLiteral("spread_bps")
            << QStringLiteral("wide") << QStringLiteral("spread_bps") << QStringLiteral("\"wide\"");
        QTest::newRow("out of range")
            << QStringLiteral("market_maker") << btc << 5.0 << QStringLiteral("depth_limit")
            << QStringLiteral("6000") << QStringLiteral("depth_limit")
            << QStringLiteral("[1, 5000]");
        QTest::newRow("unknown key")
            << QStringLiteral("market_maker") << btc << 5.0 << QStringLiteral("sprad_bps")
            << QStringLiteral("5") << QStringLiteral("sprad_bps") << QStringLiteral("spread_bps");
        QTest::newRow("key of another type")
            << QStringLiteral("stop_loss_guardian") << btc << 5.0 << QStringLiteral("fast_period")
            << QStringLiteral("5") << QStringLiteral("fast_period")
            << QStringLiteral("unknown key");
        QTest::newRow("fast not below slow")
            << QStringLiteral("momentum") << btc << 5.0 << QStringLiteral("fast_period")
            << QStringLiteral("30") << QStringLiteral("fast_period")
            << QStringLiteral("slow_period");
        QTest::newRow("bad interval name")
            << QStringLiteral("momentum") << btc << 5.0 << QStringLiteral("kline_interval")
            << QStringLiteral("7m") << QStringLiteral("kline_interval") << QStringLiteral("1m, 3m");
        QTest::newRow("bad boolean")
            << QStringLiteral("momentum") << btc << 5.0 << QStringLiteral("allow_short")
            << QStringLiteral("maybe") << QStringLiteral("allow_short")
            << QStringLiteral("true or false");
        QTest::newRow("guardian that never acts")
            << QStringLiteral("stop_loss_guardian") << btc << 5.0
            << QStringLiteral("max_loss_percent") << QStringLiteral("0")
            << QStringLiteral("max_loss_percent") << QStringLiteral("never act");
    }

    void errorsNameTheAgentAndKey()
    {
        QFETCH(QString, type);
        QFETCH(QString, symbol);
        QFETCH(double, interval);
        QFETCH(QString, optionKey);
        QFETCH(QString, optionValue);
        QFETCH(QString, key);
        QFETCH(QString, needle);
        AgentConfig c = configOf(QStringLiteral("bot7"), type, symbol);
        c.interval = interval;
        AgentOptions options;
        if (!optionKey.isEmpty())
            options.insert(optionKey, optionValue);
        AgentRegistry registry(AgentServices{});
        const auto made = registry.add(c, options);
        QVERIFY(!made);
        const Error &e = made.error();
        QCOMPARE(e.code, QStringLiteral("invalid_agent_config"));
        QVERIFY2(e.message.startsWith(QStringLiteral("[agent.bot7] %1: ").arg(key)),
                 qPrintable(e.message));
        QVERIFY2(e.message.contains(needle), qPrintable(e.message));
        QCOMPARE(e.details.value(QStringLiteral("agent")).toString(), QStringLiteral("bot7"));
        QCOMPARE(e.details.value(QStringLiteral("key")).toString(), key);
        QCOMPARE(registry.size(), 0);
        // validate() says the same without making anything.
        const Status checked = AgentRegistry::validate(c, options);
        QVERIFY(!checked);
        QCOMPARE(checked.error().message, e.message);
    }

    void duplicatesAndAllOrNothing()
    {
        AgentRegistry registry(AgentServices{});
        QVERIFY(registry.add(configOf(QStringLiteral("a"), QStringLiteral("momentum"))));
        const auto again
            = registry.add(configOf(QStringLiteral("a"), QStringLiteral("market_maker")));
        QVERIFY(!again);
        QCOMPARE(again.error().code, QStringLiteral("duplicate_agent"));
        QVERIFY(again.error().message.contains(QStringLiteral("[agent.a]")));

        const Status batch
            = registry.addAll({configOf(QStringLiteral("b"), QStringLiteral("momentum")),
                               configOf(QStringLiteral("c"), QStringLiteral("bogus"))});
        QVERIFY(!batch);
        QVERIFY(batch.error().message.startsWith(QStringLiteral("[agent.c] type")));
        QCOMPARE(registry.ids(), QStringList{QStringLiteral("a")}); // b was not added either
        const Status dup
            = registry.addAll({configOf(QStringLiteral("d"), QStringLiteral("momentum")),
                               configOf(QStringLiteral("d"), QStringLiteral("momentum"))});
        QVERIFY(!dup);
        QCOMPARE(dup.error().code, QStringLiteral("duplicate_agent"));
        QCOMPARE(registry.size(), 1);
    }

    void agentJsonCarriesTheOldMetrics()
    {
        AgentRegistry registry(AgentServices{});
        const auto agent
            = registry.add(configOf(QStringLiteral("a"), QStringLiteral("market_maker")));
        QVERIFY(agent);
        const QJsonObject json = (*agent)->toJson();
        QCOMPARE(json.value(QStringLiteral("id")).toString(), QStringLiteral("a"));
        QCOMPARE(json.value(QStringLiteral("status")).toString(), QStringLiteral("INITIALIZED"));
        const QJsonObject m = json.value(QStringLiteral("metrics")).toObject();
        for (const char *key : {"positions_opened", "total_profit", "win_rate", "api_calls",
                                "errors", "cycles_completed", "cycles_failed", "last_cycle_time"})
            QVERIFY2(m.contains(QLatin1String(key)), key);
        QVERIFY(m.value(QStringLiteral("last_cycle_time")).isNull());
    }
};

QTEST_GUILESS_MAIN(TestAgentRegistry)
#include "tst_agentregistry.moc"

// The three agents against the real embedded market simulator (MarketService on loopback), not
// recorded data: the shapes parse, every order/test the agents send passes the exchange's filters,
// repeated cycles hit the cache, the guardian closes a planted losing position. Real time
// (TIMING), no sleeps: each cycle blocks on its own requests.
#include "support/testutil.h"

#include "core/agents/agentregistry.h"
#include "core/agents/marketconditiontracker.h"
#include "core/agents/marketdataclient.h"
#include "core/agents/marketmakeragent.h"
#include "core/agents/paperportfolio.h"
#include "core/cache/cachemanager.h"
#include "core/http/httppool.h"
#include "market/marketservice.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::agents;

class TestAgentsOnSimulator : public QObject
{
    Q_OBJECT

    static cache::CacheSettings cacheSettings()
    {
        cache::CacheSettings s;
        s.diskEnabled = false;
        return s;
    }
    static http::HttpPoolSettings poolSettings()
    {
        http::HttpPoolSettings s;
        s.poolSize = 4;
        s.timeout = std::chrono::milliseconds(test::scaledMs(10'000));
        s.useSystemProxy = false;
        return s;
    }

    Result<QJsonObject> cycle(exec::Agent &agent)
    {
        exec::CycleContext ctx;
        ctx.clock = &Clock::system();
        ctx.deadline
            = Clock::system().monotonic() + std::chrono::milliseconds(test::scaledMs(20'000));
        return agent.runCycle(ctx);
    }

private Q_SLOTS:
    void agentsTradeOnTheSimulator()
    {
        market::MarketService service(market::MarketServer::Settings{});
        const Result<quint16> port = service.start();
        QVERIFY(port.has_value());
        cache::CacheManager cache(cacheSettings());
        QVERIFY(cache.open());
        http::HttpPool pool(poolSettings());
        MarketDataClient client(MarketDataSettings::forBaseUrl(QUrl(service.baseUrl())), &cache,
                                &pool);
        PaperPortfolio portfolio{PortfolioSettings()};
        QVERIFY(portfolio.open());
        MarketConditionTracker conditions;
        AgentRegistry registry(AgentServices{&client, &portfolio, &conditions});
        QVERIFY(registry.addAll({}));

        // A losing long for the guardian: bought far above the market.
        OrderBook rich;
        rich.symbol = QStringLiteral("BTCUSDT");
        rich.bids = {BookLevel{1e9, 1}};
        rich.asks = {BookLevel{1e9, 1}};
        QVERIFY(portfolio.executeTaker(QStringLiteral("planted"), rich.symbol, Side::Buy, 0.001,
                                       rich, 1));

        for (int round = 0; round < 3; ++round) {
            for (const auto &agent : registry.agents()) {
                QVERIFY(agent->start());
                const auto r = cycle(*agent);
                QVERIFY2(r.has_value(),
                         qPrintable(agent->id() + u": " + (r ? QString() : r.error().message)));
            }
        }
        const auto mm = registry.find(QStringLiteral("market_maker"));
        const auto mom = registry.find(QStringLiteral("momentum"));
        const auto guard = registry.find(QStringLiteral("stop_loss_guardian"));
        for (const auto &agent : registry.agents()) {
            const QJsonObject m = agent->metricsJson();
            QVERIFY2(
                m.value(QStringLiteral("errors")).toInt() == 0,
                qPrintable(agent->id() + u" " + m.value(QStringLiteral("last_error")).toString()));
            QCOMPARE(m.value(QStringLiteral("cycles_completed")).toInt(), 3);
        }
        // The market maker's quotes passed order/test (filters) and rest in the portfolio.
        QVERIFY(mm->metricsJson().value(QStringLiteral("api_calls")).toInt() >= 5);
        QVERIFY(mm->metricsJson().value(QStringLiteral("cache_hits")).toInt() >= 3);
        QVERIFY(!portfolio.quotes(mm->id()).isEmpty() || portfolio.agentStats(mm->id()).fills > 0);
        // The momentum agent read the simulator's candles.
        QCOMPARE(mom->lastDecision().value(QStringLiteral("candles")).toInt(), 21);
        QVERIFY(mom->metricsJson().value(QStringLiteral("cache_hits")).toInt() >= 2);
        // The guardian closed the planted position.
        QCOMPARE(guard->metricsJson().value(QStringLiteral("positions_closed")).toInt(), 1);
        QCOMPARE(portfolio.netQuantity(QStringLiteral("planted"), rich.symbol), 0.0);
        QVERIFY(conditions.marketCondition(mm->id()).has_value());
        QVERIFY(conditions.marketCondition(mom->id()).has_value());
        for (const auto &agent : registry.agents()) {
            qInfo().noquote() << QJsonDocument(agent->toJson()).toJson(QJsonDocument::Compact);
            agent->stop();
        }
        QCOMPARE(pool.stats().errors, 0u);
        QVERIFY(service.stop());
    }
};

QTEST_GUILESS_MAIN(TestAgentsOnSimulator)
#include "tst_agentsonsimulator.moc"

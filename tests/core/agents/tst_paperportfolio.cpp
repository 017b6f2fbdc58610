// The paper portfolio: the fill model (data-driven, on the recorded book and trades), PnL and
// win rate, persistence across reopen (real SQLite files), corrupt and newer files, threads.
#include "agenttestdata.h"

#include "core/agents/paperportfolio.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

#include <thread>
#include <vector>

using namespace opsdeck;
using namespace opsdeck::agents;
using opsdeck::test::fixture;
using opsdeck::test::kFixtureTimeMs;

namespace {

const QString kBtc = QStringLiteral("BTCUSDT");
const QString kMm = QStringLiteral("mm");

OrderBook recordedBook(const char *name = "depth_btcusdt.json")
{
    auto book = parseOrderBook(kBtc, fixture(name));
    return book ? *book : OrderBook();
}

QList<Trade> recordedTrades()
{
    auto trades = parseTrades(fixture("trades_btcusdt.json"));
    return trades ? *trades : QList<Trade>();
}

// A one-level book: taker fills at exactly `price` (for PnL arithmetic).
OrderBook flatBook(double price)
{
    OrderBook b;
    b.symbol = kBtc;
    b.bids = {BookLevel{price, 1000}};
    b.asks = {BookLevel{price, 1000}};
    return b;
}

PortfolioSettings atPath(const QString &path)
{
    PortfolioSettings s;
    s.path = path;
    return s;
}

PortfolioSettings noFees(const QString &path = {})
{
    PortfolioSettings s;
    s.path = path;
    s.makerFeeRate = 0;
    s.takerFeeRate = 0;
    return s;
}

bool near(double a, double b, double eps = 1e-9)
{
    return qAbs(a - b) <= eps * std::max(1.0, qAbs(b));
}

// Runs SQL on a file with Qt's own driver (a second, independent writer of the file format).
void runSql(const QString &path, const QStringList &statements)
{
    const QString name = QStringLiteral("tst_paperportfolio_sql");
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        QVERIFY(db.open());
        for (const QString &sql : statements) {
            QSqlQuery q(db);
            QVERIFY2(q.exec(sql), qPrintable(sql));
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
}

qint64 userVersion(const QString &path)
{
    const QString name = QStringLiteral("tst_paperportfolio_version");
    qint64 v = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        if (db.open()) {
            QSqlQuery q(db);
            if (q.exec(QStringLiteral("PRAGMA user_version")) && q.next())
                v = q.value(0).toLongLong();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return v;
}

} // namespace

class TestPaperPortfolio : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // --- taker orders walk the recorded book ------------------------------------------------

    void takerWalksTheBook_data()
    {
        QTest::addColumn<bool>("buy");
        QTest::addColumn<double>("quantity");
        QTest::addColumn<double>("filled");
        QTest::addColumn<double>("averagePrice");
        QTest::addColumn<int>("levels");
        // asks 50000.50 + 0.5·i with 0.05·(i+1) BTC; bids 49999.50 − 0.5·i likewise.
        QTest::newRow("buy within the best level") << true << 0.05 << 0.05 << 50000.5 << 1;
        QTest::newRow("buy two levels")
            << true << 0.12 << 0.12 << (0.05 * 50000.5 + 0.07 * 50001.0) / 0.12 << 2;
        QTest::newRow("sell three levels")
            << false << 0.2 << 0.2 << (0.05 * 49999.5 + 0.10 * 49999.0 + 0.05 * 49998.5) / 0.2 << 3;
        // The whole ask side holds 0.05 · (1 + ... + 20) = 10.5 BTC: the rest stays unfilled.
        double notional = 0;
        for (int i = 0; i < 20; ++i)
            notional += (50000.5 + 0.5 * i) * 0.05 * (i + 1);
        QTest::newRow("buy more than the book") << true << 100.0 << 10.5 << notional / 10.5 << 20;
    }

    void takerWalksTheBook()
    {
        QFETCH(bool, buy);
        QFETCH(double, quantity);
        QFETCH(double, filled);
        QFETCH(double, averagePrice);
        QFETCH(int, levels);
        PaperPortfolio portfolio(PortfolioSettings{});
        QVERIFY(portfolio.open());
        const OrderBook book = recordedBook();
        const auto r = portfolio.executeTaker(kMm, kBtc, buy ? Side::Buy : Side::Sell, quantity,
                                              book, kFixtureTimeMs);
        QVERIFY2(r.has_value(), why(r));
        QVERIFY(near(r->filled, filled));
        QVERIFY(near(r->unfilled(), quantity - filled));
        QVERIFY(near(r->averagePrice, averagePrice));
        QCOMPARE(r->fills.size(), levels);
        // Taker fee: 0.1 % of the notional by default.
        QVERIFY(near(r->fee, 0.001 * averagePrice * filled));
        QVERIFY(r->slippageBps > 0); // always against the taker
        const auto p = portfolio.position(kMm, kBtc);
        QVERIFY(p.has_value());
        QVERIFY(near(p->quantity, buy ? filled : -filled));
        QVERIFY(near(p->averagePrice, averagePrice));
        QVERIFY(near(p->realizedPnl, -r->fee));
    }

    void takerErrors()
    {
        PaperPortfolio portfolio(PortfolioSettings{});
        QVERIFY(portfolio.open());
        OrderBook empty;
        empty.symbol = kBtc;
        const auto none = portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, empty, 0);
        QVERIFY(!none);
        QCOMPARE(none.error().code, QStringLiteral("no_liquidity"));
        const auto zero = portfolio.executeTaker(kMm, kBtc, Side::Buy, 0, recordedBook(), 0);
        QVERIFY(!zero);
        QCOMPARE(zero.error().code, QStringLiteral("invalid_argument"));
        const auto flat = portfolio.closePosition(kMm, kBtc, recordedBook(), 0);
        QVERIFY(!flat);
        QCOMPARE(flat.error().code, QStringLiteral("no_position"));
    }

    void extraSlippage()
    {
        PortfolioSettings s;
        s.extraSlippageBps = 10;
        PaperPortfolio portfolio(s);
        QVERIFY(portfolio.open());
        const auto r = portfolio.executeTaker(kMm, kBtc, Side::Buy, 0.05, recordedBook(), 0);
        QVERIFY(r.has_value());
        QVERIFY(near(r->averagePrice, 50000.5 * 1.001));
    }

    // --- resting quotes fill from later trades that cross them --------------------------------

    void quoteFillModel_data()
    {
        QTest::addColumn<bool>("buy");
        QTest::addColumn<double>("price");
        QTest::addColumn<qint64>("placedAt"); // ms after the fixture time
        QTest::addColumn<bool>("fillOnTouch");
        QTest::addColumn<QList<qint64>>("tradeIds");
        QTest::addColumn<double>("filled");
        // trades: 1001 49970 (before placement), 1002 49990, 1003 49975 (0.004), 1004 49974
        // (0.0015), 1005 49970 (0.01), 1006 50030 (0.003); quote size 0.002.
        QTest::newRow("bid: through trades only, partial then rest")
            << true << 49975.0 << qint64(0) << false << QList<qint64>{1004, 1005} << 0.002;
        QTest::newRow("bid: a touch fills with fillOnTouch")
            << true << 49975.0 << qint64(0) << true << QList<qint64>{1003} << 0.002;
        QTest::newRow("bid: placed later sees later trades only")
            << true << 49975.0 << qint64(3500) << false << QList<qint64>{1005} << 0.002;
        QTest::newRow("bid: below every later print")
            << true << 49960.0 << qint64(0) << false << QList<qint64>{} << 0.0;
        QTest::newRow("ask: through")
            << false << 50025.0 << qint64(0) << false << QList<qint64>{1006} << 0.002;
        QTest::newRow("ask: a print at the price does not fill")
            << false << 50030.0 << qint64(0) << false << QList<qint64>{} << 0.0;
        QTest::newRow("bid: a crossing print before placement is ignored")
            << true << 49971.0 << qint64(0) << false << QList<qint64>{1005} << 0.002;
        QTest::newRow("bid: placed before every print")
            << true << 49971.0 << qint64(-6000) << false << QList<qint64>{1001} << 0.002;
    }

    void quoteFillModel()
    {
        QFETCH(bool, buy);
        QFETCH(double, price);
        QFETCH(qint64, placedAt);
        QFETCH(bool, fillOnTouch);
        QFETCH(QList<qint64>, tradeIds);
        QFETCH(double, filled);
        PortfolioSettings s;
        s.fillOnTouch = fillOnTouch;
        PaperPortfolio portfolio(s);
        QVERIFY(portfolio.open());
        const Side side = buy ? Side::Buy : Side::Sell;
        portfolio.placeQuote(kMm, kBtc, side, price, 0.002, kFixtureTimeMs + placedAt);
        const QList<Fill> fills = portfolio.matchTrades(kBtc, recordedTrades());
        QCOMPARE(fills.size(), tradeIds.size());
        double total = 0;
        for (const Fill &f : fills) {
            QVERIFY(f.maker);
            QCOMPARE(f.price, price); // at the quote's price, not the trade's
            QVERIFY(near(f.fee, 0.0002 * price * f.quantity)); // maker fee 0.02 %
            total += f.quantity;
        }
        QVERIFY(near(total, filled));
        QCOMPARE(portfolio.quotes(kMm).isEmpty(), near(filled, 0.002));
        QVERIFY(near(portfolio.netQuantity(kMm, kBtc), buy ? filled : -filled));
        // Each trade is seen once per quote: the same trades again fill nothing more.
        QVERIFY(portfolio.matchTrades(kBtc, recordedTrades()).isEmpty());
    }

    void quotesOfOtherSymbolsUntouched()
    {
        PaperPortfolio portfolio(PortfolioSettings{});
        QVERIFY(portfolio.open());
        portfolio.placeQuote(kMm, QStringLiteral("ETHUSDT"), Side::Buy, 60000, 1, kFixtureTimeMs);
        QVERIFY(portfolio.matchTrades(kBtc, recordedTrades()).isEmpty());
        QCOMPARE(portfolio.quotes().size(), 1);
        QCOMPARE(portfolio.cancelQuotes(kMm, QStringLiteral("ETHUSDT")), 1);
        QVERIFY(portfolio.quotes().isEmpty());
    }

    void marketMakerRoundTripFromRecordedTrades()
    {
        PaperPortfolio portfolio(PortfolioSettings{});
        QVERIFY(portfolio.open());
        portfolio.placeQuote(kMm, kBtc, Side::Buy, 49975.0, 0.002, kFixtureTimeMs);
        portfolio.placeQuote(kMm, kBtc, Side::Sell, 50025.0, 0.002, kFixtureTimeMs);
        const QList<Fill> fills = portfolio.matchTrades(kBtc, recordedTrades());
        QCOMPARE(fills.size(), 3); // 1004, 1005 on the bid, then 1006 on the ask
        const AgentTradingStats s = portfolio.agentStats(kMm);
        QCOMPARE(s.positionsOpened, 1u);
        QCOMPARE(s.roundTrips, 1u);
        QCOMPARE(s.wins, 1u);
        QCOMPARE(s.winRate(), 1.0);
        const double fees = 0.0002 * (49975.0 + 50025.0) * 0.002;
        QVERIFY(near(s.realizedPnl, 50.0 * 0.002 - fees));
        QVERIFY(near(s.fees, fees));
        QCOMPARE(s.openPositions, 0);
    }

    // --- PnL and win rate -----------------------------------------------------------------------

    void pnlAndWinRate()
    {
        PaperPortfolio portfolio(noFees());
        QVERIFY(portfolio.open());
        // Trip 1: long 2 @100 (two fills), sell 2 @110 → +20, a win.
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(100), 1));
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(100), 2));
        QCOMPARE(portfolio.agentStats(kMm).positionsOpened, 1u);
        portfolio.markToMarket(kBtc, 105);
        QVERIFY(near(portfolio.agentStats(kMm).unrealizedPnl, 10));
        QVERIFY(near(portfolio.agentStats(kMm).totalProfit(), 10));
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Sell, 2, flatBook(110), 3));
        // Trip 2: short 1 @100, cover @104 → −4, a loss.
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Sell, 1, flatBook(100), 4));
        portfolio.markToMarket(kBtc, 102);
        QVERIFY(near(portfolio.position(kMm, kBtc)->unrealizedPnl(), -2));
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(104), 5));
        // Trip 3: long 1 @100, partly out @106 (+3), rest at 98 (−1): +2, a win.
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(100), 6));
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Sell, 0.5, flatBook(106), 7));
        QCOMPARE(portfolio.agentStats(kMm).roundTrips, 2u);
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Sell, 0.5, flatBook(98), 8));

        const AgentTradingStats s = portfolio.agentStats(kMm);
        QCOMPARE(s.positionsOpened, 3u);
        QCOMPARE(s.roundTrips, 3u);
        QCOMPARE(s.wins, 2u);
        QVERIFY(near(s.winRate(), 2.0 / 3.0));
        QVERIFY(near(s.realizedPnl, 20 - 4 + 2));
        QCOMPARE(s.unrealizedPnl, 0.0);
        QCOMPARE(s.fills, 8u);
        const QJsonObject json = s.toJson();
        for (const char *key : {"positions_opened", "total_profit", "win_rate", "realized_pnl",
                                "unrealized_pnl", "round_trips", "fees"})
            QVERIFY2(json.contains(QLatin1String(key)), key);
    }

    void flipClosesAndOpens()
    {
        PaperPortfolio portfolio(noFees());
        QVERIFY(portfolio.open());
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(100), 1));
        const auto flip = portfolio.executeTaker(kMm, kBtc, Side::Sell, 3, flatBook(90), 2);
        QVERIFY(flip.has_value());
        QVERIFY(near(flip->realizedPnl, -10));
        const auto p = portfolio.position(kMm, kBtc);
        QVERIFY(near(p->quantity, -2));
        QCOMPARE(p->averagePrice, 90.0);
        QCOMPARE(p->openedAtMs, 2);
        const AgentTradingStats s = portfolio.agentStats(kMm);
        QCOMPARE(s.positionsOpened, 2u);
        QCOMPARE(s.roundTrips, 1u);
        QCOMPARE(s.wins, 0u);
    }

    void feesDecideAWin()
    {
        // A 1-tick gain smaller than the two taker fees is a losing round trip.
        PaperPortfolio portfolio(PortfolioSettings{});
        QVERIFY(portfolio.open());
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(100.0), 1));
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Sell, 1, flatBook(100.1), 2));
        const AgentTradingStats s = portfolio.agentStats(kMm);
        QCOMPARE(s.roundTrips, 1u);
        QCOMPARE(s.wins, 0u);
        QVERIFY(near(s.realizedPnl, 0.1 - 0.001 * (100.0 + 100.1)));
    }

    void agentsAreSeparate()
    {
        PaperPortfolio portfolio(noFees());
        QVERIFY(portfolio.open());
        QVERIFY(portfolio.executeTaker(QStringLiteral("a"), kBtc, Side::Buy, 1, flatBook(100), 1));
        QVERIFY(portfolio.executeTaker(QStringLiteral("b"), kBtc, Side::Sell, 1, flatBook(100), 1));
        QCOMPARE(portfolio.netQuantity(QStringLiteral("a"), kBtc), 1.0);
        QCOMPARE(portfolio.netQuantity(QStringLiteral("b"), kBtc), -1.0);
        QCOMPARE(portfolio.openPositions().size(), 2);
        portfolio.markToMarket(kBtc, 110);
        QVERIFY(near(portfolio.agentStats(QStringLiteral("a")).unrealizedPnl, 10));
        QVERIFY(near(portfolio.agentStats(QStringLiteral("b")).unrealizedPnl, -10));
        const QJsonObject json = portfolio.toJson();
        QCOMPARE(json.value(QStringLiteral("positions")).toArray().size(), 2);
        QVERIFY(json.value(QStringLiteral("agents")).toObject().contains(QStringLiteral("a")));
    }

    void concurrentTradersStayConsistent()
    {
        PaperPortfolio portfolio(noFees());
        QVERIFY(portfolio.open());
        portfolio.placeQuote(QStringLiteral("q"), kBtc, Side::Buy, 1, 1, 0);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&portfolio, t] {
                const QString agent = QStringLiteral("t%1").arg(t);
                for (int i = 0; i < 200; ++i) {
                    (void)portfolio.executeTaker(agent, kBtc, i % 2 ? Side::Sell : Side::Buy, 1,
                                                 flatBook(100 + i % 3), i);
                    portfolio.markToMarket(kBtc, 100 + i % 5);
                    (void)portfolio.agentStats(agent);
                    (void)portfolio.openPositions();
                }
            });
        }
        for (auto &th : threads)
            th.join();
        for (int t = 0; t < 4; ++t) {
            const AgentTradingStats s = portfolio.agentStats(QStringLiteral("t%1").arg(t));
            QCOMPARE(s.fills, 200u);
            QCOMPARE(s.roundTrips, 100u);
            QCOMPARE(s.positionsOpened, 100u);
        }
    }

    // --- persistence
    // -------------------------------------------------------------------------------

    void persistsAcrossReopen()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("portfolio.db"));
        qint64 quoteId = 0;
        {
            PaperPortfolio portfolio(noFees(path));
            QVERIFY(portfolio.open());
            QVERIFY(portfolio.isPersistent());
            QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(100), 1));
            QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Sell, 1, flatBook(110), 2));
            QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 2, flatBook(50), 3));
            portfolio.markToMarket(kBtc, 55);
            quoteId = portfolio.placeQuote(kMm, kBtc, Side::Sell, 60, 0.5, 4);
            QCOMPARE(portfolio.persistErrors(), 0u);
        }
        QCOMPARE(userVersion(path), qint64(PaperPortfolio::kSchemaVersion));
        PaperPortfolio reopened(noFees(path));
        QVERIFY(reopened.open());
        const auto p = reopened.position(kMm, kBtc);
        QVERIFY(p.has_value());
        QCOMPARE(p->quantity, 2.0);
        QCOMPARE(p->averagePrice, 50.0);
        QCOMPARE(p->realizedPnl, 10.0);
        QCOMPARE(p->openedAtMs, 3);
        const AgentTradingStats s = reopened.agentStats(kMm);
        QCOMPARE(s.positionsOpened, 2u);
        QCOMPARE(s.roundTrips, 1u);
        QCOMPARE(s.wins, 1u);
        QCOMPARE(s.fills, 3u);
        const QList<Quote> quotes = reopened.quotes(kMm);
        QCOMPARE(quotes.size(), 1);
        QCOMPARE(quotes.first().id, quoteId);
        QCOMPARE(quotes.first().price, 60.0);
        QCOMPARE(quotes.first().placedAtMs, 4);
        // Ids continue after the stored ones; a filled quote's row is gone after a reopen.
        QVERIFY(reopened.placeQuote(kMm, kBtc, Side::Buy, 1, 1, 5) > quoteId);
        Trade through{9, 61, 1, 10, false};
        QCOMPARE(reopened.matchTrades(kBtc, {through}).size(), 1);
        reopened.close();
        PaperPortfolio third(noFees(path));
        QVERIFY(third.open());
        QCOMPARE(third.quotes(kMm).size(), 1); // the buy at 1
        QVERIFY(near(third.netQuantity(kMm, kBtc), 1.5));
    }

    void fillHistoryIsBounded()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("portfolio.db"));
        PortfolioSettings s = noFees(path);
        s.fillsKept = 5;
        {
            PaperPortfolio portfolio(s);
            QVERIFY(portfolio.open());
            for (int i = 0; i < 12; ++i)
                QVERIFY(portfolio.executeTaker(kMm, kBtc, i % 2 ? Side::Sell : Side::Buy, 1,
                                               flatBook(100), i));
        }
        const QString name = QStringLiteral("tst_paperportfolio_fills");
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
            db.setDatabaseName(path);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(QStringLiteral("SELECT count(*), min(time_ms) FROM fills")) && q.next());
            QCOMPARE(q.value(0).toInt(), 5);
            QCOMPARE(q.value(1).toInt(), 7);
            db.close();
        }
        QSqlDatabase::removeDatabase(name);
        // The statistics are kept whole.
        PaperPortfolio reopened(s);
        QVERIFY(reopened.open());
        QCOMPARE(reopened.agentStats(kMm).fills, 12u);
    }

    void corruptFileIsMovedAside()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("portfolio.db"));
        const QByteArray garbage(8192, 'x');
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(garbage);
        }
        ManualClock clock; // 2027-01-01T00:00:00Z names the file kept aside
        PaperPortfolio portfolio(atPath(path), clock);
        const Status opened = portfolio.open();
        QVERIFY(!opened);
        QCOMPARE(opened.error().code, QStringLiteral("portfolio_corrupt"));
        QVERIFY(opened.error().message.contains(path));
        const QString aside = opened.error().details.value(QStringLiteral("moved_to")).toString();
        QCOMPARE(aside, path + QStringLiteral(".corrupt-20270101T000000"));
        QVERIFY(opened.error().message.contains(aside));
        QVERIFY(!QFile::exists(path));
        QFile kept(aside);
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QCOMPARE(kept.readAll(), garbage); // kept, byte for byte
        // Opening again starts an empty portfolio in a fresh file.
        QVERIFY(portfolio.open());
        QVERIFY(portfolio.isPersistent());
        QVERIFY(portfolio.positions().isEmpty());
        QVERIFY(QFile::exists(path));
    }

    void damagedRowIsCorruption()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("portfolio.db"));
        {
            PaperPortfolio portfolio(noFees(path));
            QVERIFY(portfolio.open());
            QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 1, flatBook(100), 1));
        }
        runSql(path, {QStringLiteral("UPDATE positions SET data = X'7B6E6F'")}); // "{no"
        PaperPortfolio portfolio(noFees(path));
        const Status opened = portfolio.open();
        QVERIFY(!opened);
        QCOMPARE(opened.error().code, QStringLiteral("portfolio_corrupt"));
        QVERIFY(portfolio.positions().isEmpty());
        QStringList aside = QDir(dir.path()).entryList({QStringLiteral("portfolio.db.corrupt-*")});
        aside.removeIf([](const QString &n) { return n.endsWith(u"-wal") || n.endsWith(u"-shm"); });
        QCOMPARE(aside.size(), 1);
    }

    void newerFileIsLeftAlone()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("portfolio.db"));
        runSql(path, {QStringLiteral("CREATE TABLE future (x)"),
                      QStringLiteral("PRAGMA user_version = 99")});
        PaperPortfolio portfolio(atPath(path));
        const Status opened = portfolio.open();
        QVERIFY(!opened);
        QCOMPARE(opened.error().code, QStringLiteral("portfolio_newer_version"));
        QVERIFY(QFile::exists(path));
        QCOMPARE(userVersion(path), qint64(99));
        QVERIFY(QDir(dir.path()).entryList({QStringLiteral("portfolio.db.corrupt-*")}).isEmpty());
    }

    void migratesAnEmptyVersionZeroFile()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("portfolio.db"));
        runSql(path, {QStringLiteral("CREATE TABLE unrelated (x)")}); // user_version 0
        QCOMPARE(userVersion(path), qint64(0));
        PaperPortfolio portfolio(atPath(path));
        QVERIFY(portfolio.open());
        QCOMPARE(userVersion(path), qint64(1));
    }

    void unwritableDirectoryIsAnIoError()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("missing/sub/portfolio.db"));
        PaperPortfolio portfolio(atPath(path));
        const Status opened = portfolio.open();
        QVERIFY(!opened);
        QCOMPARE(opened.error().code, QStringLiteral("portfolio_io_error"));
    }

    void memoryOnlyWithoutPath()
    {
        PaperPortfolio portfolio(PortfolioSettings{});
        QVERIFY(portfolio.open());
        QVERIFY(!portfolio.isPersistent());
        QVERIFY(portfolio.executeTaker(kMm, kBtc, Side::Buy, 0.01, recordedBook(), 1));
        QCOMPARE(portfolio.recentFills().size(), 1);
        QVERIFY(portfolio.open()); // a second open keeps what is there
        QVERIFY(near(portfolio.netQuantity(kMm, kBtc), 0.01));
    }
};

QTEST_GUILESS_MAIN(TestPaperPortfolio)
#include "tst_paperportfolio.moc"

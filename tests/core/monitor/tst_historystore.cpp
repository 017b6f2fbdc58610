#include "core/monitor/alertengine.h"
#include "core/monitor/historystore.h"
#include "core/runtime/runtimeconfig.h"

#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <sqlite3.h>

#include <chrono>

using namespace opsdeck;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

QList<QPair<QString, QByteArray>> categoryJson(qint64 ms, int n)
{
    QList<QPair<QString, QByteArray>> out;
    for (const char *c : {"system", "cache", "http", "execution"})
        out.append({QString::fromLatin1(c), QByteArray(R"({"timestamp_ms":)")
                                                + QByteArray::number(ms) + R"(,"n":)"
                                                + QByteArray::number(n) + "}"});
    return out;
}

int rowCount(const QString &path, const char *table)
{
    sqlite3 *db = nullptr;
    sqlite3_open_v2(QFile::encodeName(path).constData(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt *stmt = nullptr;
    const QByteArray sql = QByteArray("SELECT count(*) FROM ") + table;
    sqlite3_prepare_v2(db, sql.constData(), -1, &stmt, nullptr);
    int n = -1;
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

void setUserVersion(const QString &path, int version)
{
    sqlite3 *db = nullptr;
    sqlite3_open(QFile::encodeName(path).constData(), &db);
    const QByteArray sql = QByteArray("PRAGMA user_version=") + QByteArray::number(version);
    sqlite3_exec(db, sql.constData(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

} // namespace

class TstHistoryStore : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ManualClock> m_clock;

    QString dbPath() const { return m_dir->filePath(u"history.db"_s); }
    std::unique_ptr<HistoryStore> makeStore(HistoryStore::Settings s = {})
    {
        auto store = std::make_unique<HistoryStore>(dbPath(), s, *m_clock);
        const Status opened = store->open();
        if (!opened)
            qWarning() << opened.error().message;
        return store;
    }
    // One tick per second, `n` of them, metric "m" = value(i).
    void feed(HistoryStore &store, int n, const std::function<double(int)> &value)
    {
        for (int i = 0; i < n; ++i) {
            const qint64 ms = m_clock->wallMsecs();
            QVERIFY(store.appendTick(ms, categoryJson(ms, i),
                                     MetricValues{{u"m"_s, value(i)}, {u"k"_s, 1.0}}));
            m_clock->advance(1s);
        }
    }

private Q_SLOTS:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_clock = std::make_unique<ManualClock>(); // 2027-01-01T00:00:00Z, a minute boundary
    }

    void rawRoundTripAndRanges()
    {
        auto store = makeStore();
        QVERIFY(store->isOpen());
        const qint64 t0 = m_clock->wallMsecs();
        feed(*store, 10, [](int i) { return i; });
        const auto all = store->rawSamples(u"cache"_s, t0, t0 + 100'000, 0);
        QVERIFY(all);
        QCOMPARE(all->size(), 10);
        QCOMPARE(all->first().timestampMs, t0);
        QCOMPARE(all->last().timestampMs, t0 + 9000);
        QCOMPARE(all->at(3).json,
                 QByteArray(R"({"timestamp_ms":)") + QByteArray::number(t0 + 3000) + R"(,"n":3})");
        QCOMPARE(all->at(3).category, u"cache"_s);
        // A range, and the newest `limit` of it, oldest first.
        const auto range = store->rawSamples(u"system"_s, t0 + 2000, t0 + 6000, 0);
        QCOMPARE(range->size(), 5);
        const auto last3 = store->rawSamples(u"system"_s, t0 + 2000, t0 + 6000, 3);
        QCOMPARE(last3->size(), 3);
        QCOMPARE(last3->at(0).timestampMs, t0 + 4000);
        QCOMPARE(last3->at(2).timestampMs, t0 + 6000);
        QVERIFY(store->rawSamples(u"gpu"_s, t0, t0 + 100'000, 0)->isEmpty());
        QVERIFY(store->rawSamples(u"http"_s, t0 + 50'000, t0 + 60'000, 0)->isEmpty());
    }

    void aggregatesAreExact()
    {
        auto store = makeStore();
        const qint64 t0 = m_clock->wallMsecs();
        // Minute 0: values 0..59; minute 1: 100, 102, ... for 30 s.
        feed(*store, 60, [](int i) { return double(i); });
        feed(*store, 30, [](int i) { return 100.0 + 2 * i; });
        const auto aggs = store->aggregates(u"m"_s, t0, t0 + 3'600'000);
        QVERIFY(aggs);
        QCOMPARE(aggs->size(), 2);
        QCOMPARE(aggs->at(0).minuteMs, t0);
        QCOMPARE(aggs->at(0).min, 0.0);
        QCOMPARE(aggs->at(0).max, 59.0);
        QCOMPARE(aggs->at(0).mean, 29.5);
        QCOMPARE(aggs->at(0).count, 60);
        QCOMPARE(aggs->at(1).minuteMs, t0 + 60'000);
        QCOMPARE(aggs->at(1).min, 100.0);
        QCOMPARE(aggs->at(1).max, 158.0);
        QCOMPARE(aggs->at(1).mean, 129.0);
        QCOMPARE(aggs->at(1).count, 30);
        QCOMPARE(store->aggregates(u"m"_s, t0 + 60'000, t0 + 60'000)->size(), 1);
        QCOMPARE(*store->aggregateMetrics(), QStringList({u"k"_s, u"m"_s}));
    }

    void retentionPrunesOnTheClock()
    {
        HistoryStore::Settings s;
        s.rawRetentionSeconds = 120;
        s.aggregateRetentionSeconds = 600;
        auto store = makeStore(s);
        const qint64 t0 = m_clock->wallMsecs();
        feed(*store, 60, [](int) { return 1.0; });
        m_clock->advance(std::chrono::minutes(5)); // t0 + 6 min
        feed(*store, 1, [](int) { return 2.0; });  // a prune is due (a minute has passed)
        // Raw older than 2 min is gone; the first minute's aggregate is younger than 10 min.
        QCOMPARE(store->rawSamples(u"http"_s, 0, t0 + 3'600'000, 0)->size(), 1);
        QCOMPARE(store->aggregates(u"m"_s, 0, t0 + 3'600'000)->size(), 2);
        m_clock->advance(std::chrono::minutes(10));
        QVERIFY(store->prune());
        QVERIFY(store->rawSamples(u"http"_s, 0, t0 + 3'600'000, 0)->isEmpty());
        QVERIFY(store->aggregates(u"m"_s, 0, t0 + 3'600'000)->isEmpty());

        // Pruning is amortised: within the interval nothing is deleted on a tick.
        HistoryStore::Settings tight;
        tight.rawRetentionSeconds = 5;
        store->applySettings(tight);
        feed(*store, 1, [](int) { return 1.0; }); // prunes (settings changed)
        feed(*store, 20, [](int) { return 1.0; });
        QCOMPARE(rowCount(dbPath(), "raw_samples"), 4 * 21);
        m_clock->advance(40s);
        feed(*store, 1, [](int) { return 1.0; }); // a minute since the last prune
        QCOMPARE(rowCount(dbPath(), "raw_samples"), 4);
    }

    void zeroRetentionKeepsNothing()
    {
        HistoryStore::Settings s;
        s.rawRetentionSeconds = 0;
        s.aggregateRetentionSeconds = 0;
        auto store = makeStore(s);
        feed(*store, 5, [](int) { return 1.0; });
        QCOMPARE(rowCount(dbPath(), "raw_samples"), 0);
        QCOMPARE(rowCount(dbPath(), "aggregates"), 0);
    }

    void restartKeepsEverythingAndIdsContinue()
    {
        const qint64 t0 = m_clock->wallMsecs();
        qint64 lastId = 0;
        {
            auto store = makeStore();
            AlertEngine engine(*m_clock);
            MonitorConfig c;
            c.thresholds.alertFor = 0;
            engine.setBaseRules(AlertEngine::defaultRules(c));
            QVERIFY(engine.attachStore(store.get()));
            QVERIFY(engine.updateRule(u"disk_usage"_s, QJsonObject{{u"threshold"_s, 91}}));
            for (int i = 0; i < 5; ++i) {
                const qint64 ms = m_clock->wallMsecs();
                const MetricValues v{{u"system.process.cpu_percent"_s, i < 3 ? 95.0 : 10.0},
                                     {u"cache.error"_s, 1}};
                QVERIFY(store->appendTick(ms, categoryJson(ms, i), v));
                engine.evaluate(v, ms);
                m_clock->advance(1s);
            }
            const QList<Alert> alerts = engine.alerts();
            QCOMPARE(alerts.size(), 2); // cpu (resolved) and cache stats (firing)
            QVERIFY(engine.acknowledge(alerts.first().id));
            lastId = alerts.last().id;
            store->close();
        }
        auto store = makeStore();
        QCOMPARE(store->rawSamples(u"execution"_s, t0, t0 + 10'000, 0)->size(), 5);
        QCOMPARE(store->aggregates(u"system.process.cpu_percent"_s, t0, t0)->first().count, 5);
        AlertEngine engine(*m_clock);
        MonitorConfig c;
        c.thresholds.alertFor = 0;
        engine.setBaseRules(AlertEngine::defaultRules(c));
        QVERIFY(engine.attachStore(store.get()));
        QList<Alert> alerts = engine.alerts();
        QCOMPARE(alerts.size(), 2);
        QCOMPARE(alerts.at(0).state, AlertState::Resolved);
        QVERIFY(alerts.at(0).acknowledged);
        QCOMPARE(alerts.at(0).count, 3);
        QCOMPARE(alerts.at(1).state, AlertState::Firing);
        QCOMPARE(alerts.at(1).count, 5);
        QCOMPARE(engine.rules().at(4).threshold, 91.0); // the override survived
        QCOMPARE(engine.nextId(), lastId + 1);

        // The restored firing episode continues (no new alert while the condition holds).
        engine.evaluate(MetricValues{{u"cache.error"_s, 1}}, m_clock->wallMsecs());
        alerts = engine.alerts();
        QCOMPARE(alerts.size(), 2);
        QCOMPARE(alerts.at(1).count, 6);
        // A new episode continues the ids; clear keeps them increasing across a restart too.
        engine.evaluate(MetricValues{{u"system.process.cpu_percent"_s, 99}}, m_clock->wallMsecs());
        QCOMPARE(engine.alerts().last().id, lastId + 1);
        engine.clear();
        QCOMPARE(rowCount(dbPath(), "alerts"), 0);
        store->close();
        store = makeStore();
        AlertEngine third(*m_clock);
        third.setBaseRules(AlertEngine::defaultRules(c));
        QVERIFY(third.attachStore(store.get()));
        QVERIFY(third.alerts().isEmpty());
        QCOMPARE(third.nextId(), lastId + 2);
    }

    void restoredEpisodeOfADisabledRuleResolves()
    {
        MonitorConfig c;
        c.thresholds.alertFor = 0;
        {
            auto store = makeStore();
            AlertEngine engine(*m_clock);
            engine.setBaseRules(AlertEngine::defaultRules(c));
            QVERIFY(engine.attachStore(store.get()));
            engine.evaluate(MetricValues{{u"system.system.disk_percent"_s, 97}},
                            m_clock->wallMsecs());
            QCOMPARE(engine.alerts().size(), 1);
            QVERIFY(engine.updateRule(u"disk_usage"_s, QJsonObject{{u"enabled"_s, false}}));
            QCOMPARE(engine.alerts().first().state, AlertState::Resolved);
            // Enabled again, firing again: a second episode, still open at shutdown.
            QVERIFY(engine.updateRule(u"disk_usage"_s, QJsonObject{{u"enabled"_s, true}}));
            engine.evaluate(MetricValues{{u"system.system.disk_percent"_s, 97}},
                            m_clock->wallMsecs());
            QCOMPARE(engine.alerts().last().state, AlertState::Firing);
        }
        // The next run's base table no longer has the rule: its open episode resolves at start.
        auto store = makeStore();
        QList<AlertRule> rules = AlertEngine::defaultRules(c);
        rules.removeIf([](const AlertRule &r) { return r.id == u"disk_usage"; });
        AlertEngine engine(*m_clock);
        engine.setBaseRules(rules);
        QSignalSpy resolved(&engine, &AlertEngine::alertResolved);
        QVERIFY(engine.attachStore(store.get()));
        QCOMPARE(resolved.count(), 1);
        const QList<Alert> alerts = engine.alerts();
        QCOMPARE(alerts.size(), 2);
        QCOMPARE(alerts.last().state, AlertState::Resolved);
        QCOMPARE(HistoryStore::settingsFrom(c).rawRetentionSeconds, c.historyRawRetention);
    }

    void corruptFileIsMovedAside()
    {
        {
            QFile f(dbPath());
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(8192, 'x'));
        }
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"history .* is corrupt .*moved aside to"_s));
        auto store = makeStore();
        QVERIFY(store->isOpen());
        QVERIFY(!store->movedAsidePath().isEmpty());
        QVERIFY(QFile::exists(store->movedAsidePath()));
        QCOMPARE(QFileInfo(store->movedAsidePath()).size(), 8192);
        feed(*store, 2, [](int) { return 1.0; });
        QCOMPARE(store->rawSamples(u"system"_s, 0, m_clock->wallMsecs(), 0)->size(), 2);
    }

    void corruptionFoundWhileRunningStartsFresh()
    {
        {
            auto store = makeStore();
            feed(*store, 3, [](int) { return 1.0; });
        }
        {
            // Every page but the first (header and schema) becomes garbage.
            QFile f(dbPath());
            QVERIFY(f.open(QIODevice::ReadWrite));
            const qint64 size = f.size();
            QVERIFY(size > 4096);
            f.seek(4096);
            f.write(QByteArray(size - 4096, char(0xA5)));
        }
        auto store = makeStore();
        QVERIFY(store->isOpen());
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"history .* is corrupt .*moved aside to"_s));
        const qint64 ms = m_clock->wallMsecs();
        const Status first = store->appendTick(ms, categoryJson(ms, 0), {{u"m"_s, 1.0}});
        QVERIFY(!first);
        QCOMPARE(first.error().code, u"history_write_failed"_s);
        QVERIFY(QFile::exists(store->movedAsidePath()));
        QVERIFY(store->isOpen());
        feed(*store, 2, [](int) { return 2.0; });
        QCOMPARE(store->rawSamples(u"cache"_s, 0, m_clock->wallMsecs(), 0)->size(), 2);
    }

    void foreignFileIsMovedAside()
    {
        {
            sqlite3 *db = nullptr;
            sqlite3_open(QFile::encodeName(dbPath()).constData(), &db);
            sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
            sqlite3_close(db);
        }
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"history .* is foreign"_s));
        auto store = makeStore();
        QVERIFY(store->isOpen());
        QVERIFY(store->movedAsidePath().contains(u".foreign-"_s));
    }

    void futureVersionIsRefused()
    {
        {
            auto store = makeStore();
            feed(*store, 1, [](int) { return 1.0; });
        }
        setUserVersion(dbPath(), HistoryStore::kSchemaVersion + 1);
        const QByteArray before = [&] {
            QFile f(dbPath());
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        HistoryStore store(dbPath(), {}, *m_clock);
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"newer than this build"_s));
        const Status opened = store.open();
        QVERIFY(!opened);
        QCOMPARE(opened.error().code, u"history_schema_newer"_s);
        QVERIFY(opened.error().message.contains(u"newer"_s));
        QVERIFY(!store.isOpen());
        QVERIFY(store.movedAsidePath().isEmpty());
        QFile f(dbPath());
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before); // untouched
        AlertEngine engine(*m_clock);
        QVERIFY(!engine.attachStore(&store)); // refused: the engine runs in memory
        const Status tick = store.appendTick(1, {}, {});
        QVERIFY(!tick);
        QCOMPARE(tick.error().code, u"history_unavailable"_s);
        QVERIFY(!store.rawSamples(u"system"_s, 0, 1, 0));
    }

    void readsFromAnotherThreadWhileWriting()
    {
        auto store = makeStore();
        std::atomic<bool> done{false};
        std::atomic<int> reads{0};
        std::atomic<int> failures{0};
        QThread *reader = QThread::create([&] {
            while (!done.load()) {
                if (!store->rawSamples(u"system"_s, 0, std::numeric_limits<qint64>::max(), 50))
                    failures.fetch_add(1);
                if (!store->aggregates(u"m"_s, 0, std::numeric_limits<qint64>::max()))
                    failures.fetch_add(1);
                reads.fetch_add(1);
            }
        });
        reader->start();
        feed(*store, 500, [](int i) { return double(i); });
        done.store(true);
        reader->wait();
        delete reader;
        QCOMPARE(failures.load(), 0);
        QVERIFY(reads.load() > 0);
        QCOMPARE(store->rawSamples(u"system"_s, 0, std::numeric_limits<qint64>::max(), 0)->size(),
                 500);
    }

    void longRunStaysBounded()
    {
        // 50 simulated minutes at 1 Hz with 10 minutes of raw retention: the table holds at most
        // retention + one prune interval of samples, and each tick stays one small transaction.
        HistoryStore::Settings s;
        s.rawRetentionSeconds = 600;
        s.aggregateRetentionSeconds = 1200;
        auto store = makeStore(s);
        MetricValues values;
        for (int m = 0; m < 40; ++m)
            values.insert(u"metric.n%1"_s.arg(m), m);
        QElapsedTimer timer;
        timer.start();
        const int ticks = 3000;
        int maxRaw = 0;
        for (int i = 0; i < ticks; ++i) {
            const qint64 ms = m_clock->wallMsecs();
            QVERIFY(store->appendTick(ms, categoryJson(ms, i), values));
            m_clock->advance(1s);
            if (i % 500 == 499)
                maxRaw = std::max(maxRaw, rowCount(dbPath(), "raw_samples"));
        }
        const double usPerTick = double(timer.nsecsElapsed()) / 1000.0 / ticks;
        qInfo("appendTick: %.0f us per tick (4 samples, 40 metrics)", usPerTick);
        QVERIFY(maxRaw <= 4 * (600 + 61));
        QVERIFY(rowCount(dbPath(), "aggregates") <= 40 * (20 + 2));
        QVERIFY(QFileInfo(dbPath() + u"-wal"_s).size() < (qint64(8) << 20));
    }

    void ruleOverridesRoundTrip()
    {
        auto store = makeStore();
        const HistoryStore::RuleOverrides o{{u"b"_s, QJsonObject{{u"threshold"_s, 1}}},
                                            {u"a"_s, QJsonObject{{u"enabled"_s, false}}}};
        QVERIFY(store->saveRuleOverrides(o));
        QCOMPARE(*store->loadRuleOverrides(), o);
        QVERIFY(store->saveRuleOverrides({}));
        QVERIFY(store->loadRuleOverrides()->isEmpty());
    }
};

QTEST_GUILESS_MAIN(TstHistoryStore)
#include "tst_historystore.moc"

#include "core/cache/cachemanager.h"

#include <QtConcurrent/QtConcurrentRun>
#include <QtCore/QPromise>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThreadPool>
#include <QtTest/QtTest>

#include <atomic>
#include <latch>
#include <thread>

using namespace opsdeck;
using namespace opsdeck::cache;
using namespace std::chrono_literals;

namespace {

QFuture<Result<QByteArray>> ready(Result<QByteArray> value)
{
    QPromise<Result<QByteArray>> promise;
    promise.start();
    promise.addResult(std::move(value));
    promise.finish();
    return promise.future();
}

Result<QByteArray> waitFor(QFuture<Result<QByteArray>> future)
{
    future.waitForFinished();
    return future.result();
}

} // namespace

class TstCacheManager : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<ManualClock> m_clock;

    CacheSettings settings(bool disk = true, qint64 memoryEntries = 1000, int shards = 1)
    {
        CacheSettings s;
        s.memory.maxEntries = memoryEntries;
        s.memory.policy = Policy::Lru;
        s.memory.shards = shards;
        s.diskEnabled = disk;
        s.disk.path = m_dir.filePath(QStringLiteral("cache.db"));
        s.disk.maxBytes = 10 * 1024 * 1024;
        s.defaultTtlSeconds = 300;
        s.maintenanceIntervalMs = 60'000; // tests tick by hand
        return s;
    }

    std::unique_ptr<CacheManager> make(const CacheSettings &s)
    {
        auto cache = std::make_unique<CacheManager>(s, *m_clock);
        const Status opened = cache->open();
        if (!opened)
            qWarning("open failed: %s", qPrintable(opened.error().message));
        return cache;
    }

private Q_SLOTS:
    void init()
    {
        QVERIFY(m_dir.isValid());
        QFile::remove(m_dir.filePath(QStringLiteral("cache.db")));
        m_clock = std::make_unique<ManualClock>();
    }

    void ttlRules()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("default", "d").has_value());
        QVERIFY(cache->set("forever", "f", SetOptions().withTtl(0.0)).has_value());
        QVERIFY(cache->set("short", "s", SetOptions().withTtl(2.0)).has_value());
        const Status negative = cache->set("bad", "b", SetOptions().withTtl(-1.0));
        QVERIFY(!negative);
        QCOMPARE(negative.error().code, QStringLiteral("invalid_ttl"));
        QVERIFY(!cache->get("bad"));

        m_clock->advance(3s);
        QVERIFY(!cache->get("short"));
        QVERIFY(!cache->get("short", Level::Disk));
        m_clock->advance(296s); // 299 s in: the default TTL (300 s) still holds
        QCOMPARE(cache->get("default").value_or(""), QByteArray("d"));
        m_clock->advance(2s);
        QVERIFY(!cache->get("default"));
        m_clock->advance(std::chrono::hours(24 * 365));
        QCOMPARE(cache->get("forever").value_or(""), QByteArray("f")); // ttl 0 never expires
    }

    void memoryExpiryFollowsTheMonotonicClock()
    {
        auto cache = make(settings(false));
        QVERIFY(cache->set("k", "v", SetOptions().withTtl(10.0)).has_value());
        // A wall-clock step (NTP, a user changing the time) neither expires nor revives entries.
        m_clock->setWallMsecs(m_clock->wallMsecs() + 3'600'000);
        QCOMPARE(cache->get("k").value_or(""), QByteArray("v"));
        m_clock->setWallMsecs(m_clock->wallMsecs() - 7'200'000);
        QCOMPARE(cache->get("k").value_or(""), QByteArray("v"));
        m_clock->advance(11s);
        QVERIFY(!cache->get("k"));
    }

    void emptyValueIsAHit()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("empty", QByteArray()).has_value());
        const std::optional<QByteArray> value = cache->get("empty");
        QVERIFY(value.has_value());
        QVERIFY(value->isEmpty());
        QCOMPARE(cache->stats().hits, quint64(1));
        QCOMPARE(cache->stats().misses, quint64(0));
    }

    void writesAtAllReachBothTiersAndDiskHitsPromote()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("k", "v", SetOptions().withTtl(10.0).withTags({"t1"})).has_value());
        QCOMPARE(cache->get("k", Level::Memory).value_or(""), QByteArray("v"));
        QCOMPARE(cache->get("k", Level::Disk).value_or(""), QByteArray("v"));

        cache->clear(Level::Memory);
        QVERIFY(!cache->get("k", Level::Memory));
        m_clock->advance(4s);
        QCOMPARE(cache->get("k").value_or(""), QByteArray("v")); // disk hit, promoted
        QCOMPARE(cache->get("k", Level::Memory).value_or(""), QByteArray("v"));
        QVERIFY(cache->stats().promotions >= 1);
        // The promoted copy kept the remaining TTL (6 s) ...
        const std::optional<Clock::Duration> ttl = cache->timeToLive("k");
        QVERIFY(ttl.has_value());
        QVERIFY(*ttl <= Clock::Duration(6s) && *ttl > Clock::Duration(5s));
        // ... and its tags.
        QCOMPARE(cache->invalidateTag("t1"), 1);
        QVERIFY(!cache->get("k"));
    }

    void memoryEvictionLeavesDiskCopy()
    {
        auto cache = make(settings(true, 2));
        for (const QByteArray &key : {QByteArray("a"), QByteArray("b"), QByteArray("c")})
            QVERIFY(cache->set(key, key + "-value").has_value());
        QVERIFY(!cache->get("a", Level::Memory)); // LRU victim
        QCOMPARE(cache->get("a").value_or(""), QByteArray("a-value")); // still on disk
    }

    void overwriteAtCapacityEvictsNothing()
    {
        auto cache = make(settings(false, 2));
        QVERIFY(cache->set("a", "1").has_value());
        QVERIFY(cache->set("b", "2").has_value());
        QVERIFY(cache->set("b", "3").has_value());
        QCOMPARE(cache->get("a").value_or(""), QByteArray("1"));
        QCOMPARE(cache->get("b").value_or(""), QByteArray("3"));
        QCOMPARE(cache->stats().memory.evictedSize, quint64(0));
    }

    void distinctKeys()
    {
        auto cache = make(settings());
        const QList<QByteArray> keys{"a:b", "a/b", "a_b", "../x", QByteArray("bin\0key", 7),
                                     QByteArray(4096, 'k')};
        for (const QByteArray &key : keys)
            QVERIFY(cache->set(key, "v:" + key).has_value());
        cache->clear(Level::Memory);
        for (const QByteArray &key : keys)
            QCOMPARE(cache->get(key).value_or(""), QByteArray("v:" + key));
        QCOMPARE(cache->keys("a", 10).size(), 3);
    }

    void patternInvalidationRemovesFromEveryTier_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<int>("removed");
        QTest::newRow("literal prefix") << QStringLiteral("user:") << 3;
        QTest::newRow("prefix and regex") << QStringLiteral("user:[0-9]+$") << 2;
        QTest::newRow("no literal prefix") << QStringLiteral(".*:1") << 2;
        QTest::newRow("alternation") << QStringLiteral("user:1|order:1") << 2;
        QTest::newRow("anchored at start") << QStringLiteral(":1") << 0;
    }
    void patternInvalidationRemovesFromEveryTier()
    {
        QFETCH(QString, pattern);
        QFETCH(int, removed);
        auto cache = make(settings());
        for (const QByteArray &key : {QByteArray("user:1"), QByteArray("user:2"), QByteArray("user:x"),
                                     QByteArray("order:1")})
            QVERIFY(cache->set(key, "v").has_value());
        QFuture<Result<int>> future = cache->invalidatePattern(pattern);
        future.waitForFinished();
        const Result<int> count = future.result();
        QVERIFY(count.has_value());
        QCOMPARE(*count, removed);
        // Nothing resurrects from disk.
        int left = 0;
        for (const QByteArray &key : {QByteArray("user:1"), QByteArray("user:2"), QByteArray("user:x"),
                                     QByteArray("order:1")})
            left += cache->get(key).has_value() ? 1 : 0;
        QCOMPARE(left, 4 - removed);
    }

    void invalidPatternIsAnError()
    {
        auto cache = make(settings(false));
        QFuture<Result<int>> future = cache->invalidatePattern(QStringLiteral("user:("));
        future.waitForFinished();
        QVERIFY(!future.result().has_value());
        QCOMPARE(future.result().error().code, QStringLiteral("invalid_pattern"));
    }

    void literalPrefix_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("prefix");
        QTest::newRow("plain") << QStringLiteral("ticker:BTC") << QStringLiteral("ticker:BTC");
        QTest::newRow("dot star") << QStringLiteral("ticker:.*") << QStringLiteral("ticker:");
        QTest::newRow("optional last") << QStringLiteral("abc?") << QStringLiteral("ab");
        QTest::newRow("escaped dot") << QStringLiteral("a\\.b.*") << QStringLiteral("a.b");
        QTest::newRow("class") << QStringLiteral("[ab]x") << QString();
        QTest::newRow("alternation") << QStringLiteral("ab|ac") << QString();
        QTest::newRow("digit escape") << QStringLiteral("a\\d") << QStringLiteral("a");
    }
    void literalPrefix()
    {
        QFETCH(QString, pattern);
        QFETCH(QString, prefix);
        QCOMPARE(CacheManager::literalPrefix(pattern), prefix);
    }

    void tagInvalidationCountsDistinctKeys()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("a", "1", SetOptions().withTags({"x", "y"})).has_value());
        QVERIFY(cache->set("b", "2", SetOptions().withTags({"x"})).has_value());
        QVERIFY(cache->set("c", "3", SetOptions().withTags({"y"})).has_value());
        QCOMPARE(cache->invalidateTag("x"), 2);
        QVERIFY(!cache->get("a"));
        QVERIFY(!cache->get("b", Level::Disk));
        QCOMPARE(cache->invalidateTag("y"), 1);
        QCOMPARE(cache->invalidateTag("nope"), 0);
    }

    void dependenciesCascadeTransitively()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("parent", "p").has_value());
        QVERIFY(cache->set("child", "c", SetOptions().withDependsOn({"parent"})).has_value());
        QVERIFY(cache->set("grandchild", "g", SetOptions().withDependsOn({"child"})).has_value());
        QVERIFY(cache->set("other", "o").has_value());
        QCOMPARE(cache->dependencies("child"), QList<QByteArray>{"parent"});
        QCOMPARE(cache->dependents("parent"), QList<QByteArray>{"child"});
        QCOMPARE(cache->remove("parent"), 3);
        QVERIFY(!cache->get("child"));
        QVERIFY(!cache->get("grandchild", Level::Disk));
        QCOMPARE(cache->get("other").value_or(""), QByteArray("o"));
        QVERIFY(cache->dependents("parent").isEmpty());
    }

    void dependencyCycleTerminates()
    {
        auto cache = make(settings(false));
        QVERIFY(cache->set("a", "1", SetOptions().withDependsOn({"b"})).has_value());
        QVERIFY(cache->set("b", "2", SetOptions().withDependsOn({"a"})).has_value());
        QCOMPARE(cache->remove("a"), 2);
        QVERIFY(!cache->set("self", "x", SetOptions().withDependsOn({"self"})));
    }

    void invalidationCascadesToDependents()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("book:BTC", "b", SetOptions().withTags({"books"})).has_value());
        QVERIFY(cache->set("mid:BTC", "m", SetOptions().withDependsOn({"book:BTC"})).has_value());
        QCOMPARE(cache->invalidateTag("books"), 2);
        QVERIFY(!cache->get("mid:BTC"));
    }

    void singleFlightCallsTheLoaderOnce()
    {
        auto cache = make(settings(false));
        std::atomic<int> calls{0};
        QPromise<Result<QByteArray>> promise;
        promise.start();
        QFuture<Result<QByteArray>> pending = promise.future();
        auto loader = [&calls, pending] {
            ++calls;
            return pending;
        };
        constexpr int kCallers = 100;
        QThreadPool pool;
        pool.setMaxThreadCount(8);
        std::latch started(kCallers);
        QList<QFuture<Result<QByteArray>>> results(kCallers);
        QMutex resultsMutex;
        for (int i = 0; i < kCallers; ++i) {
            pool.start([&, i] {
                QFuture<Result<QByteArray>> f = cache->getOrLoad("hot", 30.0, loader);
                {
                    QMutexLocker lock(&resultsMutex);
                    results[i] = f;
                }
                started.count_down();
            });
        }
        started.wait();
        QCOMPARE(calls.load(), 1);
        promise.addResult(QByteArray("value"));
        promise.finish();
        for (const QFuture<Result<QByteArray>> &f : std::as_const(results)) {
            const Result<QByteArray> r = waitFor(f);
            QVERIFY(r.has_value());
            QCOMPARE(*r, QByteArray("value"));
        }
        QCOMPARE(calls.load(), 1);
        QCOMPARE(cache->get("hot").value_or(""), QByteArray("value"));
        QCOMPARE(cache->stats().loads, quint64(1));
        QCOMPARE(cache->stats().loadJoins, quint64(kCallers - 1));
        pool.waitForDone();
    }

    void failingLoaderReachesEveryWaiterAndCachesNothing()
    {
        auto cache = make(settings(false));
        QPromise<Result<QByteArray>> promise;
        promise.start();
        int calls = 0;
        auto loader = [&calls, f = promise.future()] {
            ++calls;
            return f;
        };
        QFuture<Result<QByteArray>> a = cache->getOrLoad("k", {}, loader);
        QFuture<Result<QByteArray>> b = cache->getOrLoad("k", {}, loader);
        promise.addResult(fail(QStringLiteral("upstream_down"), QStringLiteral("Down.")));
        promise.finish();
        QCOMPARE(waitFor(a).error().code, QStringLiteral("upstream_down"));
        QCOMPARE(waitFor(b).error().code, QStringLiteral("upstream_down"));
        QCOMPARE(calls, 1);
        QVERIFY(!cache->get("k"));
        QCOMPARE(cache->stats().loadErrors, quint64(1));
        // The next call loads again.
        const Result<QByteArray> again = waitFor(cache->getOrLoad("k", {}, [] { return ready(QByteArray("ok")); }));
        QCOMPARE(again.value_or(""), QByteArray("ok"));
    }

    void loaderThatThrowsIsAnError()
    {
        auto cache = make(settings(false));
        const Result<QByteArray> r = waitFor(cache->getOrLoad("k", {}, []() -> QFuture<Result<QByteArray>> {
            throw std::runtime_error("boom");
        }));
        QVERIFY(!r);
        QCOMPARE(r.error().code, QStringLiteral("load_failed"));
    }

    void stopCancelsPendingLoadsAndDropsLateResults()
    {
        auto cache = make(settings(false));
        QPromise<Result<QByteArray>> promise;
        promise.start();
        QFuture<Result<QByteArray>> waiting = cache->getOrLoad("slow", {}, [f = promise.future()] { return f; });
        cache->stop();
        QCOMPARE(waitFor(waiting).error().code, QStringLiteral("cache_stopped"));
        promise.addResult(QByteArray("late"));
        promise.finish(); // dropped: no crash, nothing stored
        QVERIFY(!cache->get("slow"));
        QCOMPARE(waitFor(cache->getOrLoad("x", {}, [] { return ready(QByteArray("v")); })).error().code,
                 QStringLiteral("cache_stopped"));
    }

    void removedKeysAreNotRefreshed()
    {
        auto cache = make(settings(false));
        int calls = 0;
        auto loader = [&calls] {
            ++calls;
            return ready(QByteArray("fresh"));
        };
        QCOMPARE(waitFor(cache->getOrLoad("k", 5.0, loader)).value_or(""), QByteArray("fresh"));
        QVERIFY(cache->hasLoader("k"));
        QCOMPARE(waitFor(cache->refresh("k")).value_or(""), QByteArray("fresh"));
        QCOMPARE(calls, 2);
        QCOMPARE(cache->remove("k"), 1);
        QVERIFY(!cache->hasLoader("k"));
        QCOMPARE(waitFor(cache->refresh("k")).error().code, QStringLiteral("no_loader"));
        QVERIFY(!cache->get("k"));
    }

    void hitRateCountsEachLookupOnce()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("a", "1").has_value());
        cache->clear(Level::Memory);
        QVERIFY(cache->get("a").has_value()); // memory miss + disk hit: one lookup, one hit
        QVERIFY(!cache->get("missing"));      // one lookup, one miss
        const CacheStats s = cache->stats();
        QCOMPARE(s.lookups, quint64(2));
        QCOMPARE(s.hitRate(), 0.5);
        const QJsonObject json = s.toJson();
        for (const char *key : {"memory_size", "memory_max_size", "memory_usage", "memory_hit_count",
                                "memory_miss_count", "memory_hit_rate", "disk_enabled", "disk_size",
                                "disk_max_size", "disk_usage", "disk_hit_count", "disk_miss_count",
                                "disk_hit_rate", "distributed_enabled", "eviction_count",
                                "invalidation_strategy", "hit_rate", "evictions"})
            QVERIFY2(json.contains(QLatin1String(key)), key);
        QCOMPARE(json.value(QStringLiteral("distributed_enabled")).toBool(), false);
        QCOMPARE(json.value(QStringLiteral("hit_rate")).toDouble(), 0.5);
        QCOMPARE(json.value(QStringLiteral("invalidation_strategy")).toString(), QStringLiteral("lru"));
    }

    void touchExtendsExpiry()
    {
        auto cache = make(settings());
        QVERIFY(cache->set("k", "v", SetOptions().withTtl(2.0)).has_value());
        m_clock->advance(1s);
        QCOMPARE(cache->touch("k", 10.0).value_or(false), true);
        m_clock->advance(5s);
        QCOMPARE(cache->get("k").value_or(""), QByteArray("v"));
        QCOMPARE(cache->touch("missing", 10.0).value_or(true), false);
        QVERIFY(!cache->touch("k", -3.0));
    }

    void prefetchAndKeys()
    {
        auto cache = make(settings());
        QVERIFY(cache->setMany({{"p:1", "a"}, {"p:2", "b"}, {"q:1", "c"}}).has_value());
        const QHash<QByteArray, QByteArray> got = cache->prefetch({"p:1", "p:2", "p:3"});
        QCOMPARE(got.size(), 2);
        QCOMPARE(got.value("p:2"), QByteArray("b"));
        QCOMPARE(cache->keys("p:", 10), (QList<QByteArray>{"p:1", "p:2"}));
        QCOMPARE(cache->keys("", 2).size(), 2);
    }

    void restartKeepsValuesExpiryAndTags()
    {
        {
            auto cache = make(settings());
            QVERIFY(cache->set("keep", "v", SetOptions().withTtl(100.0).withTags({"t"})).has_value());
            QVERIFY(cache->set("gone", "v", SetOptions().withTtl(5.0)).has_value());
            cache->stop();
        }
        m_clock->advance(10s);
        auto cache = make(settings());
        QCOMPARE(cache->get("keep").value_or(""), QByteArray("v"));
        QVERIFY(!cache->get("gone"));
        QCOMPARE(cache->invalidateTag("t"), 1);
        QVERIFY(!cache->get("keep"));
    }

    void dependenciesSurviveARestart()
    {
        {
            auto cache = make(settings());
            QVERIFY(cache->set("parent", "p").has_value());
            QVERIFY(cache->set("child", "c", SetOptions().withDependsOn({"parent"})).has_value());
            QVERIFY(cache->set("grandchild", "g", SetOptions().withDependsOn({"child"})).has_value());
            cache->stop();
        }
        auto cache = make(settings());
        QCOMPARE(cache->dependents("parent"), QList<QByteArray>{"child"});
        QCOMPARE(cache->remove("parent"), 3);
        QVERIFY(!cache->get("child"));
        QVERIFY(!cache->get("grandchild"));
    }

    void maintenanceReclaimsExpiredInOneTick()
    {
        auto cache = make(settings(false));
        for (int i = 0; i < 50; ++i)
            QVERIFY(cache->set("e" + QByteArray::number(i), "v", SetOptions().withTtl(1.0)).has_value());
        m_clock->advance(2s);
        cache->runMaintenance();
        const CacheStats s = cache->stats();
        QCOMPARE(s.memory.entries, qint64(0));
        QCOMPARE(s.memory.evictedExpired, quint64(50));
    }

    void jsonHelpersRoundTrip()
    {
        auto cache = make(settings(false));
        QVERIFY(cache->setJson("obj", QJsonObject{{QStringLiteral("price"), 1.5}}).has_value());
        QVERIFY(cache->setJson("num", 42).has_value());
        QCOMPARE(cache->getJson("obj")->toObject().value(QStringLiteral("price")).toDouble(), 1.5);
        QCOMPARE(cache->getJson("num")->toInt(), 42);
        QVERIFY(!cache->getJson("missing"));
    }

    void unusableDiskMeansMemoryOnly()
    {
        QFile blocker(m_dir.filePath(QStringLiteral("afile")));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        CacheSettings s = settings();
        s.disk.path = m_dir.filePath(QStringLiteral("afile/cache.db"));
        auto cache = make(s);
        QVERIFY(cache->set("k", "v").has_value());
        QCOMPARE(cache->get("k").value_or(""), QByteArray("v"));
        QCOMPARE(cache->stats().disk.enabled, false);
    }

    void manyThreads()
    {
        auto cache = make(settings(true, 200, 0));
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&cache, t] {
                for (int i = 0; i < 2000; ++i) {
                    const QByteArray key = "k" + QByteArray::number((i * 7 + t) % 300);
                    switch (i % 5) {
                    case 0: cache->set(key, QByteArray::number(i), SetOptions().withTags({"tag" + QByteArray::number(i % 3)})); break;
                    case 1: cache->get(key); break;
                    case 2: cache->remove(key); break;
                    case 3: cache->getOrLoad(key, 5.0, [] { return ready(QByteArray("loaded")); }).waitForFinished(); break;
                    default: if (i % 250 == 4) cache->invalidateTag("tag1"); else cache->get(key, Level::Memory); break;
                    }
                }
            });
        }
        for (auto &thread : threads)
            thread.join();
        const CacheStats s = cache->stats();
        QVERIFY(s.memory.entries <= 200);
        QVERIFY(s.lookups > 0);
    }
};

QTEST_GUILESS_MAIN(TstCacheManager)
#include "tst_cachemanager.moc"

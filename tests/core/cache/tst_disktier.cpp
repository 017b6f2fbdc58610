// Tests of DiskTier: behaviour through the public API, the file checked with raw libsqlite3.
// Deterministic: ManualClock for expiry, flush() futures for commits, no sleeps.
#include "core/cache/disktier.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QMutex>
#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtCore/QSemaphore>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <sqlite3.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace opsdeck;
using namespace opsdeck::cache;
using namespace std::chrono_literals;

namespace {

// A separate connection to inspect the file as SQLite sees it.
class RawDb
{
public:
    explicit RawDb(const QString &path, int flags = SQLITE_OPEN_READWRITE)
    {
        if (sqlite3_open_v2(path.toUtf8().constData(), &m_db, flags, nullptr) != SQLITE_OK) {
            sqlite3_close(m_db);
            m_db = nullptr;
        }
        if (m_db)
            sqlite3_busy_timeout(m_db, 10000);
    }
    ~RawDb() { sqlite3_close(m_db); }
    RawDb(const RawDb &) = delete;
    RawDb &operator=(const RawDb &) = delete;

    bool isOpen() const { return m_db != nullptr; }

    QByteArray text(const char *sql) const
    {
        sqlite3_stmt *stmt = nullptr;
        QByteArray out;
        if (sqlite3_prepare_v2(m_db, sql, -1, &stmt, nullptr) == SQLITE_OK
            && sqlite3_step(stmt) == SQLITE_ROW) {
            const auto *data = sqlite3_column_text(stmt, 0);
            out = QByteArray(reinterpret_cast<const char *>(data), sqlite3_column_bytes(stmt, 0));
        } else {
            out = QByteArray("error: ") + sqlite3_errmsg(m_db);
        }
        sqlite3_finalize(stmt);
        return out;
    }

    qint64 integer(const char *sql) const
    {
        sqlite3_stmt *stmt = nullptr;
        qint64 out = -1;
        if (sqlite3_prepare_v2(m_db, sql, -1, &stmt, nullptr) == SQLITE_OK
            && sqlite3_step(stmt) == SQLITE_ROW)
            out = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        return out;
    }

    // EXPLAIN QUERY PLAN's detail column, every row joined.
    QByteArray plan(const QByteArray &sql) const
    {
        sqlite3_stmt *stmt = nullptr;
        QByteArray out;
        const QByteArray explain = "EXPLAIN QUERY PLAN " + sql;
        if (sqlite3_prepare_v2(m_db, explain.constData(), -1, &stmt, nullptr) == SQLITE_OK) {
            while (sqlite3_step(stmt) == SQLITE_ROW)
                out += reinterpret_cast<const char *>(sqlite3_column_text(stmt, 3))
                       + QByteArray("; ");
        }
        sqlite3_finalize(stmt);
        return out;
    }

    int exec(const char *sql) const { return sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr); }

private:
    sqlite3 *m_db = nullptr;
};

DiskTier::Settings
settingsFor(const QString &path, qint64 maxBytes = 104857600, Policy policy = Policy::Adaptive)
{
    DiskTier::Settings s;
    s.path = path;
    s.maxBytes = maxBytes;
    s.policy = policy;
    return s;
}

DiskTier::Entry entryOf(const QByteArray &value,
                        qint64 expiresAt = 0,
                        QList<QByteArray> tags = {},
                        QList<QByteArray> dependsOn = {})
{
    DiskTier::Entry e;
    e.value = value;
    e.expiresAtWallMs = expiresAt;
    e.tags = std::move(tags);
    e.dependsOn = std::move(dependsOn);
    return e;
}

void flushed(DiskTier &tier)
{
    tier.flush().waitForFinished();
}

QByteArray valueOf(const std::optional<DiskTier::Entry> &e)
{
    return e ? e->value : QByteArray("<miss>");
}

QStringList filesIn(const QString &dir)
{
    QStringList names = QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System
                                            | QDir::NoDotAndDotDot);
    names.sort();
    return names;
}

// The database files moved aside (their -wal companions left out).
QStringList asideFiles(const QString &dir, const QString &kind)
{
    QStringList names;
    const QStringList all = QDir(dir).entryList(
        {QStringLiteral("cache.db.") + kind + QStringLiteral("-*")}, QDir::Files);
    for (const QString &name : all) {
        if (!name.endsWith(QLatin1String("-wal")) && !name.endsWith(QLatin1String("-journal")))
            names.append(name);
    }
    return names;
}

QList<QByteArray> byteList(std::initializer_list<const char *> items)
{
    QList<QByteArray> out;
    for (const char *item : items)
        out.append(QByteArray(item));
    return out;
}

void writeGarbage(const QString &path, qint64 offset, qint64 length)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QVERIFY(file.seek(offset));
    QByteArray junk(length, '\0');
    QRandomGenerator rng(42);
    for (char &c : junk)
        c = char(rng.bounded(256));
    QCOMPARE(file.write(junk), length);
    file.close();
}

} // namespace

Q_DECLARE_METATYPE(opsdeck::cache::Policy)

class TstDiskTier : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void setGetRemoveTouchClear()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db"))), clock);
        QVERIFY(tier.open().has_value());
        QVERIFY(tier.available());
        QVERIFY(!tier.open().has_value()); // a second open is a programming error

        tier.set("a", entryOf("alpha", 0, byteList({"t"}), byteList({"parent"})));
        tier.set("empty", entryOf(QByteArray()));
        flushed(tier);
        const auto a = tier.get("a");
        QVERIFY(a);
        QCOMPARE(a->value, QByteArray("alpha"));
        QCOMPARE(a->tags, byteList({"t"}));
        QCOMPARE(a->dependsOn, byteList({"parent"}));
        const auto empty = tier.get("empty");
        QVERIFY(empty); // a stored empty value is a hit
        QVERIFY(empty->value.isEmpty());
        QVERIFY(!tier.get("nothing"));
        QCOMPARE(tier.stats().hits, 2u);
        QCOMPARE(tier.stats().misses, 1u);
        QCOMPARE(tier.stats().entries, 2);
        QCOMPARE(tier.stats().bytes, qint64(1 + 5 + 5));

        tier.set("a", entryOf("alpha2"));
        tier.touch("a", clock.wallMsecs() + 1000);
        flushed(tier);
        QCOMPARE(tier.get("a")->expiresAtWallMs, clock.wallMsecs() + 1000);
        QCOMPARE(tier.stats().evictedReplaced, 1u);
        QCOMPARE(tier.getAsync("a").result()->value, QByteArray("alpha2"));

        tier.remove("a");
        flushed(tier);
        QVERIFY(!tier.get("a"));
        QCOMPARE(tier.stats().evictedInvalidated, 1u);
        tier.touch("a", 0); // missing: nothing happens
        flushed(tier);
        QVERIFY(!tier.get("a"));

        tier.set("x", entryOf("1"));
        tier.set("y", entryOf("2"));
        tier.removeMany({"x", "nope"});
        tier.clear();
        flushed(tier);
        QVERIFY(!tier.get("y"));
        QVERIFY(!tier.get("empty"));
        QCOMPARE(tier.stats().entries, 0);
        QCOMPARE(tier.stats().bytes, 0);
        QCOMPARE(tier.stats().errors, 0u);
        QVERIFY(!tier.getAsync("y").result().has_value());
    }

    // getAsync(key, done): called once with what get() would say, on a reader thread or at once;
    // after close() at once with nothing.
    void getAsyncCallback()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db"))), clock);
        QVERIFY(tier.open().has_value());
        tier.set("k", entryOf("v1"));
        flushed(tier);
        struct Seen
        {
            QMutex mutex;
            QList<std::optional<DiskTier::Entry>> answers;
            QSemaphore done;
        } seen;
        auto callback = [&seen](std::optional<DiskTier::Entry> e) {
            {
                QMutexLocker lock(&seen.mutex);
                seen.answers.append(std::move(e));
            }
            seen.done.release();
        };
        tier.getAsync("k", callback);
        tier.getAsync("missing", callback);
        QVERIFY(seen.done.tryAcquire(2, 5000));
        {
            QMutexLocker lock(&seen.mutex);
            QCOMPARE(seen.answers.size(), 2);
            int hits = 0;
            for (const auto &a : std::as_const(seen.answers)) {
                if (a) {
                    QCOMPARE(a->value, QByteArray("v1"));
                    ++hits;
                }
            }
            QCOMPARE(hits, 1);
        }
        tier.close();
        tier.getAsync("k", callback);
        QVERIFY(seen.done.tryAcquire(1, 0)); // at once
        QMutexLocker lock(&seen.mutex);
        QCOMPARE(seen.answers.size(), 3);
        QVERIFY(!seen.answers.last().has_value());
    }

    void readYourWritesBeforeFlush()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        auto s = settingsFor(tmp.filePath(QStringLiteral("cache.db")));
        s.batchMaxDelayMs = 1000;
        s.batchMaxOps = 100000;
        DiskTier tier(s, clock);
        QVERIFY(tier.open().has_value());
        tier.set("k", entryOf("v1", 0, byteList({"tag"})));
        QCOMPARE(valueOf(tier.get("k")), QByteArray("v1"));
        QCOMPARE(valueOf(tier.getAsync("k").result()), QByteArray("v1"));
        QCOMPARE(tier.keysWithPrefix("k"), byteList({"k"}));
        QCOMPARE(tier.keysWithTag("tag"), byteList({"k"}));
        tier.set("k", entryOf("v2"));
        QCOMPARE(valueOf(tier.get("k")), QByteArray("v2"));
        QVERIFY(tier.keysWithTag("tag").isEmpty());
        tier.touch("k", clock.wallMsecs() + 50);
        QCOMPARE(tier.get("k")->expiresAtWallMs, clock.wallMsecs() + 50);
        tier.remove("k");
        QVERIFY(!tier.get("k"));
        QVERIFY(tier.keysWithPrefix("k").isEmpty());

        // Committed rows are hidden by a pending remove and by a pending clear.
        tier.set("c1", entryOf("1"));
        tier.set("c2", entryOf("2"));
        flushed(tier);
        tier.remove("c1");
        QVERIFY(!tier.get("c1"));
        QCOMPARE(tier.keysWithPrefix("c"), byteList({"c2"}));
        tier.clear();
        QVERIFY(!tier.get("c2"));
        QVERIFY(tier.keysWithPrefix("c").isEmpty());
        tier.set("c3", entryOf("3"));
        QCOMPARE(tier.keysWithPrefix("c"), byteList({"c3"}));
        flushed(tier);
        QCOMPARE(tier.keysWithPrefix("c"), byteList({"c3"}));
        QCOMPARE(tier.stats().entries, 1);
    }

    void expiryNeverReturnedAndExpireDueReclaims()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db"))), clock);
        QVERIFY(tier.open().has_value());
        const qint64 t0 = clock.wallMsecs();
        tier.set("soon", entryOf("1", t0 + 1000, byteList({"t"})));
        tier.set("later", entryOf("2", t0 + 60000, byteList({"t"})));
        tier.set("never", entryOf("3"));
        tier.set("pending", entryOf("4", t0 + 1000));
        QVERIFY(tier.get("soon"));
        flushed(tier);
        tier.set("pending2", entryOf("5", t0 + 1000));
        clock.advance(1s);
        QVERIFY(!tier.get("soon"));     // committed and expired
        QVERIFY(!tier.get("pending2")); // maybe still pending, and expired
        QCOMPARE(tier.keysWithTag("t"), byteList({"later"}));
        QCOMPARE(tier.keysWithPrefix(""), byteList({"later", "never"}));
        QVERIFY(tier.get("later"));
        flushed(tier);
        QCOMPARE(tier.stats().entries, 5);
        QCOMPARE(tier.expireDue(), 3);
        QCOMPARE(tier.stats().entries, 2);
        QCOMPARE(tier.stats().evictedExpired, 3u);
        QCOMPARE(tier.expireDue(), 0);
        clock.advance(60s);
        QCOMPARE(tier.expireDue(), 1);
        QVERIFY(tier.get("never"));
    }

    void restartPersistence()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        const qint64 t0 = clock.wallMsecs();
        {
            DiskTier tier(settingsFor(path), clock);
            QVERIFY(tier.open().has_value());
            tier.set("eternal", entryOf("f", 0, byteList({"keep"}), byteList({"root"})));
            tier.set("hour", entryOf("h", t0 + 3600000, byteList({"keep", "hourly"})));
            tier.set("second", entryOf("s", t0 + 1000, byteList({"keep"})));
            tier.close(); // flushes what is pending
        }
        clock.advance(5s);
        DiskTier tier(settingsFor(path), clock);
        QVERIFY(tier.open().has_value());
        flushed(tier); // the startup sweep ran before this
        QCOMPARE(tier.stats().entries, 2);
        QCOMPARE(tier.stats().evictedExpired, 1u);
        const auto eternal = tier.get("eternal");
        QVERIFY(eternal);
        QCOMPARE(eternal->value, QByteArray("f"));
        QCOMPARE(eternal->expiresAtWallMs, 0);
        QCOMPARE(eternal->dependsOn, byteList({"root"}));
        const auto hour = tier.get("hour");
        QVERIFY(hour);
        QCOMPARE(hour->expiresAtWallMs, t0 + 3600000);
        QCOMPARE(hour->tags, byteList({"keep", "hourly"}));
        QVERIFY(!tier.get("second"));
        QCOMPARE(tier.keysWithTag("keep"), byteList({"eternal", "hour"}));
        QCOMPARE(tier.keysWithTag("hourly"), byteList({"hour"}));
        QCOMPARE(tier.stats().errors, 0u);
    }

    void hostileKeysAreDistinctAndStayInTheFile()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        const QString dir = tmp.filePath(QStringLiteral("data"));
        QVERIFY(QDir().mkpath(dir));
        const QString path = dir + QStringLiteral("/cache.db");
        QList<QByteArray> keys = byteList({"a:b", "a/b", "a_b", "a.b", "a b", "../x", "../../x",
                                           "/etc/passwd", "./cache.db", "cache.db-wal", "A:B"});
        keys << QByteArray("a\0b", 3) << QByteArray("\0", 1) << QByteArray("a\0", 2) << QByteArray()
             << QByteArray(4096, 'k') << (QByteArray(4095, 'k') + 'j');
        QByteArray allBytes;
        for (int i = 0; i < 256; ++i)
            allBytes.append(char(i));
        keys << allBytes << QByteArray("\xff\xfe\x80", 3) << QByteArray("caf\xc3\xa9");
        {
            DiskTier tier(settingsFor(path), clock);
            QVERIFY(tier.open().has_value());
            for (int i = 0; i < keys.size(); ++i)
                tier.set(keys[i], entryOf(QByteArray::number(i)));
            for (int i = 0; i < keys.size(); ++i)
                QCOMPARE(valueOf(tier.get(keys[i])), QByteArray::number(i)); // pending
            flushed(tier);
            QCOMPARE(tier.stats().entries, keys.size());
            for (int i = 0; i < keys.size(); ++i)
                QCOMPARE(valueOf(tier.get(keys[i])), QByteArray::number(i)); // committed
            QCOMPARE(tier.keysWithPrefix("a").size(), 7); // a:b a/b a_b a.b "a b" a\0b a\0
            for (const QString &name : filesIn(dir))
                QVERIFY2(name == QLatin1String("cache.db") || name == QLatin1String("cache.db-wal")
                             || name == QLatin1String("cache.db-shm"),
                         qPrintable(name));
        }
        DiskTier tier(settingsFor(path), clock);
        QVERIFY(tier.open().has_value());
        for (int i = 0; i < keys.size(); ++i)
            QCOMPARE(valueOf(tier.get(keys[i])), QByteArray::number(i));
        tier.close();
        QCOMPARE(filesIn(tmp.path()), QStringList{QStringLiteral("data")});
        QCOMPARE(filesIn(dir), QStringList{QStringLiteral("cache.db")});
        QVERIFY(!QFileInfo::exists(tmp.filePath(QStringLiteral("x"))));
    }

    void byteBudgetHoldsAfterEveryBatch_data()
    {
        QTest::addColumn<Policy>("policy");
        QTest::newRow("lru") << Policy::Lru;
        QTest::newRow("lfu") << Policy::Lfu;
        QTest::newRow("fifo") << Policy::Fifo;
        QTest::newRow("ttl") << Policy::Ttl;
        QTest::newRow("adaptive") << Policy::Adaptive;
    }

    void byteBudgetHoldsAfterEveryBatch()
    {
        QFETCH(Policy, policy);
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        const qint64 budget = 32 * 1024;
        DiskTier tier(settingsFor(path, budget, policy), clock);
        QVERIFY(tier.open().has_value());
        RawDb raw(path, SQLITE_OPEN_READONLY);
        QVERIFY(raw.isOpen());
        QRandomGenerator rng(7);
        for (int round = 0; round < 40; ++round) {
            for (int i = 0; i < 25; ++i) {
                const QByteArray key = "key:" + QByteArray::number(rng.bounded(400));
                const int size = 100 + rng.bounded(1900);
                const qint64 expiry
                    = rng.bounded(3) == 0 ? clock.wallMsecs() + rng.bounded(100000) : 0;
                tier.set(key, entryOf(QByteArray(size, char('a' + i)), expiry));
                if (i % 5 == 0)
                    tier.get("key:" + QByteArray::number(rng.bounded(400)));
            }
            flushed(tier);
            const TierStats s = tier.stats();
            QVERIFY2(s.bytes <= budget, qPrintable(QString::number(s.bytes)));
            QCOMPARE(raw.integer("SELECT coalesce(sum(size), 0) FROM entries"), s.bytes);
            QCOMPARE(raw.integer("SELECT count(*) FROM entries"), s.entries);
            QCOMPARE(raw.integer("SELECT coalesce(sum(length(key) + length(value)), 0)"
                                 " FROM entries"),
                     s.bytes);
        }
        QVERIFY(tier.stats().evictedSize > 100);
        QVERIFY(tier.stats().bytes > budget / 2);
    }

    void evictionVictims_data()
    {
        QTest::addColumn<Policy>("policy");
        QTest::addColumn<QList<int>>("reads");  // reads of k0..k9 before k10 is written
        QTest::addColumn<bool>("withExpiry");   // k_i expires at t0 + (100 - i) s
        QTest::addColumn<QByteArray>("victim"); // the one key evicted by writing k10
        // LRU: k0 was read last, so k1 (written second, never read) goes.
        QTest::newRow("lru") << Policy::Lru << QList<int>{1, 0, 0, 0, 0, 0, 0, 0, 0, 0} << false
                             << QByteArray("k1");
        // FIFO ignores reads: the oldest write goes.
        QTest::newRow("fifo") << Policy::Fifo << QList<int>{1, 0, 0, 0, 0, 0, 0, 0, 0, 0} << false
                              << QByteArray("k0");
        // LFU: the least read goes (k9, read once; the new k10 outranks no one but is newer).
        QTest::newRow("lfu") << Policy::Lfu << QList<int>{3, 2, 2, 2, 2, 2, 2, 2, 2, 1} << false
                             << QByteArray("k9");
        // TTL: the soonest expiry goes.
        QTest::newRow("ttl") << Policy::Ttl << QList<int>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0} << true
                             << QByteArray("k9");
        // Adaptive: unread entries leave first, oldest first; re-read ones stay.
        QTest::newRow("adaptive") << Policy::Adaptive << QList<int>{1, 1, 0, 0, 0, 0, 0, 0, 0, 0}
                                  << false << QByteArray("k2");
    }

    void evictionVictims()
    {
        QFETCH(Policy, policy);
        QFETCH(QList<int>, reads);
        QFETCH(bool, withExpiry);
        QFETCH(QByteArray, victim);
        QTemporaryDir tmp;
        ManualClock clock;
        const qint64 t0 = clock.wallMsecs();
        // Every entry is 100 payload bytes ("kN" or "kNN" + value); the budget holds ten.
        auto value = [](const QByteArray &key) {
            return QByteArray(100 - key.size(), 'v');
        };
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db")), 1000, policy), clock);
        QVERIFY(tier.open().has_value());
        for (int i = 0; i < 10; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            tier.set(key, entryOf(value(key), withExpiry ? t0 + (100 - i) * 1000 : 0));
            flushed(tier); // one write per batch: write order is exact
        }
        for (int i = 0; i < 10; ++i) {
            for (int n = 0; n < reads[i]; ++n)
                QVERIFY(tier.get("k" + QByteArray::number(i)));
            flushed(tier);
        }
        QCOMPARE(tier.stats().evictedSize, 0u);
        tier.set("k10", entryOf(value("k10"), withExpiry ? t0 + 500000 : 0));
        flushed(tier);
        QCOMPARE(tier.stats().evictedSize, 1u);
        QCOMPARE(tier.stats().bytes, 1000);
        const QList<QByteArray> left = tier.keysWithPrefix("k");
        QCOMPARE(left.size(), 10);
        QVERIFY2(!left.contains(victim), left.join(' ').constData());
        QVERIFY(left.contains("k10"));
    }

    void expiredEntriesAreEvictedFirst()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db")), 1000, Policy::Lru),
                      clock);
        QVERIFY(tier.open().has_value());
        for (int i = 0; i < 10; ++i) {
            const QByteArray key = "k" + QByteArray::number(i);
            tier.set(key, entryOf(QByteArray(98, 'v'), i == 7 ? clock.wallMsecs() + 10 : 0));
        }
        flushed(tier);
        clock.advance(1s);
        tier.set("k10", entryOf(QByteArray(97, 'v')));
        flushed(tier);
        QCOMPARE(tier.stats().evictedExpired, 1u);
        QCOMPARE(tier.stats().evictedSize, 0u);
        QVERIFY(tier.get("k0"));
    }

    void oversizedEntryIsRefused()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db")), 1000), clock);
        QVERIFY(tier.open().has_value());
        tier.set("big", entryOf("small"));
        tier.set("other", entryOf("kept"));
        flushed(tier);
        tier.set("big", entryOf(QByteArray(2000, 'x')));
        flushed(tier);
        QVERIFY(!tier.get("big")); // the old value is gone too: nothing stale
        QVERIFY(tier.get("other"));
        QCOMPARE(tier.stats().rejected, 1u);
        QCOMPARE(tier.stats().evictedSize, 0u);
    }

    void liveSettingsChange()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        DiskTier tier(settingsFor(path, 10000, Policy::Fifo), clock);
        QVERIFY(tier.open().has_value());
        for (int i = 0; i < 10; ++i)
            tier.set("k" + QByteArray::number(i), entryOf(QByteArray(98, 'v')));
        flushed(tier);
        QVERIFY(tier.get("k0")); // FIFO ignores (and does not record) reads
        flushed(tier);
        // Switch to LRU and halve the budget: ranks rebuilt from the last reads or writes, so
        // the five oldest go; then LRU is live: the read k5 outlives k6.
        tier.applySettings(settingsFor(path, 500, Policy::Lru));
        flushed(tier);
        QCOMPARE(tier.stats().bytes, 500);
        QCOMPARE(tier.stats().maxBytes, 500);
        QCOMPARE(tier.keysWithPrefix("k"), byteList({"k5", "k6", "k7", "k8", "k9"}));
        QVERIFY(tier.get("k5"));
        flushed(tier);
        tier.set("k10", entryOf(QByteArray(97, 'v')));
        flushed(tier);
        QCOMPARE(tier.keysWithPrefix("k"), byteList({"k10", "k5", "k7", "k8", "k9"}));
        QCOMPARE(int(tier.settings().policy), int(Policy::Lru));
        tier.close();
        RawDb raw(path, SQLITE_OPEN_READONLY);
        QCOMPARE(raw.integer("SELECT value FROM meta WHERE name = 'rank_policy'"),
                 qint64(Policy::Lru));
    }

    void prefixAndTagListing()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db"))), clock);
        QVERIFY(tier.open().has_value());
        for (const char *k : {"user:2", "user:10", "user:1", "user", "usez", "use", "order:1"})
            tier.set(k, entryOf("v", 0, byteList({"all"})));
        tier.set("user:exp", entryOf("v", clock.wallMsecs() + 10, byteList({"all", "exp"})));
        tier.set(QByteArray("\xff\xff", 2), entryOf("v"));
        tier.set(QByteArray("\xff\xff\x01", 3), entryOf("v"));
        tier.set(QByteArray("\xfe", 1), entryOf("v"));
        flushed(tier);
        QCOMPARE(tier.keysWithPrefix("user:"),
                 byteList({"user:1", "user:10", "user:2", "user:exp"}));
        QCOMPARE(tier.keysWithPrefix("user:", 2), byteList({"user:1", "user:10"}));
        QCOMPARE(tier.keysWithPrefix("user"),
                 byteList({"user", "user:1", "user:10", "user:2", "user:exp"}));
        QCOMPARE(tier.keysWithPrefix(QByteArray("\xff", 1)),
                 (QList<QByteArray>{QByteArray("\xff\xff", 2), QByteArray("\xff\xff\x01", 3)}));
        QCOMPARE(tier.keysWithPrefix("", 3), byteList({"order:1", "use", "user"}));
        QVERIFY(tier.keysWithPrefix("nothing").isEmpty());
        QCOMPARE(tier.keysWithTag("exp"), byteList({"user:exp"}));
        QCOMPARE(tier.keysWithTag("all").size(), 8);
        clock.advance(1s);
        QCOMPARE(tier.keysWithPrefix("user:"), byteList({"user:1", "user:10", "user:2"}));
        QVERIFY(tier.keysWithTag("exp").isEmpty());

        // Pending changes are part of the answer; overwriting without a tag drops the tag.
        tier.set("user:3", entryOf("v", 0, byteList({"all"})));
        tier.remove("user:1");
        tier.set("user:2", entryOf("v"));
        QCOMPARE(tier.keysWithPrefix("user:"), byteList({"user:10", "user:2", "user:3"}));
        QVERIFY(!tier.keysWithTag("all").contains("user:2"));
        QVERIFY(tier.keysWithTag("all").contains("user:3"));
        flushed(tier);
        QCOMPARE(tier.keysWithPrefix("user:"), byteList({"user:10", "user:2", "user:3"}));
        QCOMPARE(tier.keysWithTag("all"),
                 byteList({"order:1", "use", "user", "user:10", "user:3", "usez"}));
        tier.removeMany(tier.keysWithTag("all"));
        flushed(tier);
        QVERIFY(tier.keysWithTag("all").isEmpty());
        tier.close();
        RawDb raw(tmp.filePath(QStringLiteral("cache.db")), SQLITE_OPEN_READONLY);
        QCOMPARE(raw.integer("SELECT count(*) FROM tags WHERE entry NOT IN"
                             " (SELECT rowid FROM entries)"),
                 0);                                           // no orphan tag rows
        QCOMPARE(raw.integer("SELECT count(*) FROM tags"), 2); // the expired user:exp's
    }

    void keysMatching()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("cache.db"))), clock);
        QVERIFY(tier.open().has_value());
        for (const char *k : {"user:1", "user:22", "user:x", "xuser:1", "order:1"})
            tier.set(k, entryOf("v"));
        tier.set("user:333", entryOf("v", clock.wallMsecs() + 10));
        flushed(tier);
        const QRegularExpression digits(QStringLiteral("user:\\d+$"));
        QCOMPARE(tier.keysMatching(digits), byteList({"user:1", "user:22", "user:333"}));
        QCOMPARE(tier.keysMatching(digits, 1), byteList({"user:1"}));
        // Anchored at the key's start: "1" alone does not match "user:1".
        QVERIFY(tier.keysMatching(QRegularExpression(QStringLiteral("1"))).isEmpty());
        QCOMPARE(tier.keysMatching(QRegularExpression(QStringLiteral(".*:1$"))),
                 byteList({"order:1", "user:1", "xuser:1"}));
        clock.advance(1s);
        tier.set("user:4", entryOf("v"));
        tier.remove("user:22");
        QCOMPARE(tier.keysMatching(digits), byteList({"user:1", "user:4"}));
        QVERIFY(tier.keysMatching(QRegularExpression(QStringLiteral("("))).isEmpty());
    }

    void schemaAndPragmas()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        DiskTier tier(settingsFor(path), clock);
        QVERIFY(tier.open().has_value());
        RawDb raw(path, SQLITE_OPEN_READONLY);
        QCOMPARE(raw.integer("PRAGMA user_version"), 1);
        QCOMPARE(raw.text("PRAGMA journal_mode"), QByteArray("wal"));
        QCOMPARE(raw.integer("PRAGMA auto_vacuum"), 2); // incremental
        // The hot queries use their indexes (no table scans, no temp b-tree sorts).
        const QByteArray victims = raw.plan("SELECT rowid, size, ntags, rank FROM entries"
                                            " WHERE written_seq <= 5 ORDER BY rank LIMIT 5");
        QVERIFY2(victims.contains("COVERING INDEX entries_rank"), victims.constData());
        QVERIFY2(!victims.contains("TEMP B-TREE"), victims.constData());
        const QByteArray totals = raw.plan("SELECT count(*), coalesce(sum(size), 0) FROM entries");
        QVERIFY2(totals.contains("COVERING INDEX"), totals.constData());
        const QByteArray expired = raw.plan("SELECT rowid, size, ntags FROM entries"
                                            " WHERE expires_at > 0 AND expires_at <= 5 LIMIT 5");
        QVERIFY2(expired.contains("entries_expiry"), expired.constData());
        const QByteArray prefix = raw.plan("SELECT key, expires_at FROM entries"
                                           " WHERE key >= x'61' AND key < x'62' ORDER BY key");
        QVERIFY2(prefix.contains("INDEX") && !prefix.contains("TEMP B-TREE"), prefix.constData());
        const QByteArray tags = raw.plan("SELECT e.key, e.expires_at FROM tags t JOIN entries e"
                                         " ON e.rowid = t.entry WHERE t.tag = x'61'");
        QVERIFY2(tags.contains("PRIMARY KEY") || tags.contains("INTEGER PRIMARY KEY"),
                 tags.constData());
    }

    void incompatibleFileIsMovedAside_data()
    {
        QTest::addColumn<QByteArray>("sql");
        QTest::newRow("foreign tables") << QByteArray("CREATE TABLE t(x); INSERT INTO t VALUES(1)");
        QTest::newRow("newer schema") << QByteArray("CREATE TABLE t(x); PRAGMA user_version=99");
    }

    void incompatibleFileIsMovedAside()
    {
        QFETCH(QByteArray, sql);
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        {
            RawDb raw(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
            QCOMPARE(raw.exec(sql.constData()), SQLITE_OK);
        }
        DiskTier tier(settingsFor(path), clock);
        QVERIFY(tier.open().has_value());
        QVERIFY(tier.available());
        QCOMPARE(asideFiles(tmp.path(), QStringLiteral("foreign")).size(), 1);
        tier.set("k", entryOf("v"));
        flushed(tier);
        QVERIFY(tier.get("k"));
    }

    void corruptionAtOpen_data()
    {
        QTest::addColumn<bool>("wholeFile"); // garbage everywhere, or damaged pages in a real db
        QTest::newRow("garbage file") << true;
        QTest::newRow("damaged pages") << false;
    }

    void corruptionAtOpen()
    {
        QFETCH(bool, wholeFile);
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        if (wholeFile) {
            writeGarbage(path, 0, 64 * 1024);
        } else {
            DiskTier tier(settingsFor(path), clock);
            QVERIFY(tier.open().has_value());
            for (int i = 0; i < 2000; ++i)
                tier.set("key" + QByteArray::number(i), entryOf(QByteArray(1000, 'v')));
            tier.close();
            const qint64 size = QFileInfo(path).size();
            QVERIFY(size > 2000 * 1000);
            writeGarbage(path, (size / 2) / 4096 * 4096, 64 * 1024);
        }
        if (QTest::currentTestFailed())
            return;
        DiskTier tier(settingsFor(path), clock);
        QVERIFY(tier.open().has_value()); // never fails the app
        flushed(tier);                    // quick_check ran before this
        QCOMPARE(asideFiles(tmp.path(), QStringLiteral("corrupt")).size(), 1);
        QCOMPARE(tier.stats().errors, 1u);
        QVERIFY(tier.available()); // a fresh file is ready
        QCOMPARE(tier.stats().entries, 0);
        QVERIFY(!tier.get("key1"));
        tier.set("new", entryOf("v"));
        flushed(tier);
        QCOMPARE(valueOf(tier.get("new")), QByteArray("v"));
        tier.close();
        RawDb raw(path, SQLITE_OPEN_READONLY);
        QCOMPARE(raw.text("PRAGMA integrity_check"), QByteArray("ok"));
    }

    void corruptionAtRunTime()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        DiskTier tier(settingsFor(path), clock);
        QVERIFY(tier.open().has_value());
        for (int i = 0; i < 3000; ++i)
            tier.set("key" + QByteArray::number(i), entryOf(QByteArray(1000, 'v')));
        flushed(tier);
        QVERIFY(tier.get("key1"));
        qint64 pageSize = 0;
        {
            // Move every page into the main file, then wreck every page but the first.
            RawDb raw(path);
            QCOMPARE(raw.text("PRAGMA wal_checkpoint(TRUNCATE)"), QByteArray("0"));
            pageSize = raw.integer("PRAGMA page_size");
        }
        QVERIFY(pageSize >= 512);
        writeGarbage(path, pageSize, QFileInfo(path).size() - pageSize);
        if (QTest::currentTestFailed())
            return;
        for (int i = 0; i < 20; ++i)
            QVERIFY(!tier.get("key" + QByteArray::number(i * 100))); // misses, never garbage
        // Dropped while memory-only, or written to the fresh file: never the old value.
        tier.set("key5", entryOf("after"));
        flushed(tier);
        flushed(tier);
        QCOMPARE(asideFiles(tmp.path(), QStringLiteral("corrupt")).size(), 1);
        QCOMPARE(tier.stats().errors, 1u);
        QVERIFY(tier.available()); // the fresh file is ready
        QVERIFY(tier.stats().entries <= 1);
        const auto key5 = tier.get("key5");
        QVERIFY(!key5 || key5->value == "after");
        QVERIFY(!tier.get("key2"));
        tier.set("fresh", entryOf("v"));
        flushed(tier);
        QCOMPARE(valueOf(tier.get("fresh")), QByteArray("v"));
        const qint64 entries = tier.stats().entries;
        QVERIFY(entries == 1 || entries == 2);
        tier.close();
        RawDb raw(path, SQLITE_OPEN_READONLY);
        QCOMPARE(raw.text("PRAGMA integrity_check"), QByteArray("ok"));
        QCOMPARE(raw.integer("SELECT count(*) FROM entries"), entries);
    }

    void unwritableDirectoryMeansMemoryOnly()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        QFile blocker(tmp.filePath(QStringLiteral("afile")));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.write("not a directory");
        blocker.close();
        DiskTier tier(settingsFor(tmp.filePath(QStringLiteral("afile/cache.db"))), clock);
        QVERIFY(tier.open().has_value());
        QVERIFY(!tier.available());
        QCOMPARE(tier.stats().errors, 1u);
        QVERIFY(!tier.stats().enabled);
        tier.set("k", entryOf("v"));
        QVERIFY(!tier.get("k"));
        QVERIFY(!tier.getAsync("k").result());
        QVERIFY(tier.keysWithPrefix("").isEmpty());
        QCOMPARE(tier.expireDue(), 0);
        flushed(tier);
        tier.close();
        QCOMPARE(filesIn(tmp.path()), QStringList{QStringLiteral("afile")});

        DiskTier empty(settingsFor(QString()), clock);
        QVERIFY(!empty.open().has_value()); // a programming error
    }

    void killDuringHeavyWrites()
    {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        for (int round = 0; round < 4; ++round) {
            QProcess child;
            child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
            child.start(QStringLiteral(OPSDECK_DISKTIER_CRASHWRITER),
                        {path, QString::number(round)});
            QVERIFY2(child.waitForStarted(10000), qPrintable(child.errorString()));
            int progress = 0;
            const int wanted = 5 + round * 5; // each line: 2000 more ops committed
            QByteArray buffer;
            while (progress < wanted && child.waitForReadyRead(30000)) {
                buffer += child.readAll();
                progress = int(buffer.count("progress"));
            }
            QVERIFY2(progress >= wanted, buffer.constData());
            child.kill(); // SIGKILL, in the middle of the write stream
            QVERIFY(child.waitForFinished(10000));
            QCOMPARE(child.exitStatus(), QProcess::CrashExit);
            {
                RawDb raw(path);
                QVERIFY(raw.isOpen());
                QCOMPARE(raw.text("PRAGMA integrity_check"), QByteArray("ok"));
                QVERIFY(raw.integer("SELECT count(*) FROM entries") > 0);
            }
            ManualClock clock;
            DiskTier tier(settingsFor(path), clock);
            QVERIFY(tier.open().has_value());
            flushed(tier);
            QVERIFY(tier.available());
            QCOMPARE(tier.stats().errors, 0u);
            QVERIFY(tier.stats().entries > 0);
            QVERIFY(asideFiles(tmp.path(), QStringLiteral("corrupt")).isEmpty());
        }
    }

    void manyThreads()
    {
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        auto s = settingsFor(path, 64 * 1024, Policy::Adaptive);
        s.readers = 3;
        DiskTier tier(s, clock);
        QVERIFY(tier.open().has_value());
        std::atomic<int> wrongValues{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&tier, &wrongValues, &clock, t] {
                QRandomGenerator rng(quint32(100 + t));
                for (int i = 0; i < 3000; ++i) {
                    const QByteArray key = "k" + QByteArray::number(rng.bounded(300));
                    switch (rng.bounded(10)) {
                    case 0:
                    case 1:
                    case 2:
                    case 3:
                        // The value names its key, so a read can check it got the right row.
                        tier.set(key, entryOf(key + QByteArray(rng.bounded(2000), '.'), 0,
                                              {"t" + QByteArray::number(t)}));
                        break;
                    case 4:
                    case 5:
                    case 6: {
                        const auto e = tier.get(key);
                        if (e && !e->value.startsWith(QByteArray(key + '.')) && e->value != key)
                            ++wrongValues;
                        break;
                    }
                    case 7:
                        tier.remove(key);
                        break;
                    case 8:
                        tier.touch(key, clock.wallMsecs() + 100000);
                        break;
                    default:
                        if (i % 3 == 0)
                            tier.keysWithPrefix("k1", 10);
                        else if (i % 3 == 1)
                            tier.keysWithTag("t1");
                        else
                            tier.getAsync(key).waitForFinished();
                        break;
                    }
                    if (i % 500 == 0)
                        tier.flush().waitForFinished();
                }
            });
        }
        for (std::thread &t : threads)
            t.join();
        flushed(tier);
        QCOMPARE(wrongValues.load(), 0);
        const TierStats st = tier.stats();
        QVERIFY(st.bytes <= 64 * 1024);
        QCOMPARE(st.errors, 0u);
        RawDb raw(path, SQLITE_OPEN_READONLY);
        QCOMPARE(raw.integer("SELECT coalesce(sum(size), 0) FROM entries"), st.bytes);
        QCOMPARE(raw.integer("SELECT count(*) FROM entries"), st.entries);
        QCOMPARE(raw.integer("SELECT count(*) FROM tags WHERE entry NOT IN"
                             " (SELECT rowid FROM entries)"),
                 0);
        QCOMPARE(raw.text("PRAGMA integrity_check"), QByteArray("ok"));
    }

    void fileShrinksAfterLargeDelete_data()
    {
        QTest::addColumn<bool>("useClear");
        QTest::newRow("clear") << true;
        QTest::newRow("removeMany") << false;
    }

    void fileShrinksAfterLargeDelete()
    {
        QFETCH(bool, useClear);
        QTemporaryDir tmp;
        ManualClock clock;
        const QString path = tmp.filePath(QStringLiteral("cache.db"));
        DiskTier tier(settingsFor(path), clock);
        QVERIFY(tier.open().has_value());
        QList<QByteArray> keys;
        for (int i = 0; i < 6000; ++i) {
            keys.append("key" + QByteArray::number(i));
            tier.set(keys.back(), entryOf(QByteArray(1000, 'v')));
        }
        flushed(tier);
        QVERIFY(tier.stats().fileBytes > 6000 * 1000);
        if (useClear) {
            tier.clear();
        } else {
            keys.resize(5900);
            tier.removeMany(keys);
        }
        flushed(tier);
        const qint64 limit = 512 * 1024;
        QVERIFY2(tier.stats().fileBytes < limit,
                 qPrintable(QString::number(tier.stats().fileBytes)));
        QVERIFY2(QFileInfo(path).size() < limit,
                 qPrintable(QString::number(QFileInfo(path).size())));
        QVERIFY(QFileInfo(path + QStringLiteral("-wal")).size() <= 16 * 1024 * 1024);
        QCOMPARE(tier.stats().entries, useClear ? 0 : 100);
    }
};

QTEST_GUILESS_MAIN(TstDiskTier)
#include "tst_disktier.moc"

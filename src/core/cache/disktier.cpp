#include "core/cache/disktier.h"

#include "core/cache/sqlitedb.h"
#include "core/support/logging.h"

#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QPromise>
#include <QtCore/QRandomGenerator>
#include <QtCore/QtEndian>

#include <sqlite3.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <iterator>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace opsdeck::cache {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kSchemaVersion = 1;
constexpr qsizetype kMaxPendingOps = 65536;
constexpr qint64 kMaxPendingBytes = qint64(64) << 20;
constexpr qsizetype kMaxPendingAccesses = 16384;
constexpr qint64 kOpOverheadBytes = 96;
constexpr qint64 kNeverRank = std::numeric_limits<qint64>::max();
constexpr qint64 kAdaptiveCap = 15;
constexpr int kBusyTimeoutMs = 5000;
constexpr qint64 kPageSize = 8192; // fewer WAL frames and b-tree cells to move than 4 KiB
// The WAL is checkpointed by the "disk-ckpt" thread from 8 MiB on (off the writer's path, fsync
// included); the writer checkpoints the rest itself at 32 MiB, so a WAL never outgrows that.
constexpr qint64 kBackgroundCheckpointBytes = qint64(8) << 20;
constexpr qint64 kWriterCheckpointBytes = qint64(32) << 20;
constexpr qint64 kJournalSizeLimit = qint64(16) << 20;
constexpr qint64 kVictimChunk = 256;
constexpr qint64 kVacuumMinFreePages = 256;
constexpr int kExpireChunk = 256;
constexpr int kIncompatibleCode = -1; // our own "not our schema" code in a SqliteError
constexpr auto kReopenInterval = std::chrono::seconds(30);

// kMigrations[v] moves a file from user_version v to v + 1 (CONTRACTS.md: forward on open).
const char *const kMigrations[] = {
    // 0 → 1. One row per key; value last (the hot columns are read first). `rank` is the eviction
    // order of the policy named by meta.rank_policy; entries_rank covers the victim scan (which
    // skips rows written by the current batch) and SUM(size) at open.
    "CREATE TABLE entries("
    " key BLOB PRIMARY KEY NOT NULL,"
    " expires_at INTEGER NOT NULL,"  // wall ms, 0 = never
    " written_seq INTEGER NOT NULL," // tick of the last write (FIFO)
    " access_seq INTEGER NOT NULL,"  // tick of the last read or write (LRU)
    " hits INTEGER NOT NULL,"        // reads (LFU, adaptive)
    " rank INTEGER NOT NULL,"
    " size INTEGER NOT NULL," // key + value bytes
    " ntags INTEGER NOT NULL,"
    " tags BLOB,"
    " depends BLOB,"
    " value BLOB NOT NULL);"
    "CREATE INDEX entries_rank ON entries(rank, written_seq, size, ntags);"
    "CREATE INDEX entries_expiry ON entries(expires_at) WHERE expires_at > 0;"
    "CREATE TABLE tags(tag BLOB NOT NULL, entry INTEGER NOT NULL,"
    " PRIMARY KEY(tag, entry)) WITHOUT ROWID;"
    "CREATE INDEX tags_entry ON tags(entry);"
    "CREATE TABLE meta(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta(name, value) VALUES('tick', 0), ('floor', 0), ('rank_policy', -1);",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

bool agedPolicy(Policy policy)
{
    return policy == Policy::Lfu || policy == Policy::Adaptive;
}

qint64 rankFor(Policy policy, qint64 tick, qint64 expiresAt, qint64 hits, qint64 floor)
{
    switch (policy) {
    case Policy::Lru:
    case Policy::Fifo:
        return tick;
    case Policy::Ttl:
        return expiresAt > 0 ? expiresAt : kNeverRank;
    case Policy::Lfu:
        return floor + hits + 1;
    case Policy::Adaptive:
        return floor + std::min(hits, kAdaptiveCap);
    }
    return tick;
}

const char *rebuildRanksSql(Policy policy)
{
    switch (policy) {
    case Policy::Lru:
        return "UPDATE entries SET rank = access_seq";
    case Policy::Fifo:
        return "UPDATE entries SET rank = written_seq";
    case Policy::Ttl:
        return "UPDATE entries SET rank = CASE WHEN expires_at > 0 THEN expires_at"
               " ELSE 9223372036854775807 END";
    case Policy::Lfu:
        return "UPDATE entries SET rank = hits + 1";
    case Policy::Adaptive:
        return "UPDATE entries SET rank = min(hits, 15)";
    }
    return "UPDATE entries SET rank = access_seq";
}

// [u32 big-endian length][bytes]... ; an empty list encodes as an empty array (stored as NULL).
QByteArray encodeList(const QList<QByteArray> &items)
{
    QByteArray out;
    if (items.isEmpty())
        return out;
    qsizetype total = 0;
    for (const QByteArray &item : items)
        total += 4 + item.size();
    out.reserve(total);
    for (const QByteArray &item : items) {
        char length[4];
        qToBigEndian(quint32(item.size()), length);
        out.append(length, 4);
        out.append(item);
    }
    return out;
}

QList<QByteArray> decodeList(const QByteArray &blob)
{
    QList<QByteArray> items;
    qsizetype pos = 0;
    while (pos + 4 <= blob.size()) {
        const quint32 length = qFromBigEndian<quint32>(blob.constData() + pos);
        pos += 4;
        if (qsizetype(length) > blob.size() - pos)
            break; // malformed: keep what was whole
        items.append(blob.mid(pos, qsizetype(length)));
        pos += qsizetype(length);
    }
    return items;
}

QList<QByteArray> uniqueItems(const QList<QByteArray> &items)
{
    QList<QByteArray> out;
    out.reserve(items.size());
    for (const QByteArray &item : items) {
        if (!out.contains(item))
            out.append(item);
    }
    return out;
}

// The smallest byte string greater than every string starting with prefix; empty when there is
// none (the prefix is empty or all 0xFF).
QByteArray prefixSuccessor(QByteArray prefix)
{
    while (!prefix.isEmpty() && quint8(prefix.back()) == 0xFF)
        prefix.chop(1);
    if (!prefix.isEmpty())
        prefix.back() = char(quint8(prefix.back()) + 1);
    return prefix;
}

bool expiredAt(qint64 expiresAt, qint64 now)
{
    return expiresAt > 0 && expiresAt <= now;
}

void setThreadName(const QByteArray &name)
{
    pthread_setname_np(pthread_self(), name.left(15).constData());
}

DiskTier::Settings sanitized(DiskTier::Settings s)
{
    s.readers = std::clamp(s.readers, 1, 16);
    s.batchMaxOps = std::clamp(s.batchMaxOps, 1, 100000);
    s.batchMaxDelayMs = std::clamp(s.batchMaxDelayMs, 0, 1000);
    return s;
}

} // namespace

class DiskTier::Impl
{
public:
    // One queued change. The writer applies them in order, in batch transactions.
    struct WriteOp
    {
        enum class Kind { Set, Remove, Touch, Clear, ExpireDue, Flush, ApplySettings };
        Kind kind = Kind::Flush;
        quint64 seq = 0;
        QByteArray key;
        Entry entry;
        qint64 wallMs = 0; // Touch: the new expiry; ExpireDue: "now"
        qint64 cost = 0;   // bytes counted against kMaxPendingBytes
        int result = 0;    // ExpireDue: rows deleted
        std::shared_ptr<QPromise<void>> flushed;
        std::shared_ptr<std::promise<int>> expired;
    };

    // The newest queued state of a key, until the op that made it commits (read-your-writes).
    struct Pending
    {
        enum class Kind { Set, Remove, Touch };
        Kind kind = Kind::Set;
        quint64 seq = 0;
        Entry entry;          // Set
        qint64 expiresAt = 0; // Touch
    };

    // What the policy knows about a stored row when a reader finds it.
    struct AccessInfo
    {
        qint64 accessSeq = 0;
        qint64 hits = 0;
        qint64 rank = 0;
    };

    struct Found
    {
        Entry entry;
        AccessInfo access;
    };

    struct Reader
    {
        Impl *owner = nullptr;
        quint64 generation = 0;
        SqliteDb db;
        SqliteStatement get;
        SqliteStatement prefixBounded;
        SqliteStatement prefixOpen;
        SqliteStatement byTag;
        SqliteStatement allKeys;
        SqliteStatement expiryOf;
        SqliteStatement withDependencies;

        void closeDb()
        {
            for (SqliteStatement *s :
                 {&get, &prefixBounded, &prefixOpen, &byTag, &allKeys, &expiryOf, &withDependencies})
                s->finalize();
            db.close(false); // the writer checkpoints; never delete -wal/-shm by name here
        }

        void openDb(const QString &path)
        {
            db.open(path, SQLITE_OPEN_READWRITE);
            db.setBusyTimeout(kBusyTimeoutMs);
            db.exec("PRAGMA query_only=1; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8192");
            get = db.prepare("SELECT value, expires_at, tags, depends, access_seq, hits, rank"
                             " FROM entries WHERE key = ?1");
            prefixBounded = db.prepare("SELECT key, expires_at FROM entries"
                                       " WHERE key >= ?1 AND key < ?2 ORDER BY key");
            prefixOpen = db.prepare("SELECT key, expires_at FROM entries WHERE key >= ?1"
                                    " ORDER BY key");
            byTag = db.prepare("SELECT e.key, e.expires_at FROM tags t"
                               " JOIN entries e ON e.rowid = t.entry WHERE t.tag = ?1");
            allKeys = db.prepare("SELECT key FROM entries ORDER BY key");
            expiryOf = db.prepare("SELECT expires_at FROM entries WHERE key = ?1");
            withDependencies = db.prepare("SELECT key, depends, expires_at FROM entries"
                                          " WHERE depends IS NOT NULL");
        }

        std::optional<Found> lookup(const QByteArray &key)
        {
            StatementScope scope(get);
            get.bindBlob(1, key);
            if (!get.step())
                return std::nullopt;
            Found found;
            found.entry.value = get.blob(0);
            found.entry.expiresAtWallMs = get.int64(1);
            if (!get.isNull(2))
                found.entry.tags = decodeList(get.blob(2));
            if (!get.isNull(3))
                found.entry.dependsOn = decodeList(get.blob(3));
            found.access = {get.int64(4), get.int64(5), get.int64(6)};
            return found;
        }

        QList<QByteArray> keysWithPrefix(const QByteArray &prefix, qsizetype fetch, qint64 now)
        {
            const QByteArray upper = prefixSuccessor(prefix);
            SqliteStatement &stmt = upper.isEmpty() ? prefixOpen : prefixBounded;
            StatementScope scope(stmt);
            stmt.bindBlob(1, prefix);
            if (!upper.isEmpty())
                stmt.bindBlob(2, upper);
            QList<QByteArray> keys;
            while ((fetch < 0 || keys.size() < fetch) && stmt.step()) {
                if (!expiredAt(stmt.int64(1), now))
                    keys.append(stmt.blob(0));
            }
            return keys;
        }

        QList<QByteArray> keysWithTag(const QByteArray &tag, qint64 now)
        {
            StatementScope scope(byTag);
            byTag.bindBlob(1, tag);
            QList<QByteArray> keys;
            while (byTag.step()) {
                if (!expiredAt(byTag.int64(1), now))
                    keys.append(byTag.blob(0));
            }
            return keys;
        }

        QList<QPair<QByteArray, QList<QByteArray>>> dependencyEdges(qint64 now)
        {
            StatementScope scope(withDependencies);
            QList<QPair<QByteArray, QList<QByteArray>>> edges;
            while (withDependencies.step()) {
                if (!expiredAt(withDependencies.int64(2), now))
                    edges.append({withDependencies.blob(0), decodeList(withDependencies.blob(1))});
            }
            return edges;
        }

        QList<QByteArray> keysMatching(const QRegularExpression &re, qsizetype fetch, qint64 now)
        {
            // The key index alone is scanned (no values read); only matches are looked up.
            QList<QByteArray> matches;
            {
                StatementScope scope(allKeys);
                while ((fetch < 0 || matches.size() < fetch) && allKeys.step()) {
                    QByteArray key = allKeys.blob(0);
                    if (re.match(QString::fromUtf8(key), 0, QRegularExpression::NormalMatch,
                                 QRegularExpression::AnchorAtOffsetMatchOption)
                            .hasMatch())
                        matches.append(std::move(key));
                }
            }
            QList<QByteArray> keys;
            keys.reserve(matches.size());
            for (const QByteArray &key : std::as_const(matches)) {
                StatementScope scope(expiryOf);
                expiryOf.bindBlob(1, key);
                if (expiryOf.step() && !expiredAt(expiryOf.int64(0), now))
                    keys.append(key);
            }
            return keys;
        }
    };
    using ReadJob = std::function<void(Reader *)>;

    struct Victim
    {
        qint64 rowid = 0;
        qint64 size = 0;
        qint64 ntags = 0;
        qint64 rank = 0;
    };

    // Everything only the writer thread touches.
    struct Writer
    {
        SqliteDb db;
        SqliteStatement begin, commit, rollback;
        SqliteStatement selectOld, insert, update, deleteByKey, deleteByRowid, deleteTags,
            insertTag;
        SqliteStatement touch, touchRank;
        SqliteStatement accessLru, accessLfu, accessAdaptive, accessPlain;
        SqliteStatement victims, reuseVictim, deleteVictim, expired, setMeta, pageCount,
            freelistCount;
        qint64 bytes = 0;
        qint64 entries = 0;
        qint64 tick = 0;
        qint64 floor = 0;                // LFU-DA's L: the rank of the last victim
        qint64 batchStartTick = 0;       // rows written after it belong to the running batch
        std::vector<Victim> victimQueue; // the next candidates by rank, fetched in chunks
        size_t victimNext = 0;
        bool noneExpired = false; // this batch found no expired row left
        qint64 savedTick = -1;
        qint64 savedFloor = -1;
        qint64 pageSize = 4096;
        Policy rankPolicy = Policy::Adaptive;
        bool rankPolicySaved = false;
        bool disabled = false; // the file could not be moved aside: never reopen it
        SteadyClock::time_point retryAt;

        void finalizeStatements()
        {
            for (SqliteStatement *s :
                 {&begin,       &commit,      &rollback,      &selectOld,    &insert,
                  &update,      &deleteByKey, &deleteByRowid, &deleteTags,   &insertTag,
                  &touch,       &touchRank,   &accessLru,     &accessLfu,    &accessAdaptive,
                  &accessPlain, &victims,     &reuseVictim,   &deleteVictim, &expired,
                  &setMeta,     &pageCount,   &freelistCount})
                s->finalize();
        }
    };

    struct BatchCounters
    {
        quint64 evictedSize = 0;
        quint64 evictedExpired = 0;
        quint64 evictedInvalidated = 0;
        quint64 evictedReplaced = 0;
        quint64 rejected = 0;
        qint64 deletedRows = 0;
    };

    // What the pending overlay says about one key.
    struct Precheck
    {
        bool decided = false;          // the overlay answered (entry or miss)
        std::optional<Entry> entry;    // when decided
        std::optional<qint64> touched; // a pending touch overrides the stored expiry
    };

    // A copy of the overlay entries a listing needs, taken before the database is read.
    struct OverlayView
    {
        bool clearPending = false;
        QHash<QByteArray, Pending> entries;
    };

    Impl(Settings settings, const Clock &clock)
        : m_clock(clock)
        , m_settings(sanitized(std::move(settings)))
        , m_maxBytes(m_settings.maxBytes)
        , m_policy(int(m_settings.policy))
    {}

    ~Impl() { close(); }

    // ---- lifecycle -------------------------------------------------------------------------

    Status open()
    {
        std::lock_guard lifecycle(m_lifecycleMutex);
        if (m_running.load())
            return fail(QStringLiteral("invalid_state"),
                        QStringLiteral("The disk cache tier is already open."));
        QString path;
        int readers = 1;
        {
            std::lock_guard lock(m_settingsMutex);
            path = m_settings.path;
            readers = m_settings.readers;
            m_batchMaxOps = m_settings.batchMaxOps;
            m_batchMaxDelayMs = m_settings.batchMaxDelayMs;
        }
        if (path.isEmpty())
            return fail(QStringLiteral("invalid_argument"),
                        QStringLiteral("The disk cache tier needs a file path."));
        m_path = path;
        tuneSqliteOnce();
        {
            std::lock_guard lock(m_qmx);
            m_stopping = false;
            m_queue.clear();
            m_overlay.clear();
            m_accesses.clear();
            m_pendingBytes = 0;
            m_urgent = 0;
            m_clearsPending = 0;
            m_batchOpen = false;
            m_recoverGeneration = 0;
        }
        {
            std::lock_guard lock(m_rmx);
            m_readersStopping = false;
            m_jobs.clear();
        }
        m_running = true;

        std::promise<void> opened;
        std::future<void> openedFuture = opened.get_future();
        {
            std::lock_guard lock(m_cmx);
            m_checkpointStopping = false;
            m_checkpointWanted = false;
        }
        m_writerThread = std::thread([this, p = std::move(opened)]() mutable { writerMain(p); });
        openedFuture.wait();
        m_checkpointThread = std::thread([this] { checkpointerMain(); });

        for (int i = 0; i < readers; ++i) {
            auto reader = std::make_unique<Reader>();
            reader->owner = this;
            Reader *raw = reader.get();
            m_readers.push_back(std::move(reader));
            m_readerThreads.emplace_back([this, raw, i] { readerMain(raw, i + 1); });
        }
        return ok();
    }

    void close()
    {
        std::lock_guard lifecycle(m_lifecycleMutex);
        if (!m_running.load())
            return;
        m_running = false; // new calls miss or drop from here on
        {
            std::lock_guard lock(m_rmx);
            m_readersStopping = true;
        }
        m_readerCv.notify_all();
        for (std::thread &t : m_readerThreads)
            t.join();
        m_readerThreads.clear();
        m_readers.clear();
        {
            std::lock_guard lock(m_cmx);
            m_checkpointStopping = true;
        }
        m_checkpointCv.notify_all();
        m_checkpointThread.join();
        {
            std::lock_guard lock(m_qmx);
            m_stopping = true; // the writer drains the queue first
        }
        m_writerCv.notify_all();
        m_spaceCv.notify_all();
        m_writerThread.join();
        m_available = false;
    }

    bool available() const { return m_available.load(); }

    // ---- reads -----------------------------------------------------------------------------

    std::optional<Entry> get(const QByteArray &key)
    {
        if (!m_running.load())
            return std::nullopt;
        const qint64 now = m_clock.wallMsecs();
        Precheck pre = precheck(key);
        if (pre.decided)
            return finishLookup(key, std::move(pre.entry), now);
        if (!m_available.load())
            return finishLookup(key, std::nullopt, now);
        std::optional<Found> row = readBlocking<std::optional<Found>>(
            [&key](Reader &r) { return r.lookup(key); }, std::nullopt);
        return finishStored(key, std::move(row), pre.touched, now);
    }

    void getAsync(const QByteArray &key, std::function<void(std::optional<Entry>)> done)
    {
        if (!m_running.load()) {
            done(std::nullopt);
            return;
        }
        const qint64 now = m_clock.wallMsecs();
        Precheck pre = precheck(key);
        if (pre.decided || !m_available.load()) {
            done(finishLookup(key, std::move(pre.entry), now));
            return;
        }
        const std::optional<qint64> touched = pre.touched;
        // Every dispatched job runs (with no reader while stopping), so `done` is always called.
        dispatch([this, done = std::move(done), key, touched, now](Reader *r) {
            std::optional<Found> row = readWith<std::optional<Found>>(
                r, [&key](Reader &reader) { return reader.lookup(key); }, std::nullopt);
            done(finishStored(key, std::move(row), touched, now));
        });
    }

    QList<QByteArray> keysWithPrefix(const QByteArray &prefix, int limit)
    {
        if (!m_running.load() || limit == 0)
            return {};
        const qint64 now = m_clock.wallMsecs();
        const OverlayView view = overlayView(
            [&prefix](const QByteArray &key, const Pending &) { return key.startsWith(prefix); });
        QList<QByteArray> stored;
        if (!view.clearPending && m_available.load()) {
            const qsizetype fetch = limit < 0 ? -1 : limit + view.entries.size();
            stored = readBlocking<QList<QByteArray>>(
                [&](Reader &r) { return r.keysWithPrefix(prefix, fetch, now); }, {});
        }
        return merge(stored, view, now, limit, [](const Pending &) { return true; });
    }

    QList<QByteArray> keysWithTag(const QByteArray &tag)
    {
        if (!m_running.load())
            return {};
        const qint64 now = m_clock.wallMsecs();
        const OverlayView view = overlayView([](const QByteArray &, const Pending &) {
            return true; // a pending op on any key may add or hide a tagged key
        });
        QList<QByteArray> stored;
        if (!view.clearPending && m_available.load()) {
            stored = readBlocking<QList<QByteArray>>(
                [&](Reader &r) { return r.keysWithTag(tag, now); }, {});
        }
        return merge(stored, view, now, -1,
                     [&tag](const Pending &p) { return p.entry.tags.contains(tag); });
    }

    QList<QPair<QByteArray, QList<QByteArray>>> dependencyEdges()
    {
        if (!m_running.load() || !m_available.load())
            return {};
        const qint64 now = m_clock.wallMsecs();
        return readBlocking<QList<QPair<QByteArray, QList<QByteArray>>>>(
            [&](Reader &r) { return r.dependencyEdges(now); }, {});
    }

    QList<QByteArray> keysMatching(const QRegularExpression &re, int limit)
    {
        if (!m_running.load() || limit == 0 || !re.isValid())
            return {};
        const qint64 now = m_clock.wallMsecs();
        auto matches = [&re](const QByteArray &key) {
            return re
                .match(QString::fromUtf8(key), 0, QRegularExpression::NormalMatch,
                       QRegularExpression::AnchorAtOffsetMatchOption)
                .hasMatch();
        };
        const OverlayView view = overlayView(
            [&matches](const QByteArray &key, const Pending &) { return matches(key); });
        QList<QByteArray> stored;
        if (!view.clearPending && m_available.load()) {
            const qsizetype fetch = limit < 0 ? -1 : limit + view.entries.size();
            stored = readBlocking<QList<QByteArray>>(
                [&](Reader &r) { return r.keysMatching(re, fetch, now); }, {});
        }
        return merge(stored, view, now, limit, [](const Pending &) { return true; });
    }

    // ---- writes ----------------------------------------------------------------------------

    void set(const QByteArray &key, Entry entry)
    {
        if (!acceptingWrites())
            return;
        WriteOp op;
        op.kind = WriteOp::Kind::Set;
        op.key = key;
        op.cost = kOpOverheadBytes + key.size() + entry.value.size();
        for (const QByteArray &t : std::as_const(entry.tags))
            op.cost += t.size();
        for (const QByteArray &t : std::as_const(entry.dependsOn))
            op.cost += t.size();
        op.entry = std::move(entry);
        std::unique_lock lock(m_qmx);
        if (!waitForSpace(lock))
            return;
        op.seq = ++m_nextSeq;
        m_overlay.insert(key, Pending{Pending::Kind::Set, op.seq, op.entry, 0});
        pushLocked(std::move(op), false);
    }

    void remove(const QByteArray &key) { removeMany({key}); }

    void removeMany(const QList<QByteArray> &keys)
    {
        if (keys.isEmpty() || !acceptingWrites())
            return;
        std::unique_lock lock(m_qmx);
        for (const QByteArray &key : keys) {
            if (!waitForSpace(lock))
                return;
            WriteOp op;
            op.kind = WriteOp::Kind::Remove;
            op.key = key;
            op.cost = kOpOverheadBytes + key.size();
            op.seq = ++m_nextSeq;
            m_overlay.insert(key, Pending{Pending::Kind::Remove, op.seq, {}, 0});
            pushLocked(std::move(op), false);
        }
    }

    void touch(const QByteArray &key, qint64 expiresAtWallMs)
    {
        if (!acceptingWrites())
            return;
        std::unique_lock lock(m_qmx);
        if (!waitForSpace(lock))
            return;
        WriteOp op;
        op.kind = WriteOp::Kind::Touch;
        op.key = key;
        op.wallMs = expiresAtWallMs;
        op.cost = kOpOverheadBytes + key.size();
        op.seq = ++m_nextSeq;
        auto it = m_overlay.find(key);
        if (it == m_overlay.end()) {
            m_overlay.insert(key, Pending{Pending::Kind::Touch, op.seq, {}, expiresAtWallMs});
        } else if (it->kind == Pending::Kind::Remove) {
            return; // touching a removed key does nothing
        } else {
            it->seq = op.seq;
            it->expiresAt = expiresAtWallMs;
            it->entry.expiresAtWallMs = expiresAtWallMs;
        }
        pushLocked(std::move(op), false);
    }

    void clear()
    {
        if (!acceptingWrites())
            return;
        std::unique_lock lock(m_qmx);
        if (!waitForSpace(lock))
            return;
        WriteOp op;
        op.kind = WriteOp::Kind::Clear;
        op.cost = kOpOverheadBytes;
        op.seq = ++m_nextSeq;
        m_overlay.clear(); // every older pending state is superseded
        m_accesses.clear();
        ++m_clearsPending;
        pushLocked(std::move(op), true);
    }

    int expireDue()
    {
        if (!m_running.load())
            return 0;
        WriteOp op;
        op.kind = WriteOp::Kind::ExpireDue;
        op.wallMs = m_clock.wallMsecs();
        op.expired = std::make_shared<std::promise<int>>();
        std::future<int> result = op.expired->get_future();
        {
            std::unique_lock lock(m_qmx);
            if (m_stopping)
                return 0;
            op.seq = ++m_nextSeq;
            pushLocked(std::move(op), true);
        }
        return result.get();
    }

    QFuture<void> flush()
    {
        if (!m_running.load())
            return QtFuture::makeReadyFuture();
        WriteOp op;
        op.kind = WriteOp::Kind::Flush;
        op.flushed = std::make_shared<QPromise<void>>();
        op.flushed->start();
        QFuture<void> future = op.flushed->future();
        std::unique_lock lock(m_qmx);
        if (m_stopping)
            return QtFuture::makeReadyFuture();
        op.seq = ++m_nextSeq;
        pushLocked(std::move(op), true);
        return future;
    }

    void applySettings(Settings s)
    {
        s = sanitized(std::move(s));
        {
            std::lock_guard lock(m_settingsMutex);
            if (s.path != m_settings.path || s.readers != m_settings.readers) {
                qCInfo(lcCache).noquote()
                    << QStringLiteral("disk cache: a new path or reader count applies after a "
                                      "restart");
            }
            m_settings.maxBytes = s.maxBytes;
            m_settings.policy = s.policy;
            m_settings.batchMaxOps = s.batchMaxOps;
            m_settings.batchMaxDelayMs = s.batchMaxDelayMs;
            if (!m_running.load()) {
                m_settings.path = s.path;
                m_settings.readers = s.readers;
            }
        }
        m_maxBytes = s.maxBytes;
        m_policy = int(s.policy);
        m_batchMaxOps = s.batchMaxOps;
        m_batchMaxDelayMs = s.batchMaxDelayMs;
        if (!m_running.load())
            return;
        WriteOp op;
        op.kind = WriteOp::Kind::ApplySettings;
        std::unique_lock lock(m_qmx);
        if (m_stopping)
            return;
        op.seq = ++m_nextSeq;
        pushLocked(std::move(op), true);
    }

    Settings settings() const
    {
        std::lock_guard lock(m_settingsMutex);
        return m_settings;
    }

    TierStats stats() const
    {
        TierStats s;
        s.enabled = m_available.load();
        s.entries = m_entries.load();
        s.bytes = m_bytes.load();
        s.maxBytes = std::max<qint64>(0, m_maxBytes.load());
        s.fileBytes = m_fileBytes.load();
        s.hits = m_hits.load();
        s.misses = m_misses.load();
        s.evictedSize = m_evictedSize.load();
        s.evictedExpired = m_evictedExpired.load();
        s.evictedInvalidated = m_evictedInvalidated.load();
        s.evictedReplaced = m_evictedReplaced.load();
        s.rejected = m_rejected.load();
        s.errors = m_errors.load();
        return s;
    }

private:
    // ---- caller side helpers ---------------------------------------------------------------

    bool acceptingWrites()
    {
        if (!m_running.load())
            return false;
        if (!m_available.load()) {
            m_droppedWhileUnavailable = true; // a later reopen must not serve what this changed
            return false;
        }
        return true;
    }

    bool onWriterThread() const { return std::this_thread::get_id() == m_writerId.load(); }

    // Back-pressure: a producer far ahead of the writer waits. false when the tier is stopping.
    bool waitForSpace(std::unique_lock<std::mutex> &lock)
    {
        if (!onWriterThread()) {
            m_spaceCv.wait(lock, [this] {
                return m_stopping
                       || (m_queue.size() < size_t(kMaxPendingOps)
                           && m_pendingBytes < kMaxPendingBytes);
            });
        }
        return !m_stopping;
    }

    void pushLocked(WriteOp &&op, bool urgent)
    {
        m_pendingBytes += op.cost;
        m_queue.push_back(std::move(op));
        if (urgent)
            ++m_urgent;
        if (!m_batchOpen) {
            m_batchOpen = true;
            m_batchStart = SteadyClock::now();
            m_writerCv.notify_one();
        } else if (urgent || m_queue.size() == size_t(m_batchMaxOps.load())) {
            m_writerCv.notify_one();
        }
    }

    Precheck precheck(const QByteArray &key)
    {
        Precheck pre;
        std::lock_guard lock(m_qmx);
        const auto it = m_overlay.constFind(key);
        if (it != m_overlay.cend()) {
            switch (it->kind) {
            case Pending::Kind::Set:
                pre.decided = true;
                pre.entry = it->entry;
                return pre;
            case Pending::Kind::Remove:
                pre.decided = true;
                return pre;
            case Pending::Kind::Touch:
                pre.touched = it->expiresAt;
                break;
            }
        }
        if (m_clearsPending > 0)
            pre.decided = true; // a pending clear hides every committed row
        return pre;
    }

    std::optional<Entry> finishStored(const QByteArray &key,
                                      std::optional<Found> row,
                                      std::optional<qint64> touched,
                                      qint64 now)
    {
        if (!row)
            return finishLookup(key, std::nullopt, now, 0);
        if (touched)
            row->entry.expiresAtWallMs = *touched;
        const int weight = accessWeight(row->access);
        return finishLookup(key, std::move(row->entry), now, weight);
    }

    std::optional<Entry> finishLookup(const QByteArray &key,
                                      std::optional<Entry> entry,
                                      qint64 now,
                                      int accessWeight = 1)
    {
        if (entry && expiredAt(entry->expiresAtWallMs, now))
            entry.reset();
        if (!entry) {
            m_misses.fetch_add(1, std::memory_order_relaxed);
            return entry;
        }
        m_hits.fetch_add(1, std::memory_order_relaxed);
        if (accessWeight > 0)
            recordAccess(key, accessWeight);
        return entry;
    }

    // How much a read of a stored row is worth recording: every access update is a row write,
    // so reads that cannot change the victim order are not recorded (see the header).
    int accessWeight(const AccessInfo &a) const
    {
        switch (Policy(m_rankedPolicy.load())) {
        case Policy::Fifo:
        case Policy::Ttl:
            return 0;
        case Policy::Lru:
            // Already among the most recent eighth: far from eviction, no refresh needed yet.
            return a.accessSeq < m_publishedTick.load() - m_entries.load() / 8 ? 1 : 0;
        case Policy::Lfu:
            // Exact up to 16 reads, then sampled with probability 16 / hits at weight hits / 16.
            if (a.hits < 16)
                return 1;
            return QRandomGenerator::global()->bounded(quint64(a.hits)) < 16
                       ? int(std::min<qint64>(a.hits / 16, 1 << 20))
                       : 0;
        case Policy::Adaptive:
            // Counts stop at 15; after that only a rank the aging floor is catching up with.
            return a.hits < kAdaptiveCap || a.rank < m_publishedFloor.load() + kAdaptiveCap / 2 ? 1
                                                                                                : 0;
        }
        return 1;
    }

    void recordAccess(const QByteArray &key, int weight)
    {
        std::lock_guard lock(m_qmx);
        if (m_stopping)
            return;
        auto it = m_accesses.find(key);
        if (it != m_accesses.end()) {
            it.value() += weight;
            return;
        }
        if (m_accesses.size() >= kMaxPendingAccesses)
            return; // approximate: reads beyond this many distinct keys per batch are not ranked
        m_accesses.insert(key, weight);
        if (!m_batchOpen) {
            m_batchOpen = true;
            m_batchStart = SteadyClock::now();
            m_writerCv.notify_one();
        }
    }

    template<typename Pred> OverlayView overlayView(Pred pred)
    {
        OverlayView view;
        std::lock_guard lock(m_qmx);
        view.clearPending = m_clearsPending > 0;
        for (auto it = m_overlay.cbegin(); it != m_overlay.cend(); ++it) {
            if (pred(it.key(), it.value()))
                view.entries.insert(it.key(), it.value());
        }
        return view;
    }

    // Stored keys corrected by the pending ops; ordered by bytes.
    template<typename Keep>
    static QList<QByteArray> merge(const QList<QByteArray> &stored,
                                   const OverlayView &view,
                                   qint64 now,
                                   int limit,
                                   Keep keepPendingSet)
    {
        QList<QByteArray> out;
        out.reserve(stored.size() + view.entries.size());
        for (const QByteArray &key : stored) {
            const auto it = view.entries.constFind(key);
            if (it == view.entries.cend())
                out.append(key);
            else if (it->kind == Pending::Kind::Touch && !expiredAt(it->expiresAt, now))
                out.append(key);
        }
        for (auto it = view.entries.cbegin(); it != view.entries.cend(); ++it) {
            if (it->kind == Pending::Kind::Set && !expiredAt(it->entry.expiresAtWallMs, now)
                && keepPendingSet(it.value()))
                out.append(it.key());
        }
        std::sort(out.begin(), out.end());
        if (limit >= 0 && out.size() > limit)
            out.resize(limit);
        return out;
    }

    // ---- reader threads --------------------------------------------------------------------

    // Runs job on a reader thread (inline when called from one of ours, so a continuation on a
    // reader never waits for itself). job gets nullptr when no connection is usable.
    void dispatch(ReadJob job)
    {
        if (t_reader && t_reader->owner == this) {
            job(t_reader->db.isOpen() ? t_reader : nullptr);
            return;
        }
        {
            std::lock_guard lock(m_rmx);
            if (!m_readersStopping) {
                m_jobs.push_back(std::move(job));
                m_readerCv.notify_one();
                return;
            }
        }
        job(nullptr);
    }

    template<typename T, typename Fn> T readWith(Reader *r, Fn &&fn, T fallback)
    {
        if (!r)
            return fallback;
        try {
            return fn(*r);
        } catch (const SqliteError &e) {
            readerFailed(*r, e);
            return fallback;
        }
    }

    template<typename T, typename Fn> T readBlocking(Fn &&fn, T fallback)
    {
        std::promise<T> promise;
        std::future<T> future = promise.get_future();
        dispatch([&](Reader *r) { promise.set_value(readWith<T>(r, fn, fallback)); });
        return future.get();
    }

    void readerFailed(Reader &r, const SqliteError &e)
    {
        if (isCorruptionCode(e.code)) {
            requestRecovery(r.generation, e.message);
            return;
        }
        m_errors.fetch_add(1);
        qCWarning(lcCache).noquote()
            << QStringLiteral("disk cache: read failed: %1").arg(e.message);
    }

    void requestRecovery(quint64 generation, const QString &why)
    {
        std::lock_guard lock(m_qmx);
        if (m_recoverGeneration != 0 || generation != m_generation.load())
            return; // already requested, or about an older file
        m_recoverGeneration = generation;
        m_recoverReason = why;
        m_writerCv.notify_one();
    }

    void readerMain(Reader *r, int number)
    {
        setThreadName(QByteArray("disk-read-") + QByteArray::number(number));
        t_reader = r;
        for (;;) {
            ReadJob job;
            {
                std::unique_lock lock(m_rmx);
                m_readerCv.wait(lock, [&] {
                    return m_readersStopping || !m_jobs.empty()
                           || r->generation != m_generation.load();
                });
                const quint64 generation = m_generation.load();
                if (r->generation != generation) {
                    lock.unlock();
                    reopenReader(*r, generation);
                    continue;
                }
                if (m_jobs.empty())
                    break; // stopping, and every queued job has run
                job = std::move(m_jobs.front());
                m_jobs.pop_front();
            }
            job(r->db.isOpen() ? r : nullptr);
        }
        r->closeDb();
        t_reader = nullptr;
    }

    void reopenReader(Reader &r, quint64 generation)
    {
        r.closeDb();
        r.generation = generation;
        if (!m_available.load())
            return;
        try {
            r.openDb(m_path);
        } catch (const SqliteError &e) {
            r.closeDb();
            readerFailed(r, e);
        }
    }

    void bumpGeneration()
    {
        {
            std::lock_guard lock(m_rmx);
            std::lock_guard checkpointLock(m_cmx);
            m_generation.fetch_add(1);
        }
        m_readerCv.notify_all();
        m_checkpointCv.notify_all();
    }

    // ---- the checkpoint thread -------------------------------------------------------------

    // After each commit (writer thread): wake the checkpointer from kBackgroundCheckpointBytes
    // of WAL; from kWriterCheckpointBytes on, finish the checkpoint here (the checkpointer has
    // usually copied most frames already), so the next batch can restart the WAL from its start.
    static int walHook(void *context, sqlite3 *db, const char *name, int frames)
    {
        auto *self = static_cast<Impl *>(context);
        if (frames >= self->m_writerCheckpointFrames) {
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        } else if (frames >= self->m_backgroundCheckpointFrames) {
            {
                std::lock_guard lock(self->m_cmx);
                self->m_checkpointWanted = true;
            }
            self->m_checkpointCv.notify_one();
        }
        return SQLITE_OK;
    }

    void checkpointerMain()
    {
        setThreadName("disk-ckpt");
        SqliteDb db;
        quint64 generation = 0;
        for (;;) {
            {
                std::unique_lock lock(m_cmx);
                m_checkpointCv.wait(lock, [&] {
                    return m_checkpointStopping || m_checkpointWanted
                           || generation != m_generation.load();
                });
                if (m_checkpointStopping)
                    break;
                m_checkpointWanted = false;
            }
            try {
                if (generation != m_generation.load()) {
                    db.close(false);
                    generation = m_generation.load();
                    if (!m_available.load())
                        continue;
                    db.open(m_path, SQLITE_OPEN_READWRITE);
                    db.setBusyTimeout(kBusyTimeoutMs);
                }
                if (!db.isOpen())
                    continue;
                const int rc = sqlite3_wal_checkpoint_v2(
                    db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
                if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                    db.throwError(rc, "wal_checkpoint");
            } catch (const SqliteError &e) {
                db.close(false);
                if (isCorruptionCode(e.code)) {
                    requestRecovery(generation, e.message);
                } else {
                    m_errors.fetch_add(1);
                    qCWarning(lcCache).noquote()
                        << QStringLiteral("disk cache: checkpoint failed: %1").arg(e.message);
                }
            }
        }
        db.close(false); // the writer, closing last, checkpoints and removes the WAL
    }

    // ---- the writer thread -----------------------------------------------------------------

    void writerMain(std::promise<void> &opened)
    {
        setThreadName("disk-cache");
        m_writerId = std::this_thread::get_id();
        openWriter(false);
        opened.set_value();
        if (w.db.isOpen())
            startupCheck();

        std::vector<WriteOp> batch;
        QHash<QByteArray, int> accesses;
        for (;;) {
            QString recoverReason;
            {
                std::unique_lock lock(m_qmx);
                auto hasWork = [this] {
                    return !m_queue.empty() || !m_accesses.isEmpty() || m_recoverGeneration != 0;
                };
                m_writerCv.wait(lock, [&] { return m_stopping || hasWork(); });
                if (!hasWork())
                    break; // stopping and drained
                const size_t maxOps = size_t(m_batchMaxOps.load());
                if (!m_stopping && m_urgent == 0 && m_recoverGeneration == 0
                    && m_queue.size() < maxOps) {
                    const auto deadline
                        = m_batchStart + std::chrono::milliseconds(m_batchMaxDelayMs.load());
                    m_writerCv.wait_until(lock, deadline, [&] {
                        return m_stopping || m_urgent > 0 || m_recoverGeneration != 0
                               || m_queue.size() >= maxOps;
                    });
                }
                if (m_recoverGeneration != 0) {
                    if (m_recoverGeneration == m_generation.load())
                        recoverReason = m_recoverReason;
                    m_recoverGeneration = 0;
                }
                const size_t take = std::min(maxOps, m_queue.size());
                batch.reserve(take);
                for (size_t i = 0; i < take; ++i) {
                    WriteOp &op = m_queue.front();
                    m_pendingBytes -= op.cost;
                    if (op.kind == WriteOp::Kind::ExpireDue || op.kind == WriteOp::Kind::Flush
                        || op.kind == WriteOp::Kind::ApplySettings
                        || op.kind == WriteOp::Kind::Clear)
                        --m_urgent;
                    batch.push_back(std::move(op));
                    m_queue.pop_front();
                }
                accesses.swap(m_accesses);
                m_batchOpen = !m_queue.empty();
                if (m_batchOpen)
                    m_batchStart = SteadyClock::now() - std::chrono::hours(1); // due at once
            }
            m_spaceCv.notify_all();
            if (!recoverReason.isEmpty() && w.db.isOpen()) {
                rollbackQuietly();
                discardAndRecreate(recoverReason, QStringLiteral("corrupt"));
            }
            if (!batch.empty() || !accesses.isEmpty())
                processBatch(batch, accesses);
            batch.clear();
            accesses.clear();
        }
        closeWriter(true);
        m_writerId = std::thread::id();
    }

    void closeWriter(bool checkpoint)
    {
        w.finalizeStatements();
        w.db.close(checkpoint);
    }

    // Opens (creating or migrating) the file; moves a corrupt or foreign one aside and starts
    // fresh. Leaves w.db closed, and the tier memory-only, when the file cannot be used.
    void openWriter(bool discardStaleRows)
    {
        for (int attempt = 0; attempt < 2; ++attempt) {
            try {
                openWriterOnce();
                if (discardStaleRows) {
                    clearStaleRows();
                    w.entries = 0;
                    w.bytes = 0;
                }
                m_droppedWhileUnavailable = false;
                publishCounters();
                m_available = true;
                bumpGeneration(); // readers (re)open on the new file
                return;
            } catch (const SqliteError &e) {
                closeWriter(false);
                if (attempt == 0 && (isCorruptionCode(e.code) || e.code == kIncompatibleCode)) {
                    const bool corrupt = e.code != kIncompatibleCode;
                    if (corrupt)
                        m_errors.fetch_add(1);
                    if (moveAside(corrupt ? QStringLiteral("corrupt") : QStringLiteral("foreign"),
                                  e.message))
                        continue; // and try a fresh file
                    break;
                }
                m_errors.fetch_add(1);
                qCWarning(lcCache).noquote()
                    << QStringLiteral("disk cache %1 is unusable, running memory-only: %2")
                           .arg(m_path, e.message);
                break;
            }
        }
        w.retryAt = SteadyClock::now() + kReopenInterval;
        m_available = false;
        resetCounters();
    }

    void openWriterOnce()
    {
        w.db.open(m_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        w.db.setBusyTimeout(kBusyTimeoutMs);
        if (sqlite3_db_readonly(w.db.handle(), "main") == 1)
            throw SqliteError{SQLITE_READONLY, QStringLiteral("the file is read-only")};
        const bool fresh = w.db.queryInt64("PRAGMA page_count") == 0; // NOTADB on garbage
        if (fresh) {
            const QByteArray setup = QByteArray("PRAGMA page_size=") + QByteArray::number(kPageSize)
                                     + QByteArray("; PRAGMA auto_vacuum=INCREMENTAL");
            w.db.exec(setup.constData());
        }
        if (w.db.queryText("PRAGMA journal_mode=WAL").toLower() != "wal")
            throw SqliteError{SQLITE_CANTOPEN, QStringLiteral("WAL journal mode was refused")};
        const qint64 pageSize = std::max<qint64>(512, w.db.queryInt64("PRAGMA page_size"));
        const QByteArray pragmas = QByteArray("PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
                                              " PRAGMA cache_size=-32768; PRAGMA foreign_keys=OFF;"
                                              " PRAGMA wal_autocheckpoint=")
                                   + QByteArray("0") + QByteArray("; PRAGMA journal_size_limit=")
                                   + QByteArray::number(kJournalSizeLimit);
        w.db.exec(pragmas.constData());
        migrate();
        m_backgroundCheckpointFrames = int(kBackgroundCheckpointBytes / pageSize);
        m_writerCheckpointFrames = int(kWriterCheckpointBytes / pageSize);
        sqlite3_wal_hook(w.db.handle(), &Impl::walHook, this);
        prepareWriterStatements();
        loadCounters();
        const Policy wanted = Policy(m_policy.load());
        if (!w.rankPolicySaved || w.rankPolicy != wanted) {
            w.begin.step();
            w.begin.reset();
            try {
                rebuildRanks(wanted);
                saveMeta();
                w.commit.step();
                w.commit.reset();
            } catch (...) {
                rollbackQuietly();
                throw;
            }
        }
    }

    void migrate()
    {
        qint64 version = w.db.queryInt64("PRAGMA user_version");
        if (version == 0 && w.db.queryInt64("SELECT count(*) FROM sqlite_schema") > 0)
            throw SqliteError{kIncompatibleCode,
                              QStringLiteral("the file holds tables that are not a cache")};
        if (version > kSchemaVersion)
            throw SqliteError{kIncompatibleCode,
                              QStringLiteral("schema version %1 is newer than this build's %2")
                                  .arg(version)
                                  .arg(kSchemaVersion)};
        while (version < kSchemaVersion) {
            w.db.exec("BEGIN IMMEDIATE");
            try {
                w.db.exec(kMigrations[version]);
                const QByteArray bump
                    = QByteArray("PRAGMA user_version=") + QByteArray::number(version + 1);
                w.db.exec(bump.constData());
                w.db.exec("COMMIT");
            } catch (...) {
                try {
                    w.db.exec("ROLLBACK");
                } catch (const SqliteError &) {
                }
                throw;
            }
            ++version;
            if (version > 1) {
                qCInfo(lcCache).noquote() << QStringLiteral("disk cache %1 migrated to schema %2")
                                                 .arg(m_path)
                                                 .arg(version);
            }
        }
    }

    void prepareWriterStatements()
    {
        SqliteDb &db = w.db;
        w.begin = db.prepare("BEGIN IMMEDIATE");
        w.commit = db.prepare("COMMIT");
        w.rollback = db.prepare("ROLLBACK");
        w.selectOld = db.prepare("SELECT rowid, size, ntags, hits FROM entries WHERE key = ?1");
        w.insert = db.prepare(
            "INSERT INTO entries(key, expires_at, written_seq, access_seq, hits, rank, size, ntags,"
            " tags, depends, value) VALUES(?1, ?2, ?3, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9)");
        w.update = db.prepare(
            "UPDATE entries SET expires_at = ?2, written_seq = ?3, access_seq = ?3, rank = ?4,"
            " size = ?5, ntags = ?6, tags = ?7, depends = ?8, value = ?9 WHERE rowid = ?1");
        w.deleteByKey
            = db.prepare("DELETE FROM entries WHERE key = ?1 RETURNING rowid, size, ntags");
        w.deleteByRowid = db.prepare("DELETE FROM entries WHERE rowid = ?1");
        w.deleteTags = db.prepare("DELETE FROM tags WHERE entry = ?1");
        w.insertTag = db.prepare("INSERT OR IGNORE INTO tags(tag, entry) VALUES(?1, ?2)");
        w.touch = db.prepare("UPDATE entries SET expires_at = ?2 WHERE key = ?1");
        w.touchRank = db.prepare("UPDATE entries SET expires_at = ?2, rank = ?3 WHERE key = ?1");
        w.accessLru = db.prepare("UPDATE entries SET access_seq = ?2, hits = hits + ?3, rank = ?2"
                                 " WHERE key = ?1");
        w.accessLfu = db.prepare("UPDATE entries SET access_seq = ?2, hits = hits + ?3,"
                                 " rank = ?4 + hits + ?3 + 1 WHERE key = ?1");
        w.accessAdaptive = db.prepare("UPDATE entries SET access_seq = ?2, hits = hits + ?3,"
                                      " rank = ?4 + min(hits + ?3, 15) WHERE key = ?1");
        w.accessPlain = db.prepare("UPDATE entries SET access_seq = ?2, hits = hits + ?3"
                                   " WHERE key = ?1");
        w.victims = db.prepare("SELECT rowid, size, ntags, rank FROM entries"
                               " WHERE written_seq <= ?2 ORDER BY rank, written_seq LIMIT ?1");
        // A victim still as it was when chosen (not rewritten by this batch) becomes the new row.
        w.reuseVictim = db.prepare(
            "UPDATE entries SET key = ?2, expires_at = ?3, written_seq = ?4, access_seq = ?4,"
            " hits = 0, rank = ?5, size = ?6, ntags = ?7, tags = ?8, depends = ?9, value = ?10"
            " WHERE rowid = ?1 AND written_seq <= ?11");
        w.deleteVictim = db.prepare("DELETE FROM entries WHERE rowid = ?1 AND written_seq <= ?2");
        w.expired = db.prepare("SELECT rowid, size, ntags FROM entries"
                               " WHERE expires_at > 0 AND expires_at <= ?1 LIMIT ?2");
        w.setMeta = db.prepare("UPDATE meta SET value = ?2 WHERE name = ?1");
        w.pageCount = db.prepare("PRAGMA page_count");
        w.freelistCount = db.prepare("PRAGMA freelist_count");
    }

    qint64 metaValue(const char *name, qint64 fallback, bool *found = nullptr)
    {
        SqliteStatement stmt = w.db.prepare("SELECT value FROM meta WHERE name = ?1");
        // meta.name is TEXT: bind text, a BLOB would never compare equal.
        stmt.bindText(1, name);
        const bool has = stmt.step();
        if (found)
            *found = has;
        return has ? stmt.int64(0) : fallback;
    }

    void loadCounters()
    {
        SqliteStatement totals = w.db.prepare("SELECT count(*), coalesce(sum(size), 0)"
                                              " FROM entries");
        totals.step();
        w.entries = totals.int64(0);
        w.bytes = totals.int64(1);
        totals.finalize();
        w.tick = metaValue("tick", 0);
        w.floor = metaValue("floor", 0);
        bool found = false;
        const qint64 policy = metaValue("rank_policy", -1, &found);
        w.rankPolicySaved = found && policy >= 0 && policy <= int(Policy::Adaptive);
        w.rankPolicy = w.rankPolicySaved ? Policy(policy) : Policy(m_policy.load());
        w.savedTick = w.tick;
        w.savedFloor = w.floor;
        w.pageSize = w.db.queryInt64("PRAGMA page_size");
    }

    void publishCounters()
    {
        m_entries = w.entries;
        m_bytes = w.bytes;
        m_publishedTick = w.tick;
        m_publishedFloor = w.floor;
        m_rankedPolicy = int(w.rankPolicy);
        try {
            StatementScope scope(w.pageCount);
            m_fileBytes = w.pageCount.step() ? w.pageCount.int64(0) * w.pageSize : 0;
        } catch (const SqliteError &) {
            // fileBytes keeps its last value; the next statement reports the error
        }
    }

    void resetCounters()
    {
        w.entries = 0;
        w.bytes = 0;
        m_entries = 0;
        m_bytes = 0;
        m_fileBytes = 0;
    }

    // quick_check and a sweep of rows that expired while we were not running.
    void startupCheck()
    {
        try {
            const QByteArray verdict = w.db.queryText("PRAGMA quick_check");
            if (verdict != "ok") {
                QString what = QString::fromUtf8(verdict).simplified();
                if (what.size() > 160)
                    what = what.left(160) + QStringLiteral("...");
                discardAndRecreate(QStringLiteral("quick_check: ") + what,
                                   QStringLiteral("corrupt"));
            }
        } catch (const SqliteError &e) {
            if (isCorruptionCode(e.code)) {
                discardAndRecreate(e.message, QStringLiteral("corrupt"));
            } else {
                m_errors.fetch_add(1);
                qCWarning(lcCache).noquote()
                    << QStringLiteral("disk cache: quick_check failed: %1").arg(e.message);
            }
        }
        std::vector<WriteOp> sweep(1);
        sweep.front().kind = WriteOp::Kind::ExpireDue;
        sweep.front().wallMs = m_clock.wallMsecs();
        QHash<QByteArray, int> none;
        processBatch(sweep, none);
    }

    // Moves the file aside (kind: "corrupt", "foreign", "failed") with its -wal, drops its -shm
    // and says so. false when the file could neither be renamed nor deleted.
    bool moveAside(const QString &kind, const QString &why)
    {
        const QString stamp
            = m_clock.wallTime().toString(QStringLiteral("yyyyMMdd'T'HHmmss.zzz'Z'"));
        QString aside = m_path + QStringLiteral(".") + kind + QStringLiteral("-") + stamp;
        for (int n = 2; QFile::exists(aside) || QFile::exists(aside + QStringLiteral("-wal")); ++n)
            aside = m_path + QStringLiteral(".") + kind + QStringLiteral("-") + stamp
                    + QStringLiteral("-%1").arg(n);
        auto renameOrRemove = [](const QString &from, const QString &to) {
            if (!QFile::exists(from))
                return true;
            if (std::rename(QFile::encodeName(from).constData(), QFile::encodeName(to).constData())
                == 0)
                return true;
            return QFile::remove(from);
        };
        const bool moved = renameOrRemove(m_path, aside);
        renameOrRemove(m_path + QStringLiteral("-wal"), aside + QStringLiteral("-wal"));
        renameOrRemove(m_path + QStringLiteral("-journal"), aside + QStringLiteral("-journal"));
        QFile::remove(m_path + QStringLiteral("-shm"));
        if (!moved) {
            w.disabled = true;
            qCCritical(lcCache).noquote()
                << QStringLiteral("disk cache %1 is %2 (%3) and cannot be moved aside: running "
                                  "memory-only")
                       .arg(m_path, kind, why);
            return false;
        }
        const QString line = QStringLiteral("disk cache %1 is %2 (%3): moved aside to %4; running "
                                            "memory-only until a fresh file is ready")
                                 .arg(m_path, kind, why, aside);
        if (kind == QLatin1String("foreign"))
            qCWarning(lcCache).noquote() << line;
        else
            qCCritical(lcCache).noquote() << line;
        return true;
    }

    // Corruption (or a persistent failure) on the open file: memory-only, move it aside, start
    // a fresh file.
    void discardAndRecreate(const QString &why, const QString &kind)
    {
        m_available = false;
        if (kind == QLatin1String("corrupt"))
            m_errors.fetch_add(1);
        closeWriter(false);
        bumpGeneration(); // readers drop their connections to the old file
        resetCounters();
        if (!moveAside(kind, why)) {
            w.retryAt = SteadyClock::time_point::max();
            return;
        }
        openWriter(false);
    }

    void maybeReopen()
    {
        if (w.disabled || SteadyClock::now() < w.retryAt)
            return;
        openWriter(m_droppedWhileUnavailable.load());
    }

    void clearStaleRows()
    {
        // Writes were dropped while the file was unusable: what it holds may be stale.
        w.db.exec("DELETE FROM tags; DELETE FROM entries");
        qCInfo(lcCache).noquote()
            << QStringLiteral("disk cache %1 reopened; entries from before the outage discarded")
                   .arg(m_path);
    }

    void rollbackQuietly()
    {
        if (!w.db.isOpen() || sqlite3_get_autocommit(w.db.handle()))
            return;
        try {
            StatementScope scope(w.rollback);
            w.rollback.step();
        } catch (const SqliteError &) {
        }
    }

    void processBatch(std::vector<WriteOp> &ops, QHash<QByteArray, int> &accesses)
    {
        BatchCounters counters;
        bool committed = false;
        if (!w.db.isOpen())
            maybeReopen();
        if (w.db.isOpen()) {
            struct
            {
                qint64 bytes, entries, tick, floor, savedTick, savedFloor;
                Policy rankPolicy;
                bool rankPolicySaved;
            } const snapshot{w.bytes,     w.entries,    w.tick,       w.floor,
                             w.savedTick, w.savedFloor, w.rankPolicy, w.rankPolicySaved};
            for (int attempt = 0; attempt < 2 && !committed && w.db.isOpen(); ++attempt) {
                counters = {};
                try {
                    runBatch(ops, accesses, counters);
                    committed = true;
                } catch (const SqliteError &e) {
                    rollbackQuietly();
                    w.bytes = snapshot.bytes;
                    w.entries = snapshot.entries;
                    w.tick = snapshot.tick;
                    w.floor = snapshot.floor;
                    w.savedTick = snapshot.savedTick;
                    w.savedFloor = snapshot.savedFloor;
                    w.rankPolicy = snapshot.rankPolicy;
                    w.rankPolicySaved = snapshot.rankPolicySaved;
                    if (isCorruptionCode(e.code)) {
                        discardAndRecreate(e.message, QStringLiteral("corrupt"));
                        break;
                    }
                    m_errors.fetch_add(1);
                    qCWarning(lcCache).noquote()
                        << QStringLiteral("disk cache: a write batch failed%1: %2")
                               .arg(attempt == 0 ? QStringLiteral(", retrying")
                                                 : QStringLiteral("; starting a fresh file"),
                                    e.message);
                    if (attempt == 1) // a file we cannot write may hold rows we failed to delete
                        discardAndRecreate(e.message, QStringLiteral("failed"));
                }
            }
        }
        if (committed) {
            publishCounters();
            m_evictedSize.fetch_add(counters.evictedSize);
            m_evictedExpired.fetch_add(counters.evictedExpired);
            m_evictedInvalidated.fetch_add(counters.evictedInvalidated);
            m_evictedReplaced.fetch_add(counters.evictedReplaced);
            m_rejected.fetch_add(counters.rejected);
        } else {
            for (const WriteOp &op : ops) {
                // Dropped while no file is open: a file reopened later may hold what they changed.
                if (!w.db.isOpen()
                    && (op.kind == WriteOp::Kind::Set || op.kind == WriteOp::Kind::Remove
                        || op.kind == WriteOp::Kind::Touch || op.kind == WriteOp::Kind::Clear))
                    m_droppedWhileUnavailable = true;
                if (op.kind == WriteOp::Kind::ApplySettings)
                    w.rankPolicy = Policy(m_policy.load()); // re-ranked when a file opens
            }
        }
        releaseOverlay(ops);
        if (committed && counters.deletedRows > 0)
            reclaimSpace();
        for (WriteOp &op : ops) {
            if (op.flushed)
                op.flushed->finish();
            if (op.expired)
                op.expired->set_value(committed ? op.result : 0);
        }
    }

    void runBatch(std::vector<WriteOp> &ops,
                  const QHash<QByteArray, int> &accesses,
                  BatchCounters &counters)
    {
        const qint64 now = m_clock.wallMsecs();
        {
            StatementScope scope(w.begin);
            w.begin.step();
        }
        w.batchStartTick = w.tick;
        w.victimQueue.clear(); // ranks may have moved since the last batch
        w.victimNext = 0;
        w.noneExpired = false;
        applyAccesses(accesses);
        for (WriteOp &op : ops) {
            switch (op.kind) {
            case WriteOp::Kind::Set:
                applySet(op.key, op.entry, now, counters);
                break;
            case WriteOp::Kind::Remove:
                removeKey(op.key, counters, counters.evictedInvalidated);
                break;
            case WriteOp::Kind::Touch:
                touchKey(op.key, op.wallMs);
                break;
            case WriteOp::Kind::Clear:
                clearAll(counters);
                break;
            case WriteOp::Kind::ExpireDue:
                op.result = deleteExpired(op.wallMs, -1, counters);
                break;
            case WriteOp::Kind::Flush:
                break;
            case WriteOp::Kind::ApplySettings:
                rebuildRanks(Policy(m_policy.load()));
                break;
            }
        }
        enforceBudget(now, counters);
        saveMeta();
        StatementScope scope(w.commit);
        w.commit.step();
    }

    void applyAccesses(const QHash<QByteArray, int> &accesses)
    {
        if (accesses.isEmpty())
            return;
        SqliteStatement *stmt = &w.accessPlain;
        if (w.rankPolicy == Policy::Lru)
            stmt = &w.accessLru;
        else if (w.rankPolicy == Policy::Lfu)
            stmt = &w.accessLfu;
        else if (w.rankPolicy == Policy::Adaptive)
            stmt = &w.accessAdaptive;
        const bool aged = agedPolicy(w.rankPolicy);
        for (auto it = accesses.cbegin(); it != accesses.cend(); ++it) {
            StatementScope scope(*stmt);
            stmt->bindBlob(1, it.key());
            stmt->bindInt64(2, ++w.tick);
            stmt->bindInt64(3, it.value());
            if (aged)
                stmt->bindInt64(4, w.floor);
            stmt->step();
        }
    }

    void applySet(const QByteArray &key, const Entry &entry, qint64 now, BatchCounters &counters)
    {
        const qint64 size = key.size() + entry.value.size();
        const qint64 maxBytes = m_maxBytes.load();
        if (maxBytes > 0 && size > maxBytes) {
            removeKey(key, counters, counters.evictedReplaced);
            ++counters.rejected;
            return;
        }
        bool exists = false;
        qint64 rowid = 0;
        qint64 oldSize = 0;
        qint64 oldTags = 0;
        qint64 hits = 0;
        {
            StatementScope scope(w.selectOld);
            w.selectOld.bindBlob(1, key);
            exists = w.selectOld.step();
            if (exists) {
                rowid = w.selectOld.int64(0);
                oldSize = w.selectOld.int64(1);
                oldTags = w.selectOld.int64(2);
                hits = w.selectOld.int64(3);
            }
        }
        const QList<QByteArray> tags = uniqueItems(entry.tags);
        const QByteArray tagsBlob = encodeList(tags);
        const QByteArray dependsBlob = encodeList(entry.dependsOn);
        if (exists) {
            const qint64 tick = ++w.tick;
            const qint64 rank = rankFor(w.rankPolicy, tick, entry.expiresAtWallMs, hits, w.floor);
            StatementScope scope(w.update);
            w.update.bindInt64(1, rowid);
            w.update.bindInt64(2, entry.expiresAtWallMs);
            w.update.bindInt64(3, tick);
            w.update.bindInt64(4, rank);
            w.update.bindInt64(5, size);
            w.update.bindInt64(6, tags.size());
            w.update.bindBlobOrNull(7, tagsBlob);
            w.update.bindBlobOrNull(8, dependsBlob);
            w.update.bindBlob(9, entry.value);
            w.update.step();
            if (oldTags > 0)
                deleteTagsOf(rowid);
            w.bytes += size - oldSize;
            ++counters.evictedReplaced;
        } else {
            // A new key: make room first (as the memory tier does, so a new row is never its own
            // victim), and write it over the last victim's row instead of deleting that row and
            // inserting another: one b-tree row operation instead of two.
            for (;;) {
                const std::optional<Victim> victim = makeRoom(size, now, counters);
                const qint64 tick = ++w.tick;
                const qint64 rank = rankFor(w.rankPolicy, tick, entry.expiresAtWallMs, 0, w.floor);
                SqliteStatement &stmt = victim ? w.reuseVictim : w.insert;
                StatementScope scope(stmt);
                int next = 1;
                if (victim)
                    stmt.bindInt64(next++, victim->rowid);
                stmt.bindBlob(next++, key);
                stmt.bindInt64(next++, entry.expiresAtWallMs);
                stmt.bindInt64(next++, tick);
                stmt.bindInt64(next++, rank);
                stmt.bindInt64(next++, size);
                stmt.bindInt64(next++, tags.size());
                stmt.bindBlobOrNull(next++, tagsBlob);
                stmt.bindBlobOrNull(next++, dependsBlob);
                stmt.bindBlob(next++, entry.value);
                if (victim)
                    stmt.bindInt64(next++, w.batchStartTick);
                stmt.step();
                if (!victim) {
                    rowid = w.db.lastInsertRowid();
                    w.bytes += size;
                    ++w.entries;
                    break;
                }
                if (w.db.changes() == 1) {
                    rowid = victim->rowid;
                    if (victim->ntags > 0)
                        deleteTagsOf(rowid);
                    w.bytes += size - victim->size;
                    evicted(*victim, counters);
                    break;
                }
                // The victim was removed or rewritten earlier in this batch: take the next one.
            }
        }
        for (const QByteArray &tag : tags) {
            StatementScope scope(w.insertTag);
            w.insertTag.bindBlob(1, tag);
            w.insertTag.bindInt64(2, rowid);
            w.insertTag.step();
        }
    }

    // Frees space for a new row of `size` bytes: expired rows first, then victims by rank. Returns
    // the victim whose row the new entry may take over (that one alone is enough), or nothing.
    std::optional<Victim> makeRoom(qint64 size, qint64 now, BatchCounters &counters)
    {
        const qint64 maxBytes = m_maxBytes.load();
        if (maxBytes <= 0 || w.bytes + size <= maxBytes)
            return std::nullopt;
        if (!w.noneExpired) {
            deleteExpired(now, maxBytes - size, counters);
            if (w.bytes + size <= maxBytes)
                return std::nullopt;
            w.noneExpired = true;
        }
        while (const std::optional<Victim> victim = nextVictim(w.batchStartTick)) {
            if (w.bytes - victim->size + size <= maxBytes)
                return victim;
            deleteVictim(*victim, counters);
        }
        return std::nullopt; // only rows of this batch are left: enforceBudget() decides
    }

    // The next eviction candidate by rank among rows last written at or before `writtenBy`.
    std::optional<Victim> nextVictim(qint64 writtenBy)
    {
        if (w.victimNext >= w.victimQueue.size()) {
            w.victimQueue.clear();
            w.victimNext = 0;
            StatementScope scope(w.victims);
            w.victims.bindInt64(1, kVictimChunk);
            w.victims.bindInt64(2, writtenBy);
            while (w.victims.step()) {
                w.victimQueue.push_back({w.victims.int64(0), w.victims.int64(1), w.victims.int64(2),
                                         w.victims.int64(3)});
            }
            if (w.victimQueue.empty())
                return std::nullopt;
        }
        return w.victimQueue[w.victimNext++];
    }

    void evicted(const Victim &v, BatchCounters &counters)
    {
        ++counters.evictedSize;
        if (agedPolicy(w.rankPolicy))
            w.floor = std::max(w.floor, v.rank);
    }

    // Deletes a victim unless this batch already removed or rewrote it.
    void deleteVictim(const Victim &v, BatchCounters &counters)
    {
        {
            StatementScope scope(w.deleteVictim);
            w.deleteVictim.bindInt64(1, v.rowid);
            w.deleteVictim.bindInt64(2, w.batchStartTick);
            w.deleteVictim.step();
        }
        if (w.db.changes() != 1)
            return;
        if (v.ntags > 0)
            deleteTagsOf(v.rowid);
        w.bytes -= v.size;
        --w.entries;
        ++counters.deletedRows;
        evicted(v, counters);
    }

    void deleteTagsOf(qint64 rowid)
    {
        StatementScope scope(w.deleteTags);
        w.deleteTags.bindInt64(1, rowid);
        w.deleteTags.step();
    }

    bool removeKey(const QByteArray &key, BatchCounters &counters, quint64 &cause)
    {
        qint64 rowid = 0;
        qint64 size = 0;
        qint64 ntags = 0;
        {
            StatementScope scope(w.deleteByKey);
            w.deleteByKey.bindBlob(1, key);
            if (!w.deleteByKey.step())
                return false;
            rowid = w.deleteByKey.int64(0);
            size = w.deleteByKey.int64(1);
            ntags = w.deleteByKey.int64(2);
        }
        if (ntags > 0)
            deleteTagsOf(rowid);
        w.bytes -= size;
        --w.entries;
        ++cause;
        ++counters.deletedRows;
        return true;
    }

    void deleteRow(const Victim &v, BatchCounters &counters)
    {
        {
            StatementScope scope(w.deleteByRowid);
            w.deleteByRowid.bindInt64(1, v.rowid);
            w.deleteByRowid.step();
        }
        if (v.ntags > 0)
            deleteTagsOf(v.rowid);
        w.bytes -= v.size;
        --w.entries;
        ++counters.deletedRows;
    }

    void touchKey(const QByteArray &key, qint64 expiresAt)
    {
        SqliteStatement &stmt = w.rankPolicy == Policy::Ttl ? w.touchRank : w.touch;
        StatementScope scope(stmt);
        stmt.bindBlob(1, key);
        stmt.bindInt64(2, expiresAt);
        if (w.rankPolicy == Policy::Ttl)
            stmt.bindInt64(3, rankFor(Policy::Ttl, 0, expiresAt, 0, 0));
        stmt.step();
    }

    void clearAll(BatchCounters &counters)
    {
        w.db.exec("DELETE FROM tags; DELETE FROM entries");
        w.victimQueue.clear();
        w.victimNext = 0;
        counters.evictedInvalidated += quint64(w.entries);
        counters.deletedRows += std::max<qint64>(1, w.entries);
        w.entries = 0;
        w.bytes = 0;
    }

    // Deletes rows expired at `now`; all of them, or (untilUnderBudget) until the budget holds.
    int deleteExpired(qint64 now, qint64 budget, BatchCounters &counters)
    {
        int total = 0;
        std::vector<Victim> chunk;
        for (;;) {
            if (budget >= 0 && w.bytes <= budget)
                break;
            chunk.clear();
            {
                StatementScope scope(w.expired);
                w.expired.bindInt64(1, now);
                w.expired.bindInt64(2, kExpireChunk);
                while (w.expired.step())
                    chunk.push_back(
                        {w.expired.int64(0), w.expired.int64(1), w.expired.int64(2), 0});
            }
            if (chunk.empty())
                break;
            for (const Victim &v : chunk)
                deleteRow(v, counters);
            total += int(chunk.size());
        }
        counters.evictedExpired += quint64(total);
        return total;
    }

    // At the end of every batch: for overwrites that grew, a smaller budget, or a batch that is
    // over the budget on its own.
    void enforceBudget(qint64 now, BatchCounters &counters)
    {
        const qint64 maxBytes = m_maxBytes.load();
        if (maxBytes <= 0 || w.bytes <= maxBytes)
            return;
        deleteExpired(now, maxBytes, counters); // expired rows go first
        while (w.bytes > maxBytes) {
            const std::optional<Victim> victim = nextVictim(w.batchStartTick);
            if (!victim)
                break;
            deleteVictim(*victim, counters);
        }
        // Still over: only rows this batch wrote are left, and they alone exceed the budget.
        w.victimQueue.clear();
        w.victimNext = 0;
        while (w.bytes > maxBytes) {
            const std::optional<Victim> victim = nextVictim(kNeverRank);
            if (!victim) {
                // The counters drifted from the file (should not happen): trust the file.
                SqliteStatement totals = w.db.prepare("SELECT count(*), coalesce(sum(size), 0)"
                                                      " FROM entries");
                totals.step();
                w.entries = totals.int64(0);
                w.bytes = totals.int64(1);
                qCWarning(lcCache) << "disk cache: byte counter resynchronised";
                break;
            }
            deleteRow(*victim, counters);
            evicted(*victim, counters);
        }
    }

    void rebuildRanks(Policy policy)
    {
        if (w.rankPolicySaved && w.rankPolicy == policy)
            return;
        w.db.exec(rebuildRanksSql(policy));
        w.victimQueue.clear();
        w.victimNext = 0;
        w.rankPolicy = policy;
        w.rankPolicySaved = false; // saveMeta() writes it in this transaction
        w.floor = 0;
    }

    void saveMeta()
    {
        auto save = [this](const char *name, qint64 value) {
            StatementScope scope(w.setMeta);
            w.setMeta.bindText(1, name);
            w.setMeta.bindInt64(2, value);
            w.setMeta.step();
        };
        if (w.tick != w.savedTick) {
            save("tick", w.tick);
            w.savedTick = w.tick;
        }
        if (w.floor != w.savedFloor) {
            save("floor", w.floor);
            w.savedFloor = w.floor;
        }
        if (!w.rankPolicySaved) {
            save("rank_policy", int(w.rankPolicy));
            w.rankPolicySaved = true;
        }
    }

    // After big deletes: give free pages back (incremental vacuum) and truncate the WAL, so the
    // file and the WAL stay bounded. Steady eviction reuses its pages and never gets here.
    void reclaimSpace()
    {
        try {
            qint64 freePages = 0;
            qint64 pages = 0;
            {
                StatementScope scope(w.freelistCount);
                freePages = w.freelistCount.step() ? w.freelistCount.int64(0) : 0;
            }
            {
                StatementScope scope(w.pageCount);
                pages = w.pageCount.step() ? w.pageCount.int64(0) : 0;
            }
            if (freePages < kVacuumMinFreePages || freePages * 4 < pages)
                return;
            w.db.exec("PRAGMA incremental_vacuum");
            // The truncation reaches the file with a full checkpoint. SQLITE_BUSY at once while
            // the checkpointer runs one: wait for it (briefly; this happens after big deletes).
            int rc = SQLITE_BUSY;
            for (int attempt = 0; attempt < 200 && rc == SQLITE_BUSY; ++attempt) {
                if (attempt > 0)
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                rc = sqlite3_wal_checkpoint_v2(w.db.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                               nullptr, nullptr);
            }
            if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                w.db.throwError(rc, "wal_checkpoint(TRUNCATE)");
            publishCounters();
        } catch (const SqliteError &e) {
            if (isCorruptionCode(e.code)) {
                discardAndRecreate(e.message, QStringLiteral("corrupt"));
                return;
            }
            m_errors.fetch_add(1);
            qCWarning(lcCache).noquote()
                << QStringLiteral("disk cache: reclaiming space failed: %1").arg(e.message);
        }
    }

    // Forgets the pending state each op left, unless a newer op on the same key replaced it.
    void releaseOverlay(const std::vector<WriteOp> &ops)
    {
        constexpr size_t kChunk = 128; // bounds how long readers wait for the lock
        for (size_t begin = 0; begin < ops.size(); begin += kChunk) {
            std::lock_guard lock(m_qmx);
            const size_t end = std::min(ops.size(), begin + kChunk);
            for (size_t i = begin; i < end; ++i) {
                const WriteOp &op = ops[i];
                switch (op.kind) {
                case WriteOp::Kind::Set:
                case WriteOp::Kind::Remove:
                case WriteOp::Kind::Touch: {
                    const auto it = m_overlay.find(op.key);
                    if (it != m_overlay.end() && it->seq == op.seq)
                        m_overlay.erase(it);
                    break;
                }
                case WriteOp::Kind::Clear:
                    --m_clearsPending;
                    break;
                default:
                    break;
                }
            }
        }
    }

    // ---- state -----------------------------------------------------------------------------

    const Clock &m_clock;
    mutable std::mutex m_settingsMutex;
    Settings m_settings;
    std::mutex m_lifecycleMutex;
    QString m_path; // fixed between open() and close()

    std::atomic<qint64> m_maxBytes;
    std::atomic<int> m_policy;
    std::atomic<int> m_batchMaxOps{2048};
    std::atomic<int> m_batchMaxDelayMs{5};
    std::atomic<bool> m_running{false};
    std::atomic<bool> m_available{false};
    std::atomic<bool> m_droppedWhileUnavailable{false};
    std::atomic<quint64> m_generation{0}; // bumped whenever the file is dropped or replaced
    std::atomic<std::thread::id> m_writerId{};

    // Write queue, overlay and read accesses (m_qmx).
    std::mutex m_qmx;
    std::condition_variable m_writerCv;
    std::condition_variable m_spaceCv;
    std::deque<WriteOp> m_queue;
    QHash<QByteArray, Pending> m_overlay;
    QHash<QByteArray, int> m_accesses;
    qint64 m_pendingBytes = 0;
    int m_urgent = 0;
    int m_clearsPending = 0;
    quint64 m_nextSeq = 0;
    bool m_stopping = false;
    bool m_batchOpen = false;
    SteadyClock::time_point m_batchStart;
    quint64 m_recoverGeneration = 0;
    QString m_recoverReason;

    // Reader jobs (m_rmx).
    std::mutex m_rmx;
    std::condition_variable m_readerCv;
    std::deque<ReadJob> m_jobs;
    bool m_readersStopping = false;
    std::vector<std::unique_ptr<Reader>> m_readers;
    std::vector<std::thread> m_readerThreads;
    std::thread m_writerThread;

    // The checkpointer (m_cmx).
    std::mutex m_cmx;
    std::condition_variable m_checkpointCv;
    bool m_checkpointWanted = false;
    bool m_checkpointStopping = false;
    std::thread m_checkpointThread;
    int m_backgroundCheckpointFrames = 1024; // set by the writer before it writes
    int m_writerCheckpointFrames = 4096;
    static thread_local Reader *t_reader;

    Writer w; // writer thread only

    // Published counters.
    std::atomic<qint64> m_entries{0};
    std::atomic<qint64> m_bytes{0};
    std::atomic<qint64> m_fileBytes{0};
    std::atomic<qint64> m_publishedTick{0};  // the writer's tick, floor and rank policy, for the
    std::atomic<qint64> m_publishedFloor{0}; // readers' accessWeight()
    std::atomic<int> m_rankedPolicy{int(Policy::Adaptive)};
    std::atomic<quint64> m_hits{0};
    std::atomic<quint64> m_misses{0};
    std::atomic<quint64> m_evictedSize{0};
    std::atomic<quint64> m_evictedExpired{0};
    std::atomic<quint64> m_evictedInvalidated{0};
    std::atomic<quint64> m_evictedReplaced{0};
    std::atomic<quint64> m_rejected{0};
    std::atomic<quint64> m_errors{0};
};

thread_local DiskTier::Impl::Reader *DiskTier::Impl::t_reader = nullptr;

DiskTier::DiskTier(Settings settings, const Clock &clock)
    : m_impl(std::make_unique<Impl>(std::move(settings), clock))
{}

DiskTier::~DiskTier() = default;

Status DiskTier::open()
{
    return m_impl->open();
}

void DiskTier::close()
{
    m_impl->close();
}

bool DiskTier::available() const
{
    return m_impl->available();
}

std::optional<DiskTier::Entry> DiskTier::get(const QByteArray &key)
{
    return m_impl->get(key);
}

QFuture<std::optional<DiskTier::Entry>> DiskTier::getAsync(const QByteArray &key)
{
    auto promise = std::make_shared<QPromise<std::optional<Entry>>>();
    promise->start();
    QFuture<std::optional<Entry>> future = promise->future();
    m_impl->getAsync(key, [promise](std::optional<Entry> entry) {
        promise->addResult(std::move(entry));
        promise->finish();
    });
    return future;
}

void DiskTier::getAsync(const QByteArray &key, std::function<void(std::optional<Entry>)> done)
{
    m_impl->getAsync(key, std::move(done));
}

void DiskTier::set(const QByteArray &key, Entry entry)
{
    m_impl->set(key, std::move(entry));
}

void DiskTier::remove(const QByteArray &key)
{
    m_impl->remove(key);
}

void DiskTier::removeMany(const QList<QByteArray> &keys)
{
    m_impl->removeMany(keys);
}

void DiskTier::touch(const QByteArray &key, qint64 expiresAtWallMs)
{
    m_impl->touch(key, expiresAtWallMs);
}

void DiskTier::clear()
{
    m_impl->clear();
}

QList<QByteArray> DiskTier::keysWithPrefix(const QByteArray &prefix, int limit)
{
    return m_impl->keysWithPrefix(prefix, limit);
}

QList<QByteArray> DiskTier::keysWithTag(const QByteArray &tag)
{
    return m_impl->keysWithTag(tag);
}

QList<QByteArray> DiskTier::keysMatching(const QRegularExpression &anchoredRegex, int limit)
{
    return m_impl->keysMatching(anchoredRegex, limit);
}

QList<QPair<QByteArray, QList<QByteArray>>> DiskTier::dependencyEdges()
{
    return m_impl->dependencyEdges();
}

int DiskTier::expireDue()
{
    return m_impl->expireDue();
}

QFuture<void> DiskTier::flush()
{
    return m_impl->flush();
}

void DiskTier::applySettings(Settings settings)
{
    m_impl->applySettings(std::move(settings));
}

DiskTier::Settings DiskTier::settings() const
{
    return m_impl->settings();
}

TierStats DiskTier::stats() const
{
    return m_impl->stats();
}

} // namespace opsdeck::cache

#include "core/monitor/historystore.h"

#include "core/runtime/runtimeconfig.h"
#include "core/support/logging.h"

#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QMutexLocker>

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <optional>

namespace opsdeck {

using namespace Qt::StringLiterals;

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kForeignCode = -1; // our own codes in a SqlError: not our schema
constexpr int kNewerCode = -2;   // a newer OpsDeck's schema
constexpr qint64 kMinuteMs = 60'000;
constexpr qint64 kJournalSizeLimit = qint64(4) << 20;

// kMigrations[v] moves a file from user_version v to v + 1 (CONTRACTS.md: forward on open).
const char *const kMigrations[] = {
    // 0 → 1.
    "CREATE TABLE raw_samples("
    " category TEXT NOT NULL,"
    " ts_ms INTEGER NOT NULL," // wall ms of the tick
    " json BLOB NOT NULL);"
    "CREATE INDEX raw_samples_category_ts ON raw_samples(category, ts_ms);"
    "CREATE INDEX raw_samples_ts ON raw_samples(ts_ms);" // retention
    "CREATE TABLE aggregates("
    " metric TEXT NOT NULL,"
    " minute_ms INTEGER NOT NULL," // start of the minute, wall ms
    " vmin REAL NOT NULL, vmax REAL NOT NULL, vsum REAL NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(metric, minute_ms)) WITHOUT ROWID;"
    "CREATE INDEX aggregates_minute ON aggregates(minute_ms);"
    "CREATE TABLE alerts("
    " id INTEGER PRIMARY KEY,"
    " last_seen_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " json BLOB NOT NULL);" // Alert::toJson()
    "CREATE TABLE rule_overrides("
    " position INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " json BLOB NOT NULL);"
    "CREATE TABLE meta(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta(name, value) VALUES('next_alert_id', 1);",
};
static_assert(std::size(kMigrations) == HistoryStore::kSchemaVersion);

struct SqlError
{
    int code = 0;
    QString message;
};

bool isCorruption(int code)
{
    const int primary = code & 0xff;
    return code > 0 && (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB);
}

[[noreturn]] void throwFor(sqlite3 *db, int code, const char *what)
{
    throw SqlError{code, QString::fromUtf8(what) + u": "_s
                             + QString::fromUtf8(db ? sqlite3_errmsg(db) : sqlite3_errstr(code))
                             + u" (code %1)"_s.arg(code)};
}

class Stmt
{
public:
    Stmt() = default;
    Stmt(sqlite3 *db, const char *sql)
        : m_db(db)
    {
        const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(m_stmt);
            m_stmt = nullptr;
            throwFor(db, rc, sql);
        }
    }
    Stmt(Stmt &&o) noexcept
        : m_db(std::exchange(o.m_db, nullptr))
        , m_stmt(std::exchange(o.m_stmt, nullptr))
    {}
    Stmt &operator=(Stmt &&o) noexcept
    {
        if (this != &o) {
            sqlite3_finalize(m_stmt);
            m_db = std::exchange(o.m_db, nullptr);
            m_stmt = std::exchange(o.m_stmt, nullptr);
        }
        return *this;
    }
    ~Stmt() { sqlite3_finalize(m_stmt); }

    void check(int rc) const
    {
        if (rc != SQLITE_OK)
            throwFor(m_db, rc, "bind");
    }
    void bind(int i, qint64 v) const { check(sqlite3_bind_int64(m_stmt, i, v)); }
    void bind(int i, double v) const { check(sqlite3_bind_double(m_stmt, i, v)); }
    void bind(int i, const QString &v) const
    {
        const QByteArray utf8 = v.toUtf8();
        check(sqlite3_bind_text(m_stmt, i, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT));
    }
    // Not copied: the bytes must live until reset().
    void bindBlob(int i, const QByteArray &v) const
    {
        check(sqlite3_bind_blob(m_stmt, i, v.constData(), int(v.size()), SQLITE_STATIC));
    }
    bool step() const
    {
        const int rc = sqlite3_step(m_stmt);
        if (rc == SQLITE_ROW)
            return true;
        if (rc == SQLITE_DONE)
            return false;
        throwFor(m_db, rc, sqlite3_sql(m_stmt));
    }
    void run() const
    {
        step();
        reset();
    }
    void reset() const
    {
        if (m_stmt) {
            sqlite3_reset(m_stmt);
            sqlite3_clear_bindings(m_stmt);
        }
    }
    qint64 int64(int c) const { return sqlite3_column_int64(m_stmt, c); }
    double real(int c) const { return sqlite3_column_double(m_stmt, c); }
    QByteArray blob(int c) const
    {
        const void *data = sqlite3_column_blob(m_stmt, c);
        const int size = sqlite3_column_bytes(m_stmt, c);
        return data && size > 0 ? QByteArray(static_cast<const char *>(data), size) : QByteArray();
    }
    QString text(int c) const { return QString::fromUtf8(blob(c)); }

private:
    sqlite3 *m_db = nullptr;
    sqlite3_stmt *m_stmt = nullptr;
};

// Resets a statement when the scope ends, also on a throw.
struct Scope
{
    const Stmt &stmt;
    ~Scope() { stmt.reset(); }
};

class Db
{
public:
    ~Db() { close(); }
    void open(const QString &path, int flags)
    {
        close();
        const QByteArray name = QFile::encodeName(path);
        const int rc = sqlite3_open_v2(
            name.constData(), &m_db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
        if (rc != SQLITE_OK) {
            SqlError e{rc,
                       u"open: "_s
                           + QString::fromUtf8(m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc))};
            close();
            throw e;
        }
        sqlite3_extended_result_codes(m_db, 1);
        sqlite3_busy_timeout(m_db, kBusyTimeoutMs);
    }
    void close()
    {
        if (m_db)
            sqlite3_close_v2(m_db);
        m_db = nullptr;
    }
    bool isOpen() const { return m_db != nullptr; }
    sqlite3 *handle() const { return m_db; }
    void exec(const char *sql) const
    {
        char *error = nullptr;
        const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &error);
        if (rc != SQLITE_OK) {
            SqlError e{rc, QString::fromUtf8(sql).left(80) + u": "_s
                               + QString::fromUtf8(error ? error : sqlite3_errstr(rc))
                               + u" (code %1)"_s.arg(rc)};
            sqlite3_free(error);
            throw e;
        }
    }
    qint64 queryInt64(const char *sql) const
    {
        Stmt s(m_db, sql);
        return s.step() ? s.int64(0) : 0;
    }
    QByteArray queryText(const char *sql) const
    {
        Stmt s(m_db, sql);
        return s.step() ? s.blob(0) : QByteArray();
    }

private:
    sqlite3 *m_db = nullptr;
};

} // namespace

struct HistoryStore::Impl
{
    Impl(const QString &p, Settings s, const Clock &c)
        : path(p)
        , settings(s)
        , clock(c)
    {}

    const QString path;
    Settings settings;
    const Clock &clock;
    QString movedAside;

    // Writer: appendTick, alerts, overrides, prune. Lock order: writeMutex, then readMutex.
    mutable QMutex writeMutex;
    Db writer;
    bool available = false;
    std::optional<Clock::MonoTime> nextPrune; // unset: prune on the next tick
    Stmt begin, commit, rollback, insertRaw, upsertAggregate, upsertAlert, raiseNextId,
        deleteAlerts, deleteOverrides, insertOverride, pruneRaw, pruneAggregates, pruneOldAlerts,
        capAlerts;

    // Reader: the range queries and loads, from any thread.
    mutable QMutex readMutex;
    Db reader;
    Stmt rawRange, aggregateRange, aggregateNames, allAlerts, nextId, allOverrides;

    void finalizeWriter()
    {
        for (Stmt *s : {&begin, &commit, &rollback, &insertRaw, &upsertAggregate, &upsertAlert,
                        &raiseNextId, &deleteAlerts, &deleteOverrides, &insertOverride, &pruneRaw,
                        &pruneAggregates, &pruneOldAlerts, &capAlerts})
            *s = Stmt();
    }
    void finalizeReader()
    {
        for (Stmt *s :
             {&rawRange, &aggregateRange, &aggregateNames, &allAlerts, &nextId, &allOverrides})
            *s = Stmt();
    }
    void closeAll()
    {
        finalizeReader();
        reader.close();
        finalizeWriter();
        writer.close();
        available = false;
    }

    void openWriter()
    {
        writer.open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        if (sqlite3_db_readonly(writer.handle(), "main") == 1)
            throw SqlError{SQLITE_READONLY, u"the file is read-only"_s};
        // Before anything writes (journal mode included): a newer schema is left untouched.
        // On a garbage file this is the first read, and fails with NOTADB.
        const qint64 version = writer.queryInt64("PRAGMA user_version");
        if (version > kSchemaVersion)
            throw SqlError{
                kNewerCode,
                u"history.db schema version %1 is newer than this build's %2"_s.arg(version).arg(
                    kSchemaVersion)};
        if (version == 0 && writer.queryInt64("SELECT count(*) FROM sqlite_schema") > 0)
            throw SqlError{kForeignCode, u"the file holds tables that are not OpsDeck history"_s};
        if (writer.queryText("PRAGMA journal_mode=WAL").toLower() != "wal")
            throw SqlError{SQLITE_CANTOPEN, u"WAL journal mode was refused"_s};
        const QByteArray pragmas = QByteArray("PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
                                              " PRAGMA cache_size=-2048;"
                                              " PRAGMA journal_size_limit=")
                                   + QByteArray::number(kJournalSizeLimit);
        writer.exec(pragmas.constData());
        migrate(version);
        sqlite3 *h = writer.handle();
        begin = Stmt(h, "BEGIN IMMEDIATE");
        commit = Stmt(h, "COMMIT");
        rollback = Stmt(h, "ROLLBACK");
        insertRaw = Stmt(h, "INSERT INTO raw_samples(category, ts_ms, json) VALUES(?1, ?2, ?3)");
        upsertAggregate = Stmt(h, "INSERT INTO aggregates(metric, minute_ms, vmin, vmax, vsum, n)"
                                  " VALUES(?1, ?2, ?3, ?3, ?3, 1)"
                                  " ON CONFLICT(metric, minute_ms) DO UPDATE SET"
                                  " vmin = min(vmin, excluded.vmin),"
                                  " vmax = max(vmax, excluded.vmax),"
                                  " vsum = vsum + excluded.vsum, n = n + 1");
        upsertAlert = Stmt(h, "INSERT INTO alerts(id, last_seen_ms, state, json)"
                              " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET"
                              " last_seen_ms = excluded.last_seen_ms, state = excluded.state,"
                              " json = excluded.json");
        raiseNextId
            = Stmt(h, "UPDATE meta SET value = max(value, ?1) WHERE name = 'next_alert_id'");
        deleteAlerts = Stmt(h, "DELETE FROM alerts");
        deleteOverrides = Stmt(h, "DELETE FROM rule_overrides");
        insertOverride
            = Stmt(h, "INSERT INTO rule_overrides(position, id, json) VALUES(?1, ?2, ?3)");
        pruneRaw = Stmt(h, "DELETE FROM raw_samples WHERE ts_ms < ?1");
        pruneAggregates = Stmt(h, "DELETE FROM aggregates WHERE minute_ms < ?1");
        pruneOldAlerts
            = Stmt(h, "DELETE FROM alerts WHERE state = 'resolved' AND last_seen_ms < ?1");
        capAlerts = Stmt(h, "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts"
                            " WHERE state = 'resolved' ORDER BY id DESC LIMIT -1 OFFSET ?1)");
    }

    void migrate(qint64 version)
    {
        while (version < kSchemaVersion) {
            writer.exec("BEGIN IMMEDIATE");
            try {
                writer.exec(kMigrations[version]);
                const QByteArray bump
                    = QByteArray("PRAGMA user_version=") + QByteArray::number(version + 1);
                writer.exec(bump.constData());
                writer.exec("COMMIT");
            } catch (...) {
                try {
                    writer.exec("ROLLBACK");
                } catch (const SqlError &) {
                }
                throw;
            }
            ++version;
            if (version > 1)
                qCInfo(lcMonitor).noquote()
                    << u"history %1 migrated to schema %2"_s.arg(path).arg(version);
        }
    }

    void openReader()
    {
        reader.open(path, SQLITE_OPEN_READWRITE);
        reader.exec("PRAGMA query_only=1; PRAGMA cache_size=-2048");
        sqlite3 *h = reader.handle();
        rawRange = Stmt(h, "SELECT ts_ms, json FROM (SELECT ts_ms, json, rowid AS r"
                           " FROM raw_samples WHERE category = ?1 AND ts_ms BETWEEN ?2 AND ?3"
                           " ORDER BY ts_ms DESC, rowid DESC LIMIT ?4) ORDER BY ts_ms, r");
        aggregateRange = Stmt(h, "SELECT minute_ms, vmin, vmax, vsum, n FROM aggregates"
                                 " WHERE metric = ?1 AND minute_ms BETWEEN ?2 AND ?3"
                                 " ORDER BY minute_ms");
        aggregateNames = Stmt(h, "SELECT DISTINCT metric FROM aggregates ORDER BY metric");
        allAlerts = Stmt(h, "SELECT json FROM alerts ORDER BY id");
        nextId = Stmt(h, "SELECT value FROM meta WHERE name = 'next_alert_id'");
        allOverrides = Stmt(h, "SELECT id, json FROM rule_overrides ORDER BY position");
    }

    // Both mutexes held.
    Status openLocked()
    {
        for (int attempt = 0; attempt < 2; ++attempt) {
            try {
                openWriter();
                openReader();
                available = true;
                nextPrune.reset();
                return ok();
            } catch (const SqlError &e) {
                closeAll();
                if (e.code == kNewerCode) {
                    qCWarning(lcMonitor).noquote()
                        << u"history %1 is not used: %2"_s.arg(path, e.message);
                    return fail(
                        u"history_schema_newer"_s,
                        u"%1 was written by a newer OpsDeck (%2); it is left untouched "
                        "and history is not recorded. Upgrade OpsDeck or move the file "
                        "away."_s.arg(path, e.message),
                        QJsonObject{{u"path"_s, path}, {u"supported_version"_s, kSchemaVersion}});
                }
                if (attempt == 0 && (isCorruption(e.code) || e.code == kForeignCode)) {
                    if (moveAside(isCorruption(e.code) ? u"corrupt"_s : u"foreign"_s, e.message))
                        continue;
                }
                return fail(u"history_unavailable"_s,
                            u"%1 cannot be used: %2"_s.arg(path, e.message),
                            QJsonObject{{u"path"_s, path}});
            }
        }
        return fail(u"history_unavailable"_s, u"%1 cannot be used"_s.arg(path),
                    QJsonObject{{u"path"_s, path}});
    }

    bool moveAside(const QString &kind, const QString &why)
    {
        const QString stamp = clock.wallTime().toString(u"yyyyMMdd'T'HHmmss.zzz'Z'"_s);
        QString aside = path + u"."_s + kind + u"-"_s + stamp;
        for (int n = 2; QFile::exists(aside); ++n)
            aside = path + u"."_s + kind + u"-"_s + stamp + u"-%1"_s.arg(n);
        auto renameOrRemove = [](const QString &from, const QString &to) {
            if (!QFile::exists(from))
                return true;
            if (std::rename(QFile::encodeName(from).constData(), QFile::encodeName(to).constData())
                == 0)
                return true;
            return QFile::remove(from);
        };
        const bool moved = renameOrRemove(path, aside);
        renameOrRemove(path + u"-wal"_s, aside + u"-wal"_s);
        renameOrRemove(path + u"-journal"_s, aside + u"-journal"_s);
        QFile::remove(path + u"-shm"_s);
        if (!moved) {
            qCWarning(lcMonitor).noquote()
                << u"history %1 is %2 (%3) and cannot be moved aside"_s.arg(path, kind, why);
            return false;
        }
        movedAside = aside;
        qCWarning(lcMonitor).noquote()
            << u"history %1 is %2 (%3): moved aside to %4; starting a fresh history"_s.arg(
                   path, kind, why, aside);
        return true;
    }

    // Writer mutex held. A corrupt file found while running is moved aside and recreated.
    Status failedWrite(const SqlError &e, const char *what)
    {
        try {
            rollback.run();
        } catch (const SqlError &) {
        }
        if (isCorruption(e.code)) {
            QMutexLocker readLock(&readMutex);
            closeAll();
            if (moveAside(u"corrupt"_s, e.message))
                (void)openLocked();
        }
        return fail(u"history_write_failed"_s,
                    u"Writing %1 to %2 failed: %3"_s.arg(QString::fromUtf8(what), path, e.message),
                    QJsonObject{{u"path"_s, path}});
    }

    // Writer mutex held, inside a transaction.
    void pruneInTransaction()
    {
        const qint64 now = clock.wallMsecs();
        const qint64 rawCutoff = now - qint64(std::llround(settings.rawRetentionSeconds * 1000.0));
        const qint64 aggregateCutoff
            = now - qint64(std::llround(settings.aggregateRetentionSeconds * 1000.0));
        {
            Scope s{pruneRaw};
            pruneRaw.bind(1, rawCutoff);
            pruneRaw.step();
        }
        {
            Scope s{pruneAggregates};
            pruneAggregates.bind(1, aggregateCutoff);
            pruneAggregates.step();
        }
        {
            Scope s{pruneOldAlerts};
            pruneOldAlerts.bind(1, aggregateCutoff);
            pruneOldAlerts.step();
        }
        {
            Scope s{capAlerts};
            capAlerts.bind(1, qint64(std::max(0, settings.maxAlerts)));
            capAlerts.step();
        }
        nextPrune = clock.monotonic()
                    + std::chrono::duration_cast<Clock::Duration>(
                        std::chrono::duration<double>(settings.pruneIntervalSeconds));
    }

    Status unavailable() const
    {
        return fail(u"history_unavailable"_s, u"The history database %1 is not open."_s.arg(path),
                    QJsonObject{{u"path"_s, path}});
    }

    // One write transaction under the write lock: `fn` runs between BEGIN and COMMIT; an SQLite
    // error rolls back and is reported as writing `what`.
    template<typename Fn> Status write(const char *what, Fn &&fn)
    {
        QMutexLocker writeLock(&writeMutex);
        if (!available)
            return unavailable();
        try {
            begin.run();
            fn();
            commit.run();
            return ok();
        } catch (const SqlError &e) {
            return failedWrite(e, what);
        }
    }

    // `fn` on the read connection under the read lock; an SQLite error is history_read_failed.
    template<typename T, typename Fn> Result<T> read(Fn &&fn)
    {
        QMutexLocker readLock(&readMutex);
        if (!reader.isOpen())
            return tl::unexpected(unavailable().error());
        try {
            return fn();
        } catch (const SqlError &e) {
            return fail(u"history_read_failed"_s,
                        u"Reading %1 failed: %2"_s.arg(path, e.message));
        }
    }
};

HistoryStore::Settings HistoryStore::settingsFrom(const MonitorConfig &config)
{
    Settings s;
    s.rawRetentionSeconds = config.historyRawRetention;
    s.aggregateRetentionSeconds = config.historyAggregateRetention;
    return s;
}

HistoryStore::HistoryStore(QString path, Settings settings, const Clock &clock)
    : m_path(std::move(path))
    , d(std::make_unique<Impl>(m_path, settings, clock))
{}

HistoryStore::~HistoryStore()
{
    close();
}

Status HistoryStore::open()
{
    QMutexLocker writeLock(&d->writeMutex);
    QMutexLocker readLock(&d->readMutex);
    d->closeAll();
    d->movedAside.clear();
    return d->openLocked();
}

void HistoryStore::close()
{
    QMutexLocker writeLock(&d->writeMutex);
    QMutexLocker readLock(&d->readMutex);
    d->closeAll();
}

bool HistoryStore::isOpen() const
{
    QMutexLocker writeLock(&d->writeMutex);
    return d->available;
}

QString HistoryStore::movedAsidePath() const
{
    QMutexLocker writeLock(&d->writeMutex);
    return d->movedAside;
}

void HistoryStore::applySettings(const Settings &settings)
{
    QMutexLocker writeLock(&d->writeMutex);
    d->settings = settings;
    d->nextPrune.reset(); // a shorter retention applies at the next tick
}

Status HistoryStore::appendTick(qint64 wallMs,
                                const QList<QPair<QString, QByteArray>> &categoryJson,
                                const MetricValues &values)
{
    return d->write("a sample", [&] {
        if (d->settings.rawRetentionSeconds > 0) {
            for (const auto &[category, json] : categoryJson) {
                Scope s{d->insertRaw};
                d->insertRaw.bind(1, category);
                d->insertRaw.bind(2, wallMs);
                d->insertRaw.bindBlob(3, json);
                d->insertRaw.step();
            }
        }
        if (d->settings.aggregateRetentionSeconds > 0) {
            // floor, also before 1970
            const qint64 minute = wallMs - (((wallMs % kMinuteMs) + kMinuteMs) % kMinuteMs);
            for (auto it = values.cbegin(); it != values.cend(); ++it) {
                if (!std::isfinite(it.value()))
                    continue;
                Scope s{d->upsertAggregate};
                d->upsertAggregate.bind(1, it.key());
                d->upsertAggregate.bind(2, minute);
                d->upsertAggregate.bind(3, it.value());
                d->upsertAggregate.step();
            }
        }
        if (!d->nextPrune || d->clock.monotonic() >= *d->nextPrune)
            d->pruneInTransaction();
    });
}

Result<QList<HistoryStore::RawSample>>
HistoryStore::rawSamples(const QString &category, qint64 fromMs, qint64 toMs, int limit) const
{
    return d->read<QList<RawSample>>([&] {
        QList<RawSample> out;
        Scope s{d->rawRange};
        d->rawRange.bind(1, category);
        d->rawRange.bind(2, fromMs);
        d->rawRange.bind(3, toMs);
        d->rawRange.bind(4, qint64(limit > 0 ? limit : -1));
        while (d->rawRange.step())
            out.append(RawSample{category, d->rawRange.int64(0), d->rawRange.blob(1)});
        return out;
    });
}

Result<QList<HistoryStore::Aggregate>>
HistoryStore::aggregates(const QString &metric, qint64 fromMs, qint64 toMs) const
{
    return d->read<QList<Aggregate>>([&] {
        QList<Aggregate> out;
        Scope s{d->aggregateRange};
        d->aggregateRange.bind(1, metric);
        d->aggregateRange.bind(2, fromMs);
        d->aggregateRange.bind(3, toMs);
        while (d->aggregateRange.step()) {
            Aggregate a;
            a.minuteMs = d->aggregateRange.int64(0);
            a.min = d->aggregateRange.real(1);
            a.max = d->aggregateRange.real(2);
            a.count = d->aggregateRange.int64(4);
            a.mean = a.count > 0 ? d->aggregateRange.real(3) / double(a.count) : 0.0;
            out.append(a);
        }
        return out;
    });
}

Result<QStringList> HistoryStore::aggregateMetrics() const
{
    return d->read<QStringList>([&] {
        QStringList out;
        Scope s{d->aggregateNames};
        while (d->aggregateNames.step())
            out.append(d->aggregateNames.text(0));
        return out;
    });
}

Status HistoryStore::saveAlerts(const QList<Alert> &alerts, qint64 nextId)
{
    return d->write("alerts", [&] {
        for (const Alert &alert : alerts) {
            const QByteArray json = QJsonDocument(alert.toJson()).toJson(QJsonDocument::Compact);
            Scope s{d->upsertAlert};
            d->upsertAlert.bind(1, alert.id);
            d->upsertAlert.bind(2, alert.lastSeenMs);
            d->upsertAlert.bind(3, alertStateName(alert.state));
            d->upsertAlert.bindBlob(4, json);
            d->upsertAlert.step();
            nextId = std::max(nextId, alert.id + 1);
        }
        {
            Scope s{d->raiseNextId};
            d->raiseNextId.bind(1, nextId);
            d->raiseNextId.step();
        }
    });
}

Result<HistoryStore::StoredAlerts> HistoryStore::loadAlerts() const
{
    return d->read<StoredAlerts>([&] {
        StoredAlerts out;
        {
            Scope s{d->allAlerts};
            while (d->allAlerts.step()) {
                QJsonParseError parseError;
                const QJsonDocument doc
                    = QJsonDocument::fromJson(d->allAlerts.blob(0), &parseError);
                Result<Alert> alert = fail(u"invalid_alert"_s, parseError.errorString());
                if (doc.isObject())
                    alert = Alert::fromJson(doc.object());
                if (!alert) {
                    // One bad row must not cost the others.
                    qCWarning(lcMonitor).noquote()
                        << u"history: a stored alert is skipped: %1"_s.arg(alert.error().message);
                    continue;
                }
                out.alerts.append(*alert);
                out.nextId = std::max(out.nextId, alert->id + 1);
            }
        }
        Scope s{d->nextId};
        if (d->nextId.step())
            out.nextId = std::max(out.nextId, d->nextId.int64(0));
        return out;
    });
}

Status HistoryStore::clearAlerts(qint64 nextId)
{
    return d->write("the alert clear", [&] {
        d->deleteAlerts.run();
        {
            Scope s{d->raiseNextId};
            d->raiseNextId.bind(1, nextId);
            d->raiseNextId.step();
        }
    });
}

Status HistoryStore::saveRuleOverrides(const RuleOverrides &overrides)
{
    return d->write("alert rule overrides", [&] {
        d->deleteOverrides.run();
        qint64 position = 0;
        for (const auto &[id, json] : overrides) {
            const QByteArray bytes = QJsonDocument(json).toJson(QJsonDocument::Compact);
            Scope s{d->insertOverride};
            d->insertOverride.bind(1, position++);
            d->insertOverride.bind(2, id);
            d->insertOverride.bindBlob(3, bytes);
            d->insertOverride.step();
        }
    });
}

Result<HistoryStore::RuleOverrides> HistoryStore::loadRuleOverrides() const
{
    return d->read<RuleOverrides>([&] {
        RuleOverrides out;
        Scope s{d->allOverrides};
        while (d->allOverrides.step()) {
            const QJsonDocument doc = QJsonDocument::fromJson(d->allOverrides.blob(1));
            if (!doc.isObject())
                continue;
            out.append({d->allOverrides.text(0), doc.object()});
        }
        return out;
    });
}

Status HistoryStore::prune()
{
    return d->write("the retention prune", [&] {
        d->pruneInTransaction();
    });
}

} // namespace opsdeck

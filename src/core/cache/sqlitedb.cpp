#include "core/cache/sqlitedb.h"

#include <sqlite3.h>

#include <mutex>
#include <utility>

namespace opsdeck::cache {

bool isCorruptionCode(int code)
{
    const int primary = code & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

void tuneSqliteOnce()
{
    static std::once_flag once;
    std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

namespace {

[[noreturn]] void throwFor(sqlite3 *db, int code, const char *what)
{
    QString message = QString::fromUtf8(what);
    if (db) {
        message += QStringLiteral(": ") + QString::fromUtf8(sqlite3_errmsg(db));
    } else {
        message += QStringLiteral(": ") + QString::fromUtf8(sqlite3_errstr(code));
    }
    message += QStringLiteral(" (code %1)").arg(code);
    throw SqliteError{code, message};
}

} // namespace

SqliteStatement::SqliteStatement(sqlite3 *db, sqlite3_stmt *stmt)
    : m_db(db)
    , m_stmt(stmt)
{}

SqliteStatement::SqliteStatement(SqliteStatement &&other) noexcept
    : m_db(std::exchange(other.m_db, nullptr))
    , m_stmt(std::exchange(other.m_stmt, nullptr))
{}

SqliteStatement &SqliteStatement::operator=(SqliteStatement &&other) noexcept
{
    if (this != &other) {
        finalize();
        m_db = std::exchange(other.m_db, nullptr);
        m_stmt = std::exchange(other.m_stmt, nullptr);
    }
    return *this;
}

SqliteStatement::~SqliteStatement()
{
    finalize();
}

void SqliteStatement::finalize()
{
    if (m_stmt)
        sqlite3_finalize(m_stmt);
    m_stmt = nullptr;
    m_db = nullptr;
}

void SqliteStatement::bindBlob(int index, const QByteArray &blob)
{
    const int rc = blob.isEmpty() ? sqlite3_bind_zeroblob(m_stmt, index, 0)
                                  : sqlite3_bind_blob(m_stmt, index, blob.constData(),
                                                      int(blob.size()), SQLITE_STATIC);
    if (rc != SQLITE_OK)
        throwFor(m_db, rc, "bind");
}

void SqliteStatement::bindBlobOrNull(int index, const QByteArray &blob)
{
    if (blob.isEmpty()) {
        const int rc = sqlite3_bind_null(m_stmt, index);
        if (rc != SQLITE_OK)
            throwFor(m_db, rc, "bind");
        return;
    }
    bindBlob(index, blob);
}

void SqliteStatement::bindInt64(int index, qint64 value)
{
    const int rc = sqlite3_bind_int64(m_stmt, index, value);
    if (rc != SQLITE_OK)
        throwFor(m_db, rc, "bind");
}

void SqliteStatement::bindText(int index, const char *utf8)
{
    const int rc = sqlite3_bind_text(m_stmt, index, utf8, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        throwFor(m_db, rc, "bind");
}

bool SqliteStatement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    throwFor(m_db, rc, sqlite3_sql(m_stmt));
}

void SqliteStatement::reset()
{
    if (!m_stmt)
        return;
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

qint64 SqliteStatement::int64(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

QByteArray SqliteStatement::blob(int column) const
{
    const void *data = sqlite3_column_blob(m_stmt, column);
    const int size = sqlite3_column_bytes(m_stmt, column);
    if (!data || size <= 0)
        return QByteArray("");
    return QByteArray(static_cast<const char *>(data), size);
}

bool SqliteStatement::isNull(int column) const
{
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

void SqliteDb::open(const QString &path, int flags)
{
    close(false);
    sqlite3 *db = nullptr;
    const QByteArray name = path.toUtf8();
    const int rc = sqlite3_open_v2(name.constData(), &db,
                                   flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
    if (rc != SQLITE_OK) {
        QString message = QStringLiteral("open: ")
                          + QString::fromUtf8(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))
                          + QStringLiteral(" (code %1)").arg(rc);
        if (db)
            sqlite3_close_v2(db);
        throw SqliteError{rc, message};
    }
    sqlite3_extended_result_codes(db, 1);
    m_db = db;
}

void SqliteDb::close(bool checkpointOnClose)
{
    if (!m_db)
        return;
    if (!checkpointOnClose)
        sqlite3_db_config(m_db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
}

void SqliteDb::exec(const char *sql)
{
    char *error = nullptr;
    const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        const QString message = QString::fromUtf8(sql) + QStringLiteral(": ")
                                + QString::fromUtf8(error ? error : sqlite3_errstr(rc))
                                + QStringLiteral(" (code %1)").arg(rc);
        sqlite3_free(error);
        throw SqliteError{rc, message};
    }
}

SqliteStatement SqliteDb::prepare(const char *sql)
{
    sqlite3_stmt *stmt = nullptr;
    const int rc = sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        throwFor(m_db, rc, sql);
    }
    return SqliteStatement(m_db, stmt);
}

qint64 SqliteDb::queryInt64(const char *sql)
{
    SqliteStatement stmt = prepare(sql);
    return stmt.step() ? stmt.int64(0) : 0;
}

QByteArray SqliteDb::queryText(const char *sql)
{
    SqliteStatement stmt = prepare(sql);
    return stmt.step() ? stmt.blob(0) : QByteArray();
}

qint64 SqliteDb::lastInsertRowid() const
{
    return sqlite3_last_insert_rowid(m_db);
}

int SqliteDb::changes() const
{
    return sqlite3_changes(m_db);
}

void SqliteDb::setBusyTimeout(int ms)
{
    sqlite3_busy_timeout(m_db, ms);
}

void SqliteDb::throwError(int code, const char *what) const
{
    throwFor(m_db, code, what);
}

} // namespace opsdeck::cache

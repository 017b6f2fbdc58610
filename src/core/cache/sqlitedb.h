// SqliteDb / SqliteStatement: a tiny RAII wrapper over libsqlite3 for the disk cache tier (internal
// to src/core/cache). One connection and its prepared statements, used by one thread at a time
// (opened with SQLITE_OPEN_NOMUTEX). Failures throw SqliteError, caught at the batch or job
// boundary; nothing throws across the DiskTier API. Not a general database layer.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QString>

struct sqlite3;
struct sqlite3_stmt;

namespace opsdeck::cache {

struct SqliteError
{
    int code = 0;    // extended result code
    QString message; // sqlite3_errmsg() and what was being done
};

// SQLITE_CORRUPT or SQLITE_NOTADB, any extended form: the file is unusable.
bool isCorruptionCode(int code);

// Process-wide and best effort, before SQLite's first use: turns off SQLite's memory statistics
// (a global mutex around every allocation, about a fifth of a write batch's time). A no-op
// (SQLITE_MISUSE) once something else has initialised SQLite.
void tuneSqliteOnce();

class SqliteStatement
{
public:
    SqliteStatement() = default;
    SqliteStatement(sqlite3 *db, sqlite3_stmt *stmt);
    SqliteStatement(SqliteStatement &&other) noexcept;
    SqliteStatement &operator=(SqliteStatement &&other) noexcept;
    SqliteStatement(const SqliteStatement &) = delete;
    SqliteStatement &operator=(const SqliteStatement &) = delete;
    ~SqliteStatement();

    bool isValid() const { return m_stmt != nullptr; }
    void finalize();

    // Bound data is NOT copied: it must outlive the step()s until reset(). An empty array binds a
    // zero-length BLOB (never NULL), so the empty key is a key like any other.
    void bindBlob(int index, const QByteArray &blob);
    void bindBlobOrNull(int index, const QByteArray &blob); // empty → NULL
    void bindInt64(int index, qint64 value);
    void bindText(int index, const char *utf8); // a static string (not copied)

    // true: a row is ready; false: done. Throws SqliteError on any other result.
    bool step();
    // Clears the bindings too. Safe on an invalid statement.
    void reset();

    qint64 int64(int column) const;
    QByteArray blob(int column) const; // a deep copy; an empty BLOB reads as "" (not null)
    bool isNull(int column) const;

private:
    sqlite3 *m_db = nullptr;
    sqlite3_stmt *m_stmt = nullptr;
};

// Resets the statement (and drops its bindings) when the scope ends, also on a throw.
class StatementScope
{
public:
    explicit StatementScope(SqliteStatement &stmt)
        : m_stmt(stmt)
    {}
    ~StatementScope() { m_stmt.reset(); }
    StatementScope(const StatementScope &) = delete;
    StatementScope &operator=(const StatementScope &) = delete;

private:
    SqliteStatement &m_stmt;
};

class SqliteDb
{
public:
    SqliteDb() = default;
    SqliteDb(const SqliteDb &) = delete;
    SqliteDb &operator=(const SqliteDb &) = delete;
    ~SqliteDb() { close(false); }

    // Opens path with flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE. Throws on failure.
    void open(const QString &path, int flags);
    // checkpointOnClose false: never checkpoint nor delete the -wal/-shm by name when this is the
    // last connection (needed once the file was moved aside: the names belong to a new file).
    // Statements made from this connection must be finalized first.
    void close(bool checkpointOnClose);
    bool isOpen() const { return m_db != nullptr; }
    sqlite3 *handle() const { return m_db; }

    // Runs every statement of sql; throws on failure.
    void exec(const char *sql);
    SqliteStatement prepare(const char *sql);
    // The first column of the first row as an integer or text (empty when there is no row).
    qint64 queryInt64(const char *sql);
    QByteArray queryText(const char *sql);

    qint64 lastInsertRowid() const;
    int changes() const;
    void setBusyTimeout(int ms);

    [[noreturn]] void throwError(int code, const char *what) const;

private:
    sqlite3 *m_db = nullptr;
};

} // namespace opsdeck::cache

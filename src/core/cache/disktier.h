// DiskTier: the cache's disk tier in ONE SQLite file (cache.db plus its -wal/-shm; nothing else is
// ever written but a corrupt file moved aside as cache.db.corrupt-<UTC time>), bounded by a
// payload byte budget and evicting by the memory tier's policies.
//
// Threads: every method may be called from any thread. The tier owns one writer thread
// ("disk-cache") that applies every change, and the access updates reads produce, in batched
// transactions (up to batchMaxOps ops, or batchMaxDelayMs after the first pending one);
// `readers` reader threads ("disk-read-N"), each with its own connection; and a checkpointer
// ("disk-ckpt") that copies the WAL back into the file (and fsyncs) off the writer's path, from
// 8 MiB of WAL on; the writer finishes a checkpoint itself at 32 MiB, so the WAL stays bounded.
// get() blocks while a reader looks the key up (call it from a task body; otherwise use
// getAsync()). Writes are write-behind: set/remove/touch/clear return at once, reads see them
// before they commit, and flush() resolves when everything queued so far is committed. A
// producer more than 65536 ops or 64 MiB ahead of the writer waits in set() until it catches up.
//
// What it is not: the CacheManager. No TTL defaults, no dependency cascade (dependsOn is only
// stored), no promotion. It never fails the app: an unusable directory or a corrupt file (found by
// quick_check on the writer at open, or by SQLITE_CORRUPT/NOTADB on any statement later) logs,
// counts an error and makes the tier memory-only (available() false: get misses, set is dropped)
// until a fresh file is ready (then available() again).
//
// Eviction: within every batch the payload bytes (key + value) are kept under maxBytes, first
// by dropping expired rows, then in `rank` order (an indexed column, fetched in chunks):
//   lru       rank = logical tick of the last read (or write). Reads are recorded in memory and
//             applied by the next batch, so recency is exact to within one batch (≈ 5 ms); a
//             read of a row already among the most recent eighth of ticks is not recorded (it is
//             far from eviction, and every recorded read costs a row write).
//   fifo      rank = tick of the last write; reads are ignored (and not recorded).
//   ttl       rank = wall expiry; never-expiring entries go last.
//   lfu       LFU with dynamic aging (LFU-DA): rank = L + reads + 1, where L is the rank of the
//             last victim, so a new entry starts at the current floor (not below every old one)
//             and counts earned long ago age out as L rises. Counts are exact up to 16, then
//             sampled (probability 16/reads, weight reads/16).
//   adaptive  the same aging with counts capped at 15 and unread entries exactly at the floor:
//             one-hit wonders leave first, in write order (an S3-FIFO-like probation), re-read
//             entries stay, and a once-hot key decays once the floor passes it. Ties go oldest
//             write first.
// A new key makes room first (it is never its own victim) and takes over the last victim's row;
// victims are chosen by the ranks as of the batch's start, never among rows the batch wrote
// (unless the batch alone is over the budget). A policy change re-ranks every row once.
//
// Keys are BLOB primary keys stored as themselves, so "a:b", "a/b", "a_b", "../x", binary and
// 4 KiB keys are distinct and never touch the file system. keysMatching() tests the key decoded
// as UTF-8 (invalid bytes read as U+FFFD), anchored at its start.
#pragma once

#include "core/cache/cachetypes.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QRegularExpression>
#include <QtCore/QString>

#include <functional>
#include <memory>
#include <optional>

namespace opsdeck::cache {

class DiskTier final
{
public:
    struct Settings
    {
        QString path;                // the cache.db file; its directory must exist
        qint64 maxBytes = 104857600; // payload (key + value) budget, holds after every batch;
                                     // <= 0: no budget
        Policy policy = Policy::Adaptive;
        int readers = 2; // reader threads (1..16); a change needs a restart
        // Ops per transaction. 2048 rather than 512: random keys dirty most key-index pages in
        // every batch, so 4x fewer commits cut the writer's CPU per op by about a fifth.
        int batchMaxOps = 2048;
        int batchMaxDelayMs = 5; // how long the first pending op waits for company
    };

    struct Entry
    {
        QByteArray value;
        qint64 expiresAtWallMs = 0; // 0 = never
        QList<QByteArray> tags;
        QList<QByteArray> dependsOn;
    };

    DiskTier(Settings settings, const Clock &clock);
    ~DiskTier(); // close()

    DiskTier(const DiskTier &) = delete;
    DiskTier &operator=(const DiskTier &) = delete;

    // Starts the writer and reader threads and opens (or creates, or migrates) the file; returns
    // once the file is open or known unusable. quick_check and a sweep of expired rows then run
    // as the writer's first job. Errors only for programming errors (empty path, already open).
    Status open();
    // Commits everything queued, joins the threads. Later calls miss and drop.
    void close();
    bool available() const;

    // Blocking lookup on a reader (pending writes first). Never returns an expired entry. Counts
    // a hit or a miss and records the read for the policy.
    std::optional<Entry> get(const QByteArray &key);
    QFuture<std::optional<Entry>> getAsync(const QByteArray &key);
    // The same without a future: `done` is called once, on a reader thread (or the caller's when
    // the answer is known at once). Use it instead of getAsync(key).then(Launch::Sync, ...): Qt 6.4
    // crashes when a Sync continuation is attached while the future finishes in another thread.
    void getAsync(const QByteArray &key, std::function<void(std::optional<Entry>)> done);

    void set(const QByteArray &key, Entry entry); // an entry larger than maxBytes is refused
                                                  // (and the key removed): stats().rejected
    void remove(const QByteArray &key);
    void removeMany(const QList<QByteArray> &keys);
    void touch(const QByteArray &key, qint64 expiresAtWallMs); // no-op when the key is missing
    void clear();

    // Unexpired keys, pending writes included. keysWithPrefix is ordered by bytes (an index range
    // scan, O(matches)); keysWithTag too; keysMatching scans every key on a reader.
    QList<QByteArray> keysWithPrefix(const QByteArray &prefix, int limit = -1);
    QList<QByteArray> keysWithTag(const QByteArray &tag);
    QList<QByteArray> keysMatching(const QRegularExpression &anchoredRegex, int limit = -1);

    // Deletes committed rows whose wall expiry has passed (expires_at index); blocks until the
    // writer has done it and returns how many.
    // Every stored (key, dependsOn) pair with dependencies, read once at open so the cache's
    // dependency graph survives a restart (committed rows only; call before writing).
    QList<QPair<QByteArray, QList<QByteArray>>> dependencyEdges();
    int expireDue();
    // Resolves when everything queued before the call is committed (at once when not open).
    // Continuations without a context run on the writer thread: never block there.
    QFuture<void> flush();

    // maxBytes and policy apply live (the next batch); path and readers need close() + open().
    void applySettings(Settings settings);
    Settings settings() const;

    // Counters only, never a query: entries and bytes as committed, fileBytes = page count × page
    // size after the last batch, evictions by cause (Invalidated: remove/clear; Replaced: set
    // over an existing key), errors (I/O and corruption).
    TierStats stats() const;

private:
    class Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace opsdeck::cache

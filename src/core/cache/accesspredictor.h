// AccessPredictor: the learning half of the Preloader. It records when keys are read, estimates
// each key's inter-access interval (an EWMA of the gaps and of their deviation, trusted after
// minAccesses reads), and plans a refresh shortly before a key expires when its next read is
// predicted after that expiry but within the refreshed value's lifetime (or, for a key already
// expired or read rarer than its TTL, just before the predicted read). It keeps the refresh
// schedule and the open predictions, and scores them: a prediction hits when the refreshed key is
// read again while the refreshed value is still live.
//
//     predictor.recordAccess(key, now);                        // from the access observer
//     for (const QByteArray &key : predictor.takeCandidates(100))
//         predictor.plan(key, cache.timeToLive(key), now);     // when to refresh, if at all
//     for (const QByteArray &key : predictor.takeDue(now)) { refreshIssued(...); refresh... }
//
// Memory is bounded: at most maxTrackedKeys keys, the least recently read dropped first; every
// per-key operation is O(log n) or better. Pure logic: every call is given the time and it never
// calls the cache. Not thread-safe (the Preloader calls it under its lock). It is not a loader.
#pragma once

#include "core/support/clock.h"

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QList>

#include <list>
#include <optional>
#include <set>
#include <utility>

namespace opsdeck::cache {

struct AccessPredictorSettings
{
    int maxTrackedKeys = 10000;
    int minAccesses = 3;    // reads (so minAccesses - 1 gaps) before a key is predicted
    double smoothing = 0.3; // EWMA weight of the newest gap, 0 < smoothing <= 1
    Clock::Duration mergeWindow = std::chrono::milliseconds(50); // closer reads count once
    Clock::Duration minLead = std::chrono::milliseconds(250);    // refresh at least this early
    double staleFactor = 2.0; // a key stays hot while now - lastRead <= staleFactor * gap
    Clock::Duration maxInterval = std::chrono::minutes(10); // read rarer than this: not hot
};

class AccessPredictor
{
public:
    using Duration = Clock::Duration;
    using MonoTime = Clock::MonoTime;

    using Settings = AccessPredictorSettings;

    struct Stats
    {
        quint64 predictions = 0;      // refreshes issued
        quint64 predictionHits = 0;   // ... read again while the refreshed value was live
        quint64 predictionMisses = 0; // ... whose value expired unread, or was superseded
        quint64 refreshErrors = 0;    // refreshes that failed
        quint64 droppedKeys = 0;      // keys LRU-dropped to stay within maxTrackedKeys
        qint64 trackedKeys = 0;
        qint64 scheduledRefreshes = 0;

        double precision() const
        {
            return predictions == 0 ? 0.0 : double(predictionHits) / double(predictions);
        }
    };

    explicit AccessPredictor(Settings settings = {});

    // One read of `key` at `now`. Reads while the predictor's own refresh of the key is in flight
    // are ignored (the refresh itself may look like a read to the cache).
    void recordAccess(const QByteArray &key, MonoTime now);
    // Keys read since they were last planned that have enough history to be planned; at most
    // `limit`, oldest first. Each is handed out once per read.
    QList<QByteArray> takeCandidates(int limit);
    bool hasCandidates() const { return !m_candidates.empty(); }
    // Plans (or cancels) the refresh of `key` from its remaining lifetime (nullopt = not cached,
    // Duration::max() = never expires) and, when known, the lifetime a fresh value gets. The key
    // is refreshed `lead` before it expires when its next read is predicted after that expiry, or
    // just before the predicted read when it has expired already or is read rarer than its TTL;
    // never when a fresh value would expire unread. Returns the planned time, or nullopt.
    std::optional<MonoTime> plan(const QByteArray &key,
                                 std::optional<Duration> timeToLive,
                                 MonoTime now,
                                 std::optional<Duration> lifetimeHint = std::nullopt);
    // Keys whose planned refresh time has come and that are still hot; they leave the schedule.
    QList<QByteArray> takeDue(MonoTime now);
    // The refresh of `key` was issued (counts a prediction) and finished. timeToLive is the fresh
    // value's remaining lifetime (nullopt when unknown).
    void refreshIssued(const QByteArray &key, MonoTime now);
    void refreshFinished(const QByteArray &key,
                         MonoTime now,
                         bool succeeded,
                         std::optional<Duration> timeToLive);
    bool isRefreshing(const QByteArray &key) const;
    // Closes the predictions whose refreshed value expired unread (counted as misses).
    void expirePredictions(MonoTime now);
    // The earliest planned refresh or prediction deadline, for the timer.
    std::optional<MonoTime> nextEvent() const;

    bool isTracked(const QByteArray &key) const { return m_entries.contains(key); }
    bool isHot(const QByteArray &key, MonoTime now) const;
    // The learned inter-access interval, once there are minAccesses reads.
    std::optional<Duration> estimatedInterval(const QByteArray &key) const;
    std::optional<MonoTime> plannedRefresh(const QByteArray &key) const;
    void forget(const QByteArray &key);
    void clear();

    Stats stats() const;
    const Settings &settings() const { return m_settings; }

private:
    struct Entry
    {
        std::list<QByteArray>::iterator lru;
        MonoTime lastAccess{};
        int accesses = 0;
        double gapNs = 0;        // EWMA of the gaps between reads
        double deviationNs = 0;  // EWMA of |gap - gapNs|
        double latencyNs = 0;    // EWMA of the refresh duration
        Duration ttlEstimate{0}; // the largest remaining lifetime seen: the TTL from below
        std::optional<MonoTime> refreshAt;
        std::optional<MonoTime> refreshStarted;                   // a refresh is in flight
        std::optional<MonoTime> windowEnd;                        // an open prediction
        std::optional<std::list<QByteArray>::iterator> candidate; // in m_candidates
    };
    using TimeIndex = std::set<std::pair<qint64, QByteArray>>;

    bool hot(const Entry &entry, MonoTime now) const;
    Duration leadFor(const Entry &entry) const;
    void unschedule(const QByteArray &key, Entry &entry);
    void closeWindow(const QByteArray &key, Entry &entry);
    void erase(QHash<QByteArray, Entry>::iterator it);

    Settings m_settings;
    QHash<QByteArray, Entry> m_entries;
    std::list<QByteArray> m_lru; // most recently read first
    std::list<QByteArray> m_candidates;
    TimeIndex m_schedule; // (refreshAt, key)
    TimeIndex m_windows;  // (windowEnd, key)
    Stats m_stats;
};

} // namespace opsdeck::cache

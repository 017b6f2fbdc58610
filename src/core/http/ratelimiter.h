// RateLimiter: one api's request (or weight) budget per minute, as a GCRA (the "virtual
// scheduling" form of a token bucket). In any window of length T it admits at most
// burst + rate * T units, and its long-run rate is the limit exactly.
// - Thread-safe: every call takes a short internal lock and never blocks otherwise. It never
//   waits: a refused caller is told when to come back, and HttpPool waits on a timer, so no
//   thread sleeps and no lock is held while waiting. Admission is atomic, so concurrent callers
//   cannot slip past the limit.
// - Priority: CRITICAL and HIGH may use the whole burst; other priorities keep reservedUnits()
//   of it free for them, so a stop-loss request finds capacity even under NORMAL load.
// - A 429 pauses it (pauseUntil); usage headers such as X-MBX-USED-WEIGHT-1M correct it
//   (observeUsage). Time comes from the injected Clock (ManualClock in tests).
// It is not a queue: ordering waiters is the pool's job.
#pragma once

#include "core/support/clock.h"
#include "core/support/taskpriority.h"

#include <deque>
#include <mutex>

namespace opsdeck::http {

class RateLimiter final
{
public:
    struct Limits
    {
        double perMinute = 60.0; // weight units per minute, > 0
        double burst = 0.0;      // weight units; <= 0: max(1, perMinute / 60)
        // The share of the burst kept for CRITICAL/HIGH: floor(burst * share) units when the
        // burst is at least 2, else none (a burst of 1 has nothing to spare).
        double reservedShare = 0.2;

        bool operator==(const Limits &) const = default;
    };

    struct Decision
    {
        bool admitted = false;
        // Refused: the earliest time it could be admitted if nobody else takes capacity first.
        // Admitted: the admission time.
        Clock::MonoTime at{0};
    };

    explicit RateLimiter(Limits limits, const Clock &clock = Clock::system());
    Q_DISABLE_COPY_MOVE(RateLimiter)

    // New limits keep the current debt in units (so a change neither forgives nor adds usage).
    void setLimits(Limits limits);
    Limits limits() const;
    double burst() const;         // effective burst in units
    double reservedUnits() const; // units of it only CRITICAL/HIGH may use

    // Admits `cost` units now and books them, or books nothing and says when to retry. A cost
    // above the lane's burst is admitted only when the bucket is full (it then runs into debt).
    Decision tryAcquire(double cost = 1.0, TaskPriority priority = TaskPriority::Normal);
    // The earliest time `cost` could be admitted for `priority` if `aheadCost` units queued ahead
    // of it are admitted first (now or later; never before a pause ends). Books nothing.
    Clock::MonoTime
    earliestAdmission(double cost, TaskPriority priority, double aheadCost = 0.0) const;
    // Units that could be admitted now for `priority` (may be fractional, >= 0).
    double availableUnits(TaskPriority priority) const;

    // A 429: nothing is admitted before `until` (only ever extended), and after it the bucket
    // restarts nearly empty (one unit), so the api is not hit with a full burst at once.
    void pauseUntil(Clock::MonoTime until);
    Clock::MonoTime pausedUntil() const;
    bool isPaused() const;

    // A usage header: the server counted `usedUnits` in its current one-minute window, in a
    // response to a request admitted at `admittedAt`. Usage we did not book (other clients on
    // the same key, a restart) is booked now; usage at or over the limit pauses until the next
    // wall-clock minute (exchanges count per calendar minute). Lower usage changes nothing.
    void observeUsage(double usedUnits, Clock::MonoTime admittedAt);

    quint64 admittedRequests() const;
    double admittedUnits() const;

private:
    using Ns = Clock::MonoTime;
    // Everything below needs m_mutex held.
    double effectiveBurstLocked() const;
    double reservedLocked() const;
    qint64 laneLimitNsLocked(TaskPriority priority) const;
    qint64 costNsLocked(double units) const;
    qint64 earliestLocked(qint64 now, double cost, TaskPriority priority, double aheadCost) const;
    void bookLocked(qint64 now, double units);

    // Units booked over time, for "how much in (a, b]" in O(log n); keeps two minutes.
    class Ledger
    {
    public:
        void append(qint64 when, double units); // `when` never decreases
        double unitsIn(qint64 after, qint64 upTo) const;
        void trim(qint64 now);

    private:
        struct Entry
        {
            qint64 when = 0;
            double cumulative = 0.0; // units up to and including this entry
        };
        double cumulativeAt(qint64 t) const;
        std::deque<Entry> m_entries;
        double m_total = 0.0; // cumulative of the newest entry
        double m_base = 0.0;  // cumulative before the oldest entry kept
    };

    const Clock &m_clock;
    mutable std::mutex m_mutex;
    Limits m_limits;
    double m_unitNs = 1e9; // emission interval of one unit
    qint64 m_tatNs = 0;    // theoretical arrival time (GCRA), monotonic ns
    qint64 m_pausedUntilNs = 0;
    Ledger m_admissions;  // what we admitted, at admission time
    Ledger m_corrections; // usage the server reported beyond ours, at the time we learnt it
    quint64 m_admittedRequests = 0;
    double m_admittedUnits = 0.0;
};

} // namespace opsdeck::http

// TimerWheel: a shard's expiry schedule. Hierarchical: 5 levels of 64 buckets spanning 2^30 ns
// (~1.07 s), 2^36 (~69 s), 2^42 (~73 min), 2^48 (~3.3 days) and 2^54 ns (~208 days) each, so one
// level's full turn is one bucket of the next (the top level reaches 36 years; anything later
// parks in its last bucket and is rescheduled when reached). An entry sits in the lowest level
// whose turn contains its expiry tick; advance() visits only the buckets whose time has come,
// reclaims what is due and cascades the rest down: O(expired + buckets passed), never a scan.
// Not thread-safe (under the shard mutex); it never owns or frees entries.
#pragma once

#include "core/cache/memoryentry.h"

#include <array>

namespace opsdeck::cache::memtier {

class TimerWheel
{
public:
    static constexpr int kLevels = 5;
    static constexpr int kBuckets = 64;

    explicit TimerWheel(Clock::MonoTime now)
        : m_now(quint64(std::max<qint64>(0, now.count())))
    {}

    // Entries with an expiry only; an expiry at or before the wheel's time goes into the current
    // bucket and is reclaimed by the next advance().
    void schedule(Entry *entry);
    void unschedule(Entry *entry); // no-op when not scheduled
    void reschedule(Entry *entry)
    {
        unschedule(entry);
        if (entry->hasExpiry())
            schedule(entry);
    }

    // Moves the wheel to `now` and calls due(entry) for every entry whose expiry is at or before
    // it, after unlinking it from the wheel (due may free it). Returns how many were due.
    template<typename Due> int advance(Clock::MonoTime now, Due &&due);

    void clear(); // forgets every entry (not freed)
    qint64 scheduled() const { return m_scheduled; }

private:
    static constexpr std::array<int, kLevels> kShifts = {30, 36, 42, 48, 54};

    WheelList &bucket(quint16 slot) { return m_buckets[slot / kBuckets][slot % kBuckets]; }
    template<typename Due> int drain(int level, int index, Due &due);

    std::array<std::array<WheelList, kBuckets>, kLevels> m_buckets{};
    quint64 m_now = 0;
    qint64 m_scheduled = 0;
};

template<typename Due> int TimerWheel::drain(int level, int index, Due &due)
{
    WheelList pending;
    pending.append(m_buckets[level][index]);
    m_scheduled -= pending.size();
    int count = 0;
    while (Entry *e = pending.popFront()) {
        e->wheelSlot = kNotScheduled;
        if (quint64(std::max<qint64>(0, e->item.expiresAt.count())) <= m_now) {
            ++count;
            due(e);
        } else {
            schedule(e);
        }
    }
    return count;
}

template<typename Due> int TimerWheel::advance(Clock::MonoTime now, Due &&due)
{
    const quint64 previous = m_now;
    m_now = std::max(m_now, quint64(std::max<qint64>(0, now.count())));
    int count = 0;
    // Higher levels first: what they cascade down is then seen by the lower levels' pass.
    for (int level = kLevels - 1; level >= 1; --level) {
        const quint64 from = previous >> kShifts[level];
        const quint64 to = m_now >> kShifts[level];
        if (to == from)
            continue;
        const quint64 steps = std::min<quint64>(to - from, kBuckets);
        for (quint64 k = 1; k <= steps; ++k)
            count += drain(level, int((from + k) & (kBuckets - 1)), due);
    }
    // Level 0: every bucket from the previous tick (its leftovers) to the current one.
    const quint64 from = previous >> kShifts[0];
    const quint64 to = m_now >> kShifts[0];
    const quint64 steps = std::min<quint64>(to - from, kBuckets - 1);
    for (quint64 k = 0; k <= steps; ++k)
        count += drain(0, int((from + k) & (kBuckets - 1)), due);
    return count;
}

} // namespace opsdeck::cache::memtier

#include "core/cache/timerwheel.h"

namespace opsdeck::cache::memtier {

void TimerWheel::schedule(Entry *entry)
{
    Q_ASSERT(entry->wheelSlot == kNotScheduled);
    const quint64 expiry = quint64(std::max<qint64>(0, entry->item.expiresAt.count()));
    int level = kLevels - 1;
    quint64 tick = (m_now >> kShifts[level]) + kBuckets - 1; // beyond the top level's turn
    if (expiry <= m_now) {
        level = 0;
        tick = m_now >> kShifts[0];
    } else {
        for (int l = 0; l < kLevels; ++l) {
            const quint64 t = expiry >> kShifts[l];
            if (t - (m_now >> kShifts[l]) < quint64(kBuckets)) {
                level = l;
                tick = t;
                break;
            }
        }
    }
    const int index = int(tick & (kBuckets - 1));
    entry->wheelSlot = quint16(level * kBuckets + index);
    m_buckets[level][index].pushBack(entry);
    ++m_scheduled;
}

void TimerWheel::unschedule(Entry *entry)
{
    if (entry->wheelSlot == kNotScheduled)
        return;
    bucket(entry->wheelSlot).remove(entry);
    entry->wheelSlot = kNotScheduled;
    --m_scheduled;
}

void TimerWheel::clear()
{
    for (auto &level : m_buckets) {
        for (WheelList &list : level)
            list.reset();
    }
    m_scheduled = 0;
}

} // namespace opsdeck::cache::memtier

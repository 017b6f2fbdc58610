// BatchInbox<T>: a mutex-protected hand-off list between threads that wakes the consumer once per
// batch instead of once per item. push() answers true only for the item that found the inbox
// unscheduled: that caller posts one drain to the consumer's thread; everything pushed until the
// consumer calls take() rides along with it. Under load this turns N queued invocations (an
// allocation, an event-queue lock and a wake-up each) into one. Thread-safe; one consumer.
#pragma once

#include <QtCore/QMutex>

#include <utility>
#include <vector>

namespace opsdeck {

template<typename T>
class BatchInbox final
{
public:
    // Any thread. True: the caller must schedule one take() in the consumer's thread.
    [[nodiscard]] bool push(T item)
    {
        const QMutexLocker lock(&m_mutex);
        m_items.push_back(std::move(item));
        if (m_scheduled)
            return false;
        m_scheduled = true;
        return true;
    }

    // Consumer thread. Moves every item pushed so far into `out` (cleared first, its capacity
    // reused) and unschedules the inbox, so the next push() schedules again.
    void take(std::vector<T> &out)
    {
        out.clear();
        const QMutexLocker lock(&m_mutex);
        m_scheduled = false;
        out.swap(m_items);
    }

private:
    QMutex m_mutex;
    std::vector<T> m_items;
    bool m_scheduled = false;
};

} // namespace opsdeck

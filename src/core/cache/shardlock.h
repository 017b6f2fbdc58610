// ShardLock: the mutex of one memory-tier shard. Critical sections there are tens of
// nanoseconds, so a waiter first spins briefly (with a CPU pause) and only then sleeps on a
// futex (C++20 atomic wait); QMutex and std::mutex go to the kernel at the first contention,
// which costs microseconds and made two threads slower than one on a hot shard. Satisfies
// Lockable (lock, try_lock, unlock), so std::unique_lock works. Not recursive, not fair.
#pragma once

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace opsdeck::cache::memtier {

class ShardLock
{
public:
    void lock()
    {
        int expected = 0;
        if (m_state.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                            std::memory_order_relaxed)) [[likely]]
            return;
        lockSlow();
    }

    bool try_lock()
    {
        int expected = 0;
        return m_state.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                               std::memory_order_relaxed);
    }

    void unlock()
    {
        if (m_state.exchange(0, std::memory_order_release) == 2) [[unlikely]]
            m_state.notify_one();
    }

private:
    static constexpr int kSpins = 200;

    static void pause()
    {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#endif
    }

    void lockSlow()
    {
        for (int i = 0; i < kSpins; ++i) {
            pause();
            int expected = 0;
            if (m_state.load(std::memory_order_relaxed) == 0
                && m_state.compare_exchange_weak(expected, 1, std::memory_order_acquire,
                                                 std::memory_order_relaxed))
                return;
        }
        // 2 = locked and maybe waited on: the holder's unlock() then wakes one sleeper.
        while (m_state.exchange(2, std::memory_order_acquire) != 0)
            m_state.wait(2, std::memory_order_relaxed);
    }

    std::atomic<int> m_state{0}; // 0 free, 1 locked, 2 locked with (possible) sleepers
};

} // namespace opsdeck::cache::memtier

// BlockPool / PoolAllocator: a recycling allocator for the engine's per-task objects. Tasks are
// allocated on the submitting thread and freed on a worker: through malloc that is a cross-thread
// free on every task (the submitter's cache never refills). The pool keeps up to `kMaxFree`
// freed blocks of one size on a mutex-protected free list, shared by all threads. Internal to
// src/core/exec; thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <new>

namespace opsdeck::exec::detail {

template<std::size_t Size> class BlockPool
{
public:
    static BlockPool &instance()
    {
        static BlockPool pool; // never destroyed before the last engine (function-local static)
        return pool;
    }
    void *allocate()
    {
        {
            std::lock_guard lock(m_mutex);
            if (m_free) {
                Node *n = m_free;
                m_free = n->next;
                --m_count;
                return n;
            }
        }
        return ::operator new(kBlock);
    }
    void deallocate(void *p)
    {
        {
            std::lock_guard lock(m_mutex);
            if (m_count < kMaxFree) {
                Node *n = static_cast<Node *>(p);
                n->next = m_free;
                m_free = n;
                ++m_count;
                return;
            }
        }
        ::operator delete(p);
    }
    ~BlockPool()
    {
        while (m_free) {
            Node *n = m_free;
            m_free = n->next;
            ::operator delete(n);
        }
    }

private:
    struct Node
    {
        Node *next;
    };
    static constexpr std::size_t kBlock = Size < sizeof(Node) ? sizeof(Node) : Size;
    static constexpr int kMaxFree = 4096;
    std::mutex m_mutex;
    Node *m_free = nullptr;
    int m_count = 0;
};

// For std::allocate_shared: single objects come from the pool of their size, arrays from new.
template<typename T> struct PoolAllocator
{
    using value_type = T;
    PoolAllocator() = default;
    template<typename U> PoolAllocator(const PoolAllocator<U> &) {}
    T *allocate(std::size_t n)
    {
        if (n == 1)
            return static_cast<T *>(BlockPool<sizeof(T)>::instance().allocate());
        return static_cast<T *>(::operator new(n * sizeof(T)));
    }
    void deallocate(T *p, std::size_t n)
    {
        if (n == 1)
            BlockPool<sizeof(T)>::instance().deallocate(p);
        else
            ::operator delete(p);
    }
    template<typename U> bool operator==(const PoolAllocator<U> &) const { return true; }
};

} // namespace opsdeck::exec::detail

// SampleSeries<T>: an append-at-the-back, drop-at-the-front sequence of samples made of shared,
// immutable chunks of kChunkSize samples. Copying a series copies chunk pointers only, so the
// monitor's 3600-sample ring and the 1000-sample view in every snapshot share their memory; a
// push_back copies at most one chunk (the last, when another copy shares it), never the history.
// A value type with vector-like reading (size, [], front, back, iteration); a series is not
// thread-safe itself, but chunks are never changed once another series can see them, so a copy
// published to other threads stays valid and unchanged whatever the original does next.
#pragma once

#include <QtCore/QtGlobal>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <vector>

namespace opsdeck {

template<typename T> class SampleSeries
{
public:
    static constexpr std::size_t kChunkSize = 64;
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using const_reference = const T &;
    using reference = const T &;

    class const_iterator
    {
    public:
        using iterator_category = std::random_access_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = const T *;
        using reference = const T &;

        const_iterator() = default;
        reference operator*() const { return (*m_series)[m_index]; }
        pointer operator->() const { return &(*m_series)[m_index]; }
        reference operator[](difference_type n) const { return (*m_series)[std::size_t(difference_type(m_index) + n)]; }
        const_iterator &operator++() { ++m_index; return *this; }
        const_iterator operator++(int) { const_iterator old = *this; ++m_index; return old; }
        const_iterator &operator--() { --m_index; return *this; }
        const_iterator operator--(int) { const_iterator old = *this; --m_index; return old; }
        const_iterator &operator+=(difference_type n) { m_index = std::size_t(difference_type(m_index) + n); return *this; }
        const_iterator &operator-=(difference_type n) { return *this += -n; }
        friend const_iterator operator+(const_iterator it, difference_type n) { return it += n; }
        friend const_iterator operator+(difference_type n, const_iterator it) { return it += n; }
        friend const_iterator operator-(const_iterator it, difference_type n) { return it -= n; }
        friend difference_type operator-(const const_iterator &a, const const_iterator &b)
        {
            return difference_type(a.m_index) - difference_type(b.m_index);
        }
        friend bool operator==(const const_iterator &a, const const_iterator &b) { return a.m_index == b.m_index; }
        friend auto operator<=>(const const_iterator &a, const const_iterator &b) { return a.m_index <=> b.m_index; }

    private:
        friend class SampleSeries;
        const_iterator(const SampleSeries *series, std::size_t index)
            : m_series(series)
            , m_index(index)
        {}
        const SampleSeries *m_series = nullptr;
        std::size_t m_index = 0;
    };
    using iterator = const_iterator;
    using const_reverse_iterator = std::reverse_iterator<const_iterator>;

    SampleSeries() = default;
    SampleSeries(std::initializer_list<T> samples)
    {
        for (const T &sample : samples)
            push_back(sample);
    }

    size_type size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    const T &operator[](size_type i) const
    {
        const size_type at = m_offset + i;
        return (*m_chunks[at / kChunkSize])[at % kChunkSize];
    }
    const T &at(size_type i) const
    {
        Q_ASSERT(i < m_size);
        return (*this)[i];
    }
    const T &front() const { return (*this)[0]; }
    const T &back() const { return (*this)[m_size - 1]; }
    const_iterator begin() const { return const_iterator(this, 0); }
    const_iterator end() const { return const_iterator(this, m_size); }
    const_iterator cbegin() const { return begin(); }
    const_iterator cend() const { return end(); }
    const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
    const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }

    // Appends a sample. Copies the last chunk first if another series shares it.
    void push_back(T sample)
    {
        const size_type end = m_offset + m_size;
        if (end % kChunkSize == 0) {
            auto chunk = std::make_shared<Chunk>();
            chunk->reserve(kChunkSize);
            chunk->push_back(std::move(sample));
            m_chunks.push_back(std::move(chunk));
        } else {
            std::shared_ptr<const Chunk> &last = m_chunks.back();
            std::shared_ptr<Chunk> writable;
            // Unique: no other series (in any thread) holds it, so changing it is unobservable.
            if (last.use_count() == 1 && last->size() == end % kChunkSize) {
                // Pairs with the release of the last other owner's reference count decrement.
                std::atomic_thread_fence(std::memory_order_acquire);
                writable = std::const_pointer_cast<Chunk>(last);
            } else {
                writable = std::make_shared<Chunk>();
                writable->reserve(kChunkSize);
                writable->assign(last->begin(), last->begin() + difference_type(end % kChunkSize));
            }
            writable->push_back(std::move(sample));
            last = std::move(writable);
        }
        ++m_size;
    }
    void emplace_back(T sample) { push_back(std::move(sample)); }

    // Drops the oldest n samples (whole chunks are released once no series uses them).
    void pop_front(size_type n = 1)
    {
        n = std::min(n, m_size);
        m_offset += n;
        m_size -= n;
        if (m_size == 0) {
            clear();
            return;
        }
        const size_type dropChunks = m_offset / kChunkSize;
        if (dropChunks > 0) {
            m_chunks.erase(m_chunks.begin(), m_chunks.begin() + difference_type(dropChunks));
            m_offset %= kChunkSize;
        }
    }
    // Keeps at most the newest n samples.
    void truncateFront(size_type keep)
    {
        if (m_size > keep)
            pop_front(m_size - keep);
    }
    // A series of the newest n samples (sharing the chunks).
    SampleSeries newest(size_type n) const
    {
        SampleSeries copy;
        if (n == 0 || m_size == 0)
            return copy;
        n = std::min(n, m_size);
        const size_type first = m_offset + (m_size - n);
        const size_type lastChunk = (m_offset + m_size - 1) / kChunkSize;
        // A loop, not assign(): GCC 12 -O2 sees a false null dereference in the latter.
        copy.m_chunks.reserve(lastChunk + 1 - first / kChunkSize);
        for (size_type c = first / kChunkSize; c <= lastChunk; ++c)
            copy.m_chunks.push_back(m_chunks[c]);
        copy.m_offset = first % kChunkSize;
        copy.m_size = n;
        return copy;
    }
    void clear()
    {
        m_chunks.clear();
        m_offset = 0;
        m_size = 0;
    }
    // Chunks referenced (for memory accounting and tests).
    size_type chunkCount() const { return m_chunks.size(); }

private:
    using Chunk = std::vector<T>;
    // Every chunk but the last holds kChunkSize samples; the first starts at m_offset.
    std::vector<std::shared_ptr<const Chunk>> m_chunks;
    size_type m_offset = 0;
    size_type m_size = 0;
};

} // namespace opsdeck

// Internals of the memory tier: one cached entry, the intrusive lists that thread entries into
// policy queues and timer-wheel buckets, the 64-bit key hash and the byte-wise key order.
// Not thread-safe: an Entry belongs to one shard and is touched only under that shard's mutex.
// Not public API: only memorytier.cpp and its helpers include this.
#pragma once

#include "core/cache/memorytier.h"

#include <QtCore/QByteArrayView>
#include <QtCore/QtEndian>

#include <algorithm>
#include <cstring>
#include <map>

namespace opsdeck::cache::memtier {

struct Entry;

// A key as the ordered index stores it: its first 8 bytes as a big-endian integer (zero padded)
// beside a view of the whole key (the entry's own bytes), so most comparisons while walking the
// tree never leave the node.
struct IndexKey
{
    quint64 prefix = 0;
    QByteArrayView bytes;

    static IndexKey of(QByteArrayView key);
};

// Byte-wise (unsigned) order of keys.
struct IndexKeyLess
{
    bool operator()(const IndexKey &a, const IndexKey &b) const;
};

// Ordered key index of one shard: a red-black tree, O(log n) per new or removed key.
using KeyIndex = std::map<IndexKey, Entry *, IndexKeyLess>;

inline constexpr quint16 kNotScheduled = 0xffff;

struct Entry
{
    QByteArray key;
    MemoryTier::Item item;
    quint64 hash = 0;
    qint64 bytes = 0;     // key + value
    quint64 sequence = 0; // write order within the shard (FIFO / TTL tie-break)
    // Policy queue links (one queue at a time).
    Entry *prev = nullptr;
    Entry *next = nullptr;
    // Timer wheel links.
    Entry *wheelPrev = nullptr;
    Entry *wheelNext = nullptr;
    // Ordered index: a tree position once indexed, else links in the pending list.
    Entry *pendingPrev = nullptr;
    Entry *pendingNext = nullptr;
    KeyIndex::iterator indexPos{};
    bool indexed = false;
    qint32 heapIndex = -1;             // TTL policy
    quint16 wheelSlot = kNotScheduled; // level * 64 + bucket
    quint8 region = 0;                 // Adaptive: window / probation / protected
    quint8 frequency = 0;              // LFU count (0..255)
    quint32 touchStamp = 0;            // Adaptive: hit clock when last moved in protected

    bool hasExpiry() const { return item.expiresAt.count() != 0; }
    bool expiredAt(Clock::MonoTime now) const { return hasExpiry() && item.expiresAt <= now; }
};

// Byte-wise (unsigned) three-way comparison, eight bytes at a time (keys are mostly short, so
// this inline loop beats a memcmp call).
inline int compareKeys(QByteArrayView a, QByteArrayView b)
{
    const size_t n = size_t(std::min(a.size(), b.size()));
    const auto *p = reinterpret_cast<const uchar *>(a.data());
    const auto *q = reinterpret_cast<const uchar *>(b.data());
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        quint64 x;
        quint64 y;
        std::memcpy(&x, p + i, 8);
        std::memcpy(&y, q + i, 8);
        if (x != y) {
            x = qFromBigEndian(x);
            y = qFromBigEndian(y);
            return x < y ? -1 : 1;
        }
    }
    for (; i < n; ++i) {
        if (p[i] != q[i])
            return p[i] < q[i] ? -1 : 1;
    }
    return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

inline bool sameKey(QByteArrayView a, QByteArrayView b)
{
    if (a.size() != b.size())
        return false;
    const size_t n = size_t(a.size());
    if (n > 64)
        return std::memcmp(a.data(), b.data(), n) == 0;
    const auto *p = reinterpret_cast<const uchar *>(a.data());
    const auto *q = reinterpret_cast<const uchar *>(b.data());
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        quint64 x;
        quint64 y;
        std::memcpy(&x, p + i, 8);
        std::memcpy(&y, q + i, 8);
        if (x != y)
            return false;
    }
    for (; i < n; ++i) {
        if (p[i] != q[i])
            return false;
    }
    return true;
}

inline IndexKey IndexKey::of(QByteArrayView key)
{
    IndexKey k;
    k.bytes = key;
    const size_t n = size_t(std::min<qsizetype>(key.size(), 8));
    uchar buffer[8] = {};
    if (n > 0)
        std::memcpy(buffer, key.data(), n);
    k.prefix = qFromBigEndian<quint64>(buffer);
    return k;
}

inline bool IndexKeyLess::operator()(const IndexKey &a, const IndexKey &b) const
{
    if (a.prefix != b.prefix)
        return a.prefix < b.prefix;
    // Equal prefixes: the first min(size, 8) bytes agree (and any padding is zeros), so the
    // rest decides, a shorter key first.
    const QByteArrayView ra = a.bytes.sliced(std::min<qsizetype>(a.bytes.size(), 8));
    const QByteArrayView rb = b.bytes.sliced(std::min<qsizetype>(b.bytes.size(), 8));
    return compareKeys(ra, rb) < 0;
}

// A doubly linked list threaded through two Entry members; O(1) everything, no allocation.
template<Entry *Entry::*Prev, Entry *Entry::*Next> class EntryList
{
public:
    Entry *front() const { return m_head; }
    Entry *back() const { return m_tail; }
    qint64 size() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }
    static Entry *nextOf(const Entry *e) { return e->*Next; }
    static Entry *prevOf(const Entry *e) { return e->*Prev; }

    void pushBack(Entry *e)
    {
        e->*Prev = m_tail;
        e->*Next = nullptr;
        if (m_tail)
            m_tail->*Next = e;
        else
            m_head = e;
        m_tail = e;
        ++m_size;
    }

    void remove(Entry *e)
    {
        Entry *const p = e->*Prev;
        Entry *const n = e->*Next;
        if (p)
            p->*Next = n;
        else
            m_head = n;
        if (n)
            n->*Prev = p;
        else
            m_tail = p;
        e->*Prev = nullptr;
        e->*Next = nullptr;
        --m_size;
    }

    void moveToBack(Entry *e)
    {
        if (m_tail == e)
            return;
        remove(e);
        pushBack(e);
    }

    Entry *popFront()
    {
        Entry *const e = m_head;
        if (e)
            remove(e);
        return e;
    }

    // Takes every entry of `other` (appended in order); `other` becomes empty.
    void append(EntryList &other)
    {
        if (other.m_head == nullptr)
            return;
        if (m_tail) {
            m_tail->*Next = other.m_head;
            other.m_head->*Prev = m_tail;
        } else {
            m_head = other.m_head;
        }
        m_tail = other.m_tail;
        m_size += other.m_size;
        other.reset();
    }

    void reset()
    {
        m_head = nullptr;
        m_tail = nullptr;
        m_size = 0;
    }

private:
    Entry *m_head = nullptr;
    Entry *m_tail = nullptr;
    qint64 m_size = 0;
};

using PolicyList = EntryList<&Entry::prev, &Entry::next>;
using WheelList = EntryList<&Entry::wheelPrev, &Entry::wheelNext>;
using PendingList = EntryList<&Entry::pendingPrev, &Entry::pendingNext>;

namespace detail {
__extension__ typedef unsigned __int128 UInt128;

inline quint64 mum(quint64 a, quint64 b)
{
    const UInt128 r = UInt128(a) * b;
    return quint64(r) ^ quint64(r >> 64);
}
inline quint64 read64(const uchar *p)
{
    quint64 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline quint64 read32(const uchar *p)
{
    quint32 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
} // namespace detail

// 64-bit key hash (wyhash-style multiply-mix, fixed seed so runs are reproducible). The top bits
// pick the shard, the low bits the table slot; the sketch remixes it.
inline quint64 hashKey(QByteArrayView key)
{
    using namespace detail;
    constexpr quint64 s0 = 0xa0761d6478bd642fULL;
    constexpr quint64 s1 = 0xe7037ed1a0b428dbULL;
    constexpr quint64 s2 = 0x8ebc6af09c88c6e3ULL;
    constexpr quint64 s3 = 0x589965cc75374cc3ULL;
    const auto *p = reinterpret_cast<const uchar *>(key.data());
    const size_t len = size_t(key.size());
    quint64 seed = mum(0x2d358dccaa6c78a5ULL ^ s0, s1);
    quint64 a = 0;
    quint64 b = 0;
    if (len <= 16) {
        if (len >= 4) {
            const size_t shift = (len >> 3) << 2;
            a = (read32(p) << 32) | read32(p + shift);
            b = (read32(p + len - 4) << 32) | read32(p + len - 4 - shift);
        } else if (len > 0) {
            a = (quint64(p[0]) << 16) | (quint64(p[len >> 1]) << 8) | quint64(p[len - 1]);
        }
    } else {
        size_t i = len;
        if (i > 48) {
            quint64 see1 = seed;
            quint64 see2 = seed;
            do {
                seed = mum(read64(p) ^ s1, read64(p + 8) ^ seed);
                see1 = mum(read64(p + 16) ^ s2, read64(p + 24) ^ see1);
                see2 = mum(read64(p + 32) ^ s3, read64(p + 40) ^ see2);
                p += 48;
                i -= 48;
            } while (i > 48);
            seed ^= see1 ^ see2;
        }
        while (i > 16) {
            seed = mum(read64(p) ^ s1, read64(p + 8) ^ seed);
            i -= 16;
            p += 16;
        }
        a = read64(p + i - 16);
        b = read64(p + i - 8);
    }
    return mum(s1 ^ len, mum(a ^ s1, b ^ seed));
}

// A strong 64-bit finaliser (murmur3 fmix64), for deriving independent indexes from one hash.
inline quint64 remix(quint64 h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

} // namespace opsdeck::cache::memtier

#include "core/cache/frequencysketch.h"

#include "core/cache/memoryentry.h"

#include <bit>

namespace opsdeck::cache::memtier {

namespace {
constexpr quint64 kResetMask = 0x7777777777777777ULL;
constexpr quint64 kOneMask = 0x1111111111111111ULL;
constexpr qint64 kMaxWords = qint64(1) << 24;
// Measured on seeded Zipf / loop / shifting traces (capacity 100 over 10k keys): 4 words
// (64 counters) per entry and a 50 x capacity history gave the best hit ratios; the paper's
// 1 word and 10 x lose about 1.5 points on Zipf and 10 on a loop.
constexpr qint64 kWordsPerEntry = 4;
constexpr qint64 kSampleFactor = 50;
} // namespace

void FrequencySketch::ensureCapacity(qint64 capacity)
{
    const qint64 wanted = std::clamp<qint64>(capacity * kWordsPerEntry, 8, kMaxWords);
    const size_t words = std::bit_ceil(size_t(wanted));
    m_sampleSize = std::max<qint64>(capacity, 1) * kSampleFactor;
    if (m_table.size() == words)
        return;
    m_table.assign(words, 0);
    m_blockMask = (words >> 3) - 1;
    m_additions = 0;
}

// Each key owns one 64-byte block of 8 words; row i uses word 2i or 2i+1 of it and one of that
// word's 16 nibbles, all picked by one remixed hash: one cache line, no per-row multiply.
int FrequencySketch::frequency(quint64 hash) const
{
    if (m_table.empty())
        return 0;
    const quint64 h = remix(hash);
    const size_t block = size_t(h & m_blockMask) << 3;
    const quint64 counterHash = h >> 32;
    int freq = 15;
    for (int row = 0; row < 4; ++row) {
        const quint64 bits = counterHash >> (row << 3);
        const size_t word = block + size_t(row << 1) + size_t(bits & 1);
        const int shift = int((bits >> 1) & 15) << 2;
        freq = std::min(freq, int((m_table[word] >> shift) & 0xf));
    }
    return freq;
}

void FrequencySketch::increment(quint64 hash)
{
    if (m_table.empty())
        return;
    const quint64 h = remix(hash);
    const size_t block = size_t(h & m_blockMask) << 3;
    const quint64 counterHash = h >> 32;
    // Conservative update: only the counters at the current minimum grow, so a key's
    // collisions inflate its estimate less.
    size_t word[4];
    int shift[4];
    int count[4];
    int minimum = 15;
    for (int row = 0; row < 4; ++row) {
        const quint64 bits = counterHash >> (row << 3);
        word[row] = block + size_t(row << 1) + size_t(bits & 1);
        shift[row] = int((bits >> 1) & 15) << 2;
        count[row] = int((m_table[word[row]] >> shift[row]) & 0xf);
        minimum = std::min(minimum, count[row]);
    }
    if (minimum == 15)
        return;
    for (int row = 0; row < 4; ++row) {
        if (count[row] == minimum)
            m_table[word[row]] += quint64(1) << shift[row];
    }
    if (++m_additions >= m_sampleSize)
        reset();
}

void FrequencySketch::reset()
{
    qint64 odd = 0;
    for (quint64 &word : m_table) {
        odd += std::popcount(word & kOneMask);
        word = (word >> 1) & kResetMask;
    }
    m_additions = std::max<qint64>(0, (m_additions - (odd >> 2)) >> 1);
}

} // namespace opsdeck::cache::memtier

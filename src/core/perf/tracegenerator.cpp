#include "core/perf/tracegenerator.h"

#include <QtCore/QtGlobal>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

namespace opsdeck::perf {

namespace {

quint64 splitMix64(quint64 &state)
{
    quint64 z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna), seeded through SplitMix64 as its authors recommend.
class Random
{
public:
    explicit Random(quint64 seed)
    {
        for (quint64 &word : m_state)
            word = splitMix64(seed);
    }

    quint64 next()
    {
        const quint64 result = std::rotl(m_state[1] * 5, 7) * 9;
        const quint64 t = m_state[1] << 17;
        m_state[2] ^= m_state[0];
        m_state[3] ^= m_state[1];
        m_state[1] ^= m_state[2];
        m_state[0] ^= m_state[3];
        m_state[2] ^= t;
        m_state[3] = std::rotl(m_state[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 53 random bits.
    double unit() { return double(next() >> 11) * 0x1p-53; }

    // Uniform in [0, bound), bound >= 1, without bias (Lemire's multiply-and-reject).
    quint32 below(quint32 bound)
    {
        quint64 m = (next() >> 32) * bound;
        auto low = quint32(m);
        if (low < bound) {
            const quint32 threshold = quint32(-bound) % bound;
            while (low < threshold) {
                m = (next() >> 32) * bound;
                low = quint32(m);
            }
        }
        return quint32(m >> 32);
    }

private:
    std::array<quint64, 4> m_state{};
};

// The rank-to-key permutation depends on the key count only; the seed drives the draws.
constexpr quint64 kPermutationSeed = 0x5045524d5554ULL; // "PERMUT"
constexpr quint64 kDrawStream = 0x44524157ULL;          // "DRAW"

std::vector<quint32> permutation(quint32 keyCount)
{
    std::vector<quint32> perm(keyCount);
    for (quint32 i = 0; i < keyCount; ++i)
        perm[i] = i;
    Random random(kPermutationSeed ^ keyCount);
    for (quint32 i = keyCount; i > 1; --i)
        std::swap(perm[i - 1], perm[random.below(i)]);
    return perm;
}

// cdf[i] = P(rank <= i + 1); the last element is exactly 1.
std::vector<double> zipfCdf(quint32 keyCount, double exponent)
{
    std::vector<double> cdf(keyCount);
    double sum = 0.0;
    for (quint32 i = 0; i < keyCount; ++i) {
        sum += std::pow(double(i) + 1.0, -exponent);
        cdf[i] = sum;
    }
    for (double &c : cdf)
        c /= sum;
    cdf.back() = 1.0;
    return cdf;
}

// 0-based rank drawn from the CDF: the first rank whose cumulative probability exceeds u.
quint32 drawRank(const std::vector<double> &cdf, Random &random)
{
    const double u = random.unit();
    const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
    return quint32(std::min<qsizetype>(it - cdf.begin(), qsizetype(cdf.size()) - 1));
}

Trace shiftedZipf(
    quint32 keyCount, double exponent, qint64 length, qint64 period, quint32 shift, quint64 seed)
{
    if (keyCount == 0 || length <= 0)
        return {};
    const std::vector<double> cdf = zipfCdf(keyCount, std::max(0.0, exponent));
    const std::vector<quint32> perm = permutation(keyCount);
    Random random(seed ^ kDrawStream);
    Trace trace(size_t(length), 0);
    quint64 offset = 0;
    for (qint64 i = 0; i < length; ++i) {
        if (period > 0 && i > 0 && i % period == 0)
            offset = (offset + shift) % keyCount;
        const quint64 rank = drawRank(cdf, random);
        trace[size_t(i)] = perm[size_t((rank + offset) % keyCount)];
    }
    return trace;
}

} // namespace

QString TraceSpec::describe() const
{
    switch (kind) {
    case Kind::Zipf:
        return QStringLiteral("zipf(s=%1, n=%2, len=%3, seed=%4)")
            .arg(exponent, 0, 'f', 2)
            .arg(keyCount)
            .arg(length)
            .arg(seed);
    case Kind::Loop:
        return QStringLiteral("loop(n=%1, len=%2)").arg(keyCount).arg(length);
    case Kind::ShiftingZipf:
        return QStringLiteral("shifting-zipf(s=%1, n=%2, len=%3, period=%4, shift=%5, seed=%6)")
            .arg(exponent, 0, 'f', 2)
            .arg(keyCount)
            .arg(length)
            .arg(period)
            .arg(shift)
            .arg(seed);
    case Kind::Uniform:
        return QStringLiteral("uniform(n=%1, len=%2, seed=%3)").arg(keyCount).arg(length).arg(seed);
    }
    return {};
}

Trace TraceGenerator::generate(const TraceSpec &spec)
{
    switch (spec.kind) {
    case TraceSpec::Kind::Zipf:
        return zipf(spec.keyCount, spec.exponent, spec.length, spec.seed);
    case TraceSpec::Kind::Loop:
        return loop(spec.keyCount, spec.length);
    case TraceSpec::Kind::ShiftingZipf:
        return shiftingZipf(spec.keyCount, spec.exponent, spec.length, spec.period, spec.shift,
                            spec.seed);
    case TraceSpec::Kind::Uniform:
        return uniform(spec.keyCount, spec.length, spec.seed);
    }
    return {};
}

Trace TraceGenerator::zipf(quint32 keyCount, double exponent, qint64 length, quint64 seed)
{
    return shiftedZipf(keyCount, exponent, length, 0, 0, seed);
}

Trace TraceGenerator::loop(quint32 keyCount, qint64 length)
{
    if (keyCount == 0 || length <= 0)
        return {};
    Trace trace(size_t(length), 0);
    quint32 key = 0;
    for (quint32 &slot : trace) {
        slot = key;
        if (++key == keyCount)
            key = 0;
    }
    return trace;
}

Trace TraceGenerator::shiftingZipf(
    quint32 keyCount, double exponent, qint64 length, qint64 period, quint32 shift, quint64 seed)
{
    return shiftedZipf(keyCount, exponent, length, period, shift, seed);
}

Trace TraceGenerator::uniform(quint32 keyCount, qint64 length, quint64 seed)
{
    if (keyCount == 0 || length <= 0)
        return {};
    Random random(seed ^ kDrawStream);
    Trace trace(size_t(length), 0);
    for (quint32 &slot : trace)
        slot = random.below(keyCount);
    return trace;
}

double TraceGenerator::zipfProbability(quint32 keyCount, double exponent, quint32 rank)
{
    if (rank < 1 || rank > keyCount)
        return 0.0;
    double sum = 0.0;
    for (quint32 r = 1; r <= keyCount; ++r)
        sum += std::pow(double(r), -exponent);
    return std::pow(double(rank), -exponent) / sum;
}

QByteArray TraceGenerator::formatKey(quint32 key)
{
    constexpr int kFixed = 16; // "trace:" + ten digits: distinct for every id
    quint64 mix = key;
    const quint64 hash = splitMix64(mix);
    const int filler = int(hash % 17); // 0..16 more bytes: 16..32 in all
    QByteArray out(kFixed + filler, Qt::Uninitialized);
    char *p = out.data();
    std::copy_n("trace:", 6, p);
    quint32 v = key;
    for (int i = kFixed - 1; i >= 6; --i) {
        p[i] = char('0' + v % 10);
        v /= 10;
    }
    quint64 bits = hash >> 5;
    for (int i = 0; i < filler; ++i) {
        p[kFixed + i] = char('a' + bits % 26);
        bits = bits / 26 + quint64(i + 1) * 0x9e37ULL;
    }
    return out;
}

QList<QByteArray> TraceGenerator::formatKeys(quint32 keyCount)
{
    QList<QByteArray> keys;
    keys.reserve(qsizetype(keyCount));
    for (quint32 i = 0; i < keyCount; ++i)
        keys.append(formatKey(i));
    return keys;
}

quint32 TraceGenerator::keySpace(const Trace &trace)
{
    if (trace.empty())
        return 0;
    return *std::max_element(trace.begin(), trace.end()) + 1;
}

} // namespace opsdeck::perf

// Counter-based random numbers: every draw is a pure function of its key (seed, symbol, time
// bucket, purpose, ...), so any point of the simulated market is reproducible without replaying
// history. SplitMix64 finalizer as the mixing function. Header-only, stateless, any thread.
//
//     const quint64 key = rng::key(seed, rng::symbolHash(u"BTCUSDT"), bucket, rng::Purpose::Trade);
//     const double z = rng::normal(key);
#pragma once

#include <QtCore/QStringView>
#include <QtCore/QtGlobal>

#include <cmath>

namespace opsdeck::market::rng {

// Distinct streams so two uses of the same bucket never share a draw.
enum class Purpose : quint64 {
    BridgeRoot = 1,
    Bridge,
    JumpRoot,
    JumpCount,
    JumpSize,
    TradeCount,
    Trade,
    Book,
    Kline,
    Fault,
};

constexpr quint64 mix(quint64 z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr quint64 combine(quint64 h, quint64 v)
{
    return mix(h ^ (v + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2)));
}

inline quint64 key(quint64 seed, quint64 a, quint64 b = 0, quint64 c = 0, quint64 d = 0)
{
    return combine(combine(combine(combine(mix(seed), a), b), c), d);
}

inline quint64 key(quint64 seed, quint64 symbol, qint64 bucket, Purpose purpose, quint64 extra = 0)
{
    return key(seed, symbol, quint64(bucket), quint64(purpose), extra);
}

// FNV-1a of the symbol's UTF-16 code units.
inline quint64 symbolHash(QStringView symbol)
{
    quint64 h = 0xcbf29ce484222325ULL;
    for (const QChar c : symbol) {
        h ^= c.unicode();
        h *= 0x100000001b3ULL;
    }
    return h;
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform(quint64 k)
{
    return double(mix(k) >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal (Box-Muller, cosine branch) from two derived uniforms.
inline double normal(quint64 k)
{
    const double u1 = 1.0 - uniform(k ^ 0x5851f42d4c957f2dULL); // (0, 1]
    const double u2 = uniform(k ^ 0x14057b7ef767814fULL);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

} // namespace opsdeck::market::rng

// TraceGenerator: seeded, deterministic key traces for cache benchmarks and hit-ratio replay.
// Keys are integers in [0, keyCount); formatKey() turns one into a 16..32 byte cache key.
// - The same TraceSpec (seed included) gives the same trace on every run: the generator uses
//   its own xoshiro256** stream and bounded draws, never std:: distributions (whose algorithms
//   are implementation-defined); only the Zipf CDF depends on the C library's pow().
// - Zipf(s) draws rank r (1-based) with probability r^-s / H(N, s) from a precomputed CDF by
//   binary search (O(log N) per draw, 8 bytes per key); ranks map to keys through one fixed
//   permutation of the key space (the same for every seed, so traces drawn with different seeds
//   share their popular keys; popular keys are not neighbours). s = 0 is uniform.
// - Loop cycles 0, 1, ..., K-1, 0, 1, ... (the classic LRU-defeating scan).
// - ShiftingZipf is Zipf whose rank-to-key map rotates by `shift` keys every `period` requests.
// Pure functions of their arguments; any thread. Not a cache, not a replay (HitRatioSimulator).
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>

#include <vector>

namespace opsdeck::perf {

// One request per element: the key's integer id.
using Trace = std::vector<quint32>;

struct TraceSpec
{
    enum class Kind { Zipf, Loop, ShiftingZipf, Uniform };

    Kind kind = Kind::Zipf;
    quint32 keyCount = 10000;  // keys are 0 .. keyCount-1 (loop: the loop's length)
    qint64 length = 1'000'000; // requests
    double exponent = 1.0;     // Zipf and ShiftingZipf
    qint64 period = 500'000;   // ShiftingZipf: requests between rotations
    quint32 shift = 1000;      // ShiftingZipf: keys the rank-to-key map moves per rotation
    quint64 seed = 1;

    // "zipf(s=1.00, n=10000, len=5000000, seed=1)" and the like.
    QString describe() const;
};

class TraceGenerator final
{
public:
    // Empty trace for keyCount 0 or length <= 0.
    static Trace generate(const TraceSpec &spec);

    static Trace zipf(quint32 keyCount, double exponent, qint64 length, quint64 seed);
    static Trace loop(quint32 keyCount, qint64 length);
    static Trace shiftingZipf(quint32 keyCount,
                              double exponent,
                              qint64 length,
                              qint64 period,
                              quint32 shift,
                              quint64 seed);
    static Trace uniform(quint32 keyCount, qint64 length, quint64 seed);

    // The probability of rank r (1-based) under Zipf(exponent) over keyCount keys.
    static double zipfProbability(quint32 keyCount, double exponent, quint32 rank);

    // A distinct, printable key of 16..32 bytes ("trace:0000000042" plus a filler whose length
    // depends on the id), the same for an id on every call.
    static QByteArray formatKey(quint32 key);
    // formatKey(0) .. formatKey(keyCount - 1).
    static QList<QByteArray> formatKeys(quint32 keyCount);
    // One past the largest id in the trace (0 for an empty trace).
    static quint32 keySpace(const Trace &trace);
};

} // namespace opsdeck::perf

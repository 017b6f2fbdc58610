#include "core/perf/loadtestcomponent.h"

namespace opsdeck::perf {

LoadErrorKind loadErrorOfStatus(int status)
{
    if (status == 429)
        return LoadErrorKind::RateLimited;
    return status >= 400 ? LoadErrorKind::HttpStatus : LoadErrorKind::None;
}

QString loadErrorDetailOfStatus(int status)
{
    return loadErrorOfStatus(status) == LoadErrorKind::None ? QString()
                                                            : QStringLiteral("HTTP %1").arg(status);
}

QString toString(LoadErrorKind kind)
{
    switch (kind) {
    case LoadErrorKind::None:
        return QStringLiteral("none");
    case LoadErrorKind::Timeout:
        return QStringLiteral("timeout");
    case LoadErrorKind::Connect:
        return QStringLiteral("connect");
    case LoadErrorKind::HttpStatus:
        return QStringLiteral("http_status");
    case LoadErrorKind::RateLimited:
        return QStringLiteral("rate_limited");
    case LoadErrorKind::Other:
        return QStringLiteral("other");
    }
    return QStringLiteral("other");
}

quint64 splitMix64(quint64 x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

namespace {
quint64 mix(quint64 seed, qint64 index, int purpose)
{
    return splitMix64(splitMix64(seed ^ splitMix64(quint64(index)))
                      + quint64(purpose) * 0x632BE59BD9B4E019ULL);
}
} // namespace

double OpTicket::draw(int purpose) const
{
    return double(mix(seed, index, purpose) >> 11) * 0x1.0p-53;
}

quint64 OpTicket::drawBelow(int purpose, quint64 n) const
{
    if (n <= 1)
        return 0;
    // Modulo: the bias (< n / 2^64) is far below anything a load mix could show.
    return mix(seed, index, purpose) % n;
}

} // namespace opsdeck::perf

#include "core/cache/cachetypes.h"

namespace opsdeck::cache {

QString toString(Policy policy)
{
    switch (policy) {
    case Policy::Lru: return QStringLiteral("lru");
    case Policy::Lfu: return QStringLiteral("lfu");
    case Policy::Fifo: return QStringLiteral("fifo");
    case Policy::Ttl: return QStringLiteral("ttl");
    case Policy::Adaptive: return QStringLiteral("adaptive");
    }
    return QStringLiteral("adaptive");
}

std::optional<Policy> policyFromString(QStringView text)
{
    for (Policy p : {Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Ttl, Policy::Adaptive}) {
        if (text.trimmed().compare(toString(p), Qt::CaseInsensitive) == 0)
            return p;
    }
    return std::nullopt;
}

QString toString(Level level)
{
    switch (level) {
    case Level::Memory: return QStringLiteral("memory");
    case Level::Disk: return QStringLiteral("disk");
    case Level::All: return QStringLiteral("all");
    }
    return QStringLiteral("all");
}

std::optional<Level> levelFromString(QStringView text)
{
    for (Level l : {Level::Memory, Level::Disk, Level::All}) {
        if (text.trimmed().compare(toString(l), Qt::CaseInsensitive) == 0)
            return l;
    }
    return std::nullopt;
}

} // namespace opsdeck::cache

#include "core/monitor/eventlog.h"

#include "core/monitor/metricsjson.h"

#include <QtCore/QMutexLocker>

#include <algorithm>

namespace opsdeck {

QJsonObject LoggedEvent::toJson() const
{
    return QJsonObject{{QStringLiteral("id"), qint64(id)},
                       {QStringLiteral("type"), type},
                       {QStringLiteral("timestamp"), metricsjson::isoTimestamp(timestampMs)},
                       {QStringLiteral("timestamp_ms"), timestampMs},
                       {QStringLiteral("payload"), payload}};
}

EventLog::EventLog(int capacity, const Clock &clock, QObject *parent)
    : QObject(parent)
    , m_capacity(std::max(1, capacity))
    , m_clock(clock)
{}

quint64 EventLog::append(const QString &type, const QJsonObject &payload)
{
    quint64 id = 0;
    {
        QMutexLocker lock(&m_mutex);
        id = ++m_lastId;
        m_events.push_back(LoggedEvent{id, type, m_clock.wallMsecs(), payload});
        while (m_events.size() > size_t(m_capacity))
            m_events.pop_front();
    }
    Q_EMIT appended(id); // outside the lock: receivers call since()
    return id;
}

QList<LoggedEvent> EventLog::since(quint64 afterId, int maxCount) const
{
    QList<LoggedEvent> out;
    QMutexLocker lock(&m_mutex);
    if (m_events.empty() || afterId >= m_lastId || maxCount <= 0)
        return out;
    // Ids are consecutive, so the first wanted event's position is arithmetic.
    const quint64 first = std::max(afterId + 1, m_events.front().id);
    auto it = m_events.begin() + qsizetype(first - m_events.front().id);
    for (; it != m_events.end() && out.size() < maxCount; ++it)
        out.append(*it);
    return out;
}

quint64 EventLog::lastId() const
{
    QMutexLocker lock(&m_mutex);
    return m_lastId;
}

quint64 EventLog::oldestId() const
{
    QMutexLocker lock(&m_mutex);
    return m_events.empty() ? 0 : m_events.front().id;
}

} // namespace opsdeck

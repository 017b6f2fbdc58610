// EventLog: a bounded, thread-safe ring of the runtime's state changes (alert_raised,
// alert_resolved, agent_started, agent_stopped, config_reloaded, ...) for GET /events and other
// pollers. Ids increase by one per event and are never reused in a process; the oldest events
// drop out when the ring is full. append() and since() may be called from any thread; appended()
// is emitted in the appending thread (connect with a context object to get it queued).
#pragma once

#include "core/support/clock.h"

#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <deque>

namespace opsdeck {

struct LoggedEvent
{
    quint64 id = 0;
    QString type;           // snake_case
    qint64 timestampMs = 0; // wall time, epoch ms
    QJsonObject payload;

    // {"id", "type", "timestamp", "timestamp_ms", "payload"}.
    QJsonObject toJson() const;
};

class EventLog final : public QObject
{
    Q_OBJECT

public:
    static constexpr int kDefaultCapacity = 1000;

    explicit EventLog(int capacity = kDefaultCapacity,
                      const Clock &clock = Clock::system(),
                      QObject *parent = nullptr);

    // Any thread. Returns the new event's id (1 for the first).
    quint64 append(const QString &type, const QJsonObject &payload = {});

    // Any thread. Events with id > afterId, oldest first, at most maxCount.
    QList<LoggedEvent> since(quint64 afterId, int maxCount) const;
    // The newest id handed out (0 before the first event).
    quint64 lastId() const;
    // The oldest id still held (0 when empty).
    quint64 oldestId() const;
    int capacity() const { return m_capacity; }

Q_SIGNALS:
    void appended(quint64 id);

private:
    const int m_capacity;
    const Clock &m_clock;
    mutable QMutex m_mutex;
    std::deque<LoggedEvent> m_events; // guarded by m_mutex, ids consecutive
    quint64 m_lastId = 0;             // guarded by m_mutex
};

} // namespace opsdeck

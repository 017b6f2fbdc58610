#include "api/replysender.h"

#include "api/connectionguard.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QList>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpSocket>

namespace opsdeck::api {

namespace {

const QString kQueueName = QStringLiteral("opsdeck-reply-queue");

void writeNow(QTcpSocket *socket, const QByteArray &bytes, bool keepAlive)
{
    socket->write(bytes);
    ConnectionGuards::markResponded(socket);
    if (!keepAlive)
        socket->disconnectFromHost();
}

class ReplyQueue final : public QObject
{
public:
    explicit ReplyQueue(QTcpSocket *socket)
        : QObject(socket)
        , m_socket(socket)
    {
        setObjectName(kQueueName);
        m_timer.setSingleShot(true);
        m_timer.setTimerType(Qt::PreciseTimer);
        connect(&m_timer, &QTimer::timeout, this, &ReplyQueue::flushDue);
    }

    bool isEmpty() const { return m_pending.isEmpty(); }

    void push(QByteArray bytes, bool keepAlive, std::chrono::milliseconds delay)
    {
        QDeadlineTimer due(delay, Qt::PreciseTimer);
        // Never before the answer ahead of it.
        if (!m_pending.isEmpty() && m_pending.last().due.deadlineNSecs() > due.deadlineNSecs())
            due = m_pending.last().due;
        m_pending.append({std::move(bytes), keepAlive, due});
        if (!m_timer.isActive())
            m_timer.start(int(m_pending.first().due.remainingTime()));
    }

private:
    struct Pending
    {
        QByteArray bytes;
        bool keepAlive = true;
        QDeadlineTimer due;
    };

    void flushDue()
    {
        while (!m_pending.isEmpty() && m_pending.first().due.hasExpired()) {
            const Pending next = m_pending.takeFirst();
            writeNow(m_socket, next.bytes, next.keepAlive);
            if (!next.keepAlive) {
                m_pending.clear(); // the client asked to close: nothing after this answer
                return;
            }
        }
        if (!m_pending.isEmpty())
            m_timer.start(int(std::max<qint64>(0, m_pending.first().due.remainingTime())));
    }

    QTcpSocket *m_socket;
    QList<Pending> m_pending;
    QTimer m_timer;
};

ReplyQueue *queueOf(QTcpSocket *socket)
{
    // By name (ReplyQueue has no meta-object of its own for qobject_cast).
    return static_cast<ReplyQueue *>(
        socket->findChild<QObject *>(kQueueName, Qt::FindDirectChildrenOnly));
}

} // namespace

bool hasHeldReplies(QTcpSocket *socket)
{
    const ReplyQueue *queue = queueOf(socket);
    return queue && !queue->isEmpty();
}

void sendReplyAfter(QTcpSocket *socket,
                    QByteArray bytes,
                    bool keepAlive,
                    std::chrono::milliseconds delay)
{
    ReplyQueue *queue = queueOf(socket);
    if (delay.count() <= 0 && (!queue || queue->isEmpty())) {
        writeNow(socket, bytes, keepAlive);
        return;
    }
    if (!queue)
        queue = new ReplyQueue(socket);
    queue->push(std::move(bytes), keepAlive, delay);
}

} // namespace opsdeck::api

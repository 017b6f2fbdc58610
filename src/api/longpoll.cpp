#include "api/longpoll.h"

#include "api/guardedtcpserver.h"

#include <QtCore/QTimer>
#include <QtNetwork/QTcpSocket>

namespace opsdeck::api {

void sendReply(QTcpSocket *socket, const HttpReply &reply, bool includeBody, bool keepAlive)
{
    socket->write(reply.serialize(includeBody, keepAlive));
    GuardedTcpServer::markResponded(socket);
    if (!keepAlive)
        socket->disconnectFromHost();
}

LongPollHub::LongPollHub(Answer answer, std::atomic<int> &count, QObject *parent)
    : QObject(parent)
    , m_answer(std::move(answer))
    , m_count(count)
{}

LongPollHub::~LongPollHub()
{
    // The sockets go with the front; only detach from them.
    for (Parked &parked : m_parked)
        QObject::disconnect(parked.disconnected);
    m_count.fetch_sub(int(m_parked.size()));
}

void LongPollHub::park(QTcpSocket *socket, ApiRequest request, int timeoutMs, bool keepAlive)
{
    answerNow(socket); // at most one parked poll per connection
    m_parked.push_back(Parked{socket, std::move(request), keepAlive, new QTimer(this), {}});
    Parked &parked = m_parked.back();
    parked.timer->setSingleShot(true);
    parked.timer->setTimerType(Qt::PreciseTimer);
    const QTimer *timer = parked.timer;
    connect(parked.timer, &QTimer::timeout, this, [this, timer] {
        for (auto it = m_parked.begin(); it != m_parked.end(); ++it) {
            if (it->timer == timer) {
                finish(it, true);
                return;
            }
        }
    });
    // The client closing meanwhile: drop the poll (its socket is about to go).
    parked.disconnected
        = connect(socket, &QTcpSocket::disconnected, this, [this, socket] { forget(socket); });
    parked.timer->start(timeoutMs);
    m_count.fetch_add(1);
}

void LongPollHub::answerNow(QTcpSocket *socket)
{
    for (auto it = m_parked.begin(); it != m_parked.end(); ++it) {
        if (it->socket == socket) {
            finish(it, true);
            return;
        }
    }
}

void LongPollHub::wakeAll()
{
    while (!m_parked.empty())
        finish(m_parked.begin(), true);
}

void LongPollHub::forget(QTcpSocket *socket)
{
    for (auto it = m_parked.begin(); it != m_parked.end(); ++it) {
        if (it->socket == socket) {
            finish(it, false);
            return;
        }
    }
}

void LongPollHub::finish(Iterator it, bool answer)
{
    Parked parked = std::move(*it);
    m_parked.erase(it);
    m_count.fetch_sub(1);
    QObject::disconnect(parked.disconnected);
    parked.timer->stop();
    parked.timer->deleteLater(); // we may be inside its timeout signal
    if (!answer || !parked.socket || parked.socket->state() != QAbstractSocket::ConnectedState)
        return;
    const HttpReply reply = m_answer(parked.request);
    sendReply(parked.socket, reply, parked.request.method != "HEAD", parked.keepAlive);
}

} // namespace opsdeck::api

// LongPollHub: holds the sockets of parked GET /events requests (the handler must not block the
// api thread) and answers each later, by re-running the request through the API with parking
// off, when an event arrives (wakeAll) or its timeout passes. A client that closes meanwhile is
// forgotten; a pipelined request behind a parked one gets the parked one answered first. Lives in
// the api thread, as a child of the HTTP front.
#pragma once

#include "api/httpreply.h"

#include <QtCore/QObject>
#include <QtCore/QPointer>

#include <atomic>
#include <functional>
#include <list>

QT_BEGIN_NAMESPACE
class QTcpSocket;
class QTimer;
QT_END_NAMESPACE

namespace opsdeck::api {

// Writes one answer on a connection (no body for HEAD; closes after it unless keepAlive).
void sendReply(QTcpSocket *socket, const HttpReply &reply, bool includeBody, bool keepAlive);

class LongPollHub final : public QObject
{
    Q_OBJECT

public:
    using Answer = std::function<HttpReply(const ApiRequest &)>;

    // `answer` computes the final reply (never parks again); `count` mirrors parkedCount().
    LongPollHub(Answer answer, std::atomic<int> &count, QObject *parent = nullptr);
    ~LongPollHub() override;

    void park(QTcpSocket *socket, ApiRequest request, int timeoutMs, bool keepAlive);
    // Answers the poll parked on this socket now, if any.
    void answerNow(QTcpSocket *socket);
    int parkedCount() const { return int(m_parked.size()); }

public Q_SLOTS:
    // Something happened: every parked poll answers.
    void wakeAll();

private:
    struct Parked
    {
        QPointer<QTcpSocket> socket;
        ApiRequest request;
        bool keepAlive = true;
        QTimer *timer = nullptr;
        QMetaObject::Connection disconnected;
    };
    using Iterator = std::list<Parked>::iterator;

    void finish(Iterator it, bool answer);
    void forget(QTcpSocket *socket);

    Answer m_answer;
    std::atomic<int> &m_count;
    std::list<Parked> m_parked;
};

} // namespace opsdeck::api

// sendReplyAfter: writes one serialized answer to its connection, at once or after a delay (failed
// authentication is answered late without blocking the api thread: a timer writes it). The
// answers of pipelined requests leave in request order, so an answer queued behind a delayed
// one waits for it. Ends the request for the connection guard and honours keep-alive. Api
// thread; the queue is a child of the socket and dies with it.
#pragma once

#include <QtCore/QByteArray>

#include <chrono>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace opsdeck::api {

void sendReplyAfter(QTcpSocket *socket,
                    QByteArray bytes,
                    bool keepAlive,
                    std::chrono::milliseconds delay = std::chrono::milliseconds(0));
// Whether answers are held back on this connection (then later ones must queue behind them).
bool hasHeldReplies(QTcpSocket *socket);

} // namespace opsdeck::api

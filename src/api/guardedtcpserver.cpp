#include "api/guardedtcpserver.h"

#include <QtNetwork/QTcpSocket>

namespace opsdeck::api {

GuardedTcpServer::GuardedTcpServer(GuardLimits limits, QObject *parent)
    : QTcpServer(parent)
    , m_guards(new ConnectionGuards(limits, this))
{
    connect(m_guards, &ConnectionGuards::requestRejected, this, &GuardedTcpServer::requestRejected);
}

void GuardedTcpServer::incomingConnection(qintptr socketDescriptor)
{
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(socketDescriptor)) {
        delete socket;
        return;
    }
    if (m_guards->admit(socket))
        addPendingConnection(socket);
}

} // namespace opsdeck::api

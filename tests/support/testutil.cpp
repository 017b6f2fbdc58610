#include "support/testutil.h"

#include <QtCore/QEventLoop>
#include <QtCore/QList>
#include <QtCore/QTimer>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QTcpSocket>

#include <algorithm>
#include <cmath>

namespace opsdeck::test {

double timeFactor()
{
    bool ok = false;
    const double factor = qEnvironmentVariable("OPSDECK_TIME_FACTOR").toDouble(&ok);
    return ok && factor > 0.0 && std::isfinite(factor) ? factor : 1.0;
}

int scaledMs(int ms)
{
    return static_cast<int>(std::ceil(ms * timeFactor()));
}

QByteArray rawHttp(quint16 port, const QByteArray &requestBytes, int timeoutMs)
{
    QTcpSocket socket;
    QEventLoop loop;
    QTimer deadline;
    QByteArray received;
    deadline.setSingleShot(true);
    deadline.setTimerType(Qt::PreciseTimer);
    QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(&socket, &QTcpSocket::connected, &loop,
                     [&socket, &requestBytes] { socket.write(requestBytes); });
    QObject::connect(&socket, &QTcpSocket::readyRead, &loop,
                     [&socket, &received] { received += socket.readAll(); });
    QObject::connect(&socket, &QTcpSocket::disconnected, &loop, &QEventLoop::quit);
    QObject::connect(&socket, &QTcpSocket::errorOccurred, &loop, &QEventLoop::quit);

    deadline.start(std::max(0, timeoutMs));
    socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
    if (socket.state() != QAbstractSocket::UnconnectedState)
        loop.exec();
    received += socket.readAll();
    socket.abort();
    return received;
}

int httpStatus(const QByteArray &rawResponse)
{
    if (!rawResponse.startsWith("HTTP/"))
        return -1;
    const qsizetype lineEnd = rawResponse.indexOf("\r\n");
    const QList<QByteArray> parts
        = rawResponse.left(lineEnd < 0 ? rawResponse.size() : lineEnd).split(' ');
    if (parts.size() < 2 || parts.at(1).size() != 3)
        return -1;
    bool ok = false;
    const int status = parts.at(1).toInt(&ok);
    return ok ? status : -1;
}

} // namespace opsdeck::test

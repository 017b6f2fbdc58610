// listenInThread / shutdownInThread: run a server QObject (ApiServer, MarketServer: anything with
// listen() -> Result<quint16> and shutdown()) in its own QThread. The owning thread calls both;
// each blocks only for the listen or the teardown. After shutdown (or a failed listen) the server
// is back in the owning thread, so it can be destroyed there.
#pragma once

#include "core/support/result.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QMetaObject>
#include <QtCore/QThread>

namespace opsdeck::api {

// Closes the server in its thread, hands it back to the caller's thread and joins the thread
// (true when it ended within `deadline`).
template<typename Server>
bool shutdownInThread(Server &server,
                      QThread &thread,
                      QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever))
{
    QThread *owner = QThread::currentThread();
    QMetaObject::invokeMethod(
        &server,
        [&server, owner] {
            server.shutdown();
            server.moveToThread(owner);
        },
        Qt::BlockingQueuedConnection);
    thread.quit();
    return thread.wait(deadline);
}

// Moves the server into `thread`, starts it and listens there; on failure undoes all of it.
template<typename Server>
Result<quint16> listenInThread(Server &server, QThread &thread)
{
    server.moveToThread(&thread);
    thread.start();
    Result<quint16> result = fail(QStringLiteral("listen_failed"), QStringLiteral("Not started."));
    QMetaObject::invokeMethod(
        &server, [&] { result = server.listen(); }, Qt::BlockingQueuedConnection);
    if (!result)
        shutdownInThread(server, thread);
    return result;
}

} // namespace opsdeck::api

// ApiService: runs an ApiServer in its own "api" thread. start() and stop() are called from the
// owning (main) thread and block only for the listen and the teardown. Not thread-safe itself.
#pragma once

#include "api/apiserver.h"

#include <QtCore/QThread>

#include <memory>

namespace opsdeck::api {

class ApiService final
{
public:
    ApiService(ApiServer::Settings settings,
               const PerformanceMonitor &monitor,
               const Clock &clock = Clock::system());
    ~ApiService();

    // Starts the thread and listens there. Errors: "port_in_use", "listen_failed".
    Result<quint16> start();
    // Closes every connection in the api thread, then joins it. Idempotent.
    void stop();

    QString baseUrl() const;
    quint16 port() const;

private:
    QThread m_thread;
    std::unique_ptr<ApiServer> m_server;
    bool m_running = false;
};

} // namespace opsdeck::api

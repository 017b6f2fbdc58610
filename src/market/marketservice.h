// MarketService: runs a MarketServer in its own "market" thread. start() and stop() are called
// from the owning thread and block only for the listen and the teardown; setFaults(), faults()
// and stats() may be called from any thread at any time.
//
//     MarketService market(settings);                 // settings.port = 0: a free port
//     const Result<quint16> port = market.start();    // then print "OPSDECK_MARKET " + baseUrl()
//     market.setFaults(faults);
//     market.stop();                                  // joins the thread within the timeout
#pragma once

#include "market/marketserver.h"

#include <QtCore/QThread>

#include <memory>

namespace opsdeck::market {

class MarketService final
{
public:
    explicit MarketService(MarketServer::Settings settings, const Clock &clock = Clock::system());
    ~MarketService();

    MarketService(const MarketService &) = delete;
    MarketService &operator=(const MarketService &) = delete;

    // Starts the thread and listens there; returns the bound port. Errors: "port_in_use"
    // (exit 4), "listen_failed". Calling it again while running returns the port.
    Result<quint16> start();
    // Closes every connection in the market thread (queued answers are dropped), then joins it.
    // Returns false if the thread did not end within timeoutMs. Idempotent.
    bool stop(int timeoutMs = 2000);

    bool isRunning() const { return m_running; }
    quint16 port() const;
    QString baseUrl() const; // "http://127.0.0.1:PORT"

    // Any thread.
    Status setFaults(const FaultSettings &faults);
    FaultSettings faults() const;
    MarketServer::Stats stats() const;
    const MarketSimulator &simulator() const;

private:
    QThread m_thread;
    std::unique_ptr<MarketServer> m_server;
    bool m_running = false;
};

} // namespace opsdeck::market

// MarketServer: the embedded exchange on loopback. Owns the MarketSimulator, the weight window,
// the MarketApi, opsdeck_api's GuardedTcpServer and its own QAbstractHttpServer front (which,
// unlike the API's, may hold an answer back: injected latency and stalls are per-connection
// queues drained by precise timers, so the thread never sleeps and answers stay in order).
// Faults: latency + jitter, a 5xx error rate, periodic stalls, the weight limit; changed at run
// time by setFaults() (any thread) or by GET/PUT/DELETE /control/faults from loopback peers
// (403 otherwise). Lives in the "market" thread: construct it, move it there, then call listen()
// and shutdown() in that thread (MarketService does this).
#pragma once

#include "api/guardedtcpserver.h"
#include "api/httpreply.h"
#include "core/support/clock.h"
#include "core/support/result.h"
#include "market/faultsettings.h"
#include "market/marketapi.h"
#include "market/marketsimulator.h"
#include "market/weightwindow.h"

#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtNetwork/QHostAddress>

#include <atomic>
#include <chrono>

namespace opsdeck::market {

class MarketFront;

class MarketServer final : public QObject
{
    Q_OBJECT

public:
    struct Settings
    {
        QHostAddress bindAddress = QHostAddress::LocalHost;
        quint16 port = 0; // 0 = a free port
        api::GuardLimits limits = defaultLimits();
        MarketSimulator::Settings market;
        FaultSettings faults;

        static api::GuardLimits defaultLimits();
    };

    struct Stats
    {
        quint64 requests = 0;       // answered or queued, control requests included
        quint64 rateLimited = 0;    // 429s
        quint64 injectedErrors = 0; // 500/503 from the error rate
        quint64 delayed = 0;        // answers held back by latency or a stall
    };

    // The clock drives prices and the weight window; it must outlive the server. Injected
    // latency and stalls always run on real (steady) time.
    explicit MarketServer(Settings settings,
                          const Clock &clock = Clock::system(),
                          QObject *parent = nullptr);
    ~MarketServer() override;

    // In the market thread. Fails with "port_in_use" or "listen_failed".
    Result<quint16> listen();
    // In the market thread: closes the listener and every connection; queued answers are dropped.
    void shutdown();

    quint16 port() const { return m_port; }
    QString baseUrl() const;
    const MarketSimulator &simulator() const { return m_simulator; }

    // Any thread.
    FaultSettings faults() const;
    Status setFaults(const FaultSettings &faults); // "invalid_fault_settings" leaves them as they were
    Stats stats() const;

    // The answer to one parsed request (control endpoint, weights, injected errors and the
    // X-MBX-USED-WEIGHT-1M header), before any delay. `holdMs` receives how long it must be
    // held back (latency, jitter, stall). Public for tests; market thread.
    api::HttpReply handle(const api::ApiRequest &request, const QHostAddress &peer, int *holdMs = nullptr);

private:
    api::HttpReply control(const api::ApiRequest &request, const QHostAddress &peer);
    int holdFor(const FaultSettings &faults, quint64 requestIndex) const;

    Settings m_settings;
    const FaultSettings m_initialFaults;
    MarketSimulator m_simulator;
    WeightWindow m_weights;
    MarketApi m_api;
    MarketFront *m_front = nullptr;
    quint16 m_port = 0;

    mutable QMutex m_faultMutex;
    FaultSettings m_faults;
    std::chrono::steady_clock::time_point m_stallOrigin;

    std::atomic<quint64> m_requests{0};
    std::atomic<quint64> m_rateLimited{0};
    std::atomic<quint64> m_injectedErrors{0};
    std::atomic<quint64> m_delayed{0};

    friend class MarketFront;
};

} // namespace opsdeck::market

// The API's security policy, in one place: who may call (the API key, in constant time), how
// failed attempts are slowed (FailureThrottle), and which browser origins get CORS answers.
// ApiServer owns one ApiAuth and consults it from its route table's auth hook and its handle();
// everything here runs in the api thread (FailureThrottle itself is a plain value, any thread
// that owns it). The listeners (GuardedTcpServer / GuardedSslServer) are not part of this.
#pragma once

#include "api/httpreply.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QHash>

#include <unordered_map>
#include <QtCore/QStringList>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslConfiguration>

#include <chrono>
#include <optional>

namespace opsdeck::api {

// How a failed authentication slows the next answers to the same client address: the first
// failure is answered at once, then 100 ms, 200, 400 ... up to `max`. Every `quietDecay`
// without a failure forgives one; a success forgives half. Every loopback address counts as
// one client (Qt 6.4 gives no peer port, and local processes are indistinguishable anyway), so
// there are no bans or lock-outs, only delays.
struct FailureDelayPolicy
{
    std::chrono::milliseconds first{100};
    std::chrono::milliseconds max{5000};
    std::chrono::milliseconds quietDecay{10'000};
    int maxTrackedClients = 4096; // beyond it the calmest clients are forgotten
};

// ApiServer::Settings::security. Secure by default: a key is required, and without one every
// guarded route answers 401.
struct SecuritySettings
{
    bool requireKey = true;      // false only with a loopback bind ([api] auth = off)
    QByteArray apiKey;           // the data dir's api-key
    bool allowPlainHttp = false; // a non-loopback bind without TLS ([api] allow_plain_http)
    QStringList corsOrigins;     // exact origins ("https://ops.example:8443"); empty = no CORS
    QSslConfiguration tls;       // with a local certificate: HTTPS only (loadTlsConfiguration)
    FailureDelayPolicy failureDelay;

    bool useTls() const { return !tls.localCertificate().isNull(); }
};

// The exposure rules (also checked as config findings, this is the server's own guard): a
// non-loopback bind needs the key, and TLS unless allowPlainHttp. Fails with "insecure_bind";
// logs a warning for every accepted risk (auth off, plain HTTP off loopback, no key).
Status approveExposure(const QHostAddress &bind, const SecuritySettings &security);

// One parsed request's complete answer, and how long to hold it back (failed authentication).
struct ApiAnswer
{
    HttpReply reply;
    std::chrono::milliseconds delay{0};
};

class FailureThrottle final
{
public:
    FailureThrottle(FailureDelayPolicy policy, const Clock &clock);

    // Records a failed attempt; returns how long to hold back its answer.
    std::chrono::milliseconds recordFailure(const QHostAddress &client);
    void recordSuccess(const QHostAddress &client);
    // The delay the next failure of `client` would get.
    std::chrono::milliseconds nextDelay(const QHostAddress &client) const;
    int trackedClients() const { return int(m_clients.size()); }

    // The key clients are counted under: every loopback address (127/8, ::1, ::ffff:127.x) is one.
    static QString clientKey(const QHostAddress &client);

private:
    struct Entry
    {
        int failures = 0;
        Clock::MonoTime lastChange{};
    };
    int decayedFailures(const Entry &entry, Clock::MonoTime now) const;
    std::chrono::milliseconds delayFor(int previousFailures) const;
    void evictIfFull();

    FailureDelayPolicy m_policy;
    const Clock &m_clock;
    // std::unordered_map, not QHash: GCC 12 at -O2 reports a false null dereference inside
    // qhash.h for this use (-Werror=null-dereference in the RelWithDebInfo build).
    std::unordered_map<QString, Entry> m_clients;
};

class ApiAuth final
{
public:
    ApiAuth(SecuritySettings settings, const Clock &clock);

    const SecuritySettings &settings() const { return m_settings; }

    // The request context the route table's hook cannot see: ApiServer names the client before
    // dispatching and collects the delay its outcome earned afterwards.
    void beginRequest(const QHostAddress &client);
    std::chrono::milliseconds endRequest();

    // The auth hook: nullopt lets the request through, else the 401 to send (the same answer for
    // a missing and a wrong key). X-API-Key wins over Authorization: Bearer when both are sent.
    std::optional<HttpReply> check(const ApiRequest &request);

    // CORS. A request with an Origin header that is not configured is refused with 403 (a
    // browser page must not drive the API, even with auth = off); an allowed one gets
    // Access-Control-Allow-Origin with exactly its origin (never "*"), preflights get methods,
    // headers and max-age. Without an Origin header nothing changes.
    std::optional<HttpReply> refuseOrigin(const ApiRequest &request) const;
    void addCorsHeaders(const ApiRequest &request, HttpReply &reply) const;

    const FailureThrottle &throttle() const { return m_throttle; }

private:
    SecuritySettings m_settings;
    FailureThrottle m_throttle;
    QHostAddress m_client = QHostAddress(QHostAddress::LocalHost);
    std::chrono::milliseconds m_pendingDelay{0};
};

} // namespace opsdeck::api

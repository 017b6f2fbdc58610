#include "api/apiauth.h"

#include "api/apikey.h"
#include "core/support/logging.h"

#include <algorithm>

namespace opsdeck::api {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// FailureThrottle

FailureThrottle::FailureThrottle(FailureDelayPolicy policy, const Clock &clock)
    : m_policy(policy)
    , m_clock(clock)
{}

QString FailureThrottle::clientKey(const QHostAddress &client)
{
    bool isV4 = false;
    const quint32 v4 = client.toIPv4Address(&isV4); // also unwraps ::ffff:a.b.c.d
    if (client.isLoopback() || (isV4 && (v4 >> 24) == 127))
        return QStringLiteral("loopback");
    return isV4 ? QHostAddress(v4).toString() : client.toString();
}

int FailureThrottle::decayedFailures(const Entry &entry, Clock::MonoTime now) const
{
    const auto quiet = now - entry.lastChange;
    const auto steps = m_policy.quietDecay.count() > 0 ? quiet / m_policy.quietDecay : 0;
    return int(std::max<qint64>(0, entry.failures - qint64(steps)));
}

milliseconds FailureThrottle::delayFor(int previousFailures) const
{
    if (previousFailures <= 0)
        return milliseconds(0);
    const int doublings = std::min(previousFailures - 1, 30);
    const qint64 ms = std::min<qint64>(m_policy.first.count() << doublings, m_policy.max.count());
    return milliseconds(ms);
}

milliseconds FailureThrottle::nextDelay(const QHostAddress &client) const
{
    const auto it = m_clients.find(clientKey(client));
    if (it == m_clients.end())
        return milliseconds(0);
    return delayFor(decayedFailures(it->second, m_clock.monotonic()));
}

milliseconds FailureThrottle::recordFailure(const QHostAddress &client)
{
    const QString key = clientKey(client);
    if (m_clients.find(key) == m_clients.end())
        evictIfFull();
    Entry &entry = m_clients[key];
    const Clock::MonoTime now = m_clock.monotonic();
    const int previous = decayedFailures(entry, now);
    entry.failures = std::min(previous + 1, 1000);
    entry.lastChange = now;
    return delayFor(previous);
}

void FailureThrottle::recordSuccess(const QHostAddress &client)
{
    const auto it = m_clients.find(clientKey(client));
    if (it == m_clients.end())
        return;
    const Clock::MonoTime now = m_clock.monotonic();
    Entry &entry = it->second;
    entry.failures = decayedFailures(entry, now) / 2;
    entry.lastChange = now;
    if (entry.failures == 0)
        m_clients.erase(it);
}

void FailureThrottle::evictIfFull()
{
    if (m_clients.size() < size_t(m_policy.maxTrackedClients))
        return;
    // Forget everyone already forgiven; if that is nobody, the one quiet for longest.
    const Clock::MonoTime now = m_clock.monotonic();
    for (auto it = m_clients.begin(); it != m_clients.end();) {
        if (decayedFailures(it->second, now) == 0)
            it = m_clients.erase(it);
        else
            ++it;
    }
    if (m_clients.size() < size_t(m_policy.maxTrackedClients))
        return;
    auto oldest = std::min_element(m_clients.begin(), m_clients.end(), [](const auto &a, const auto &b) {
        return a.second.lastChange < b.second.lastChange;
    });
    m_clients.erase(oldest);
}

// ---------------------------------------------------------------------------------------------
// Exposure

Status approveExposure(const QHostAddress &bind, const SecuritySettings &security)
{
    const bool loopback = bind.isLoopback();
    const QString where = bind.toString();
    if (!loopback && !security.requireKey) {
        return fail(QStringLiteral("insecure_bind"),
                    QStringLiteral("The API on %1 (not loopback) would need no key: auth = off is "
                                   "only allowed with a loopback api_bind.")
                        .arg(where));
    }
    if (!loopback && !security.useTls() && !security.allowPlainHttp) {
        return fail(QStringLiteral("insecure_bind"),
                    QStringLiteral("The API on %1 (not loopback) needs TLS (tls_cert and tls_key) "
                                   "or allow_plain_http = true.")
                        .arg(where));
    }
    if (!security.requireKey) {
        qCWarning(lcApi,
                  "API authentication is off ([api] auth = off): every local process and "
                  "user can use the API on %s",
                  qUtf8Printable(where));
    } else if (security.apiKey.isEmpty()) {
        qCWarning(lcApi, "No API key is set: every API route but /health answers 401");
    }
    if (!loopback && !security.useTls()) {
        qCWarning(lcApi,
                  "The API on %s is plain HTTP off loopback ([api] allow_plain_http = "
                  "true): the API key and all data cross the network unencrypted",
                  qUtf8Printable(where));
    }
    return ok();
}

// ---------------------------------------------------------------------------------------------
// ApiAuth

namespace {

// The credential a request carries: X-API-Key, else the token of "Authorization: Bearer".
std::optional<QByteArray> presentedKey(const ApiRequest &request)
{
    for (const auto &[name, value] : request.headers) {
        if (name == "x-api-key")
            return value.trimmed();
    }
    const QByteArray authorization = request.header("authorization").trimmed();
    if (authorization.size() > 7 && authorization.left(7).toLower() == "bearer ")
        return authorization.mid(7).trimmed();
    return std::nullopt;
}

} // namespace

ApiAuth::ApiAuth(SecuritySettings settings, const Clock &clock)
    : m_settings(std::move(settings))
    , m_throttle(m_settings.failureDelay, clock)
{}

void ApiAuth::beginRequest(const QHostAddress &client)
{
    m_client = client;
    m_pendingDelay = milliseconds(0);
}

milliseconds ApiAuth::endRequest()
{
    return std::exchange(m_pendingDelay, milliseconds(0));
}

std::optional<HttpReply> ApiAuth::check(const ApiRequest &request)
{
    if (!m_settings.requireKey)
        return std::nullopt;
    const std::optional<QByteArray> presented = presentedKey(request);
    // No key configured: nothing matches (fail closed), not even an empty credential.
    const bool valid = presented && !m_settings.apiKey.isEmpty()
                       && constantTimeEquals(*presented, m_settings.apiKey);
    if (valid) {
        m_throttle.recordSuccess(m_client);
        return std::nullopt;
    }
    m_pendingDelay = m_throttle.recordFailure(m_client);
    qCInfo(lcApi, "Refused %s %s from %s: missing or wrong API key (answer delayed %lld ms)",
           request.method.constData(), qUtf8Printable(request.path),
           qUtf8Printable(m_client.toString()), qlonglong(m_pendingDelay.count()));
    HttpReply reply = HttpReply::error(
        401, QStringLiteral("unauthorized"),
        QStringLiteral("This endpoint needs the API key: send it as \"X-API-Key: KEY\" or "
                       "\"Authorization: Bearer KEY\" (opsdeck --show-api-key prints it)."));
    reply.headers.append(
        {QByteArrayLiteral("WWW-Authenticate"), QByteArrayLiteral("Bearer realm=\"opsdeck\"")});
    return reply;
}

std::optional<HttpReply> ApiAuth::refuseOrigin(const ApiRequest &request) const
{
    const QByteArray origin = request.header("origin");
    if (origin.isEmpty() || m_settings.corsOrigins.contains(QString::fromLatin1(origin)))
        return std::nullopt;
    return HttpReply::error(403, QStringLiteral("origin_not_allowed"),
                            QStringLiteral("Requests from web pages are refused unless their "
                                           "origin is listed in [api] cors_origins."),
                            {{QStringLiteral("origin"), QString::fromLatin1(origin)}});
}

void ApiAuth::addCorsHeaders(const ApiRequest &request, HttpReply &reply) const
{
    const QByteArray origin = request.header("origin");
    if (origin.isEmpty() || !m_settings.corsOrigins.contains(QString::fromLatin1(origin)))
        return;
    reply.headers.append({QByteArrayLiteral("Access-Control-Allow-Origin"), origin});
    reply.headers.append({QByteArrayLiteral("Vary"), QByteArrayLiteral("Origin")});
    if (request.method == "OPTIONS" && !request.header("access-control-request-method").isEmpty()) {
        QByteArray allow;
        for (const auto &[name, value] : reply.headers) {
            if (name == "Allow")
                allow = value;
        }
        if (!allow.isEmpty())
            reply.headers.append({QByteArrayLiteral("Access-Control-Allow-Methods"), allow});
        reply.headers.append({QByteArrayLiteral("Access-Control-Allow-Headers"),
                              QByteArrayLiteral("X-API-Key, Authorization, Content-Type")});
        reply.headers.append(
            {QByteArrayLiteral("Access-Control-Max-Age"), QByteArrayLiteral("600")});
    } else {
        reply.headers.append({QByteArrayLiteral("Access-Control-Expose-Headers"),
                              QByteArrayLiteral("Retry-After, Allow")});
    }
}

} // namespace opsdeck::api

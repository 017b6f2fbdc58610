// The API's security policy without sockets: FailureThrottle's growing, decaying delays through a
// ManualClock; the key check (X-API-Key, Bearer, missing, wrong, auth off, no key configured);
// CORS; the exposure rules; all through ApiServer::answer() where the route table takes part.
#include "api/apiauth.h"
#include "api/apiserver.h"
#include "core/monitor/performancemonitor.h"

#include <QtCore/QJsonDocument>
#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::api;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

const QByteArray kKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const QHostAddress kRemote(QStringLiteral("192.0.2.10"));
const QHostAddress kOtherRemote(QStringLiteral("192.0.2.11"));

ApiRequest request(const QByteArray &method, const QString &path, HeaderList extra = {})
{
    ApiRequest r;
    r.method = method;
    r.path = path;
    r.headers = {{"host", "127.0.0.1"}}; // not listening: no port to name
    r.headers += extra;
    return r;
}

QByteArray header(const HttpReply &reply, const QByteArray &name)
{
    for (const auto &[n, v] : reply.headers) {
        if (n.compare(name, Qt::CaseInsensitive) == 0)
            return v;
    }
    return {};
}

QString errorCode(const HttpReply &reply)
{
    return QJsonDocument::fromJson(reply.body).object()[u"error"][u"code"].toString();
}

SystemProbe::Options probeOptions()
{
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    return options;
}

} // namespace

class TstApiAuth : public QObject
{
    Q_OBJECT

    std::unique_ptr<PerformanceMonitor> m_monitor;
    ManualClock m_clock;

    std::unique_ptr<ApiServer> server(SecuritySettings security)
    {
        ApiServer::Settings settings;
        settings.port = 0; // never listens: answer() only
        settings.security = std::move(security);
        auto s = std::make_unique<ApiServer>(settings, *m_monitor, m_clock);
        return s;
    }

    static SecuritySettings withKey()
    {
        SecuritySettings security;
        security.apiKey = kKey;
        return security;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_monitor = std::make_unique<PerformanceMonitor>(probeOptions(), PerformanceMonitor::Settings{});
    }
    void cleanupTestCase() { m_monitor.reset(); }

    // ---- FailureThrottle ----------------------------------------------------------------

    void delaysGrowAndAreCapped()
    {
        ManualClock clock;
        FailureThrottle throttle(FailureDelayPolicy{}, clock);
        const QList<qint64> expected{0, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
        for (qint64 want : expected) {
            QCOMPARE(throttle.nextDelay(kRemote).count(), want);
            QCOMPARE(throttle.recordFailure(kRemote).count(), want);
            clock.advance(1ms);
        }
        // Another address is not slowed by this one's failures.
        QCOMPARE(throttle.recordFailure(kOtherRemote).count(), 0);
        QCOMPARE(throttle.trackedClients(), 2);
    }

    void quietTimeForgivesOneStepPerInterval()
    {
        ManualClock clock;
        FailureThrottle throttle(FailureDelayPolicy{}, clock);
        for (int i = 0; i < 4; ++i)
            throttle.recordFailure(kRemote); // 4 failures: the next is delayed 800 ms
        QCOMPARE(throttle.nextDelay(kRemote).count(), 800);
        clock.advance(9999ms);
        QCOMPARE(throttle.nextDelay(kRemote).count(), 800);
        clock.advance(1ms); // 10 s quiet: 3 failures left
        QCOMPARE(throttle.nextDelay(kRemote).count(), 400);
        clock.advance(30s); // all forgiven
        QCOMPARE(throttle.nextDelay(kRemote).count(), 0);
        QCOMPARE(throttle.recordFailure(kRemote).count(), 0);
    }

    void successForgivesHalf()
    {
        ManualClock clock;
        FailureThrottle throttle(FailureDelayPolicy{}, clock);
        for (int i = 0; i < 6; ++i)
            throttle.recordFailure(kRemote);
        QCOMPARE(throttle.nextDelay(kRemote).count(), 3200);
        throttle.recordSuccess(kRemote); // 6 -> 3
        QCOMPARE(throttle.nextDelay(kRemote).count(), 400);
        throttle.recordSuccess(kRemote); // 3 -> 1
        throttle.recordSuccess(kRemote); // 1 -> 0: forgotten
        QCOMPARE(throttle.nextDelay(kRemote).count(), 0);
        QCOMPARE(throttle.trackedClients(), 0);
    }

    void loopbackAddressesAreOneClient_data()
    {
        QTest::addColumn<QString>("address");
        QTest::addColumn<QString>("key");
        QTest::newRow("127.0.0.1") << QStringLiteral("127.0.0.1") << QStringLiteral("loopback");
        QTest::newRow("127.1.2.3") << QStringLiteral("127.1.2.3") << QStringLiteral("loopback");
        QTest::newRow("::1") << QStringLiteral("::1") << QStringLiteral("loopback");
        QTest::newRow("mapped") << QStringLiteral("::ffff:127.0.0.1") << QStringLiteral("loopback");
        QTest::newRow("remote v4") << QStringLiteral("192.0.2.10") << QStringLiteral("192.0.2.10");
        QTest::newRow("mapped remote") << QStringLiteral("::ffff:192.0.2.10") << QStringLiteral("192.0.2.10");
        QTest::newRow("remote v6") << QStringLiteral("2001:db8::1") << QStringLiteral("2001:db8::1");
    }
    void loopbackAddressesAreOneClient()
    {
        QFETCH(QString, address);
        QFETCH(QString, key);
        QCOMPARE(FailureThrottle::clientKey(QHostAddress(address)), key);
    }

    void loopbackIsDelayedNeverBanned()
    {
        ManualClock clock;
        FailureThrottle throttle(FailureDelayPolicy{}, clock);
        for (int i = 0; i < 100; ++i)
            throttle.recordFailure(QHostAddress(i % 2 ? QStringLiteral("127.0.0.1") : QStringLiteral("::1")));
        QCOMPARE(throttle.trackedClients(), 1);
        QCOMPARE(throttle.nextDelay(QHostAddress::LocalHost).count(), 5000); // capped, not refused
    }

    void trackedClientsAreBounded()
    {
        ManualClock clock;
        FailureDelayPolicy policy;
        policy.maxTrackedClients = 8;
        FailureThrottle throttle(policy, clock);
        for (quint32 i = 0; i < 100; ++i) {
            throttle.recordFailure(QHostAddress(0xC0000200u + i)); // 192.0.2.x
            clock.advance(1ms);
        }
        QCOMPARE(throttle.trackedClients(), 8);
        // The most recent one is still remembered.
        QCOMPARE(throttle.nextDelay(QHostAddress(0xC0000200u + 99)).count(), 100);
    }

    // ---- The key check through the route table -----------------------------------------

    void keyIsRequired_data()
    {
        QTest::addColumn<HeaderList>("headers");
        QTest::addColumn<int>("status");
        QTest::newRow("no key") << HeaderList{} << 401;
        QTest::newRow("x-api-key") << HeaderList{{"x-api-key", kKey}} << 200;
        QTest::newRow("x-api-key padded") << HeaderList{{"x-api-key", " " + kKey + " "}} << 200;
        QTest::newRow("bearer") << HeaderList{{"authorization", "Bearer " + kKey}} << 200;
        QTest::newRow("bearer any case") << HeaderList{{"authorization", "bEaReR " + kKey}} << 200;
        QTest::newRow("wrong key") << HeaderList{{"x-api-key", QByteArray(kKey).replace('0', '1')}} << 401;
        QTest::newRow("prefix of key") << HeaderList{{"x-api-key", kKey.left(63)}} << 401;
        QTest::newRow("empty key") << HeaderList{{"x-api-key", ""}} << 401;
        QTest::newRow("basic scheme") << HeaderList{{"authorization", "Basic " + kKey}} << 401;
        QTest::newRow("bearer without token") << HeaderList{{"authorization", "Bearer"}} << 401;
        QTest::newRow("x-api-key wins") << HeaderList{{"x-api-key", "wrong"}, {"authorization", "Bearer " + kKey}} << 401;
    }
    void keyIsRequired()
    {
        QFETCH(HeaderList, headers);
        QFETCH(int, status);
        auto api = server(withKey());
        const HttpReply reply = api->answer(request("GET", QStringLiteral("/agents"), headers), kRemote).reply;
        // /agents without an AgentControl answers 503 once through the door.
        QCOMPARE(reply.status == 503 ? 200 : reply.status, status);
        if (status == 401) {
            QCOMPARE(header(reply, "WWW-Authenticate"), QByteArray("Bearer realm=\"opsdeck\""));
            QCOMPARE(errorCode(reply), QStringLiteral("unauthorized"));
        }
    }

    void refusalsGiveNoHint()
    {
        auto api = server(withKey());
        const HttpReply missing = api->answer(request("GET", QStringLiteral("/agents")), kRemote).reply;
        const HttpReply wrong = api->answer(request("GET", QStringLiteral("/agents"), {{"x-api-key", "x"}}), kRemote).reply;
        const HttpReply bearer = api->answer(request("GET", QStringLiteral("/agents"), {{"authorization", "Bearer nope"}}), kRemote).reply;
        QCOMPARE(missing.body, wrong.body);
        QCOMPARE(missing.body, bearer.body);
        QCOMPARE(missing.headers, wrong.headers);
        const QJsonObject error = QJsonDocument::fromJson(missing.body).object()[u"error"].toObject();
        QVERIFY(!error[u"message"].toString().isEmpty());
        QVERIFY(!missing.body.contains(kKey.left(8)));
    }

    void everyGuardedRouteNeedsTheKeyButHealth()
    {
        auto api = server(withKey());
        int guarded = 0;
        for (const Route &route : api->routes().routes()) {
            QString path = route.pattern;
            path.replace(QRegularExpression(QStringLiteral("\\{[^}]+\\}")), QStringLiteral("1"));
            const HttpReply reply = api->answer(request(route.method, path), kRemote).reply;
            if (route.pattern == u"/health") {
                QVERIFY(route.isPublic);
                QCOMPARE(reply.status, 200);
                continue;
            }
            QVERIFY2(!route.isPublic, qPrintable(route.pattern));
            QVERIFY2(reply.status == 401, qPrintable(QString::fromLatin1(route.method) + u' ' + route.pattern));
            ++guarded;
            // ... also under /api/v1/.
            QCOMPARE(api->answer(request(route.method, RouteTable::kVersionPrefix + path), kRemote).reply.status, 401);
        }
        QVERIFY(guarded >= 3);
    }

    void noConfiguredKeyFailsClosed()
    {
        auto api = server(SecuritySettings{}); // requireKey, no key
        QCOMPARE(api->answer(request("GET", QStringLiteral("/agents")), kRemote).reply.status, 401);
        QCOMPARE(api->answer(request("GET", QStringLiteral("/agents"), {{"x-api-key", ""}}), kRemote).reply.status, 401);
        QCOMPARE(api->answer(request("GET", QStringLiteral("/health")), kRemote).reply.status, 200);
    }

    void authOffLetsEverythingThrough()
    {
        SecuritySettings security;
        security.requireKey = false;
        auto api = server(security);
        QCOMPARE(api->answer(request("GET", QStringLiteral("/agents")), QHostAddress::LocalHost).reply.status, 503);
    }

    void failedAttemptsAreDelayedPerClient()
    {
        auto api = server(withKey());
        const auto attempt = [&](const QHostAddress &client, const QByteArray &key) {
            return api->answer(request("GET", QStringLiteral("/agents"), {{"x-api-key", key}}), client);
        };
        QCOMPARE(attempt(kRemote, "bad").delay.count(), 0);
        QCOMPARE(attempt(kRemote, "bad").delay.count(), 100);
        QCOMPARE(attempt(kRemote, "bad").delay.count(), 200);
        QCOMPARE(attempt(kOtherRemote, "bad").delay.count(), 0);
        // A success is never delayed, and forgives half (3 -> 1).
        const ApiAnswer good = attempt(kRemote, kKey);
        QCOMPARE(good.delay.count(), 0);
        QCOMPARE(good.reply.status, 503);
        QCOMPARE(attempt(kRemote, "bad").delay.count(), 100);
        // Quiet time forgives (the injected clock).
        m_clock.advance(60s);
        QCOMPARE(attempt(kRemote, "bad").delay.count(), 0);
        // /health and 404s are not attempts.
        QCOMPARE(api->answer(request("GET", QStringLiteral("/health")), kRemote).delay.count(), 0);
        QCOMPARE(api->answer(request("GET", QStringLiteral("/nope")), kRemote).reply.status, 404);
        QCOMPARE(attempt(kRemote, "bad").delay.count(), 100);
    }

    // ---- CORS -----------------------------------------------------------------------------

    void noCorsUnlessConfigured()
    {
        auto api = server(withKey());
        const HttpReply plain = api->answer(request("GET", QStringLiteral("/health")), kRemote).reply;
        QVERIFY(header(plain, "Access-Control-Allow-Origin").isEmpty());
        // A web page's request is refused outright (CSRF with auth off; no CORS headers).
        const HttpReply page = api->answer(request("GET", QStringLiteral("/health"), {{"origin", "https://evil.example"}}), kRemote).reply;
        QCOMPARE(page.status, 403);
        QCOMPARE(errorCode(page), QStringLiteral("origin_not_allowed"));
        for (const auto &[name, value] : page.headers)
            QVERIFY2(!name.startsWith("Access-Control"), name.constData());
        const HttpReply preflight = api->answer(
            request("OPTIONS", QStringLiteral("/agents"), {{"origin", "https://evil.example"}, {"access-control-request-method", "GET"}}),
            kRemote).reply;
        QCOMPARE(preflight.status, 403);
    }

    void configuredOriginGetsExactCorsHeaders()
    {
        SecuritySettings security = withKey();
        security.corsOrigins = {QStringLiteral("https://ops.example:8443")};
        auto api = server(security);
        const HeaderList origin{{"origin", "https://ops.example:8443"}};
        // Preflight: no key needed, methods of the path, our headers.
        const HttpReply preflight = api->answer(
            request("OPTIONS", QStringLiteral("/agents/mm1/start"), origin + HeaderList{{"access-control-request-method", "POST"}}),
            kRemote).reply;
        QCOMPARE(preflight.status, 204);
        QCOMPARE(header(preflight, "Access-Control-Allow-Origin"), QByteArray("https://ops.example:8443"));
        QCOMPARE(header(preflight, "Access-Control-Allow-Methods"), QByteArray("POST, OPTIONS"));
        QVERIFY(header(preflight, "Access-Control-Allow-Headers").contains("X-API-Key"));
        QVERIFY(header(preflight, "Access-Control-Allow-Headers").contains("Authorization"));
        QCOMPARE(header(preflight, "Vary"), QByteArray("Origin"));
        // The actual request still needs the key; its answers (401 included) carry the origin.
        const HttpReply refused = api->answer(request("GET", QStringLiteral("/agents"), origin), kRemote).reply;
        QCOMPARE(refused.status, 401);
        QCOMPARE(header(refused, "Access-Control-Allow-Origin"), QByteArray("https://ops.example:8443"));
        const HttpReply allowed = api->answer(request("GET", QStringLiteral("/agents"), origin + HeaderList{{"x-api-key", kKey}}), kRemote).reply;
        QCOMPARE(allowed.status, 503);
        QCOMPARE(header(allowed, "Access-Control-Allow-Origin"), QByteArray("https://ops.example:8443"));
        QVERIFY(header(allowed, "Access-Control-Allow-Credentials").isEmpty());
        // Exact match only: scheme, host and port.
        for (const QByteArray &other : {QByteArray("http://ops.example:8443"), QByteArray("https://ops.example"),
                                       QByteArray("https://ops.example:8443.evil"), QByteArray("null")}) {
            const HttpReply r = api->answer(request("GET", QStringLiteral("/health"), {{"origin", other}}), kRemote).reply;
            QCOMPARE(r.status, 403);
            QVERIFY(header(r, "Access-Control-Allow-Origin").isEmpty());
        }
    }

    void hostCheckComesFirst()
    {
        auto api = server(withKey());
        ApiRequest r = request("GET", QStringLiteral("/agents"), {{"x-api-key", kKey}});
        r.headers[0].second = "evil.example:8765";
        QCOMPARE(api->answer(r, kRemote).reply.status, 421);
    }

    // ---- Exposure ---------------------------------------------------------------------------

    void exposureRules_data()
    {
        QTest::addColumn<QString>("bind");
        QTest::addColumn<bool>("requireKey");
        QTest::addColumn<bool>("allowPlain");
        QTest::addColumn<bool>("ok");
        QTest::newRow("loopback default") << QStringLiteral("127.0.0.1") << true << false << true;
        QTest::newRow("loopback auth off") << QStringLiteral("127.0.0.1") << false << false << true;
        QTest::newRow("::1 auth off") << QStringLiteral("::1") << false << false << true;
        QTest::newRow("any, plain") << QStringLiteral("0.0.0.0") << true << false << false;
        QTest::newRow("any, plain allowed") << QStringLiteral("0.0.0.0") << true << true << true;
        QTest::newRow("any, auth off") << QStringLiteral("0.0.0.0") << false << true << false;
        QTest::newRow("lan v6, plain") << QStringLiteral("2001:db8::1") << true << false << false;
    }
    void exposureRules()
    {
        QFETCH(QString, bind);
        QFETCH(bool, requireKey);
        QFETCH(bool, allowPlain);
        QFETCH(bool, ok);
        SecuritySettings security = withKey();
        security.requireKey = requireKey;
        security.allowPlainHttp = allowPlain;
        const Status approved = approveExposure(QHostAddress(bind), security);
        QCOMPARE(approved.has_value(), ok);
        if (!ok)
            QCOMPARE(approved.error().code, QStringLiteral("insecure_bind"));
    }
};

QTEST_GUILESS_MAIN(TstApiAuth)
#include "tst_apiauth.moc"

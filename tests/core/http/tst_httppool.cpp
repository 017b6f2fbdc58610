// Tests for HttpPool against the fault-injecting FaultServer (real sockets, real time: label
// TIMING). Waits are on futures and the server's counters, never sleeps; lower time bounds are
// exact, upper ones scale with OPSDECK_TIME_FACTOR. Covers the in-flight bound as the server sees
// it, live resizing, connection reuse, retries (what, when, how spaced), Retry-After and 429
// pauses, per-attempt and overall deadlines, priority lanes, the limiter under concurrent
// callers, the circuit breaker, stats, JSON, cancellation, shutdown and the system proxy.
#include "core/http/httppool.h"

#include "support/faultserver.h"
#include "support/testutil.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QFutureWatcher>
#include <QtCore/QJsonArray>
#include <QtCore/QMutex>
#include <QtCore/QRegularExpression>
#include <QtCore/QScopeGuard>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace opsdeck;
using namespace opsdeck::http;
using namespace opsdeck::test;
using namespace std::chrono_literals;
using namespace Qt::StringLiterals;

namespace {

using ResultFuture = QFuture<Result<HttpResponse>>;

bool waitFor(const ResultFuture &future, int timeoutMs)
{
    if (future.isFinished())
        return true;
    QFutureWatcher<Result<HttpResponse>> watcher;
    QSignalSpy spy(&watcher, &QFutureWatcherBase::finished);
    watcher.setFuture(future);
    return spy.wait(timeoutMs) || future.isFinished();
}

bool waitAll(const QList<ResultFuture> &futures, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    for (const ResultFuture &future : futures) {
        if (!waitFor(future, std::max<int>(1, timeoutMs - int(timer.elapsed()))))
            return false;
    }
    return true;
}

QString describe(const Result<HttpResponse> &result)
{
    if (result)
        return QStringLiteral("status %1").arg(result->status);
    return result.error().code + u": "_s + result.error().message;
}

HttpPoolSettings testSettings(int poolSize = 4)
{
    HttpPoolSettings settings;
    settings.poolSize = poolSize;
    settings.timeout = std::chrono::milliseconds(scaledMs(10'000));
    settings.retry.retryCount = 3;
    settings.retry.baseDelay = 2ms;
    settings.breaker.failureThreshold = 0; // off unless a test is about it
    settings.retryBudget.cap = 1000;       // likewise
    return settings;
}

const HttpApiStats *apiStats(const HttpPoolStats &stats, const QString &name)
{
    for (const HttpApiStats &api : stats.apis) {
        if (api.name == name)
            return &api;
    }
    return nullptr;
}

// Not for temporaries: the pointer points into `stats`.
const HttpApiStats *apiStats(HttpPoolStats &&stats, const QString &name) = delete;

QString breakerOf(const HttpPool &pool, const QString &api)
{
    const HttpPoolStats stats = pool.stats();
    const HttpApiStats *entry = apiStats(stats, api);
    return entry ? entry->breakerState : QString();
}

// "Sun, 06 Nov 1994 08:49:37 GMT" for a UTC time, without locale help.
QByteArray imfFixdate(qint64 msecs)
{
    static constexpr const char *kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static constexpr const char *kMonths[]
        = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(msecs, Qt::UTC);
    return QStringLiteral("%1, %2 %3 %4 %5 GMT")
        .arg(QLatin1StringView(kDays[t.date().dayOfWeek() - 1]))
        .arg(t.date().day(), 2, 10, QLatin1Char('0'))
        .arg(QLatin1StringView(kMonths[t.date().month() - 1]))
        .arg(t.date().year())
        .arg(t.time().toString(u"hh:mm:ss"))
        .toLatin1();
}

} // namespace

class TestHttpPool : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void poolBoundObservedByServer_data();
    void poolBoundObservedByServer();
    void poolResizesLive();
    void keepAliveConnectionsAreReused();
    void postIsNotRetriedUnlessOptedIn();
    void retriesRetryableStatuses_data();
    void retriesRetryableStatuses();
    void doesNotRetryOtherStatuses_data();
    void doesNotRetryOtherStatuses();
    void retriesBrokenConnections();
    void connectionErrorsExhaustRetries();
    void backoffIsSpaced();
    void retryBudgetLimitsRetries();
    void retryAfterSecondsPausesTheApi();
    void retryAfterHttpDate();
    void retryAfterBeyondDeadlineFailsAtOnce();
    void attemptDeadlineHoldsWhileServerTrickles_data();
    void attemptDeadlineHoldsWhileServerTrickles();
    void overallDeadlineCoversWaiting();
    void overallDeadlineCoversRetries();
    void deadlineErrorKeepsTheLastStatus();
    void priorityLanesGoFirst();
    void limiterHoldsForConcurrentCallers();
    void usageHeaderCorrectsTheLimiter();
    void circuitBreakerOpensAndHalfOpens();
    void errorRateCountsRequests();
    void rateLimitedApisListsOnlyThrottledApis();
    void jsonIsParsedWhenTheTypeSaysSo();
    void queryHeadersAndBodyReachTheServer();
    void invalidRequestsFailAtOnce();
    void cancelledRequestIsNotSent();
    void destructionFailsPendingRequests();
    void shutdownFailsPendingAndLaterRequests();
    void syncContinuationsMaySubmitAgain();
    void onFinishedSeesEveryOutcomeOnce();
    void apiLimitAppliesToTheNextRequest();
    void systemProxyIsHonoured();

private:
    QUrl url(const QString &path) const { return m_server->url(path); }
    HttpRequest get(const QString &path, const QString &api = {}) const
    {
        return HttpRequest::get(url(path), api);
    }

    std::unique_ptr<FaultServer> m_server;
};

void TestHttpPool::init()
{
    m_server = std::make_unique<FaultServer>();
    QVERIFY(m_server->start() != 0);
}

void TestHttpPool::cleanup()
{
    m_server.reset();
}

void TestHttpPool::poolBoundObservedByServer_data()
{
    QTest::addColumn<int>("size");
    QTest::newRow("1") << 1;
    QTest::newRow("5") << 5;
    QTest::newRow("12") << 12;
    QTest::newRow("20") << 20;
}

void TestHttpPool::poolBoundObservedByServer()
{
    QFETCH(int, size);
    m_server->addRule(FaultRule::delay(scaledMs(100)).onPrefix("/slow"));
    HttpPool pool(testSettings(size));
    QCOMPARE(pool.stats().workers, HttpPoolSettings::workerCountFor(size));
    QList<ResultFuture> futures;
    for (int i = 0; i < 3 * size; ++i)
        futures.append(pool.request(get(QStringLiteral("/slow/%1").arg(i))));
    QVERIFY(waitAll(futures, scaledMs(20'000)));
    for (const ResultFuture &future : futures) {
        QVERIFY2(future.result().has_value(), qPrintable(describe(future.result())));
        QCOMPARE(future.result()->status, 200);
    }
    QCOMPARE(m_server->requestCount(), 3 * size);
    QCOMPARE(m_server->maxConcurrentRequests(), size);
    QTRY_COMPARE(pool.stats().inFlight, 0);
    const HttpPoolStats stats = pool.stats();
    QCOMPARE(stats.requests, quint64(3 * size));
    QCOMPARE(stats.attempts, quint64(3 * size));
    QCOMPARE(stats.errors, quint64(0));
    QCOMPARE(stats.queued, 0);
    QCOMPARE(stats.poolSize, size);
}

void TestHttpPool::poolResizesLive()
{
    m_server->addRule(FaultRule::delay(scaledMs(80)).onPrefix("/slow"));
    HttpPool pool(testSettings(2));
    QList<ResultFuture> futures;
    for (int i = 0; i < 30; ++i)
        futures.append(pool.request(get(QStringLiteral("/slow/%1").arg(i))));
    QVERIFY(m_server->waitForRequests(2, scaledMs(5000)));
    QCOMPARE(m_server->maxConcurrentRequests(), 2);
    pool.setPoolSize(6); // while 28 requests are queued
    QVERIFY(waitAll(futures, scaledMs(20'000)));
    QCOMPARE(m_server->maxConcurrentRequests(), 6);
    QCOMPARE(pool.stats().workers, 2);

    const auto batch = [&](int size) {
        m_server->resetCounters();
        pool.setPoolSize(size);
        QList<ResultFuture> more;
        for (int i = 0; i < 3 * size; ++i)
            more.append(pool.request(get(QStringLiteral("/slow/%1").arg(i))));
        QVERIFY(waitAll(more, scaledMs(20'000)));
        QCOMPARE(m_server->maxConcurrentRequests(), size);
        QTRY_COMPARE(pool.stats().workers, HttpPoolSettings::workerCountFor(size));
        QCOMPARE(pool.stats().poolSize, size);
    };
    batch(13); // grows to 3 workers
    if (QTest::currentTestFailed())
        return;
    batch(3); // retires one
    if (QTest::currentTestFailed())
        return;
    batch(19); // 4 workers
}

void TestHttpPool::keepAliveConnectionsAreReused()
{
    HttpPool pool(testSettings(4));
    for (int i = 0; i < 10; ++i) {
        const ResultFuture future = pool.request(get(u"/seq"_s));
        QVERIFY(waitFor(future, scaledMs(5000)));
        QCOMPARE(future.result()->status, 200);
    }
    QCOMPARE(m_server->requestCount(), 10);
    QCOMPARE(m_server->connectionCount(), 1);

    m_server->resetCounters();
    m_server->addRule(FaultRule::delay(scaledMs(20)).onPath("/par"));
    QList<ResultFuture> futures;
    for (int i = 0; i < 40; ++i)
        futures.append(pool.request(get(u"/par"_s)));
    QVERIFY(waitAll(futures, scaledMs(10'000)));
    QCOMPARE(m_server->requestCount(), 40);
    // Two workers with at most 6 connections each, and far fewer than one per request.
    QVERIFY2(m_server->connectionCount() <= 12,
             qPrintable(QString::number(m_server->connectionCount())));
}

void TestHttpPool::postIsNotRetriedUnlessOptedIn()
{
    m_server->addRule(FaultRule::status(503).onPath("/order"));
    HttpPool pool(testSettings());
    HttpRequest post = HttpRequest::post(url(u"/order"_s), R"({"qty":1})", "application/json");
    ResultFuture future = pool.request(post);
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY(future.result().has_value());
    QCOMPARE(future.result()->status, 503);
    QCOMPARE(toString(future.result()->errorKind), toString(HttpErrorKind::HttpStatus));
    QCOMPARE(future.result()->attempts, 1);
    QCOMPARE(m_server->requestCount(), 1);
    QCOMPARE(m_server->lastRequest().body, QByteArray(R"({"qty":1})"));

    post.retryNonIdempotent = true;
    future = pool.request(post);
    QVERIFY(waitFor(future, scaledMs(5000)));
    QCOMPARE(future.result()->attempts, 4);
    QCOMPARE(m_server->requestCount(), 5);
    QTRY_COMPARE(pool.stats().errors, quint64(2));
}

void TestHttpPool::retriesRetryableStatuses_data()
{
    QTest::addColumn<int>("status");
    QTest::newRow("429") << 429;
    QTest::newRow("502") << 502;
    QTest::newRow("503") << 503;
    QTest::newRow("504") << 504;
}

void TestHttpPool::retriesRetryableStatuses()
{
    QFETCH(int, status);
    const FaultRule rule
        = status == 429 ? FaultRule::tooManyRequests("0") : FaultRule::status(status);
    m_server->addRule(rule.onPath("/flaky").forNext(2));
    HttpPool pool(testSettings());
    const ResultFuture future = pool.request(get(u"/flaky"_s));
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY2(future.result().has_value(), qPrintable(describe(future.result())));
    QCOMPARE(future.result()->status, 200);
    QCOMPARE(future.result()->attempts, 3);
    QCOMPARE(m_server->requestCount(), 3);
    const HttpPoolStats stats = pool.stats();
    QCOMPARE(stats.retries, quint64(2));
    QCOMPARE(stats.attempts, quint64(3));
    QCOMPARE(stats.statusClasses.value(status == 429 ? u"4xx"_s : u"5xx"_s), quint64(2));
    QCOMPARE(stats.statusClasses.value(u"2xx"_s), quint64(1));
}

void TestHttpPool::doesNotRetryOtherStatuses_data()
{
    QTest::addColumn<int>("status");
    QTest::newRow("500") << 500;
    QTest::newRow("404") << 404;
    QTest::newRow("400") << 400;
}

void TestHttpPool::doesNotRetryOtherStatuses()
{
    QFETCH(int, status);
    m_server->addRule(FaultRule::status(status).onPath("/x"));
    HttpPool pool(testSettings());
    const ResultFuture future = pool.request(get(u"/x"_s));
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY(future.result().has_value());
    QCOMPARE(future.result()->status, status);
    QCOMPARE(future.result()->attempts, 1);
    QCOMPARE(m_server->requestCount(), 1);
}

void TestHttpPool::retriesBrokenConnections()
{
    // The server closes half-way through the body: QNAM cannot resend that by itself.
    m_server->addRule(
        FaultRule::closeMidBody().withBody(QByteArray(100, 'x')).onPath("/cut").forNext(2));
    HttpPool pool(testSettings());
    const ResultFuture future = pool.request(get(u"/cut"_s));
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY2(future.result().has_value(), qPrintable(describe(future.result())));
    QCOMPARE(future.result()->status, 200);
    QCOMPARE(future.result()->attempts, 3);
    QCOMPARE(m_server->requestCount(), 3);
}

void TestHttpPool::connectionErrorsExhaustRetries()
{
    m_server->addRule(FaultRule::close().onPath("/drop"));
    HttpPoolSettings settings = testSettings();
    settings.retry.retryCount = 2;
    HttpPool pool(settings);
    const ResultFuture future = pool.request(get(u"/drop"_s));
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY(!future.result().has_value());
    const Error error = future.result().error();
    QCOMPARE(error.code, u"connection_error"_s);
    QCOMPARE(error.details.value(u"attempts").toInt(), 3);
    QCOMPARE(toString(httpErrorKindOf(error)), toString(HttpErrorKind::Connection));
    // QNAM itself resends a request the server dropped without a byte, so the server may count
    // more than our three attempts.
    QVERIFY(m_server->requestCount() >= 3);
    QCOMPARE(pool.stats().attempts, quint64(3));
}

void TestHttpPool::backoffIsSpaced()
{
    HttpPoolSettings settings = testSettings();
    settings.retry.baseDelay = 60ms;
    settings.random = [] {
        return 1.0;
    }; // the top of every jitter range: 60 ms, then 120 ms
    m_server->addRule(FaultRule::status(503).onPath("/b").forNext(2));
    HttpPool pool(settings);
    const ResultFuture future = pool.request(get(u"/b"_s));
    QVERIFY(waitFor(future, scaledMs(5000)));
    QCOMPARE(future.result()->status, 200);
    const QList<RecordedRequest> requests = m_server->requests();
    QCOMPARE(requests.size(), 3);
    const qint64 gap1 = (requests[1].receivedMonoNs - requests[0].receivedMonoNs) / 1'000'000;
    const qint64 gap2 = (requests[2].receivedMonoNs - requests[1].receivedMonoNs) / 1'000'000;
    QVERIFY2(gap1 >= 60 && gap1 <= 60 + scaledMs(100), qPrintable(QString::number(gap1)));
    QVERIFY2(gap2 >= 120 && gap2 <= 120 + scaledMs(100), qPrintable(QString::number(gap2)));
}

void TestHttpPool::retryBudgetLimitsRetries()
{
    HttpPoolSettings settings = testSettings(1);
    settings.retryBudget.cap = 2;
    settings.retryBudget.perSecond = 0;
    settings.retryBudget.ratio = 0;
    m_server->addRule(FaultRule::status(503).onPath("/down"));
    HttpPool pool(settings);
    QList<ResultFuture> futures;
    for (int i = 0; i < 5; ++i)
        futures.append(pool.request(get(u"/down"_s)));
    QVERIFY(waitAll(futures, scaledMs(5000)));
    QCOMPARE(m_server->requestCount(), 5 + 2);
    const HttpPoolStats stats = pool.stats();
    QCOMPARE(stats.retries, quint64(2));
    QVERIFY(stats.retriesDenied >= 1);
    for (const ResultFuture &future : futures)
        QCOMPARE(future.result()->status, 503);
}

void TestHttpPool::retryAfterSecondsPausesTheApi()
{
    m_server->addRule(FaultRule::tooManyRequests("1").onPath("/limited").forNext(1));
    HttpPool pool(testSettings());
    const ResultFuture first = pool.request(get(u"/limited"_s, u"ex"_s));
    QTRY_VERIFY_WITH_TIMEOUT(pool.stats().rateLimitedApis.contains(u"ex"_s), scaledMs(3000));
    // Another request of the paused api waits too; another api does not.
    const ResultFuture second = pool.request(get(u"/second"_s, u"ex"_s));
    const ResultFuture other = pool.request(get(u"/other"_s, u"other"_s));
    QVERIFY(waitFor(other, scaledMs(800)));
    QCOMPARE(other.result()->status, 200);
    QVERIFY(!second.isFinished());
    QCOMPARE(pool.stats().rateLimitedApis, QStringList{u"ex"_s});

    QVERIFY(waitAll({first, second}, scaledMs(5000)));
    QCOMPARE(first.result()->status, 200);
    QCOMPARE(first.result()->attempts, 2);
    QCOMPARE(second.result()->status, 200);
    const QList<RecordedRequest> requests = m_server->requests();
    QCOMPARE(requests.size(), 4);
    QCOMPARE(requests[0].path, QByteArray("/limited"));
    QCOMPARE(requests[1].path, QByteArray("/other"));
    for (int i = 2; i < 4; ++i) {
        const qint64 waitedMs
            = (requests[i].receivedMonoNs - requests[0].receivedMonoNs) / 1'000'000;
        QVERIFY2(waitedMs >= 1000, qPrintable(QString::number(waitedMs)));
        QVERIFY2(waitedMs <= 1000 + scaledMs(200), qPrintable(QString::number(waitedMs)));
    }
    QTRY_VERIFY(pool.stats().rateLimitedApis.isEmpty());
}

void TestHttpPool::retryAfterHttpDate()
{
    // Two whole seconds ahead at most, one at least (HTTP dates have second resolution).
    const qint64 sentWall = QDateTime::currentMSecsSinceEpoch();
    const qint64 targetWall = (sentWall / 1000 + 2) * 1000;
    m_server->addRule(FaultRule::tooManyRequests(imfFixdate(targetWall)).onPath("/d").forNext(1));
    HttpPool pool(testSettings());
    const ResultFuture future = pool.request(get(u"/d"_s));
    QVERIFY(waitFor(future, scaledMs(6000)));
    QVERIFY2(future.result().has_value(), qPrintable(describe(future.result())));
    QCOMPARE(future.result()->attempts, 2);
    const QList<RecordedRequest> requests = m_server->requests();
    QCOMPARE(requests.size(), 2);
    const qint64 waitedMs = (requests[1].receivedMonoNs - requests[0].receivedMonoNs) / 1'000'000;
    QVERIFY2(waitedMs >= targetWall - sentWall - 50, qPrintable(QString::number(waitedMs)));
    QVERIFY2(waitedMs <= 2000 + scaledMs(200), qPrintable(QString::number(waitedMs)));
}

void TestHttpPool::retryAfterBeyondDeadlineFailsAtOnce()
{
    m_server->addRule(FaultRule::tooManyRequests("30").onPath("/long"));
    HttpPool pool(testSettings());
    HttpRequest request = get(u"/long"_s, u"slowex"_s);
    request.deadline = 2000ms;
    QElapsedTimer timer;
    timer.start();
    ResultFuture future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY(timer.elapsed() < scaledMs(1000));
    QVERIFY(!future.result().has_value());
    QCOMPARE(future.result().error().code, u"rate_limited"_s);
    QCOMPARE(future.result().error().details.value(u"status").toInt(), 429);
    QCOMPARE(m_server->requestCount(), 1);

    // The api is paused for 30 s: the next request with a deadline fails without being sent.
    QTRY_VERIFY(pool.stats().rateLimitedApis.contains(u"slowex"_s));
    future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(1000)));
    QCOMPARE(future.result().error().code, u"rate_limited"_s);
    QCOMPARE(future.result().error().details.value(u"attempts").toInt(), 0);
    QCOMPARE(m_server->requestCount(), 1);
}

void TestHttpPool::attemptDeadlineHoldsWhileServerTrickles_data()
{
    QTest::addColumn<int>("timeoutMs");
    QTest::newRow("250 ms") << 250;
    QTest::newRow("600 ms") << 600;
}

void TestHttpPool::attemptDeadlineHoldsWhileServerTrickles()
{
    QFETCH(int, timeoutMs);
    // 10 bytes every 20 ms: never idle long enough for an inactivity timeout.
    m_server->addRule(FaultRule::trickle(QByteArray(4000, 'x'), 10, 20).onPath("/trickle"));
    HttpPoolSettings settings = testSettings();
    settings.timeout = std::chrono::milliseconds(timeoutMs);
    settings.retry.retryCount = 0;
    HttpPool pool(settings);
    QVERIFY(waitFor(pool.request(get(u"/warm"_s)), scaledMs(5000)));

    QElapsedTimer timer;
    timer.start();
    const ResultFuture future = pool.request(get(u"/trickle"_s));
    QVERIFY(waitFor(future, scaledMs(5000)));
    const qint64 elapsed = timer.elapsed();
    QVERIFY(!future.result().has_value());
    QCOMPARE(future.result().error().code, u"timeout"_s);
    QVERIFY2(elapsed >= timeoutMs, qPrintable(QString::number(elapsed)));
    QVERIFY2(elapsed <= timeoutMs + scaledMs(50), qPrintable(QString::number(elapsed)));
    QVERIFY(future.result().error().details.value(u"elapsed_ms").toDouble() >= timeoutMs);
}

void TestHttpPool::overallDeadlineCoversWaiting()
{
    m_server->addRule(FaultRule::hang().onPath("/hang"));
    HttpPool pool(testSettings());
    QVERIFY(waitFor(pool.request(get(u"/warm"_s)), scaledMs(5000)));
    HttpRequest request = get(u"/hang"_s);
    request.deadline = 400ms; // the attempt timeout is 10 s
    QElapsedTimer timer;
    timer.start();
    const ResultFuture future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(5000)));
    const qint64 elapsed = timer.elapsed();
    QVERIFY(!future.result().has_value());
    QCOMPARE(future.result().error().code, u"deadline_exceeded"_s);
    QVERIFY2(elapsed >= 400 && elapsed <= 400 + scaledMs(50), qPrintable(QString::number(elapsed)));
}

void TestHttpPool::overallDeadlineCoversRetries()
{
    m_server->addRule(FaultRule::status(503).onPath("/down"));
    HttpPoolSettings settings = testSettings();
    settings.retry.retryCount = 1000;
    settings.retry.baseDelay = 40ms;
    HttpPool pool(settings);
    QVERIFY(waitFor(pool.request(get(u"/warm"_s)), scaledMs(5000)));
    HttpRequest request = get(u"/down"_s);
    request.deadline = 500ms;
    QElapsedTimer timer;
    timer.start();
    const ResultFuture future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(5000)));
    const qint64 elapsed = timer.elapsed();
    QVERIFY(!future.result().has_value());
    QCOMPARE(future.result().error().code, u"deadline_exceeded"_s);
    QVERIFY(future.result().error().details.value(u"attempts").toInt() > 1);
    QCOMPARE(future.result().error().details.value(u"status").toInt(), 503);
    QVERIFY2(elapsed >= 500 && elapsed <= 500 + scaledMs(50), qPrintable(QString::number(elapsed)));
}

// The deadline may cut a retry short while it is on the wire; the error still names the last
// answer the server gave (CI caught overallDeadlineCoversRetries reporting status 0 that way).
void TestHttpPool::deadlineErrorKeepsTheLastStatus()
{
    m_server->addRule(FaultRule::status(503).onPath("/flaky").forNext(1));
    m_server->addRule(FaultRule::hang().onPath("/flaky"));
    HttpPoolSettings settings = testSettings();
    settings.retry.baseDelay = 1ms;
    HttpPool pool(settings);
    HttpRequest request = get(u"/flaky"_s);
    request.deadline = 300ms;
    const ResultFuture future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY(!future.result().has_value());
    QCOMPARE(future.result().error().code, u"deadline_exceeded"_s);
    QCOMPARE(future.result().error().details.value(u"attempts").toInt(), 2);
    QCOMPARE(future.result().error().details.value(u"status").toInt(), 503);
}

void TestHttpPool::priorityLanesGoFirst()
{
    m_server->addRule(FaultRule::delay(scaledMs(200)).onPath("/first"));
    HttpPool pool(testSettings(1));
    QList<ResultFuture> futures;
    futures.append(pool.request(get(u"/first"_s)));
    QVERIFY(m_server->waitForRequests(1, scaledMs(5000)));
    const auto queue = [&](const QString &path, TaskPriority priority, const QString &api = {}) {
        HttpRequest request = get(path, api);
        request.priority = priority;
        futures.append(pool.request(request));
    };
    queue(u"/low"_s, TaskPriority::Low);
    queue(u"/normal-1"_s, TaskPriority::Normal);
    queue(u"/normal-2"_s, TaskPriority::Normal, u"other"_s);
    queue(u"/idle"_s, TaskPriority::Idle);
    queue(u"/high"_s, TaskPriority::High, u"other"_s);
    queue(u"/normal-3"_s, TaskPriority::Normal);
    queue(u"/critical"_s, TaskPriority::Critical);
    QVERIFY(waitAll(futures, scaledMs(10'000)));
    QByteArrayList order;
    for (const RecordedRequest &request : m_server->requests())
        order.append(request.path);
    QCOMPARE(order, QByteArrayList({"/first", "/critical", "/high", "/normal-1", "/normal-2",
                                    "/normal-3", "/low", "/idle"}));
    QCOMPARE(m_server->maxConcurrentRequests(), 1);
}

void TestHttpPool::limiterHoldsForConcurrentCallers()
{
    constexpr int kThreads = 4;
    constexpr int kPerThread = 6;
    constexpr double kPerMinute = 1200; // 20/s
    constexpr double kBurst = 4;
    HttpPool pool(testSettings(8));
    QVERIFY(waitFor(pool.request(get(u"/warm"_s)), scaledMs(5000)));
    m_server->resetCounters();

    QMutex mutex;
    QList<ResultFuture> futures;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                HttpRequest request = get(QStringLiteral("/lim/%1/%2").arg(t).arg(i), u"lim"_s);
                request.rateLimit = kPerMinute;
                request.burst = kBurst;
                const ResultFuture future = pool.request(request);
                const QMutexLocker lock(&mutex);
                futures.append(future);
            }
        });
    }
    for (auto &thread : threads)
        thread.join();
    QVERIFY(waitAll(futures, scaledMs(10'000)));
    QCOMPARE(m_server->requestCount(), kThreads * kPerThread);

    std::vector<qint64> at;
    for (const RecordedRequest &request : m_server->requests())
        at.push_back(request.receivedMonoNs);
    std::sort(at.begin(), at.end());
    // Network jitter can only delay a request, so the server sees at most the admissions of a
    // window widened by the jitter.
    const double jitterMs = 25.0 * timeFactor();
    for (const qint64 windowMs : {0LL, 30LL, 50LL, 120LL, 250LL, 500LL, 1000LL}) {
        const double bound = kBurst + kPerMinute / 60'000.0 * (double(windowMs) + jitterMs);
        size_t first = 0;
        for (size_t last = 0; last < at.size(); ++last) {
            while (at[last] - at[first] > windowMs * 1'000'000)
                ++first;
            QVERIFY2(double(last - first + 1) <= bound,
                     qPrintable(QStringLiteral("%1 in %2 ms").arg(last - first + 1).arg(windowMs)));
        }
    }
    const double spanMs = double(at.back() - at.front()) / 1e6;
    const double minimumMs = (kThreads * kPerThread - kBurst) / (kPerMinute / 60'000.0);
    QVERIFY2(spanMs >= minimumMs - jitterMs, qPrintable(QString::number(spanMs)));
    const HttpPoolStats stats = pool.stats();
    const HttpApiStats *lim = apiStats(stats, u"lim"_s);
    QVERIFY(lim);
    QCOMPARE(lim->rateLimitPerMinute, kPerMinute);
    QCOMPARE(lim->requests, quint64(kThreads * kPerThread));
}

void TestHttpPool::usageHeaderCorrectsTheLimiter()
{
    // The server says 1100 of 1200 weight is used this minute, though we sent one request.
    m_server->addRule(
        FaultRule::status(200).withHeader("X-MBX-USED-WEIGHT-1M", "1100").onPath("/w"));
    HttpPool pool(testSettings());
    HttpRequest request = get(u"/w"_s, u"mbx"_s);
    request.rateLimit = 1200;
    ResultFuture future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(5000)));
    QCOMPARE(future.result()->status, 200);
    request.deadline = 1000ms; // 1099 units of debt at 20/s: about 54 s of waiting
    future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(1000)));
    QVERIFY(!future.result().has_value());
    QCOMPARE(future.result().error().code, u"rate_limited"_s);
    QCOMPARE(m_server->requestCount(), 1);
}

void TestHttpPool::circuitBreakerOpensAndHalfOpens()
{
    HttpPoolSettings settings = testSettings();
    settings.breaker.failureThreshold = 3;
    settings.breaker.openDuration = std::chrono::milliseconds(scaledMs(300));
    settings.breaker.maxOpenDuration = 10s;
    m_server->addRule(FaultRule::status(500).onPath("/b").forNext(4));
    HttpPool pool(settings);
    const auto call = [&] {
        const ResultFuture future = pool.request(get(u"/b"_s, u"brk"_s));
        return waitFor(future, scaledMs(5000)) ? future.result()
                                               : Result<HttpResponse>(fail(u"hung"_s, {}));
    };
    for (int i = 0; i < 3; ++i)
        QCOMPARE(call()->status, 500);
    QTRY_COMPARE(breakerOf(pool, u"brk"_s), u"open"_s);
    Result<HttpResponse> result = call();
    QVERIFY(!result);
    QCOMPARE(result.error().code, u"circuit_open"_s);
    QCOMPARE(m_server->requestCount(), 3);

    // Half-open: one probe goes; it fails (the fourth 500), so the breaker opens again.
    QTRY_COMPARE_WITH_TIMEOUT(breakerOf(pool, u"brk"_s), u"half_open"_s, scaledMs(2000));
    QCOMPARE(call()->status, 500);
    QCOMPARE(m_server->requestCount(), 4);
    result = call();
    QVERIFY(!result);
    QCOMPARE(result.error().code, u"circuit_open"_s);

    // Twice as long this time; then the probe succeeds and closes it.
    QTRY_COMPARE_WITH_TIMEOUT(breakerOf(pool, u"brk"_s), u"half_open"_s, scaledMs(3000));
    QCOMPARE(call()->status, 200);
    QCOMPARE(breakerOf(pool, u"brk"_s), u"closed"_s);
    QCOMPARE(call()->status, 200);
    QCOMPARE(m_server->requestCount(), 6);
}

void TestHttpPool::errorRateCountsRequests()
{
    m_server->addRule(FaultRule::close().onPath("/drop"));
    HttpPoolSettings settings = testSettings();
    settings.retry.retryCount = 3;
    HttpPool pool(settings);
    QList<ResultFuture> futures;
    for (int i = 0; i < 5; ++i)
        futures.append(pool.request(get(u"/drop"_s)));
    QVERIFY(waitAll(futures, scaledMs(10'000)));
    QTRY_COMPARE(pool.stats().completed, quint64(5));
    HttpPoolStats stats = pool.stats();
    QCOMPARE(stats.requests, quint64(5));
    QCOMPARE(stats.attempts, quint64(20));
    QCOMPARE(stats.retries, quint64(15));
    QCOMPARE(stats.errors, quint64(5));
    QCOMPARE(stats.errorRate, 1.0);
    QCOMPARE(stats.errorKinds.value(u"connection_error"_s), quint64(5));

    futures.clear();
    for (int i = 0; i < 5; ++i)
        futures.append(pool.request(get(u"/ok"_s)));
    QVERIFY(waitAll(futures, scaledMs(10'000)));
    QTRY_COMPARE(pool.stats().completed, quint64(10));
    stats = pool.stats();
    QCOMPARE(stats.errorRate, 0.5);
    QCOMPARE(stats.clients, 1); // one api: the host
    QCOMPARE(stats.statusClasses.value(u"2xx"_s), quint64(5));
    const QJsonObject json = stats.toJson();
    QCOMPARE(json.value(u"http_error_rate").toDouble(), 0.5);
    QCOMPARE(json.value(u"http_requests").toInt(), 10);
    QCOMPARE(json.value(u"http_attempts").toInt(), 25);
    QCOMPARE(json.value(u"http_workers").toInt(), 2);
    QVERIFY(json.value(u"apis").toObject().contains(u"127.0.0.1"));
}

void TestHttpPool::rateLimitedApisListsOnlyThrottledApis()
{
    HttpPool pool(testSettings());
    QList<ResultFuture> futures;
    for (int i = 0; i < 3; ++i) {
        HttpRequest request = get(u"/s"_s, u"slow"_s);
        request.rateLimit = 120; // one every 500 ms
        request.burst = 1;
        futures.append(pool.request(request));
    }
    futures.append(pool.request(get(u"/f"_s, u"free"_s)));
    QTRY_COMPARE_WITH_TIMEOUT(pool.stats().rateLimitedApis, QStringList{u"slow"_s}, scaledMs(400));
    QVERIFY(waitAll(futures, scaledMs(5000)));
    QTRY_VERIFY(pool.stats().rateLimitedApis.isEmpty());
    const HttpPoolStats stats = pool.stats();
    QCOMPARE(stats.clients, 2);
    QCOMPARE(stats.toJson().value(u"rate_limited_apis").toArray().size(), 0);
    const HttpApiStats *slow = apiStats(stats, u"slow"_s);
    QVERIFY(slow);
    QCOMPARE(slow->latency.count(), quint64(3));
    QVERIFY2(slow->latency.max() >= 950'000'000, // the third waited about a second
             qPrintable(QString::number(slow->latency.max())));
}

void TestHttpPool::jsonIsParsedWhenTheTypeSaysSo()
{
    m_server->addRule(FaultRule::status(200).withBody(R"({"a":1})", "text/plain").onPath("/text"));
    m_server->addRule(FaultRule::status(400)
                          .withBody(R"({"code":-1121})", "application/problem+json")
                          .onPath("/problem"));
    m_server->addRule(
        FaultRule::status(200).withBody("{broken", "application/json").onPath("/broken"));
    HttpPool pool(testSettings());
    const ResultFuture json = pool.request(get(u"/j"_s));
    const ResultFuture text = pool.request(get(u"/text"_s));
    const ResultFuture problem = pool.request(get(u"/problem"_s));
    const ResultFuture broken = pool.request(get(u"/broken"_s));
    QVERIFY(waitAll({json, text, problem, broken}, scaledMs(5000)));

    QVERIFY(json.result()->hasJson());
    QCOMPARE(json.result()->json.object().value(u"ok").toBool(), true);
    QCOMPARE(json.result()->json.object().value(u"path").toString(), u"/j"_s);
    QVERIFY(json.result()->ok());
    QVERIFY(json.result()->header("content-type").startsWith("application/json"));
    QVERIFY(json.result()->elapsed > 0ns);

    QVERIFY(!text.result()->hasJson());
    QCOMPARE(text.result()->body, QByteArray(R"({"a":1})"));

    QCOMPARE(problem.result()->status, 400);
    QVERIFY(!problem.result()->ok());
    QCOMPARE(toString(problem.result()->errorKind), toString(HttpErrorKind::HttpStatus));
    QCOMPARE(problem.result()->json.object().value(u"code").toInt(), -1121);

    QVERIFY(!broken.result()->hasJson());
    QVERIFY(!broken.result()->jsonError.isEmpty());
    QCOMPARE(broken.result()->body, QByteArray("{broken"));
}

void TestHttpPool::queryHeadersAndBodyReachTheServer()
{
    HttpPool pool(testSettings());
    HttpRequest request = get(u"/echo?x=1"_s);
    request.query.addQueryItem(u"a"_s, u"1+2"_s);
    request.query.addQueryItem(u"b"_s, u"x y"_s);
    request.headers.emplaceBack("X-Test", "yes");
    ResultFuture future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(5000)));
    QCOMPARE(future.result()->status, 200);
    RecordedRequest seen = m_server->lastRequest();
    QCOMPARE(seen.query, QByteArray("x=1&a=1%2B2&b=x%20y"));
    QCOMPARE(seen.header("X-Test"), QByteArray("yes"));
    QVERIFY(seen.header("User-Agent").startsWith("OpsDeck/"));

    request = HttpRequest::get(url(u"/echo"_s));
    request.method = "PUT";
    request.body = "payload";
    future = pool.request(request);
    QVERIFY(waitFor(future, scaledMs(5000)));
    seen = m_server->lastRequest();
    QCOMPARE(seen.method, QByteArray("PUT"));
    QCOMPARE(seen.body, QByteArray("payload"));
    QCOMPARE(pool.stats().bytesOut, quint64(7));
}

void TestHttpPool::invalidRequestsFailAtOnce()
{
    HttpPool pool(testSettings());
    for (const QString &bad : {u"ftp://127.0.0.1/x"_s, u"not a url"_s, u"http://"_s}) {
        const ResultFuture future = pool.request(HttpRequest::get(QUrl(bad)));
        QVERIFY(waitFor(future, scaledMs(1000)));
        QVERIFY(!future.result().has_value());
        QCOMPARE(future.result().error().code, u"invalid_request"_s);
    }
    QCOMPARE(m_server->requestCount(), 0);
}

void TestHttpPool::cancelledRequestIsNotSent()
{
    m_server->addRule(FaultRule::delay(scaledMs(150)).onPath("/first"));
    HttpPool pool(testSettings(1));
    const ResultFuture first = pool.request(get(u"/first"_s));
    QVERIFY(m_server->waitForRequests(1, scaledMs(5000)));
    ResultFuture second = pool.request(get(u"/second"_s));
    second.cancel();
    const ResultFuture third = pool.request(get(u"/third"_s));
    QVERIFY(waitAll({first, third}, scaledMs(5000)));
    QVERIFY(second.isCanceled());
    QByteArrayList paths;
    for (const RecordedRequest &request : m_server->requests())
        paths.append(request.path);
    QCOMPARE(paths, QByteArrayList({"/first", "/third"}));
    QTRY_COMPARE(pool.stats().errorKinds.value(u"cancelled"_s), quint64(1));
}

void TestHttpPool::destructionFailsPendingRequests()
{
    m_server->addRule(FaultRule::hang().onPath("/hang"));
    auto pool = std::make_unique<HttpPool>(testSettings(1));
    const ResultFuture inFlight = pool->request(get(u"/hang"_s));
    const ResultFuture queued = pool->request(get(u"/queued"_s));
    QVERIFY(m_server->waitForRequests(1, scaledMs(5000)));
    QElapsedTimer timer;
    timer.start();
    pool.reset();
    QVERIFY(timer.elapsed() < scaledMs(1000));
    for (const ResultFuture &future : {inFlight, queued}) {
        QVERIFY(future.isFinished());
        QVERIFY(!future.result().has_value());
        QCOMPARE(future.result().error().code, u"shutdown"_s);
    }
}

// shutdown() (the runtime calls it before waiting for agent tasks that may still submit) fails
// what is pending and every later request at once; the pool object stays valid.
void TestHttpPool::shutdownFailsPendingAndLaterRequests()
{
    m_server->addRule(FaultRule::hang().onPath("/hang"));
    HttpPool pool(testSettings(1));
    const ResultFuture inFlight = pool.request(get(u"/hang"_s));
    QVERIFY(m_server->waitForRequests(1, scaledMs(5000)));
    pool.shutdown();
    QVERIFY(inFlight.isFinished());
    QCOMPARE(inFlight.result().error().code, u"shutdown"_s);
    const ResultFuture later = pool.request(get(u"/later"_s));
    QVERIFY(later.isFinished());
    QCOMPARE(later.result().error().code, u"shutdown"_s);
    pool.shutdown(); // idempotent
    QCOMPARE(m_server->requestCount(), 1);
}

// request(req, onFinished): the callback gets the future's result, once, before the future
// finishes, for an answer, an at-once failure, and a request failed by shutdown.
void TestHttpPool::onFinishedSeesEveryOutcomeOnce()
{
    m_server->addRule(FaultRule::hang().onPath("/hang"));
    HttpPool pool(testSettings(2));
    struct Seen
    {
        std::atomic<int> calls{0};
        std::atomic<bool> futureWasFinished{false};
        QMutex mutex;
        std::optional<Result<HttpResponse>> result;
    };
    auto callbackFor = [](Seen &seen, const ResultFuture *future) {
        return [&seen, future](const Result<HttpResponse> &r) {
            QMutexLocker lock(&seen.mutex);
            ++seen.calls;
            if (future && future->isValid())
                seen.futureWasFinished = future->isFinished();
            seen.result = r;
        };
    };
    Seen ok, invalid, hung;
    const ResultFuture answered = pool.request(get(u"/ok"_s), callbackFor(ok, nullptr));
    QVERIFY(waitFor(answered, scaledMs(5000)));
    QCOMPARE(ok.calls.load(), 1);
    QCOMPARE(ok.result->value().status, 200);
    QCOMPARE(answered.result()->status, 200);

    const ResultFuture bad = pool.request(HttpRequest::get(QUrl(u"ftp://127.0.0.1/x"_s)),
                                          callbackFor(invalid, nullptr));
    QVERIFY(bad.isFinished()); // at once, in this thread: the callback ran before request returned
    QCOMPARE(invalid.calls.load(), 1);
    QCOMPARE(invalid.result->error().code, u"invalid_request"_s);

    ResultFuture inFlight;
    inFlight = pool.request(get(u"/hang"_s), callbackFor(hung, &inFlight));
    QVERIFY(m_server->waitForRequests(2, scaledMs(5000)));
    pool.shutdown();
    QCOMPARE(hung.calls.load(), 1);
    QVERIFY(!hung.futureWasFinished.load()); // called before the future finished
    QCOMPARE(hung.result->error().code, u"shutdown"_s);
    QCOMPARE(inFlight.result().error().code, u"shutdown"_s);

    // A callback that throws is logged; the future still finishes.
    HttpPool second(testSettings(1));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"onFinished callback threw"_s));
    const ResultFuture thrown = second.request(
        get(u"/ok"_s), [](const Result<HttpResponse> &) { throw std::runtime_error("boom"); });
    QVERIFY(waitFor(thrown, scaledMs(5000)));
    QCOMPARE(thrown.result()->status, 200);
}

// Results resolve in the caller's or a worker's thread once the pool's mutex is released, so a
// continuation run synchronously there may call back into the pool (the load tester's closed
// loop does). Four threads chain requests that way; the in-flight bound still holds.
void TestHttpPool::syncContinuationsMaySubmitAgain()
{
    constexpr int kChains = 8;
    constexpr int kLinks = 25;
    m_server->addRule(FaultRule::delay(1).onPrefix("/chain"));
    HttpPool pool(testSettings(3));
    std::atomic<int> done{0};
    std::atomic<int> failed{0};
    std::function<void(int, int)> issue = [&](int chain, int link) {
        pool.request(get(QStringLiteral("/chain/%1/%2").arg(chain).arg(link)))
            .then(QtFuture::Launch::Sync, [&, chain, link](const Result<HttpResponse> &result) {
                if (!result || result->status != 200)
                    ++failed;
                if (link + 1 < kLinks)
                    issue(chain, link + 1);
                else
                    ++done;
            });
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int chain = t; chain < kChains; chain += 4)
                issue(chain, 0);
        });
    }
    for (auto &thread : threads)
        thread.join();
    QTRY_COMPARE_WITH_TIMEOUT(done.load(), kChains, scaledMs(20'000));
    QCOMPARE(failed.load(), 0);
    QCOMPARE(m_server->requestCount(), kChains * kLinks);
    QVERIFY(m_server->maxConcurrentRequests() <= 3);
    QTRY_COMPARE(pool.stats().inFlight, 0);
}

// Settings take effect before the call returns: a limit set just before a burst of requests
// holds for all of them (with 1 per second and a burst of 1, only the first fits a 300 ms
// deadline; the rest fail at once as rate_limited).
void TestHttpPool::apiLimitAppliesToTheNextRequest()
{
    HttpPool pool(testSettings(4));
    RateLimiter::Limits limits;
    limits.perMinute = 60;
    limits.burst = 1;
    pool.setApiLimit(u"slow-api"_s, limits);
    QList<ResultFuture> futures;
    for (int i = 0; i < 3; ++i) {
        HttpRequest request = get(QStringLiteral("/lim/%1").arg(i), u"slow-api"_s);
        request.deadline = 300ms;
        futures.append(pool.request(request));
    }
    QVERIFY(waitAll(futures, scaledMs(5000)));
    QVERIFY2(futures[0].result().has_value(), qPrintable(describe(futures[0].result())));
    for (int i = 1; i < 3; ++i) {
        QVERIFY(!futures[i].result().has_value());
        QCOMPARE(futures[i].result().error().code, u"rate_limited"_s);
    }
    QCOMPARE(m_server->requestCount(), 1);
}

void TestHttpPool::systemProxyIsHonoured()
{
    FaultServer proxy;
    QVERIFY(proxy.start() != 0);
    const QByteArray oldProxy = qgetenv("http_proxy");
    const QByteArray oldNoProxy = qgetenv("no_proxy");
    qputenv("http_proxy", proxy.baseUrl().toString().toLatin1());
    qunsetenv("no_proxy");
    const auto restore = qScopeGuard([&] {
        oldProxy.isNull() ? qunsetenv("http_proxy") : qputenv("http_proxy", oldProxy);
        oldNoProxy.isNull() ? void(qunsetenv("no_proxy")) : void(qputenv("no_proxy", oldNoProxy));
    });

    HttpPool pool(testSettings());
    ResultFuture future = pool.request(HttpRequest::get(QUrl(u"http://opsdeck.invalid/via"_s)));
    QVERIFY(waitFor(future, scaledMs(5000)));
    QVERIFY2(future.result().has_value(), qPrintable(describe(future.result())));
    QCOMPARE(proxy.requestCount(), 1);
    QCOMPARE(proxy.lastRequest().path, QByteArray("/via"));
    QCOMPARE(proxy.lastRequest().header("Host"), QByteArray("opsdeck.invalid"));
    // Loopback never goes through the proxy.
    future = pool.request(get(u"/direct"_s));
    QVERIFY(waitFor(future, scaledMs(5000)));
    QCOMPARE(future.result()->status, 200);
    QCOMPARE(m_server->requestCount(), 1);
    QCOMPARE(proxy.requestCount(), 1);
}

QTEST_GUILESS_MAIN(TestHttpPool)
#include "tst_httppool.moc"

// Tests for FaultServer (and the testutil helpers) through a real QNetworkAccessManager in the
// test thread and raw sockets. Timing checks keep their lower bounds exact and scale their upper
// bounds by OPSDECK_TIME_FACTOR.
#include "support/faultserver.h"
#include "support/testutil.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <chrono>
#include <memory>
#include <thread>

using namespace opsdeck::test;
using namespace Qt::StringLiterals;

namespace {

using ReplyPtr = std::unique_ptr<QNetworkReply>;

qint64 steadyNowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool waitFinished(QNetworkReply *reply, int timeoutMs)
{
    if (reply->isFinished())
        return true;
    QSignalSpy spy(reply, &QNetworkReply::finished);
    return spy.wait(timeoutMs);
}

int statusOf(const QNetworkReply *reply)
{
    return reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
}

qsizetype occurrences(const QByteArray &haystack, const QByteArray &needle)
{
    qsizetype count = 0;
    for (qsizetype at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1))
        ++count;
    return count;
}

} // namespace

class TestFaultServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void defaultResponseIsJson();
    void chosenStatus_data();
    void chosenStatus();
    void tooManyRequestsCarriesRetryAfter_data();
    void tooManyRequestsCarriesRetryAfter();
    void delayHoldsTheResponse();
    void trickleSpreadsTheBody();
    void closeWithoutResponseGivesConnectionError();
    void closeAfterHeadersBreaksTheBody();
    void timesLimitsARule();
    void rulesMatchByMethodAndPath();
    void keepAliveReusesOneConnection();
    void pipelinedRequestsAndConnectionClose();
    void maxConcurrentRequestsSeesParallelRequests();
    void echoReturnsTheRequest();
    void chunkedRequestBodyIsDecoded();
    void headAndMalformedRequests();
    void waitForRequestsAndSignal();
    void resetCountersAndRestart();
    void timeFactorReadsTheEnvironment();

private:
    ReplyPtr send(const QByteArray &method, QStringView path, const QByteArray &body = {});
    ReplyPtr get(QStringView path) { return send("GET"_ba, path); }

    std::unique_ptr<FaultServer> m_server;
    std::unique_ptr<QNetworkAccessManager> m_nam;
};

void TestFaultServer::init()
{
    m_server = std::make_unique<FaultServer>();
    QVERIFY(m_server->start() != 0);
    m_nam = std::make_unique<QNetworkAccessManager>();
    m_nam->setProxy(QNetworkProxy(QNetworkProxy::NoProxy));
}

void TestFaultServer::cleanup()
{
    m_nam.reset();
    m_server.reset();
}

ReplyPtr TestFaultServer::send(const QByteArray &method, QStringView path, const QByteArray &body)
{
    QNetworkRequest request(m_server->url(path));
    if (!body.isEmpty())
        request.setHeader(QNetworkRequest::ContentTypeHeader, u"text/plain"_s);
    return ReplyPtr(m_nam->sendCustomRequest(request, method, body));
}

void TestFaultServer::defaultResponseIsJson()
{
    QCOMPARE(m_server->baseUrl().toString(),
             u"http://127.0.0.1:"_s + QString::number(m_server->port()));
    const qint64 before = steadyNowNs();
    ReplyPtr reply = get(u"/hello?x=1");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    const qint64 after = steadyNowNs();

    QCOMPARE(reply->error(), QNetworkReply::NoError);
    QCOMPARE(statusOf(reply.get()), 200);
    QCOMPARE(reply->rawHeader("Content-Type"), "application/json"_ba);
    const QJsonObject json = QJsonDocument::fromJson(reply->readAll()).object();
    QCOMPARE(json.value(u"ok"_s).toBool(), true);
    QCOMPARE(json.value(u"path"_s).toString(), u"/hello"_s);

    QCOMPARE(m_server->requestCount(), 1);
    const RecordedRequest request = m_server->lastRequest();
    QCOMPARE(request.method, "GET"_ba);
    QCOMPARE(request.path, "/hello"_ba);
    QCOMPARE(request.query, "x=1"_ba);
    QCOMPARE(request.version, "HTTP/1.1"_ba);
    QCOMPARE(request.header("host"), "127.0.0.1:"_ba + QByteArray::number(m_server->port()));
    QCOMPARE(request.connectionId, 1);
    QVERIFY(request.receivedMonoNs >= before);
    QVERIFY(request.receivedMonoNs <= after);
}

void TestFaultServer::chosenStatus_data()
{
    QTest::addColumn<int>("status");
    for (int status : {200, 201, 204, 404, 500, 502, 503})
        QTest::newRow(QByteArray::number(status).constData()) << status;
}

void TestFaultServer::chosenStatus()
{
    QFETCH(int, status);
    m_server->addRule(FaultRule::status(status));
    ReplyPtr reply = get(u"/status");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(statusOf(reply.get()), status);
    const QByteArray body = reply->readAll();
    if (status == 204)
        QVERIFY(body.isEmpty());
    else
        QCOMPARE(QJsonDocument::fromJson(body).object().value(u"path"_s).toString(), u"/status"_s);
}

void TestFaultServer::tooManyRequestsCarriesRetryAfter_data()
{
    QTest::addColumn<QByteArray>("retryAfter");
    QTest::newRow("seconds") << "2"_ba;
    QTest::newRow("http-date") << "Wed, 21 Oct 2026 07:28:00 GMT"_ba;
}

void TestFaultServer::tooManyRequestsCarriesRetryAfter()
{
    QFETCH(QByteArray, retryAfter);
    m_server->addRule(FaultRule::tooManyRequests(retryAfter));
    ReplyPtr reply = get(u"/v1/orders");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(statusOf(reply.get()), 429);
    QCOMPARE(reply->rawHeader("Retry-After"), retryAfter);

    // 503 with Retry-After, through the modifier.
    m_server->clearRules();
    m_server->addRule(FaultRule::status(503).withRetryAfter(retryAfter));
    reply = get(u"/v1/orders");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(statusOf(reply.get()), 503);
    QCOMPARE(reply->rawHeader("Retry-After"), retryAfter);
}

void TestFaultServer::delayHoldsTheResponse()
{
    constexpr int delayMs = 300;
    m_server->addRule(FaultRule::delay(delayMs).onPath("/slow"_ba));
    QElapsedTimer timer;
    timer.start();
    ReplyPtr reply = get(u"/slow");
    QVERIFY(waitFinished(reply.get(), delayMs + scaledMs(5000)));
    const qint64 elapsed = timer.elapsed();
    QCOMPARE(statusOf(reply.get()), 200);
    QVERIFY2(elapsed >= delayMs, qPrintable(QString::number(elapsed)));
    QVERIFY2(elapsed < delayMs + scaledMs(3000), qPrintable(QString::number(elapsed)));

    // Other paths are not delayed (loose bound: only "clearly less than the delay").
    timer.start();
    reply = get(u"/fast");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(statusOf(reply.get()), 200);
    if (timeFactor() <= 1.0)
        QVERIFY2(timer.elapsed() < delayMs * 3, qPrintable(QString::number(timer.elapsed())));
}

void TestFaultServer::trickleSpreadsTheBody()
{
    constexpr int chunkBytes = 20;
    constexpr int chunks = 10;
    constexpr int intervalMs = 60;
    QByteArray body;
    for (int i = 0; i < chunks; ++i)
        body += QByteArray(chunkBytes, char('a' + i));
    m_server->addRule(FaultRule::trickle(body, chunkBytes, intervalMs));

    QElapsedTimer timer;
    timer.start();
    ReplyPtr reply = get(u"/trickle");
    qint64 firstByteMs = -1;
    int reads = 0;
    QByteArray received;
    connect(reply.get(), &QNetworkReply::readyRead, this, [&] {
        if (firstByteMs < 0)
            firstByteMs = timer.elapsed();
        ++reads;
        received += reply->readAll();
    });
    QVERIFY(waitFinished(reply.get(), chunks * intervalMs + scaledMs(5000)));
    const qint64 lastByteMs = timer.elapsed();
    received += reply->readAll();

    QCOMPARE(reply->error(), QNetworkReply::NoError);
    QCOMPARE(received, body);
    QCOMPARE(reply->header(QNetworkRequest::ContentLengthHeader).toLongLong(), body.size());
    const QString timing
        = u"first %1 ms, last %2 ms, %3 reads"_s.arg(firstByteMs).arg(lastByteMs).arg(reads);
    QVERIFY2(firstByteMs >= 0, qPrintable(timing));
    QVERIFY2(lastByteMs >= (chunks - 1) * intervalMs, qPrintable(timing));
    QVERIFY2(lastByteMs - firstByteMs >= intervalMs, qPrintable(timing));
    QVERIFY2(reads >= 2, qPrintable(timing));
    QVERIFY2(lastByteMs < (chunks - 1) * intervalMs + scaledMs(3000), qPrintable(timing));
}

void TestFaultServer::closeWithoutResponseGivesConnectionError()
{
    m_server->addRule(FaultRule::close().onPath("/drop"_ba));
    ReplyPtr reply = get(u"/drop");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(reply->error(), QNetworkReply::RemoteHostClosedError);
    QCOMPARE(statusOf(reply.get()), 0);
    // QNAM resends a request once or twice when the server closes without a byte.
    QVERIFY(m_server->requestCount() >= 1);

    const QByteArray raw
        = rawHttp(m_server->port(), "GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"_ba, scaledMs(5000));
    QVERIFY(raw.isEmpty());
    QTRY_COMPARE(m_server->activeRequests(), 0);
}

void TestFaultServer::closeAfterHeadersBreaksTheBody()
{
    m_server->addRule(FaultRule::closeMidBody().withBody(QByteArray(100, 'x')));
    ReplyPtr reply = get(u"/partial");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QVERIFY(reply->error() != QNetworkReply::NoError);

    QElapsedTimer timer;
    timer.start();
    const QByteArray raw
        = rawHttp(m_server->port(), "GET /partial HTTP/1.1\r\nHost: x\r\n\r\n"_ba, scaledMs(5000));
    QVERIFY2(timer.elapsed() < scaledMs(4000), "the server should close, not time out");
    QCOMPARE(httpStatus(raw), 200);
    QVERIFY(raw.contains("\r\nContent-Length: 100\r\n"));
    const qsizetype bodyStart = raw.indexOf("\r\n\r\n") + 4;
    QCOMPARE(raw.size() - bodyStart, 50);
}

void TestFaultServer::timesLimitsARule()
{
    m_server->addRule(FaultRule::status(503).forNext(2));
    QCOMPARE(m_server->ruleCount(), 1);
    QList<int> statuses;
    for (int i = 0; i < 4; ++i) {
        ReplyPtr reply = get(u"/retry");
        QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
        statuses.append(statusOf(reply.get()));
    }
    QCOMPARE(statuses, (QList<int>{503, 503, 200, 200}));
    QCOMPARE(m_server->ruleCount(), 0);
    QCOMPARE(m_server->requestCount(), 4);
}

void TestFaultServer::rulesMatchByMethodAndPath()
{
    m_server->addRule(FaultRule::status(500).onPath("/a"_ba).forNext(1));
    m_server->addRule(FaultRule::status(404).onPrefix("/a"_ba));
    m_server->addRule(FaultRule::status(201).onMethod("POST"_ba));
    m_server->addRule(FaultRule::status(202).onPath("/q?mode=x"_ba));
    m_server->setDefaultRule(FaultRule::status(418).withBody("teapot"_ba, "text/plain"_ba));

    const struct
    {
        QByteArray method;
        QString path;
        int status;
    } cases[] = {
        {"GET"_ba, u"/a"_s, 500},        {"GET"_ba, u"/a"_s, 404}, {"GET"_ba, u"/abc"_s, 404},
        {"POST"_ba, u"/b"_s, 201},       {"GET"_ba, u"/b"_s, 418}, {"GET"_ba, u"/q?mode=x"_s, 202},
        {"GET"_ba, u"/q?mode=y"_s, 418},
    };
    for (const auto &c : cases) {
        ReplyPtr reply = send(c.method, c.path, c.method == "POST" ? "data"_ba : QByteArray());
        QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
        QVERIFY2(statusOf(reply.get()) == c.status,
                 qPrintable(QString(c.path + u" -> "_s + QString::number(statusOf(reply.get())))));
        if (c.status == 418) {
            QCOMPARE(reply->readAll(), "teapot"_ba);
            QCOMPARE(reply->rawHeader("Content-Type"), "text/plain"_ba);
        }
    }
}

void TestFaultServer::keepAliveReusesOneConnection()
{
    for (int i = 0; i < 4; ++i) {
        ReplyPtr reply = get(QString(u"/k/" + QString::number(i)));
        QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
        QCOMPARE(statusOf(reply.get()), 200);
    }
    QCOMPARE(m_server->requestCount(), 4);
    QCOMPARE(m_server->connectionCount(), 1);
    QCOMPARE(m_server->openConnections(), 1);
    const QList<RecordedRequest> requests = m_server->requests();
    for (const RecordedRequest &request : requests)
        QCOMPARE(request.connectionId, 1);
    QVERIFY(requests.at(0).receivedMonoNs < requests.at(3).receivedMonoNs);

    m_nam.reset(); // the client closes its connection; the server notices
    QTRY_COMPARE(m_server->openConnections(), 0);
}

void TestFaultServer::pipelinedRequestsAndConnectionClose()
{
    m_server->addRule(FaultRule::delay(50).onPath("/one"_ba)); // must not overtake /two
    QElapsedTimer timer;
    timer.start();
    const QByteArray raw = rawHttp(m_server->port(),
                                   "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                   "GET /ignored HTTP/1.1\r\nHost: x\r\n\r\n"_ba,
                                   scaledMs(5000));
    QVERIFY2(timer.elapsed() < scaledMs(4000), "the server should close after /two");
    QCOMPARE(occurrences(raw, "HTTP/1.1 200 OK\r\n"_ba), 2);
    QVERIFY(raw.indexOf("\"/one\"") >= 0);
    QVERIFY(raw.indexOf("\"/one\"") < raw.indexOf("\"/two\""));
    QVERIFY(raw.contains("Connection: close\r\n"));
    QCOMPARE(m_server->requestCount(), 2);
    QCOMPARE(m_server->connectionCount(), 1);

    // HTTP/1.0 without keep-alive closes too.
    const QByteArray old
        = rawHttp(m_server->port(), "GET /old HTTP/1.0\r\n\r\n"_ba, scaledMs(5000));
    QCOMPARE(httpStatus(old), 200);
    QTRY_COMPARE(m_server->openConnections(), 0);
}

void TestFaultServer::maxConcurrentRequestsSeesParallelRequests()
{
    constexpr int parallel = 5;
    m_server->addRule(FaultRule::delay(400));
    std::vector<ReplyPtr> replies;
    for (int i = 0; i < parallel; ++i)
        replies.push_back(get(QString(u"/p/" + QString::number(i))));
    QTRY_COMPARE_WITH_TIMEOUT(m_server->activeRequests(), parallel, scaledMs(5000));
    for (const ReplyPtr &reply : replies) {
        QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
        QCOMPARE(statusOf(reply.get()), 200);
    }
    QCOMPARE(m_server->maxConcurrentRequests(), parallel);
    QCOMPARE(m_server->connectionCount(), parallel);
    QCOMPARE(m_server->activeRequests(), 0);

    // Sequential requests after a reset peak at 1.
    m_server->resetCounters();
    m_server->clearRules();
    for (int i = 0; i < 2; ++i) {
        ReplyPtr reply = get(u"/s");
        QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    }
    QCOMPARE(m_server->maxConcurrentRequests(), 1);
}

void TestFaultServer::echoReturnsTheRequest()
{
    QNetworkRequest request(m_server->url(u"/echo?a=1&b=two"));
    request.setHeader(QNetworkRequest::ContentTypeHeader, u"application/octet-stream"_s);
    request.setRawHeader("X-Test", "42");
    const QByteArray payload = "hello {\"world\"}"_ba;
    ReplyPtr reply(m_nam->post(request, payload));
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(statusOf(reply.get()), 200);
    QCOMPARE(reply->rawHeader("Content-Type"), "application/json"_ba);
    const QJsonObject json = QJsonDocument::fromJson(reply->readAll()).object();
    QCOMPARE(json.value(u"method"_s).toString(), u"POST"_s);
    QCOMPARE(json.value(u"path"_s).toString(), u"/echo"_s);
    QCOMPARE(json.value(u"query"_s).toString(), u"a=1&b=two"_s);
    QCOMPARE(json.value(u"body"_s).toString(), QString::fromUtf8(payload));
    QCOMPARE(json.value(u"bodySize"_s).toInt(), payload.size());
    QCOMPARE(json.value(u"headers"_s).toObject().value(u"X-Test"_s).toString(), u"42"_s);
    QCOMPARE(m_server->lastRequest().body, payload);
    QCOMPARE(m_server->lastRequest().header("x-test"), "42"_ba);

    // A rule on an echo path without its own body keeps echoing: a delayed, 202 echo.
    m_server->addRule(FaultRule::delay(20).withStatus(202).onPrefix("/echo/"_ba));
    reply = send("PUT"_ba, u"/echo/x", "put-body"_ba);
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(statusOf(reply.get()), 202);
    const QJsonObject put = QJsonDocument::fromJson(reply->readAll()).object();
    QCOMPARE(put.value(u"method"_s).toString(), u"PUT"_s);
    QCOMPARE(put.value(u"body"_s).toString(), u"put-body"_s);
}

void TestFaultServer::chunkedRequestBodyIsDecoded()
{
    const QByteArray raw
        = rawHttp(m_server->port(),
                  "POST /echo HTTP/1.1\r\nHost: x\r\n"
                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"_ba,
                  scaledMs(5000));
    QCOMPARE(httpStatus(raw), 200);
    QCOMPARE(m_server->lastRequest().body, "hello world"_ba);
    const QJsonObject json = QJsonDocument::fromJson(raw.mid(raw.indexOf("\r\n\r\n") + 4)).object();
    QCOMPARE(json.value(u"body"_s).toString(), u"hello world"_s);

    // Expect: 100-continue: the interim response comes before the body is sent.
    QTcpSocket socket;
    socket.connectToHost(QHostAddress(QHostAddress::LocalHost), m_server->port());
    QVERIFY(socket.waitForConnected(scaledMs(5000)));
    socket.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 "Expect: 100-continue\r\nConnection: close\r\n\r\n");
    QByteArray interim;
    while (!interim.contains("\r\n\r\n") && socket.waitForReadyRead(scaledMs(5000)))
        interim += socket.readAll();
    QCOMPARE(interim, "HTTP/1.1 100 Continue\r\n\r\n"_ba);
    socket.write("abc");
    QByteArray response;
    while (socket.waitForReadyRead(scaledMs(5000)))
        response += socket.readAll();
    response += socket.readAll();
    QCOMPARE(httpStatus(response), 200);
    QCOMPARE(m_server->lastRequest().body, "abc"_ba);
}

void TestFaultServer::headAndMalformedRequests()
{
    const QByteArray head
        = rawHttp(m_server->port(), "HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"_ba,
                  scaledMs(5000));
    QCOMPARE(httpStatus(head), 200);
    QVERIFY(head.contains("Content-Length: "));
    QVERIFY(head.endsWith("\r\n\r\n"));

    const QByteArray garbage
        = rawHttp(m_server->port(), "NOT HTTP AT ALL\r\n\r\n"_ba, scaledMs(5000));
    QCOMPARE(httpStatus(garbage), 400);
    const QByteArray badLength = rawHttp(
        m_server->port(), "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"_ba, scaledMs(5000));
    QCOMPARE(httpStatus(badLength), 400);
    const QByteArray huge
        = rawHttp(m_server->port(), "GET / HTTP/1.1\r\nX-Big: "_ba + QByteArray(70 * 1024, 'a'),
                  scaledMs(5000));
    QCOMPARE(httpStatus(huge), 431);
    QCOMPARE(m_server->requestCount(), 1); // only the HEAD was a request
    QCOMPARE(httpStatus("garbage"_ba), -1);
}

void TestFaultServer::waitForRequestsAndSignal()
{
    QSignalSpy spy(m_server.get(), &FaultServer::requestReceived);
    const quint16 port = m_server->port();
    QByteArray fromThread;
    // The request comes from another thread while this one blocks without an event loop.
    std::thread client([port, &fromThread] {
        fromThread
            = rawHttp(port, "GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"_ba, 5000);
    });
    const bool arrived = m_server->waitForRequests(1, scaledMs(5000));
    client.join();
    QVERIFY(arrived);
    QCOMPARE(httpStatus(fromThread), 200);
    QTRY_COMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), 1);

    QElapsedTimer timer;
    timer.start();
    QVERIFY(!m_server->waitForRequests(2, 50));
    QVERIFY(timer.elapsed() >= 49);
    QVERIFY(m_server->waitForRequests(1, 0));

    ReplyPtr reply = get(u"/u");
    QVERIFY(spy.wait(scaledMs(5000)));
    QCOMPARE(spy.at(1).at(0).toInt(), 2);
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
}

void TestFaultServer::resetCountersAndRestart()
{
    ReplyPtr reply = get(u"/a");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    m_server->setRecordRequests(false);
    reply = get(u"/b");
    QVERIFY(waitFinished(reply.get(), scaledMs(5000)));
    QCOMPARE(m_server->requestCount(), 2);
    QCOMPARE(m_server->requests().size(), 1);

    m_server->resetCounters();
    QCOMPARE(m_server->requestCount(), 0);
    QCOMPARE(m_server->requests().size(), 0);
    QCOMPARE(m_server->connectionCount(), 0);
    QCOMPARE(m_server->lastRequest().connectionId, 0);

    const quint16 oldPort = m_server->port();
    m_server->addRule(FaultRule::status(507));
    m_server->stop();
    QVERIFY(!m_server->isRunning());
    QCOMPARE(m_server->port(), quint16(0));
    QCOMPARE(m_server->openConnections(), 0);
    QVERIFY(rawHttp(oldPort, "GET / HTTP/1.1\r\n\r\n"_ba, scaledMs(2000)).isEmpty());

    // Restart: listening immediately, rules kept.
    QVERIFY(m_server->start() != 0);
    QCOMPARE(m_server->start(), m_server->port());
    const QByteArray raw = rawHttp(
        m_server->port(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"_ba, scaledMs(5000));
    QCOMPARE(httpStatus(raw), 507);
    QVERIFY(raw.contains("HTTP/1.1 507 Status\r\n"));
}

void TestFaultServer::timeFactorReadsTheEnvironment()
{
    const QByteArray saved = qgetenv("OPSDECK_TIME_FACTOR");
    const bool wasSet = qEnvironmentVariableIsSet("OPSDECK_TIME_FACTOR");
    qputenv("OPSDECK_TIME_FACTOR", "2.5");
    QCOMPARE(timeFactor(), 2.5);
    QCOMPARE(scaledMs(100), 250);
    qputenv("OPSDECK_TIME_FACTOR", "bogus");
    QCOMPARE(timeFactor(), 1.0);
    qputenv("OPSDECK_TIME_FACTOR", "-3");
    QCOMPARE(timeFactor(), 1.0);
    qunsetenv("OPSDECK_TIME_FACTOR");
    QCOMPARE(timeFactor(), 1.0);
    if (wasSet)
        qputenv("OPSDECK_TIME_FACTOR", saved);
}

QTEST_GUILESS_MAIN(TestFaultServer)
#include "tst_faultserver.moc"

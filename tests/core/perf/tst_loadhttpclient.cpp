// LoadHttpClient: the response parser fed byte by byte (lengths, chunks, HTTP/1.0, interim
// answers, close-delimited bodies, malformed input), and the client against the fault server on
// 127.0.0.1: keep-alive reuse counted by the server, the request on the wire, a server that went
// away and came back, a closed connection after "Connection: close", shutdown with work in flight.
#include "core/perf/loadhttpclient.h"

#include "support/faultserver.h"
#include "support/testutil.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMutex>
#include <QtCore/QSemaphore>
#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::perf;
using opsdeck::test::FaultRule;
using opsdeck::test::FaultServer;
using opsdeck::test::scaledMs;

namespace {

constexpr int kWaitMs = 10'000;

// Collects answers from the client's threads.
class Answers
{
public:
    LoadHttpClient::Callback callback()
    {
        return [this](const LoadHttpClient::Response &r) {
            {
                QMutexLocker lock(&m_mutex);
                m_responses.append(r);
            }
            m_done.release();
        };
    }
    bool waitFor(int n) { return m_done.tryAcquire(n, scaledMs(kWaitMs)); }
    QList<LoadHttpClient::Response> responses() const
    {
        QMutexLocker lock(&m_mutex);
        return m_responses;
    }

private:
    mutable QMutex m_mutex;
    QList<LoadHttpClient::Response> m_responses;
    QSemaphore m_done;
};

LoadHttpClient::Settings settingsFor(const FaultServer &server, int connections, int timeoutMs = 5000)
{
    LoadHttpClient::Settings s;
    s.base = server.baseUrl();
    s.connections = connections;
    s.timeoutMs = timeoutMs;
    s.threads = 1;
    return s;
}

LoadHttpClient::Request get(const QByteArray &target)
{
    return {QByteArrayLiteral("GET"), target, {}, {}};
}

} // namespace

class TestLoadHttpClient : public QObject
{
    Q_OBJECT

private slots:
    void parser_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<int>("state"); // Parser::State
        QTest::addColumn<int>("status");
        QTest::addColumn<bool>("keepAlive");
        QTest::addColumn<QByteArray>("left"); // what follows the answer stays unread
        using S = LoadHttpClient::Parser::State;
        QTest::newRow("content-length")
            << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokNEXT") << int(S::Done)
            << 200 << true << QByteArray("NEXT");
        QTest::newRow("chunked, extension and trailer")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "2;x=y\r\nok\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n")
            << int(S::Done) << 200 << true << QByteArray();
        QTest::newRow("HTTP/1.0 closes")
            << QByteArray("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") << int(S::Done) << 200
            << false << QByteArray();
        QTest::newRow("HTTP/1.0 keep-alive")
            << QByteArray("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
            << int(S::Done) << 200 << true << QByteArray();
        QTest::newRow("Connection: close")
            << QByteArray("HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
            << int(S::Done) << 503 << false << QByteArray();
        QTest::newRow("204 has no body")
            << QByteArray("HTTP/1.1 204 No Content\r\n\r\n") << int(S::Done) << 204 << true
            << QByteArray();
        QTest::newRow("100 Continue, then the answer")
            << QByteArray("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: "
                          "0\r\n\r\n")
            << int(S::Done) << 201 << true << QByteArray();
        QTest::newRow("until close") << QByteArray("HTTP/1.1 200 OK\r\n\r\nabc") << int(S::NeedMore)
                                     << 200 << false << QByteArray();
        QTest::newRow("incomplete body")
            << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc") << int(S::NeedMore)
            << 200 << true << QByteArray();
        QTest::newRow("not HTTP") << QByteArray("SSH-2.0-OpenSSH\r\n") << int(S::Error) << 0
                                  << true << QByteArray();
        QTest::newRow("bad length")
            << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") << int(S::Error) << 200
            << true << QByteArray();
        QTest::newRow("bad chunk size")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            << int(S::Error) << 200 << true << QByteArray();
        QTest::newRow("header without a name")
            << QByteArray("HTTP/1.1 200 OK\r\n: x\r\n\r\n") << int(S::Error) << 200 << true
            << QByteArray();
    }
    void parser()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(int, state);
        QFETCH(int, status);
        QFETCH(bool, keepAlive);
        QFETCH(QByteArray, left);
        // Byte by byte: every split point must work.
        LoadHttpClient::Parser parser;
        parser.reset();
        QByteArray buffer;
        LoadHttpClient::Parser::State s = LoadHttpClient::Parser::State::NeedMore;
        qsizetype i = 0;
        for (; i < bytes.size() && s == LoadHttpClient::Parser::State::NeedMore; ++i) {
            buffer.append(bytes[i]);
            s = parser.feed(buffer);
        }
        buffer += bytes.mid(i);
        QCOMPARE(int(s), state);
        QCOMPARE(parser.status(), status);
        if (s != LoadHttpClient::Parser::State::Error)
            QCOMPARE(parser.keepAlive(), keepAlive);
        else
            QVERIFY(!parser.error().isEmpty());
        if (s == LoadHttpClient::Parser::State::Done)
            QCOMPARE(buffer, left);
        // The same answer in one piece.
        LoadHttpClient::Parser whole;
        whole.reset();
        QByteArray all = bytes;
        QCOMPARE(int(whole.feed(all)), state);
    }

    void headRequestHasNoBody()
    {
        LoadHttpClient::Parser parser;
        parser.reset(true);
        QByteArray bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        QCOMPARE(int(parser.feed(bytes)), int(LoadHttpClient::Parser::State::Done));
    }

    void keepAliveConnectionsAreReused()
    {
        FaultServer server;
        QVERIFY(server.start() != 0);
        LoadHttpClient client(settingsFor(server, 3));
        Answers answers;
        for (int i = 0; i < 60; ++i)
            client.submit(get("/v1/x?i=" + QByteArray::number(i)), answers.callback());
        QVERIFY(answers.waitFor(60));
        for (const auto &r : answers.responses()) {
            QCOMPARE(r.status, 200);
            QCOMPARE(int(r.error), int(LoadErrorKind::None));
        }
        QCOMPARE(server.requestCount(), 60);
        QCOMPARE(server.connectionCount(), 3);
        QVERIFY(server.maxConcurrentRequests() <= 3);
        const LoadHttpClient::Stats stats = client.stats();
        QCOMPARE(stats.requests, quint64(60));
        QCOMPARE(stats.connectionsOpened, quint64(3));
        QVERIFY(stats.bytesReceived > 0);
    }

    void requestGoesOutAsWritten()
    {
        FaultServer server;
        QVERIFY(server.start() != 0);
        server.setDefaultRule(FaultRule::echo());
        LoadHttpClient client(settingsFor(server, 1));
        Answers answers;
        client.submit({QByteArrayLiteral("POST"), QByteArrayLiteral("/api/v3/order/test?a=1"),
                       QByteArrayLiteral("symbol=BTCUSDT&side=BUY"),
                       QByteArrayLiteral("application/x-www-form-urlencoded")},
                      answers.callback());
        QVERIFY(answers.waitFor(1));
        QCOMPARE(answers.responses().constFirst().status, 200);
        const auto recorded = server.lastRequest();
        QCOMPARE(recorded.method, QByteArray("POST"));
        QCOMPARE(recorded.path, QByteArray("/api/v3/order/test"));
        QCOMPARE(recorded.body, QByteArray("symbol=BTCUSDT&side=BUY"));
        QCOMPARE(recorded.header("Content-Type"), QByteArray("application/x-www-form-urlencoded"));
        QCOMPARE(recorded.header("Host"),
                 QByteArray("127.0.0.1:") + QByteArray::number(server.port()));
    }

    void closeAfterAnswerOpensANewConnection()
    {
        FaultServer server;
        QVERIFY(server.start() != 0);
        FaultRule rule = FaultRule::status(200);
        rule.closeAfterResponse = true;
        server.setDefaultRule(rule);
        LoadHttpClient client(settingsFor(server, 1));
        Answers answers;
        for (int i = 0; i < 5; ++i)
            client.submit(get("/"), answers.callback());
        QVERIFY(answers.waitFor(5));
        for (const auto &r : answers.responses())
            QCOMPARE(r.status, 200);
        QCOMPARE(server.connectionCount(), 5);
    }

    // The server goes away between requests and comes back on the same port: the next request
    // gets a fresh connection (or is resent once when it met the dead one), never an error.
    void serverRestartBetweenRequests()
    {
        FaultServer server;
        const quint16 port = server.start();
        QVERIFY(port != 0);
        LoadHttpClient client(settingsFor(server, 1));
        Answers answers;
        client.submit(get("/first"), answers.callback());
        QVERIFY(answers.waitFor(1));
        server.stop();
        QCOMPARE(server.start(port), port);
        client.submit(get("/second"), answers.callback());
        QVERIFY(answers.waitFor(1));
        const auto responses = answers.responses();
        QCOMPARE(responses.size(), 2);
        QCOMPARE(responses[1].status, 200);
        QCOMPARE(int(responses[1].error), int(LoadErrorKind::None));
    }

    void shutdownFailsWorkInFlightOnce()
    {
        FaultServer server;
        QVERIFY(server.start() != 0);
        server.setDefaultRule(FaultRule::hang());
        Answers answers;
        {
            LoadHttpClient client(settingsFor(server, 2, 60'000));
            for (int i = 0; i < 5; ++i) // 2 in flight, 3 queued
                client.submit(get("/"), answers.callback());
            QVERIFY(server.waitForRequests(2, scaledMs(kWaitMs)));
            client.shutdown();
            QCOMPARE(answers.responses().size(), 5);
            for (const auto &r : answers.responses()) {
                QCOMPARE(int(r.error), int(LoadErrorKind::Other));
                QCOMPARE(r.detail, QStringLiteral("shutdown"));
            }
            client.submit(get("/"), answers.callback()); // after shutdown: answered at once
            QCOMPARE(answers.responses().size(), 6);
        }
        QVERIFY(answers.waitFor(6));
        QCOMPARE(answers.responses().size(), 6); // the destructor answered nothing twice
    }
};

QTEST_GUILESS_MAIN(TestLoadHttpClient)
#include "tst_loadhttpclient.moc"

// FaultServer: a fault-injecting HTTP/1.1 server on 127.0.0.1 for network tests (HTTP pool
// retries, timeouts, 429 handling, the load tester). It owns a QTcpServer and every accepted
// socket; they live in a private QThread owned by the FaultServer, so a test whose thread blocks
// (waiting on a QFuture, say) still gets answers. The FaultServer object itself lives in the
// thread that created it; all its public functions are thread-safe.
//
//     FaultServer server;
//     QVERIFY(server.start() != 0);                      // listening once start() returns
//     server.addRule(FaultRule::status(503).forNext(2)); // then the default 200 JSON
//     server.addRule(FaultRule::tooManyRequests("2").onPath("/v1/orders"));
//     ... point the client at server.url(u"/v1/orders") ...
//     QVERIFY(server.waitForRequests(3, 5000));
//
// Rules are tried in the order added; the first one that matches (and is not used up) decides the
// response. When none matches, `/echo` and `/echo/...` echo the request, anything else gets the
// default rule (200, {"ok":true,"path":...}). A rule without an explicit body on an echo path
// still echoes, so `FaultRule::delay(100).onPath("/echo")` is a delayed echo.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QUrl>

#include <memory>
#include <optional>
#include <utility>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace opsdeck::test {

// Header fields in the order they were sent; names keep their original case.
using HeaderList = QList<std::pair<QByteArray, QByteArray>>;

namespace detail {
class FaultServerWorker;
struct FaultServerState;
} // namespace detail

// What the server does with a request. Plain data: set fields directly or chain the builders.
struct FaultRule
{
    enum class PathMatch { Exact, Prefix };

    // --- Matching ---
    QByteArray method; // empty: any method (compared case-sensitively, "GET")
    // Empty: any path. Compared with the request path without its query, unless it contains '?'
    // itself, in which case it is compared with "path?query".
    QByteArray path;
    PathMatch pathMatch = PathMatch::Exact;
    // Apply to the next N matching requests, then fall through to the next rule; -1 = always.
    int times = -1;

    // --- Response ---
    int statusCode = 200; // ("status" is taken by the builder below)
    HeaderList headers;   // sent verbatim; a Content-Length here replaces the real one
    // Unset: {"ok":true,"path":"<path>"} with Content-Type: application/json.
    std::optional<QByteArray> body;
    QByteArray retryAfter; // non-empty: sent as "Retry-After: <retryAfter>" (seconds or HTTP-date)
    int delayMs = 0;       // wait this long after the request arrived before doing anything
    // > 0: send the status line and headers with the first trickleBytes of the body, then one
    // further chunk of trickleBytes every trickleIntervalMs.
    int trickleBytes = 0;
    int trickleIntervalMs = 0;
    bool closeWithoutResponse = false; // read the request, then close with no bytes sent
    // Send the status line and headers (announcing the full Content-Length) and half the body,
    // then close.
    bool closeAfterHeaders = false;
    bool closeAfterResponse = false; // answer normally, with Connection: close, then close
    bool echoRequest = false;        // body = JSON {method, path, query, headers, body, bodySize}

    // --- Builders ---
    static FaultRule status(int code);
    // 429 with a Retry-After header, e.g. "2" or "Wed, 21 Oct 2026 07:28:00 GMT".
    static FaultRule tooManyRequests(QByteArray retryAfter);
    static FaultRule delay(int ms);
    static FaultRule trickle(QByteArray body, int chunkBytes, int intervalMs);
    static FaultRule close();        // closeWithoutResponse
    static FaultRule closeMidBody(); // closeAfterHeaders
    static FaultRule echo();
    static FaultRule hang(); // accept and read, never answer (until the client gives up)

    // --- Chainable modifiers (return a modified copy) ---
    [[nodiscard]] FaultRule onPath(QByteArray exactPath) const;
    [[nodiscard]] FaultRule onPrefix(QByteArray pathPrefix) const;
    [[nodiscard]] FaultRule onMethod(QByteArray httpMethod) const;
    [[nodiscard]] FaultRule forNext(int n) const; // times = n
    [[nodiscard]] FaultRule withStatus(int code) const;
    [[nodiscard]] FaultRule withHeader(QByteArray name, QByteArray value) const;
    // An empty contentType adds no Content-Type header.
    [[nodiscard]] FaultRule withBody(QByteArray responseBody, QByteArray contentType = {}) const;
    [[nodiscard]] FaultRule withDelay(int ms) const;
    [[nodiscard]] FaultRule withRetryAfter(QByteArray value) const;
};

// One request as the server parsed it.
struct RecordedRequest
{
    QByteArray method;
    QByteArray path;    // as sent (still percent-encoded), without the query
    QByteArray query;   // the part after '?', without it; empty if none
    QByteArray version; // "HTTP/1.1"
    HeaderList headers;
    QByteArray body; // de-chunked if it came chunked
    // steady_clock time (ns since its epoch) when the last byte of the request was parsed; the
    // same clock as opsdeck::Clock::system().monotonic().
    qint64 receivedMonoNs = 0;
    int connectionId = 0; // 1, 2, ... in accept order, per FaultServer

    // The first value of a header (case-insensitive name); empty if absent.
    QByteArray header(QByteArrayView name) const;
    bool hasHeader(QByteArrayView name) const;
};

class FaultServer : public QObject
{
    Q_OBJECT

public:
    explicit FaultServer(QObject *parent = nullptr);
    ~FaultServer() override; // stop()

    // Starts the server thread and listens on 127.0.0.1:port (0 = ephemeral). Returns the port
    // actually bound, or 0 on failure. Calling it while running returns the current port.
    quint16 start(quint16 port = 0);
    // Closes the listener and every connection and joins the thread. Rules and counters stay.
    void stop();
    bool isRunning() const;
    quint16 port() const; // 0 when not running

    QUrl baseUrl() const; // http://127.0.0.1:PORT
    // baseUrl() + pathAndQuery, e.g. url(u"/v1/x?a=1").
    QUrl url(QStringView pathAndQuery) const;

    // --- Behaviour (takes effect for requests that arrive after the call) ---
    void addRule(const FaultRule &rule);
    void clearRules();
    int ruleCount() const; // rules not yet used up
    // The response when no rule matches; its matching fields and `times` are ignored.
    void setDefaultRule(const FaultRule &rule);
    FaultRule defaultRule() const;
    // Off: requests are counted but not stored (for load tests). On by default.
    void setRecordRequests(bool record);

    // --- Observation ---
    int requestCount() const; // complete requests received since the last resetCounters()
    QList<RecordedRequest> requests() const;
    RecordedRequest lastRequest() const; // default-constructed when there is none
    int connectionCount() const;         // connections accepted since the last resetCounters()
    int openConnections() const;         // connections open right now
    // Requests being handled right now: received, response not yet fully written.
    int activeRequests() const;
    int maxConcurrentRequests() const; // peak of activeRequests() since the last resetCounters()
    // Clears recorded requests and counts; the concurrency peak restarts at activeRequests().
    void resetCounters();
    // Blocks until requestCount() >= n or timeoutMs passes; true if the count was reached.
    // Needs no event loop in the calling thread.
    bool waitForRequests(int n, int timeoutMs) const;

Q_SIGNALS:
    // Emitted in this object's thread (queued) after each request, with the requestCount() at that
    // moment. Signals queued before a resetCounters() may still arrive after it.
    void requestReceived(int count);

private:
    std::unique_ptr<detail::FaultServerState> m_state;
    std::unique_ptr<QThread> m_thread;
    detail::FaultServerWorker *m_worker = nullptr; // lives in m_thread; deleted when it finishes
};

} // namespace opsdeck::test

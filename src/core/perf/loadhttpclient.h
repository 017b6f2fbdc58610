// LoadHttpClient: the load tester's own HTTP/1.1 client. Keep-alive connections on buffered
// QTcpSocket (QSslSocket for https) spread over a few worker threads, one request in flight per
// connection, as wrk does. Why not QNetworkAccessManager: Qt 6.4's HTTP channel opens its socket
// unbuffered and reads the status line and every header byte with a read() call of its own (about
// 180 syscalls per simulator answer, ~250 us of CPU), so the load generator, not the server, was
// the bottleneck. The HttpPool keeps QNAM (issue 4); `--http-client pool` measures it instead.
//
//     LoadHttpClient client({QUrl("http://127.0.0.1:8080"), 10, 10'000});
//     client.submit({"GET", "/api/v3/time"}, [](const LoadHttpClient::Response &r) { ... });
//
// submit() is thread-safe and never blocks; the callback runs in a worker thread, exactly once per
// submit(), also on shutdown() (as error "shutdown"). Not a general client: no redirects, no
// cookies, no proxy; answers are read and discarded apart from their status.
#pragma once

#include "core/perf/loadtestcomponent.h"

#include <QtCore/QByteArray>
#include <QtCore/QUrl>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

class QThread;

namespace opsdeck::perf {

class LoadHttpClient
{
public:
    struct Settings
    {
        QUrl base;            // scheme, host and port are used (its path is the caller's)
        int connections = 10; // at most this many requests in flight
        int timeoutMs = 10'000; // per request, from the write to the last byte of the answer
        int threads = 0;        // worker threads; 0: min(connections, ideal thread count)
    };
    struct Request
    {
        QByteArray method;      // "GET", "POST", ...
        QByteArray target;      // origin-form: "/path?query"
        QByteArray body;        // sent with Content-Length when not empty
        QByteArray contentType; // sent when the body is not empty
    };
    struct Response
    {
        int status = 0; // 0 when no complete answer arrived
        LoadErrorKind error = LoadErrorKind::None; // set for status >= 400 too (429: RateLimited)
        QString detail;
    };
    using Callback = std::function<void(const Response &)>;

    explicit LoadHttpClient(Settings settings);
    ~LoadHttpClient(); // shutdown()

    void submit(Request request, Callback callback);
    // Fails what is queued or in flight with "shutdown" and stops the threads. Idempotent.
    void shutdown();

    struct Stats
    {
        quint64 requests = 0;          // answered or failed
        quint64 connectionsOpened = 0; // TCP connections made (keep-alive reuse keeps it low)
        quint64 bytesReceived = 0;
    };
    Stats stats() const;
    int threadCount() const { return int(m_workers.size()); }

    // Exposed for tests: the response parser, fed bytes as they arrive.
    class Parser
    {
    public:
        enum class State { NeedMore, Done, Error };
        // Consumes from `data` (removing what it used) and says whether an answer is complete.
        State feed(QByteArray &data);
        void reset(bool headRequest = false);
        int status() const { return m_status; }
        bool keepAlive() const { return m_keepAlive; }
        QString error() const { return m_error; }
        // The answer has no length and ends with the connection: true once its body began.
        bool closedComplete() const;

    private:
        enum class Phase { StatusLine, Headers, Body, ChunkSize, ChunkData, ChunkCrlf, Trailers };
        State fail(const QString &why);
        Phase m_phase = Phase::StatusLine;
        int m_status = 0;
        bool m_keepAlive = true;
        bool m_chunked = false;
        bool m_head = false;
        qint64 m_remaining = -1; // body bytes still expected; -1: until the connection closes
        qint64 m_headerBytes = 0;
        QString m_error;
    };

private:
    class Worker;
    struct Counters
    {
        std::atomic<quint64> requests{0};
        std::atomic<quint64> connectionsOpened{0};
        std::atomic<quint64> bytesReceived{0};
    };
    Settings m_settings;
    Counters m_counters;
    std::vector<std::unique_ptr<QThread>> m_threads;
    std::vector<Worker *> m_workers; // each lives in its thread
    std::atomic<quint64> m_next{0};
    std::atomic<bool> m_shutDown{false};
};

} // namespace opsdeck::perf

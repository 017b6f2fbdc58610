// bench_http: the HTTP pool benchmark of issue 4 point 8. Against Debian's nginx (`return 200`,
// started here as a separate process on a free 127.0.0.1 port, with its own config in a temp dir),
// one run prints, each figure beside a baseline measured in the same run (the machine is shared):
//   1. requests/s of HttpPool at concurrency 6, 24 and 48 (pool size = concurrency, that many
//      requests kept in flight, each completion callback issuing the next in the thread that
//      completed it, as the raw loop does; beside it the same through then(context) on the main
//      thread, which adds the caller's own hop) next to a raw QNAM loop with the
//      same connections (ceil(c / 6) QNAMs, one thread each, 6 in flight each: Qt 6.4 opens at
//      most 6 connections per host per QNAM), the ratio against the 0.9x goal, and `wrk -t1` with
//      the same connections for context; p50/p99 latency of each; connections opened (counted
//      by nginx's stub_status, so keep-alive reuse shows);
//   2. rate limiter accuracy: 50 callers hammer an api limited to 600 requests/min (burst 10);
//      nginx logs each arrival, checked against burst + rate * T in every window and for the
//      long-run rate (+-1 %), beside the exact GCRA schedule computed on a ManualClock.
// Usage: bench_http [--quick] [--seconds S] [--json FILE]. Exit 0 when it ran (a MISSed goal is
// reported, not an error), 2 on a usage error, 3 when nginx could not run or a part failed.
// Needs the Debian packages nginx and wrk at run time (wrk is optional: its column then says
// n/a). Traffic goes to 127.0.0.1 only and every loop is bounded in time.
// Not a test: ctest never runs it; tests only check correctness (CONTRACTS.md).
#include "benchsupport.h"
#include "core/http/httppool.h"
#include "core/http/httppoolsettings.h"
#include "core/http/httppoolstats.h"
#include "core/http/httprequest.h"
#include "core/http/httpresponse.h"
#include "core/http/ratelimiter.h"
#include "core/support/clock.h"
#include "core/support/latencyhistogram.h"
#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFile>
#include <QtCore/QFuture>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTextStream>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtCore/QUrl>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <iterator>
#include <latch>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace opsdeck::bench {

namespace {

using namespace std::chrono_literals;
using http::HttpPool;
using http::HttpPoolSettings;
using http::HttpRequest;
using http::HttpResponse;
using http::RateLimiter;

constexpr int kSchemaVersion = 1;
constexpr int kConnectionsPerQnam = 6; // Qt 6.4: per host, per QNetworkAccessManager
constexpr double kThroughputGoal = 0.9;
constexpr double kRateToleranceShare = 0.01;
const QByteArray kBody = QByteArrayLiteral("ok");

// ---------------------------------------------------------------------------------------------
// Output helpers

qint64 nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

QString fixed(double value, int decimals)
{
    return QString::number(value, 'f', decimals);
}

QString micros(qint64 ns)
{
    return QString::number(double(ns) / 1e3, 'f', 0);
}

QString cell(const QString &text, int width)
{
    return text.leftJustified(width, QLatin1Char(' '), true);
}

QString rcell(const QString &text, int width)
{
    return text.rightJustified(width, QLatin1Char(' '), true);
}

// Child processes die with us (SIGTERM lets nginx's master stop its worker too).
void dieWithParent()
{
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
}

QString findTool(const QString &name, const QStringList &extraDirs)
{
    QString path = QStandardPaths::findExecutable(name, extraDirs);
    if (path.isEmpty())
        path = QStandardPaths::findExecutable(name);
    return path;
}

// ---------------------------------------------------------------------------------------------
// nginx as a separate process on a free loopback port

// `$msec` per request to /limited; stub_status for the connection and request counters.
constexpr char kNginxConfig[]
    = R"(# Written by bench_http: loopback only, removed with its directory.
worker_processes 1;
daemon off;
pid "@DIR@/nginx.pid";
error_log "@DIR@/error.log" warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    default_type text/plain;
    client_body_temp_path "@DIR@/client_body";
    proxy_temp_path "@DIR@/proxy";
    fastcgi_temp_path "@DIR@/fastcgi";
    uwsgi_temp_path "@DIR@/uwsgi";
    scgi_temp_path "@DIR@/scgi";
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    log_format arrival '$msec';
    server {
        listen 127.0.0.1:@PORT@;
        location / {
            return 200 "ok";
        }
        location = /limited {
            access_log "@DIR@/limited.log" arrival;
            return 200 "ok";
        }
        location = /nginx_status {
            stub_status;
        }
    }
}
)";

struct ServerCounters
{
    qint64 accepts = 0;  // TCP connections accepted since nginx started
    qint64 requests = 0; // requests served since nginx started
};

class Nginx final
{
public:
    Nginx() = default;
    Q_DISABLE_COPY_MOVE(Nginx)
    ~Nginx() { stop(); }

    // Writes the config and starts nginx; true once the port answers.
    bool start(const QString &binary)
    {
        m_binary = binary;
        if (!m_dir.isValid()) {
            m_error = QStringLiteral("cannot create a temporary directory: ") + m_dir.errorString();
            return false;
        }
        for (int attempt = 0; attempt < 3; ++attempt) {
            if (startOnce())
                return true;
            stop();
        }
        return false;
    }

    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.terminate(); // SIGTERM: fast shutdown of master and worker
        if (!m_process.waitForFinished(5000)) {
            m_process.kill();
            m_process.waitForFinished(2000);
        }
    }

    quint16 port() const { return m_port; }
    QString error() const { return m_error; }
    QString limitedLogPath() const { return m_dir.filePath(QStringLiteral("limited.log")); }

    QUrl url(const QString &path) const
    {
        QUrl url;
        url.setScheme(QStringLiteral("http"));
        url.setHost(QStringLiteral("127.0.0.1"));
        url.setPort(m_port);
        url.setPath(path);
        return url;
    }

    QString version() const
    {
        QProcess process;
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(m_binary, {QStringLiteral("-v")});
        if (!process.waitForFinished(5000))
            return QString();
        return QString::fromUtf8(process.readAll()).trimmed().section(QLatin1Char('/'), 1);
    }

    // From stub_status, over a connection of its own (which it counts: one accept, one request).
    std::optional<ServerCounters> counters() const
    {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_port);
        if (!socket.waitForConnected(2000))
            return std::nullopt;
        socket.write("GET /nginx_status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        QByteArray data;
        while (socket.waitForReadyRead(2000))
            data += socket.readAll();
        data += socket.readAll();
        const QList<QByteArray> lines = data.split('\n');
        for (qsizetype i = 0; i + 1 < lines.size(); ++i) {
            if (!lines.at(i).startsWith("server accepts handled requests"))
                continue;
            const QList<QByteArray> fields = lines.at(i + 1).simplified().split(' ');
            if (fields.size() < 3)
                return std::nullopt;
            return ServerCounters{fields.at(0).toLongLong(), fields.at(2).toLongLong()};
        }
        return std::nullopt;
    }

private:
    bool startOnce()
    {
        m_port = freePort();
        if (m_port == 0) {
            m_error = QStringLiteral("no free loopback port");
            return false;
        }
        const QString dir = m_dir.path();
        QString config = QString::fromUtf8(kNginxConfig);
        config.replace(QStringLiteral("@DIR@"), dir);
        config.replace(QStringLiteral("@PORT@"), QString::number(m_port));
        QFile file(m_dir.filePath(QStringLiteral("nginx.conf")));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)
            || file.write(config.toUtf8()) < 0) {
            m_error = QStringLiteral("cannot write ") + file.fileName();
            return false;
        }
        file.close();

        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.setChildProcessModifier(dieWithParent);
        m_process.start(m_binary, {QStringLiteral("-p"), dir + QLatin1Char('/'),
                                   QStringLiteral("-c"), file.fileName(), QStringLiteral("-e"),
                                   m_dir.filePath(QStringLiteral("error.log"))});
        if (!m_process.waitForStarted(5000)) {
            m_error = QStringLiteral("cannot start ") + m_binary + QStringLiteral(": ")
                      + m_process.errorString();
            return false;
        }
        QElapsedTimer waited;
        waited.start();
        while (waited.elapsed() < 5000) {
            if (m_process.state() == QProcess::NotRunning) {
                m_error = QStringLiteral("nginx exited: ") + errorLogTail();
                return false;
            }
            QTcpSocket probe;
            probe.connectToHost(QHostAddress::LocalHost, m_port);
            if (probe.waitForConnected(250))
                return true;
            m_process.waitForFinished(50);
        }
        m_error = QStringLiteral("nginx did not answer on port %1 within 5 s: ").arg(m_port)
                  + errorLogTail();
        return false;
    }

    QString errorLogTail()
    {
        QFile log(m_dir.filePath(QStringLiteral("error.log")));
        QByteArray text = m_process.readAll();
        if (log.open(QIODevice::ReadOnly))
            text += log.readAll();
        return QString::fromUtf8(text.right(600)).trimmed();
    }

    static quint16 freePort()
    {
        QTcpServer server;
        if (!server.listen(QHostAddress::LocalHost, 0))
            return 0;
        return server.serverPort();
    }

    QTemporaryDir m_dir{QDir::tempPath() + QStringLiteral("/bench_http-XXXXXX")};
    QString m_binary;
    QProcess m_process;
    quint16 m_port = 0;
    QString m_error;
};

// ---------------------------------------------------------------------------------------------
// Closed-loop load: `inFlight` requests outstanding, each completion issuing the next

// The measured window of one run, shared by every thread of it: completions in [startNs, endNs)
// count; none is issued after endNs, so the run drains by itself.
struct LoadWindow
{
    qint64 startNs = 0;
    qint64 endNs = 0;
    std::atomic<quint64> completed{0};
    std::atomic<quint64> failed{0};
    std::atomic<quint64> all{0}; // successful completions, warm-up and drain included
    LatencyHistogram latency;    // ns, request issued to result seen by the caller

    // Accounts one completion; true when the caller should issue the next request.
    bool complete(qint64 sentNs, qint64 doneNs, bool ok)
    {
        if (ok)
            all.fetch_add(1, std::memory_order_relaxed);
        if (doneNs >= endNs)
            return false;
        if (!ok) {
            failed.fetch_add(1, std::memory_order_relaxed);
        } else if (doneNs >= startNs) {
            completed.fetch_add(1, std::memory_order_relaxed);
            latency.record(doneNs - sentNs);
        }
        return true;
    }
};

// One run (or the sum of a run's segments).
struct RunFigures
{
    double seconds = 0.0; // measured time
    quint64 completed = 0;
    quint64 failed = 0;
    HistogramSnapshot latency;
    int clients = 0;              // QNAMs (raw) or pool workers
    qint64 connectionsOpened = 0; // counted by nginx; -1: unknown
    qint64 serverRequests = 0;    // counted by nginx; -1: unknown
    double cpuSeconds = 0.0;      // this process, warm-up to drain
    quint64 allCompleted = 0;     // warm-up to drain
    quint64 poolErrors = 0;       // HttpPoolStats::errors (pool runs only)
    bool drained = true;

    double requestsPerSecond() const { return seconds > 0 ? double(completed) / seconds : 0.0; }
    double cpuMicrosPerRequest() const
    {
        return allCompleted > 0 ? cpuSeconds * 1e6 / double(allCompleted) : 0.0;
    }

    void add(const RunFigures &other)
    {
        seconds += other.seconds;
        completed += other.completed;
        failed += other.failed;
        latency.merge(other.latency);
        clients = other.clients;
        connectionsOpened = connectionsOpened < 0 || other.connectionsOpened < 0
                                ? -1
                                : connectionsOpened + other.connectionsOpened;
        serverRequests = serverRequests < 0 || other.serverRequests < 0
                             ? -1
                             : serverRequests + other.serverRequests;
        cpuSeconds += other.cpuSeconds;
        allCompleted += other.allCompleted;
        poolErrors += other.poolErrors;
        drained = drained && other.drained;
    }

    QJsonObject toJson() const
    {
        return {{QStringLiteral("requests_per_s"), requestsPerSecond()},
                {QStringLiteral("seconds"), seconds},
                {QStringLiteral("completed"), qint64(completed)},
                {QStringLiteral("failed"), qint64(failed)},
                {QStringLiteral("p50_us"), double(latency.valueAtPercentile(50)) / 1e3},
                {QStringLiteral("p99_us"), double(latency.valueAtPercentile(99)) / 1e3},
                {QStringLiteral("max_us"), double(latency.max()) / 1e3},
                {QStringLiteral("qnams"), clients},
                {QStringLiteral("connections_opened"), connectionsOpened},
                {QStringLiteral("server_requests"), serverRequests},
                {QStringLiteral("cpu_us_per_request"), cpuMicrosPerRequest()},
                {QStringLiteral("pool_errors"), qint64(poolErrors)},
                {QStringLiteral("drained"), drained}};
    }
};

double processCpuSeconds()
{
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// One QNAM in its own thread, `inFlight` GETs outstanding: the baseline with no pool around it.
class RawClient final : public QObject
{
public:
    RawClient(QUrl url, int inFlight, LoadWindow &window, std::latch &drained)
        : m_url(std::move(url))
        , m_inFlight(inFlight)
        , m_window(window)
        , m_drained(drained)
    {}

    void start() // in its thread
    {
        m_nam = new QNetworkAccessManager(this);
        m_nam->setProxy(QNetworkProxy(QNetworkProxy::NoProxy));
        m_request = QNetworkRequest(m_url);
        m_request.setTransferTimeout(10'000); // a stalled server cannot hang the run
        m_active = m_inFlight;
        for (int i = 0; i < m_inFlight; ++i)
            issue();
    }

private:
    void issue()
    {
        const qint64 sent = nowNs();
        QNetworkReply *reply = m_nam->get(m_request);
        connect(reply, &QNetworkReply::finished, this,
                [this, reply, sent] { onFinished(reply, sent); });
    }

    void onFinished(QNetworkReply *reply, qint64 sent)
    {
        const bool ok = reply->error() == QNetworkReply::NoError
                        && reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200
                        && reply->readAll() == kBody;
        reply->deleteLater();
        if (m_window.complete(sent, nowNs(), ok)) {
            issue();
        } else if (--m_active == 0) {
            m_drained.count_down();
            thread()->quit(); // the thread's finished() deletes this (and the QNAM)
        }
    }

    QUrl m_url;
    int m_inFlight = 0;
    LoadWindow &m_window;
    std::latch &m_drained;
    QNetworkAccessManager *m_nam = nullptr;
    QNetworkRequest m_request;
    int m_active = 0;
};

// Where a PoolLoad's continuations run.
enum class Continuation {
    Context,  // `future.then(context, ...)` on the main thread (one more thread hop per request)
    Callback, // `request(req, onFinished)`: in the worker thread that completes it, as raw QNAM
};

// Drives an HttpPool with `inFlight` requests outstanding, issuing the next one from the
// continuation of each result.
class PoolLoad final
{
public:
    PoolLoad(HttpPool &pool, HttpRequest request, LoadWindow &window, Continuation continuation)
        : m_pool(pool)
        , m_request(std::move(request))
        , m_window(window)
        , m_continuation(continuation)
    {}
    Q_DISABLE_COPY_MOVE(PoolLoad)

    // Issues `inFlight` requests and runs until drained or `limit` passed; true when drained.
    // Nothing is issued after it returns (results still arriving are only counted).
    bool run(int inFlight, std::chrono::milliseconds limit)
    {
        m_active = inFlight;
        for (int i = 0; i < inFlight; ++i)
            issue();
        QTimer timer;
        timer.setSingleShot(true);
        timer.setTimerType(Qt::PreciseTimer);
        QObject::connect(&timer, &QTimer::timeout, &m_loop, [this] { m_loop.exit(1); });
        timer.start(limit);
        const bool drained = m_loop.exec() == 0;
        m_stopped.store(true);
        return drained;
    }

private:
    void issue()
    {
        const qint64 sent = nowNs();
        auto next = [this, sent](const Result<HttpResponse> &r) {
            onResult(sent, r);
        };
        if (m_continuation == Continuation::Context)
            m_pool.request(m_request).then(&m_context, std::move(next));
        else
            m_pool.request(m_request, std::move(next));
    }

    // On the main thread (Context) or a pool worker thread (Callback): never both in one run.
    void onResult(qint64 sent, const Result<HttpResponse> &result)
    {
        const bool ok = result && result->status == 200 && result->body == kBody;
        if (m_window.complete(sent, nowNs(), ok) && !m_stopped.load()) {
            issue();
        } else if (--m_active == 0) {
            // Queued, so the main thread's loop is told from its own thread.
            QMetaObject::invokeMethod(
                &m_context, [this] { m_loop.exit(0); }, Qt::QueuedConnection);
        }
    }

    HttpPool &m_pool;
    HttpRequest m_request;
    LoadWindow &m_window;
    const Continuation m_continuation;
    QObject m_context;
    QEventLoop m_loop;
    std::atomic<int> m_active{0};
    std::atomic<bool> m_stopped{false};
};

struct RunPlan
{
    int concurrency = 6;
    std::chrono::milliseconds warmup{500};
    std::chrono::milliseconds measure{5000};
};

void startWindow(LoadWindow &window, const RunPlan &plan)
{
    window.startNs = nowNs() + std::chrono::nanoseconds(plan.warmup).count();
    window.endNs = window.startNs + std::chrono::nanoseconds(plan.measure).count();
}

void finishFigures(RunFigures &figures,
                   const LoadWindow &window,
                   const RunPlan &plan,
                   const Nginx &nginx,
                   const std::optional<ServerCounters> &before,
                   double cpuBefore)
{
    figures.cpuSeconds = processCpuSeconds() - cpuBefore;
    figures.seconds = std::chrono::duration<double>(plan.measure).count();
    figures.completed = window.completed.load();
    figures.failed = window.failed.load();
    figures.allCompleted = window.all.load();
    figures.latency = window.latency.snapshot();
    const std::optional<ServerCounters> after = nginx.counters();
    if (before && after) {
        // Minus the stub_status connection and request of `after` itself.
        figures.connectionsOpened = after->accepts - before->accepts - 1;
        figures.serverRequests = after->requests - before->requests - 1;
    } else {
        figures.connectionsOpened = -1;
        figures.serverRequests = -1;
    }
}

RunFigures runRaw(const Nginx &nginx, const RunPlan &plan)
{
    RunFigures figures;
    const int qnams = (plan.concurrency + kConnectionsPerQnam - 1) / kConnectionsPerQnam;
    figures.clients = qnams;
    const std::optional<ServerCounters> before = nginx.counters();
    LoadWindow window;
    std::latch drained(qnams);
    std::vector<QThread *> threads;
    const double cpuBefore = processCpuSeconds();
    startWindow(window, plan);
    for (int i = 0; i < qnams; ++i) {
        // Spread as evenly as possible (6 each for 6, 24 and 48).
        const int inFlight = plan.concurrency / qnams + (i < plan.concurrency % qnams ? 1 : 0);
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("raw-%1").arg(i + 1));
        auto *client = new RawClient(nginx.url(QStringLiteral("/")), inFlight, window, drained);
        client->moveToThread(thread);
        QObject::connect(thread, &QThread::finished, client, &QObject::deleteLater);
        thread->start();
        QMetaObject::invokeMethod(
            client, [client] { client->start(); }, Qt::QueuedConnection);
        threads.push_back(thread);
    }
    drained.wait(); // bounded: every reply has a 10 s transfer timeout
    for (QThread *thread : threads) {
        thread->wait();
        delete thread;
    }
    finishFigures(figures, window, plan, nginx, before, cpuBefore);
    return figures;
}

RunFigures runPool(const Nginx &nginx, const RunPlan &plan, Continuation continuation)
{
    RunFigures figures;
    const std::optional<ServerCounters> before = nginx.counters();
    LoadWindow window;
    HttpPoolSettings settings;
    settings.poolSize = plan.concurrency;
    settings.timeout = 10s;
    const double cpuBefore = processCpuSeconds();
    auto pool = std::make_unique<HttpPool>(settings);
    {
        PoolLoad load(*pool,
                      HttpRequest::get(nginx.url(QStringLiteral("/")), QStringLiteral("nginx")),
                      window, continuation);
        startWindow(window, plan);
        figures.drained = load.run(plan.concurrency, plan.warmup + plan.measure + 20s);
        const http::HttpPoolStats stats = pool->stats();
        figures.clients = stats.workers;
        figures.poolErrors = stats.errors;
        pool.reset(); // fails whatever is left (nothing, once drained) and joins its threads
        QCoreApplication::processEvents();
    }
    finishFigures(figures, window, plan, nginx, before, cpuBefore);
    return figures;
}

// ---------------------------------------------------------------------------------------------
// wrk, for context

struct WrkFigures
{
    bool ran = false;
    double requestsPerSecond = 0.0;
    qint64 p50Ns = 0;
    qint64 p99Ns = 0;
    qint64 non2xx = 0;
    QString error;

    QJsonObject toJson() const
    {
        if (!ran)
            return {{QStringLiteral("ran"), false}, {QStringLiteral("error"), error}};
        return {{QStringLiteral("ran"), true},
                {QStringLiteral("requests_per_s"), requestsPerSecond},
                {QStringLiteral("p50_us"), double(p50Ns) / 1e3},
                {QStringLiteral("p99_us"), double(p99Ns) / 1e3},
                {QStringLiteral("non_2xx"), non2xx}};
    }
};

// "190.00us", "1.18ms", "1.00s" -> ns.
qint64 parseWrkDuration(const QString &value, const QString &unit)
{
    const double v = value.toDouble();
    if (unit == QLatin1String("us"))
        return qint64(v * 1e3);
    if (unit == QLatin1String("ms"))
        return qint64(v * 1e6);
    if (unit == QLatin1String("s"))
        return qint64(v * 1e9);
    return qint64(v); // ns
}

WrkFigures runWrk(const QString &binary, const Nginx &nginx, const RunPlan &plan)
{
    WrkFigures figures;
    if (binary.isEmpty()) {
        figures.error = QStringLiteral("wrk not found");
        return figures;
    }
    const qint64 seconds = std::max<qint64>(
        1, std::chrono::duration_cast<std::chrono::seconds>(plan.measure + 500ms).count());
    QProcess process;
    process.setChildProcessModifier(dieWithParent);
    process.start(binary, {QStringLiteral("-t1"), QStringLiteral("-c%1").arg(plan.concurrency),
                           QStringLiteral("-d%1s").arg(seconds), QStringLiteral("--latency"),
                           nginx.url(QStringLiteral("/")).toString()});
    if (!process.waitForStarted(5000) || !process.waitForFinished(int(seconds * 1000 + 15'000))) {
        process.kill();
        process.waitForFinished(2000);
        figures.error = QStringLiteral("wrk did not finish: ") + process.errorString();
        return figures;
    }
    const QString text = QString::fromUtf8(process.readAllStandardOutput());
    static const QRegularExpression rps(QStringLiteral("^Requests/sec:\\s+([0-9.]+)"),
                                        QRegularExpression::MultilineOption);
    static const QRegularExpression pct(
        QStringLiteral("^\\s*(50|99)%\\s+([0-9.]+)(ns|us|ms|s)\\s*$"),
        QRegularExpression::MultilineOption);
    static const QRegularExpression non2xx(QStringLiteral("Non-2xx or 3xx responses:\\s+(\\d+)"));
    const QRegularExpressionMatch rpsMatch = rps.match(text);
    if (!rpsMatch.hasMatch()) {
        figures.error = QStringLiteral("no Requests/sec line: ")
                        + QString::fromUtf8(process.readAllStandardError()).trimmed();
        return figures;
    }
    figures.ran = true;
    figures.requestsPerSecond = rpsMatch.captured(1).toDouble();
    for (auto it = pct.globalMatch(text); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        const qint64 ns = parseWrkDuration(m.captured(2), m.captured(3));
        (m.captured(1) == QLatin1String("50") ? figures.p50Ns : figures.p99Ns) = ns;
    }
    if (const QRegularExpressionMatch m = non2xx.match(text); m.hasMatch())
        figures.non2xx = m.captured(1).toLongLong();
    return figures;
}

// ---------------------------------------------------------------------------------------------
// 1. Throughput

QJsonArray benchThroughput(const Nginx &nginx,
                           const QString &wrkBinary,
                           const RunPlan &basePlan,
                           QList<Goal> &goals,
                           bool &failed)
{
    const QList<int> concurrencies{6, 24, 48};
    print(QStringLiteral("== 1. Throughput: GET / (nginx `return 200 \"ok\"`, 1 worker process) "
                         "on 127.0.0.1:%1, %2 s per run after %3 s warm-up; %4")
              .arg(nginx.port())
              .arg(fixed(std::chrono::duration<double>(basePlan.measure).count(), 1),
                   fixed(std::chrono::duration<double>(basePlan.warmup).count(), 2), loadText()));
    print(
        QStringLiteral("   pool: HttpPool(pool size = c), c requests kept in flight, each result's"
                       " completion callback issuing the next in the worker thread that completed"
                       " it (request(req, onFinished)), as the raw loop does in its QNAM's thread;"
                       " via main: the same with then(context, ...) on the main thread (one more"
                       " thread hop, the caller's); raw: ceil(c/6) QNAMs, one thread each, 6 in"
                       " flight each; measured as raw, pool, main, main, pool, raw halves; then"
                       " wrk -t1 -c<c> --latency"));
    QJsonArray rows;
    struct Row
    {
        int c = 0;
        RunFigures raw;
        RunFigures pool;
        RunFigures sync;
        WrkFigures wrk;
        double ratio = 0.0;
        double syncRatio = 0.0;
    };
    std::vector<Row> table;
    for (const int c : concurrencies) {
        RunPlan plan = basePlan;
        plan.concurrency = c;
        // Half the time each, mirrored, so a load drift hits every variant alike.
        RunPlan half = plan;
        half.measure = plan.measure / 2;
        Row row;
        row.c = c;
        row.raw = runRaw(nginx, half);
        row.pool = runPool(nginx, half, Continuation::Callback);
        row.sync = runPool(nginx, half, Continuation::Context);
        row.sync.add(runPool(nginx, half, Continuation::Context));
        row.pool.add(runPool(nginx, half, Continuation::Callback));
        row.raw.add(runRaw(nginx, half));
        row.wrk = runWrk(wrkBinary, nginx, plan);
        const double raw = row.raw.requestsPerSecond();
        row.ratio = raw > 0 ? row.pool.requestsPerSecond() / raw : 0.0;
        row.syncRatio = raw > 0 ? row.sync.requestsPerSecond() / raw : 0.0;
        const Goal goal{QStringLiteral("throughput_c%1_pool_over_raw").arg(c),
                        QStringLiteral(">= %1x").arg(fixed(kThroughputGoal, 2)), row.ratio,
                        row.ratio >= kThroughputGoal};
        goals.append(goal);
        for (const RunFigures *f : {&row.raw, &row.pool, &row.sync}) {
            if (f->failed > 0 || f->completed == 0 || !f->drained || f->poolErrors > 0)
                failed = true;
        }
        rows.append(QJsonObject{{QStringLiteral("concurrency"), c},
                                {QStringLiteral("pool"), row.pool.toJson()},
                                {QStringLiteral("pool_via_main_thread"), row.sync.toJson()},
                                {QStringLiteral("raw_qnam"), row.raw.toJson()},
                                {QStringLiteral("wrk"), row.wrk.toJson()},
                                {QStringLiteral("pool_over_raw"), row.ratio},
                                {QStringLiteral("pool_via_main_over_raw"), row.syncRatio},
                                {QStringLiteral("goal"), goal.toJson()}});
        table.push_back(std::move(row));
    }

    auto wrkRps = [](const WrkFigures &w) -> QString {
        return w.ran ? fixed(w.requestsPerSecond, 0) : QStringLiteral("n/a");
    };
    auto wrkLatency = [](const WrkFigures &w) -> QString {
        return w.ran ? micros(w.p50Ns) + QLatin1Char('/') + micros(w.p99Ns) : QStringLiteral("n/a");
    };
    auto latency = [](const RunFigures &f) -> QString {
        return micros(f.latency.valueAtPercentile(50)) + QLatin1Char('/')
               + micros(f.latency.valueAtPercentile(99));
    };
    print(QString());
    print(cell(QStringLiteral("   c"), 5) + rcell(QStringLiteral("pool req/s"), 11)
          + rcell(QStringLiteral("raw req/s"), 10) + rcell(QStringLiteral("pool/raw"), 9)
          + rcell(QStringLiteral("goal"), 13) + rcell(QStringLiteral("main req/s"), 11)
          + rcell(QStringLiteral("main/raw"), 9) + rcell(QStringLiteral("wrk req/s"), 10)
          + rcell(QStringLiteral("p50/p99 us: pool"), 18) + rcell(QStringLiteral("main"), 12)
          + rcell(QStringLiteral("raw"), 12) + rcell(QStringLiteral("wrk"), 11));
    for (const Row &row : table) {
        print(rcell(QString::number(row.c), 4) + QLatin1Char(' ')
              + rcell(fixed(row.pool.requestsPerSecond(), 0), 11)
              + rcell(fixed(row.raw.requestsPerSecond(), 0), 10)
              + rcell(fixed(row.ratio, 2) + QLatin1Char('x'), 9)
              + rcell(QStringLiteral(">=0.90x ") + passMiss(row.ratio >= kThroughputGoal), 13)
              + rcell(fixed(row.sync.requestsPerSecond(), 0), 11)
              + rcell(fixed(row.syncRatio, 2) + QLatin1Char('x'), 9) + rcell(wrkRps(row.wrk), 10)
              + rcell(latency(row.pool), 18) + rcell(latency(row.sync), 12)
              + rcell(latency(row.raw), 12) + rcell(wrkLatency(row.wrk), 11));
    }
    print(QString());
    // Per 1000 requests nginx served, so warm-up and drain count on both sides alike.
    auto perThousand = [](const RunFigures &f) -> QString {
        if (f.connectionsOpened < 0 || f.serverRequests <= 0)
            return QStringLiteral("?");
        return fixed(double(f.connectionsOpened) * 1000.0 / double(f.serverRequests), 1);
    };
    print(cell(QStringLiteral("   c"), 5) + rcell(QStringLiteral("CPU us/req: pool"), 17)
          + rcell(QStringLiteral("main"), 7) + rcell(QStringLiteral("raw"), 7)
          + rcell(QStringLiteral("new conns/1k req: pool"), 24) + rcell(QStringLiteral("main"), 6)
          + rcell(QStringLiteral("raw"), 6) + rcell(QStringLiteral("QNAMs: pool"), 13)
          + rcell(QStringLiteral("raw"), 5) + rcell(QStringLiteral("failed: pool"), 14)
          + rcell(QStringLiteral("main"), 6) + rcell(QStringLiteral("raw"), 5));
    for (const Row &row : table) {
        print(rcell(QString::number(row.c), 4) + QLatin1Char(' ')
              + rcell(fixed(row.pool.cpuMicrosPerRequest(), 1), 17)
              + rcell(fixed(row.sync.cpuMicrosPerRequest(), 1), 7)
              + rcell(fixed(row.raw.cpuMicrosPerRequest(), 1), 7) + rcell(perThousand(row.pool), 24)
              + rcell(perThousand(row.sync), 6) + rcell(perThousand(row.raw), 6)
              + rcell(QString::number(row.pool.clients), 13)
              + rcell(QString::number(row.raw.clients), 5)
              + rcell(QString::number(row.pool.failed + row.pool.poolErrors), 14)
              + rcell(QString::number(row.sync.failed + row.sync.poolErrors), 6)
              + rcell(QString::number(row.raw.failed), 5));
    }
    print(QStringLiteral("   (CPU: this process only, nginx excluded; connections and requests "
                         "counted by nginx's stub_status)"));
    print(QString());
    return rows;
}

// ---------------------------------------------------------------------------------------------
// 2. Rate limiter accuracy

struct LimiterPlan
{
    double perMinute = 600.0;
    double burst = 10.0;
    int callers = 50;
    std::chrono::milliseconds duration{30'000};
};

// The exact schedule: the same limiter on a ManualClock, a caller always waiting.
quint64 idealAdmissions(const LimiterPlan &plan, qint64 durationNs)
{
    ManualClock clock;
    RateLimiter limiter(RateLimiter::Limits{plan.perMinute, plan.burst}, clock);
    const qint64 start = clock.monotonic().count();
    quint64 admitted = 0;
    for (;;) {
        const RateLimiter::Decision decision = limiter.tryAcquire(1.0, TaskPriority::Normal);
        if (decision.admitted) {
            ++admitted;
            continue;
        }
        const qint64 next = decision.at.count();
        if (next - start >= durationNs)
            return admitted;
        clock.advance(
            std::chrono::nanoseconds(std::max<qint64>(1, next - clock.monotonic().count())));
    }
}

// The most arrivals in any window [t, t + w) that starts at an arrival.
qint64 maxInWindow(const std::vector<qint64> &sortedMs, qint64 windowMs)
{
    qint64 best = 0;
    size_t j = 0;
    for (size_t i = 0; i < sortedMs.size(); ++i) {
        j = std::max(j, i);
        while (j < sortedMs.size() && sortedMs[j] - sortedMs[i] < windowMs)
            ++j;
        best = std::max(best, qint64(j - i));
    }
    return best;
}

std::optional<QJsonObject>
benchLimiter(const Nginx &nginx, const LimiterPlan &plan, QList<Goal> &goals)
{
    const double ratePerSecond = plan.perMinute / 60.0;
    print(QStringLiteral("== 2. Rate limiter: api limited to %1 requests/min (burst %2), %3 callers"
                         " (pool size %3, NORMAL priority) for %4 s; arrivals logged by nginx "
                         "($msec); %5")
              .arg(plan.perMinute)
              .arg(plan.burst)
              .arg(plan.callers)
              .arg(fixed(std::chrono::duration<double>(plan.duration).count(), 0), loadText()));

    {
        // Truncated, not removed: nginx keeps it open (O_APPEND) from its start.
        QFile log(nginx.limitedLogPath());
        if (log.open(QIODevice::WriteOnly | QIODevice::Truncate))
            log.close();
    }
    HttpPoolSettings settings;
    settings.poolSize = plan.callers;
    settings.timeout = 10s;
    auto pool = std::make_unique<HttpPool>(settings);
    const QString api = QStringLiteral("limited");
    pool->setApiLimit(api, RateLimiter::Limits{plan.perMinute, plan.burst});

    LoadWindow window;
    window.startNs = nowNs();
    window.endNs = window.startNs + std::chrono::nanoseconds(plan.duration).count();
    bool throttledMidRun = false;
    int queuedMidRun = 0;
    http::HttpPoolStats stats;
    qint64 runNs = 0;
    {
        PoolLoad load(*pool, HttpRequest::get(nginx.url(QStringLiteral("/limited")), api), window,
                      Continuation::Context);
        QTimer::singleShot(plan.duration / 2, [&] {
            const http::HttpPoolStats mid = pool->stats();
            throttledMidRun = mid.rateLimitedApis.contains(api);
            queuedMidRun = mid.queued;
        });
        load.run(plan.callers, plan.duration); // stops at the end, with callers still queued
        runNs = nowNs() - window.startNs;
        stats = pool->stats();
        pool.reset(); // the queued rest fail with `shutdown` (outside the window)
        QCoreApplication::processEvents();
    }
    const double runSeconds = double(runNs) / 1e9;

    QFile log(nginx.limitedLogPath());
    std::vector<qint64> arrivalsMs;
    if (log.open(QIODevice::ReadOnly)) {
        for (const QByteArray &line : log.readAll().split('\n')) {
            bool ok = false;
            const double seconds = line.trimmed().toDouble(&ok);
            if (ok)
                arrivalsMs.push_back(qint64(std::llround(seconds * 1000.0)));
        }
    }
    std::sort(arrivalsMs.begin(), arrivalsMs.end());
    if (arrivalsMs.size() < 3) {
        print(QStringLiteral("   FAILED: %1 arrivals logged in %2")
                  .arg(arrivalsMs.size())
                  .arg(log.fileName()));
        return std::nullopt;
    }
    quint64 attempts = 0;
    for (const http::HttpApiStats &s : stats.apis) {
        if (s.name == api)
            attempts = s.attempts;
    }

    const qint64 admitted = qint64(arrivalsMs.size());
    const double bound = plan.burst + ratePerSecond * runSeconds;
    const quint64 ideal = idealAdmissions(plan, runNs);
    // Arrivals in the first 50 ms: the burst NORMAL traffic may use (the rest is reserved).
    const qint64 firstMs = arrivalsMs.front();
    const qint64 burstSeen = qint64(std::count_if(arrivalsMs.begin(), arrivalsMs.end(),
                                                  [&](qint64 t) { return t - firstMs < 50; }));
    // Long-run rate over the steady part (after the first second, so the burst is excluded).
    std::vector<qint64> steady;
    std::copy_if(arrivalsMs.begin(), arrivalsMs.end(), std::back_inserter(steady),
                 [&](qint64 t) { return t - firstMs >= 1000; });
    double measuredRate = 0.0;
    if (steady.size() >= 2 && steady.back() > steady.front())
        measuredRate = double(steady.size() - 1) * 1000.0 / double(steady.back() - steady.front());
    const double rateError = measuredRate / ratePerSecond - 1.0;

    // Every window length: the most arrivals in any [t, t + w) against burst + rate * w.
    const QList<qint64> windowsMs{
        100, 500, 1000, 2000, 5000, 10'000, qint64(std::llround(runSeconds * 1000.0))};
    QJsonArray windowJson;
    double worstExcess = -1e9;
    QStringList windowText;
    for (const qint64 w : windowsMs) {
        const qint64 most = maxInWindow(arrivalsMs, w);
        const double limit = plan.burst + ratePerSecond * double(w) / 1000.0;
        worstExcess = std::max(worstExcess, double(most) - limit);
        const bool whole = w == windowsMs.last();
        windowText.append(QStringLiteral("%1%2 s: %3/%4")
                              .arg(whole ? QStringLiteral("T=") : QString(),
                                   fixed(double(w) / 1000.0, whole ? 2 : 1))
                              .arg(most)
                              .arg(fixed(limit, 1)));
        windowJson.append(QJsonObject{{QStringLiteral("window_ms"), w},
                                      {QStringLiteral("max_admitted"), most},
                                      {QStringLiteral("bound"), limit}});
    }
    const Goal boundGoal{QStringLiteral("limiter_window_bound"),
                         QStringLiteral("max in any window <= burst + rate*T"), worstExcess,
                         worstExcess <= 0.0 && double(admitted) <= bound};
    const Goal rateGoal{QStringLiteral("limiter_long_run_rate_error"),
                        QStringLiteral("within +-1 %"), rateError,
                        std::abs(rateError) <= kRateToleranceShare};
    goals.append(boundGoal);
    goals.append(rateGoal);

    print(QString());
    print(QStringLiteral("   admitted (nginx) %1 in %2 s   bound burst+rate*T %3   exact GCRA "
                         "schedule (ManualClock, same T) %4   pool attempts %5   %6")
              .arg(admitted)
              .arg(fixed(runSeconds, 3))
              .arg(fixed(bound, 1))
              .arg(ideal)
              .arg(attempts)
              .arg(passMiss(double(admitted) <= bound)));
    print(QStringLiteral("   max in any window (admitted/bound)  ")
          + windowText.join(QStringLiteral("  ")) + QStringLiteral("   ")
          + passMiss(boundGoal.pass));
    print(QStringLiteral(
              "   long-run rate (after the 1st s) %1/s vs limit %2/s: %3 %   goal +-1 % %4")
              .arg(fixed(measuredRate, 4), fixed(ratePerSecond, 4), fixed(rateError * 100.0, 3),
                   passMiss(rateGoal.pass)));
    print(QStringLiteral("   burst used by NORMAL callers (first 50 ms) %1 of %2 (the rest is "
                         "reserved for CRITICAL/HIGH); callers' errors in the window %3; "
                         "mid-run: rate_limited_apis %4, %5 queued")
              .arg(burstSeen)
              .arg(plan.burst)
              .arg(window.failed.load())
              .arg(throttledMidRun ? QStringLiteral("[limited]") : QStringLiteral("[]"))
              .arg(queuedMidRun));
    print(QString());
    return QJsonObject{
        {QStringLiteral("per_minute"), plan.perMinute},
        {QStringLiteral("burst"), plan.burst},
        {QStringLiteral("callers"), plan.callers},
        {QStringLiteral("seconds"), runSeconds},
        {QStringLiteral("admitted"), admitted},
        {QStringLiteral("bound"), bound},
        {QStringLiteral("ideal_gcra"), qint64(ideal)},
        {QStringLiteral("pool_attempts"), qint64(attempts)},
        {QStringLiteral("client_ok_in_window"), qint64(window.completed.load())},
        {QStringLiteral("client_errors_in_window"), qint64(window.failed.load())},
        {QStringLiteral("burst_seen"), burstSeen},
        {QStringLiteral("measured_rate_per_s"), measuredRate},
        {QStringLiteral("limit_rate_per_s"), ratePerSecond},
        {QStringLiteral("rate_error"), rateError},
        {QStringLiteral("windows"), windowJson},
        {QStringLiteral("throttled_mid_run"), throttledMidRun},
        {QStringLiteral("queued_mid_run"), queuedMidRun},
        {QStringLiteral("goals"), QJsonArray{boundGoal.toJson(), rateGoal.toJson()}}};
}

int benchMain(const QCommandLineParser &parser,
              const QCommandLineOption &jsonOption,
              const QCommandLineOption &quickOption,
              const QCommandLineOption &secondsOption)
{
    const bool quick = parser.isSet(quickOption);
    RunPlan plan;
    plan.measure = quick ? 1000ms : 5000ms;
    plan.warmup = quick ? 200ms : 300ms;
    if (parser.isSet(secondsOption)) {
        bool ok = false;
        const double seconds = parser.value(secondsOption).toDouble(&ok);
        if (!ok || !(seconds >= 0.5) || seconds > 60.0) {
            QTextStream(stderr) << "--seconds: a number in [0.5, 60]\n";
            return 2;
        }
        plan.measure = std::chrono::milliseconds(qint64(std::llround(seconds * 1000.0)));
    }
    LimiterPlan limiterPlan;
    limiterPlan.duration = quick ? 10s : 30s;

    const QString nginxBinary = findTool(
        QStringLiteral("nginx"), {QStringLiteral("/usr/sbin"), QStringLiteral("/usr/local/sbin")});
    const QString wrkBinary = findTool(QStringLiteral("wrk"), {});
    if (nginxBinary.isEmpty()) {
        QTextStream(stderr) << "nginx not found (Debian package: nginx)\n";
        return 3;
    }
    Nginx nginx;
    if (!nginx.start(nginxBinary)) {
        QTextStream(stderr) << "cannot run nginx: " << nginx.error() << '\n';
        return 3;
    }

    const QElapsedTimer started = [] {
        QElapsedTimer t;
        t.start();
        return t;
    }();
    const QDateTime now = QDateTime::currentDateTimeUtc();
    print(
        QStringLiteral("bench_http %1%2, %3, %4 hardware threads, Qt %5, nginx %6 (%7), wrk %8; %9")
            .arg(QStringLiteral(OPSDECK_VERSION_STRING),
                 quick ? QStringLiteral(" --quick") : QString(), now.toString(Qt::ISODateWithMs))
            .arg(std::thread::hardware_concurrency())
            .arg(QString::fromLatin1(qVersion()), nginx.version(), nginxBinary,
                 wrkBinary.isEmpty() ? QStringLiteral("not found") : wrkBinary, loadText()));
    print(QString());

    QJsonObject document{
        {QStringLiteral("schema_version"), kSchemaVersion},
        {QStringLiteral("opsdeck_version"), QStringLiteral(OPSDECK_VERSION_STRING)},
        {QStringLiteral("timestamp"), now.toString(Qt::ISODateWithMs)},
        {QStringLiteral("timestamp_ms"), now.toMSecsSinceEpoch()},
        {QStringLiteral("quick"), quick},
        {QStringLiteral("seconds_per_run"), std::chrono::duration<double>(plan.measure).count()},
        {QStringLiteral("warmup_seconds"), std::chrono::duration<double>(plan.warmup).count()},
        {QStringLiteral("hardware_threads"), int(std::thread::hardware_concurrency())},
        {QStringLiteral("qt_version"), QString::fromLatin1(qVersion())},
        {QStringLiteral("nginx"), QJsonObject{{QStringLiteral("binary"), nginxBinary},
                                              {QStringLiteral("version"), nginx.version()},
                                              {QStringLiteral("port"), nginx.port()}}},
        {QStringLiteral("wrk_binary"), wrkBinary},
        {QStringLiteral("load_average_start"), loadAverage()}};

    QList<Goal> goals;
    int exitCode = 0;
    bool failed = false;
    document.insert(QStringLiteral("throughput"),
                    benchThroughput(nginx, wrkBinary, plan, goals, failed));
    if (const std::optional<QJsonObject> limiter = benchLimiter(nginx, limiterPlan, goals))
        document.insert(QStringLiteral("limiter"), *limiter);
    else
        failed = true;
    nginx.stop();
    if (failed)
        exitCode = 3;

    int passed = 0;
    QJsonArray goalArray;
    for (const Goal &goal : goals) {
        passed += goal.pass ? 1 : 0;
        goalArray.append(goal.toJson());
    }
    const double total = double(started.nsecsElapsed()) / 1e9;
    print(QStringLiteral("goals: %1 of %2 PASS%3; %4 s; %5")
              .arg(passed)
              .arg(goals.size())
              .arg(failed ? QStringLiteral(" (a run FAILED: requests failed or none completed)")
                          : QString())
              .arg(fixed(total, 1), loadText()));
    document.insert(QStringLiteral("goals"), goalArray);
    document.insert(QStringLiteral("failed"), failed);
    document.insert(QStringLiteral("seconds"), total);
    document.insert(QStringLiteral("load_average_end"), loadAverage());

    if (parser.isSet(jsonOption) && !writeJsonFile(parser.value(jsonOption), document))
        return 3;
    return exitCode;
}

} // namespace

} // namespace opsdeck::bench

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("bench_http"));
    QCoreApplication::setApplicationVersion(QStringLiteral(OPSDECK_VERSION_STRING));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "OpsDeck HTTP pool benchmark against nginx on loopback (issue 4, point 8)."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption jsonOption(QStringLiteral("json"),
                                        QStringLiteral("Write every figure to FILE as JSON."),
                                        QStringLiteral("FILE"));
    const QCommandLineOption quickOption(
        QStringLiteral("quick"), QStringLiteral("1 s runs and a 10 s limiter run (< 30 s)."));
    const QCommandLineOption secondsOption(
        QStringLiteral("seconds"),
        QStringLiteral("Seconds per throughput run (default 5, --quick 1)."), QStringLiteral("S"));
    parser.addOptions({jsonOption, quickOption, secondsOption});
    if (!parser.parse(QCoreApplication::arguments())) {
        QTextStream(stderr) << parser.errorText() << '\n';
        return 2;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty()) {
        QTextStream(stderr) << "unexpected argument: " << parser.positionalArguments().first()
                            << '\n';
        return 2;
    }
    return opsdeck::bench::benchMain(parser, jsonOption, quickOption, secondsOption);
}

// HttpWorker: one "http-N" worker thread's QNetworkAccessManager and the attempts it is running.
// It lives in its own QThread (the pool's dispatcher moves it there); every member function but
// the constructor, index() and post() runs in that thread, invoked queued by the dispatcher.
// Attempts arrive through a BatchInbox, so a busy worker wakes once per batch of attempts. It creates
// its QNAM in that thread on first use and deletes it in shutdown(), so the QNAM never touches
// another thread. Each attempt has a total deadline (then abort), because QNetworkRequest's
// transfer timeout only measures inactivity; one Qt::PreciseTimer per worker serves them all,
// armed for the earliest (an attempt costs a map entry, not a QTimer).
// It does not retry, queue or limit: it sends what it is given and reports what happened.
#pragma once

#include "core/http/httpattempt.h"
#include "core/http/httprequest.h"
#include "core/support/batchinbox.h"

#include <QtCore/QObject>

#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

QT_BEGIN_NAMESPACE
class QNetworkAccessManager;
class QNetworkReply;
class QTimer;
QT_END_NAMESPACE

namespace opsdeck::http {

class HttpWorker final : public QObject
{
    Q_OBJECT

public:
    // Called in the worker thread for every attempt, exactly once.
    using Deliver = std::function<void(HttpAttemptOutcome)>;

    HttpWorker(int index, bool useSystemProxy, Deliver deliver);
    ~HttpWorker() override;

    int index() const { return m_index; }

    // Worker thread. Creates the QNAM ahead of the first attempt (else the first attempt does).
    void prepare();
    // Any thread: sends the attempt soon, in the worker thread.
    void post(opsdeck::http::HttpAttemptJob job);
    // Worker thread. Sends the attempt now.
    void startAttempt(opsdeck::http::HttpAttemptJob job);
    // Worker thread. Aborts every running attempt (each is delivered with kind Shutdown) and
    // deletes the QNAM. The worker takes no attempts after it.
    void shutdown();

    // The QNetworkRequest for an HttpRequest (any thread): URL with its query, headers,
    // User-Agent, HTTP/2 switch, no automatic cookies (each worker would keep its own jar).
    static QNetworkRequest buildRequest(const HttpRequest &request, const QByteArray &userAgent);

private:
    using Deadlines = std::multimap<qint64, QNetworkReply *>; // monotonic ns -> attempt
    struct Active
    {
        HttpAttemptJob job;
        Deadlines::iterator deadline;
        qint64 startedNs = 0;
        enum class End { None, TimedOut, Shutdown } end = End::None;
    };

    void drainInbox();
    void ensureManager();
    QNetworkReply *send(const HttpAttemptJob &job);
    void armDeadlineTimer(qint64 atNs);
    void onDeadlineTimer();
    void onFinished(QNetworkReply *reply);

    const int m_index;
    const bool m_useSystemProxy;
    const Deliver m_deliver;
    QNetworkAccessManager *m_nam = nullptr; // child; created in the worker thread
    QTimer *m_deadlineTimer = nullptr;      // child; created with m_nam
    qint64 m_deadlineArmedAtNs = -1;        // -1: not armed
    Deadlines m_deadlines;
    bool m_shutDown = false;
    BatchInbox<HttpAttemptJob> m_inbox;
    std::vector<HttpAttemptJob> m_batch; // drainInbox()'s buffer, kept for its capacity
    std::unordered_map<QNetworkReply *, Active> m_active;
};

} // namespace opsdeck::http

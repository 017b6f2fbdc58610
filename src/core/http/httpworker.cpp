#include "core/http/httpworker.h"

#include "core/http/systemproxyfactory.h"
#include "core/support/clock.h"
#include "core/support/logging.h"

#include <QtCore/QJsonParseError>
#include <QtCore/QTimer>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QNetworkReply>

#include <vector>

namespace opsdeck::http {

namespace {

qint64 nowNs()
{
    return Clock::system().monotonic().count();
}

int ceilMs(qint64 ns)
{
    const qint64 ms = (std::max<qint64>(0, ns) + 999'999) / 1'000'000;
    return int(std::min<qint64>(ms, std::numeric_limits<int>::max()));
}

// Errors Qt raises for an HTTP status it received (the response itself is complete).
bool isStatusError(QNetworkReply::NetworkError error)
{
    const int code = int(error);
    return (code >= 201 && code <= 299 && error != QNetworkReply::ContentReSendError)
           || error == QNetworkReply::ProtocolInvalidOperationError || (code >= 401 && code <= 499);
}

HttpErrorKind kindOfNetworkError(QNetworkReply::NetworkError error)
{
    switch (error) {
    case QNetworkReply::TooManyRedirectsError:
    case QNetworkReply::InsecureRedirectError:
    case QNetworkReply::ProtocolUnknownError:
        return HttpErrorKind::InvalidRequest;
    default:
        return HttpErrorKind::Connection;
    }
}

} // namespace

HttpWorker::HttpWorker(int index, bool useSystemProxy, Deliver deliver)
    : m_index(index)
    , m_useSystemProxy(useSystemProxy)
    , m_deliver(std::move(deliver))
{}

HttpWorker::~HttpWorker() = default;

QNetworkRequest HttpWorker::buildRequest(const HttpRequest &request, const QByteArray &userAgent)
{
    QNetworkRequest netRequest(request.effectiveUrl());
    netRequest.setAttribute(QNetworkRequest::Http2AllowedAttribute, request.http2);
    netRequest.setAttribute(QNetworkRequest::CookieLoadControlAttribute,
                            int(QNetworkRequest::Manual));
    netRequest.setAttribute(QNetworkRequest::CookieSaveControlAttribute,
                            int(QNetworkRequest::Manual));
    netRequest.setAttribute(QNetworkRequest::CacheLoadControlAttribute,
                            int(QNetworkRequest::AlwaysNetwork));
    netRequest.setTransferTimeout(0); // our own total deadline applies
    if (!userAgent.isEmpty())
        netRequest.setRawHeader(QByteArrayLiteral("User-Agent"), userAgent);
    bool hasContentType = false;
    for (const auto &[name, value] : request.headers) {
        netRequest.setRawHeader(name, value);
        hasContentType = hasContentType
                         || QByteArrayView(name).compare("Content-Type", Qt::CaseInsensitive) == 0;
    }
    if (!request.body.isEmpty() && !hasContentType) {
        // QNAM would pick this too, with a warning per request.
        netRequest.setHeader(QNetworkRequest::ContentTypeHeader,
                             QByteArrayLiteral("application/x-www-form-urlencoded"));
    }
    return netRequest;
}

void HttpWorker::prepare()
{
    if (!m_shutDown)
        ensureManager();
}

void HttpWorker::ensureManager()
{
    if (m_nam)
        return;
    m_deadlineTimer = new QTimer(this);
    m_deadlineTimer->setSingleShot(true);
    m_deadlineTimer->setTimerType(Qt::PreciseTimer);
    connect(m_deadlineTimer, &QTimer::timeout, this, &HttpWorker::onDeadlineTimer);
    m_nam = new QNetworkAccessManager(this);
    m_nam->setAutoDeleteReplies(false);
    if (m_useSystemProxy)
        m_nam->setProxyFactory(new SystemProxyFactory); // the QNAM owns it
    else
        m_nam->setProxy(QNetworkProxy(QNetworkProxy::NoProxy));
}

QNetworkReply *HttpWorker::send(const HttpAttemptJob &job)
{
    const QByteArray &method = job.method;
    if (method == "GET" && job.body.isEmpty())
        return m_nam->get(job.request);
    if (method == "HEAD")
        return m_nam->head(job.request);
    if (method == "POST")
        return m_nam->post(job.request, job.body);
    if (method == "PUT")
        return m_nam->put(job.request, job.body);
    if (method == "DELETE" && job.body.isEmpty())
        return m_nam->deleteResource(job.request);
    return m_nam->sendCustomRequest(job.request, method, job.body);
}

void HttpWorker::post(HttpAttemptJob job)
{
    if (m_inbox.push(std::move(job)))
        QMetaObject::invokeMethod(
            this, [this] { drainInbox(); }, Qt::QueuedConnection);
}

void HttpWorker::drainInbox()
{
    m_inbox.take(m_batch);
    for (HttpAttemptJob &job : m_batch)
        startAttempt(std::move(job));
    m_batch.clear();
}

void HttpWorker::startAttempt(HttpAttemptJob job)
{
    if (m_shutDown) {
        HttpAttemptOutcome outcome;
        outcome.requestId = job.requestId;
        outcome.workerIndex = m_index;
        outcome.kind = HttpErrorKind::Shutdown;
        m_deliver(std::move(outcome));
        return;
    }
    ensureManager();
    const qint64 started = nowNs();
    QNetworkReply *reply = send(job);
    connect(reply, &QNetworkReply::finished, this, [this, reply] { onFinished(reply); });
    const qint64 deadline = started + job.timeout.count();
    Active active;
    active.job = std::move(job);
    active.deadline = m_deadlines.emplace(deadline, reply);
    active.startedNs = started;
    m_active.emplace(reply, std::move(active));
    if (m_deadlineArmedAtNs < 0 || deadline < m_deadlineArmedAtNs)
        armDeadlineTimer(deadline);
}

void HttpWorker::armDeadlineTimer(qint64 atNs)
{
    m_deadlineArmedAtNs = atNs;
    m_deadlineTimer->start(ceilMs(atNs - nowNs()));
}

void HttpWorker::onDeadlineTimer()
{
    m_deadlineArmedAtNs = -1;
    const qint64 t = nowNs();
    // Never early: a timer may fire a fraction of a millisecond before its time.
    std::vector<QNetworkReply *> expired;
    for (auto it = m_deadlines.begin(); it != m_deadlines.end() && it->first <= t; ++it)
        expired.push_back(it->second);
    for (QNetworkReply *reply : expired) {
        const auto it = m_active.find(reply);
        if (it == m_active.end())
            continue;
        it->second.end = Active::End::TimedOut;
        reply->abort(); // emits finished() now: onFinished() delivers and forgets the attempt
    }
    if (!m_deadlines.empty())
        armDeadlineTimer(m_deadlines.begin()->first);
}

void HttpWorker::onFinished(QNetworkReply *reply)
{
    const auto it = m_active.find(reply);
    if (it == m_active.end())
        return;
    Active active = std::move(it->second);
    m_active.erase(it);
    m_deadlines.erase(active.deadline); // the timer, if armed for it, wakes once for nothing
    reply->deleteLater();

    HttpAttemptOutcome outcome;
    outcome.requestId = active.job.requestId;
    outcome.workerIndex = m_index;
    outcome.elapsed = std::chrono::nanoseconds(nowNs() - active.startedNs);
    const QNetworkReply::NetworkError error = reply->error();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();

    if (active.end == Active::End::TimedOut) {
        outcome.kind = active.job.timeoutIsDeadline ? HttpErrorKind::DeadlineExceeded
                                                    : HttpErrorKind::Timeout;
        outcome.errorText = QStringLiteral("no complete response within %1 ms")
                                .arg(double(active.job.timeout.count()) / 1e6);
    } else if (active.end == Active::End::Shutdown) {
        outcome.kind = HttpErrorKind::Shutdown;
        outcome.errorText = QStringLiteral("the HTTP pool shut down");
    } else if (error != QNetworkReply::NoError && !(status > 0 && isStatusError(error))) {
        outcome.kind = kindOfNetworkError(error);
        outcome.status = status;
        outcome.errorText = reply->errorString();
    } else {
        outcome.status = status;
        outcome.kind = status >= 400 ? HttpErrorKind::HttpStatus : HttpErrorKind::None;
        const auto pairs = reply->rawHeaderPairs();
        outcome.headers.reserve(pairs.size());
        QByteArray contentType;
        for (const auto &[name, value] : pairs) {
            outcome.headers.append({name, value});
            if (contentType.isEmpty()
                && QByteArrayView(name).compare("Content-Type", Qt::CaseInsensitive) == 0)
                contentType = value;
        }
        outcome.body = reply->readAll();
        if (!outcome.body.isEmpty() && isJsonContentType(contentType)) {
            QJsonParseError parseError;
            outcome.json = QJsonDocument::fromJson(outcome.body, &parseError);
            if (parseError.error != QJsonParseError::NoError) {
                outcome.json = QJsonDocument();
                outcome.jsonError = parseError.errorString();
            }
        }
    }
    m_deliver(std::move(outcome));
}

void HttpWorker::shutdown()
{
    m_shutDown = true;
    drainInbox(); // attempts posted but not started are delivered as Shutdown
    std::vector<QNetworkReply *> replies;
    replies.reserve(m_active.size());
    for (auto &[reply, active] : m_active) {
        active.end = Active::End::Shutdown;
        replies.push_back(reply);
    }
    for (QNetworkReply *reply : replies) {
        if (m_active.count(reply) != 0)
            reply->abort();
    }
    if (m_deadlineTimer)
        m_deadlineTimer->stop();
    delete m_nam; // with its replies
    m_nam = nullptr;
    qCDebug(lcHttp) << "worker" << m_index << "shut down";
}

} // namespace opsdeck::http

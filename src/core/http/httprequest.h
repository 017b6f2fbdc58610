// HttpRequest: one logical HTTP request handed to HttpPool::request(). A plain value (copy it
// freely, hand it to any thread); it owns nothing and does no I/O. Every optional field falls back
// to the pool's settings (http_timeout, http_retry_count, ...).
//
//     HttpRequest req = HttpRequest::get(QUrl(u"https://api.example/v3/time"_s), u"binance"_s);
//     req.priority = TaskPriority::Critical;
//     req.rateLimit = 1200; // weight per minute for this api
//     req.weight = 2;
#pragma once

#include "core/support/taskpriority.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QUrl>
#include <QtCore/QUrlQuery>

#include <chrono>
#include <optional>
#include <utility>

namespace opsdeck::http {

using HttpHeaders = QList<std::pair<QByteArray, QByteArray>>;

struct HttpRequest
{
    QByteArray method = QByteArrayLiteral("GET"); // any verb; compared case-insensitively
    QUrl url;                                     // http or https
    QUrlQuery query;     // appended to url's own query ('+' and other delimiters percent-encoded)
    HttpHeaders headers; // sent as given (a Content-Type here wins over the default)
    QByteArray body;
    // Groups requests for the rate limiter, the retry budget, the circuit breaker and the stats.
    // Empty: the URL's host.
    QString apiName;
    TaskPriority priority = TaskPriority::Normal;

    // Rate limit of this api in weight units per minute (a request weighs `weight`; the default
    // weight 1 makes it requests per minute). Setting it (re)configures the api's limiter; unset
    // keeps what the api has (none, or HttpPool::setApiLimit()). <= 0 removes the limit.
    std::optional<double> rateLimit;
    std::optional<double> burst; // weight units; unset: max(1, rateLimit / 60)
    double weight = 1.0;

    std::optional<std::chrono::milliseconds> timeout; // per attempt, total (http_timeout)
    std::optional<int> retryCount;                    // http_retry_count
    // Retry non-idempotent methods (POST, PATCH, ...) too: only when the server dedupes them.
    bool retryNonIdempotent = false;
    // Overall deadline from the request() call: covers queueing, limiter waits, every attempt and
    // every backoff. Unset: none (each attempt still has its timeout).
    std::optional<std::chrono::milliseconds> deadline;
    bool http2 = true; // HTTP/2 allowed (used over TLS when the server offers it)

    static HttpRequest get(QUrl url, QString apiName = {});
    static HttpRequest
    post(QUrl url, QByteArray body, QByteArray contentType, QString apiName = {});

    // The api name the pool uses: apiName, or the URL's host when that is empty.
    QString effectiveApiName() const;
    // url with `query` appended.
    QUrl effectiveUrl() const;
    // Upper-case method.
    QByteArray normalizedMethod() const;
    bool isIdempotent() const { return isIdempotentMethod(method); }

    // GET, HEAD, PUT, DELETE, OPTIONS, TRACE (RFC 9110 9.2.2), case-insensitive.
    static bool isIdempotentMethod(QByteArrayView method);
};

} // namespace opsdeck::http

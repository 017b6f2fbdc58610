// HttpResponse and HttpErrorKind: what HttpPool::request() resolves to. A plain value, safe to
// copy between threads. A Result<HttpResponse> holds a response whenever a final HTTP answer
// arrived (any status: check ok()); it holds an Error when none did (connection failure, timeout,
// deadline, rate limit, open circuit, shutdown). Error::code is toString(kind) and
// Error::details carries api, attempts, elapsed_ms and the last status seen.
#pragma once

#include "core/http/httprequest.h"
#include "core/support/result.h"

#include <QtCore/QJsonDocument>

#include <chrono>

namespace opsdeck::http {

enum class HttpErrorKind {
    None,             // a 1xx..3xx response
    HttpStatus,       // a 4xx/5xx response (still a response: body and headers are there)
    Connection,       // refused, reset, closed, DNS, TLS, proxy, broken body
    Timeout,          // an attempt hit its per-attempt deadline (http_timeout)
    DeadlineExceeded, // the request's overall deadline passed
    RateLimited,      // the limiter (or a Retry-After) would wait past the deadline
    CircuitOpen,      // the api's circuit breaker is open
    Cancelled,        // the caller cancelled the future
    InvalidRequest,   // bad URL or scheme
    Shutdown,         // the pool was destroyed first
};
inline constexpr int kHttpErrorKindCount = 10;

// "none", "http_status", "connection_error", "timeout", "deadline_exceeded", "rate_limited",
// "circuit_open", "cancelled", "invalid_request", "shutdown".
QString toString(HttpErrorKind kind);
// The kind behind an Error made by the pool (unknown codes give Connection).
HttpErrorKind httpErrorKindOf(const Error &error);

struct HttpResponse
{
    int status = 0;
    HttpHeaders headers; // as received, names in their original case
    QByteArray body;     // decoded (gzip/deflate removed)
    // Parsed when the Content-Type is JSON (application/json or any +json); null otherwise.
    QJsonDocument json;
    QString jsonError; // non-empty when the type said JSON but the body did not parse
    int attempts = 0;  // attempts sent for this request, including the final one
    std::chrono::nanoseconds elapsed{0};           // from request() to the result
    HttpErrorKind errorKind = HttpErrorKind::None; // HttpStatus for 4xx and 5xx

    bool ok() const { return status >= 200 && status < 400; }
    bool hasJson() const { return !json.isNull(); }
    // The first value of a header (case-insensitive); empty if absent.
    QByteArray header(QByteArrayView name) const;
};

// True for application/json, text/json and any */*+json, parameters ignored.
bool isJsonContentType(QByteArrayView contentType);

} // namespace opsdeck::http

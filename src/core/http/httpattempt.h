// HttpAttemptJob / HttpAttemptOutcome: what the pool's dispatcher hands a worker for one attempt
// on the wire, and what comes back. Plain values that cross threads (queued invocations);
// internal to the HTTP pool.
#pragma once

#include "core/http/httpresponse.h"

#include <QtCore/QJsonDocument>
#include <QtNetwork/QNetworkRequest>

#include <chrono>

namespace opsdeck::http {

struct HttpAttemptJob
{
    quint64 requestId = 0;
    QNetworkRequest request;
    QByteArray method; // upper-case
    QByteArray body;
    std::chrono::nanoseconds timeout{0}; // total, from the moment the worker sends it
    bool timeoutIsDeadline = false;      // the overall deadline cut the attempt's timeout short
};

struct HttpAttemptOutcome
{
    quint64 requestId = 0;
    int workerIndex = 0;
    HttpErrorKind kind = HttpErrorKind::None; // None, HttpStatus, or why no response came
    int status = 0;
    HttpHeaders headers;
    QByteArray body;
    QJsonDocument json;
    QString jsonError;
    QString errorText;                   // Qt's description when kind is an error
    std::chrono::nanoseconds elapsed{0}; // on the wire
};

} // namespace opsdeck::http

// ApiRequest / HttpReply: the API's request and answer values, independent of QHttpServer so the
// route table is testable without sockets. HttpReply serializes itself to HTTP/1.1 bytes (HEAD
// answers carry the headers and no body; QHttpServer 6.4 would send one). Any thread.
#pragma once

#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QPair>
#include <QtCore/QString>

#include <optional>

namespace opsdeck::api {

using HeaderList = QList<QPair<QByteArray, QByteArray>>;
using QueryList = QList<QPair<QString, QString>>;

struct ApiRequest
{
    QByteArray method; // upper case: GET, HEAD, POST, ...
    QString path;      // decoded path, no query
    QueryList query;   // decoded in order; '+' is read as a space (form encoding)
    HeaderList headers; // names lower case
    QByteArray body;

    QByteArray header(const QByteArray &lowerCaseName) const;
    // The first value of a query parameter, if present.
    std::optional<QString> queryValue(const QString &name) const;
};

// Splits an encoded query string ("a=1&b=x+y") into decoded pairs.
QueryList parseQuery(const QByteArray &encodedQuery);

struct HttpReply
{
    int status = 200;
    QByteArray contentType = QByteArrayLiteral("application/json");
    QByteArray body;
    HeaderList headers; // extra headers (Allow, Retry-After, ...)

    static HttpReply json(const QJsonObject &object, int status = 200);
    static HttpReply jsonBytes(QByteArray compactJson, int status = 200);
    // The CONTRACTS.md error shape: {"error": {"code", "message", "details"}}.
    static HttpReply error(int status,
                           const QString &code,
                           const QString &message,
                           const QJsonObject &details = {});
    static HttpReply fromError(int status, const Error &error);

    // The full HTTP/1.1 response. Content-Length always tells the body's length, also for HEAD.
    QByteArray serialize(bool includeBody, bool keepAlive) const;
};

QByteArray reasonPhrase(int status);

} // namespace opsdeck::api

// Small helpers the route files share: the 503 of an unwired part, a control's Error as an
// answer, the request's media type and JSON body. Pure functions; any thread.
#pragma once

#include "api/apicontrols.h"
#include "api/httpreply.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonValue>

#include <variant>

namespace opsdeck::api::routes {

// 503 "<part>_unavailable": the part is not running (yet) in this process.
inline HttpReply unavailable(const QString &part, const QString &what)
{
    HttpReply reply
        = HttpReply::error(503, part + QStringLiteral("_unavailable"),
                           QStringLiteral("%1 is not available in this process.").arg(what));
    reply.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("5")});
    return reply;
}

inline HttpReply fromControlError(const Error &error)
{
    return HttpReply::fromError(controlErrorStatus(error.code), error);
}

// "application/json" from "Application/JSON; charset=utf-8"; empty when absent.
inline QByteArray mediaType(const ApiRequest &request)
{
    QByteArray type = request.header("content-type");
    const qsizetype semicolon = type.indexOf(';');
    if (semicolon >= 0)
        type.truncate(semicolon);
    return type.trimmed().toLower();
}

// The body as a JSON object or array; 415 for another declared type, 400 for bad JSON.
inline std::variant<QJsonValue, HttpReply> jsonBody(const ApiRequest &request)
{
    const QByteArray type = mediaType(request);
    if (!type.isEmpty() && type != "application/json") {
        return HttpReply::error(415, QStringLiteral("unsupported_media_type"),
                                QStringLiteral("Send the body as application/json, not %1.")
                                    .arg(QString::fromLatin1(type.left(64))),
                                {{QStringLiteral("accepted"), QStringLiteral("application/json")}});
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(request.body, &parseError);
    if (parseError.error != QJsonParseError::NoError || document.isNull()) {
        return HttpReply::error(
            400, QStringLiteral("invalid_json"),
            request.body.trimmed().isEmpty()
                ? QStringLiteral("The request needs a JSON body.")
                : QStringLiteral("The body is not valid JSON (%1 at offset %2).")
                      .arg(parseError.errorString())
                      .arg(parseError.offset),
            {{QStringLiteral("offset"), parseError.offset}});
    }
    return document.isArray() ? QJsonValue(document.array()) : QJsonValue(document.object());
}

} // namespace opsdeck::api::routes

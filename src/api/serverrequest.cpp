#include "api/serverrequest.h"

#include <QtHttpServer/QHttpServerRequest>
#include <QtCore/QUrl>

namespace opsdeck::api {

namespace {

QByteArray methodName(QHttpServerRequest::Method method)
{
    switch (method) {
    case QHttpServerRequest::Method::Get: return QByteArrayLiteral("GET");
    case QHttpServerRequest::Method::Put: return QByteArrayLiteral("PUT");
    case QHttpServerRequest::Method::Delete: return QByteArrayLiteral("DELETE");
    case QHttpServerRequest::Method::Post: return QByteArrayLiteral("POST");
    case QHttpServerRequest::Method::Head: return QByteArrayLiteral("HEAD");
    case QHttpServerRequest::Method::Options: return QByteArrayLiteral("OPTIONS");
    case QHttpServerRequest::Method::Patch: return QByteArrayLiteral("PATCH");
    case QHttpServerRequest::Method::Connect: return QByteArrayLiteral("CONNECT");
    case QHttpServerRequest::Method::Trace: return QByteArrayLiteral("TRACE");
    default: return QByteArrayLiteral("UNKNOWN");
    }
}

} // namespace

ApiRequest toApiRequest(const QHttpServerRequest &request)
{
    ApiRequest out;
    out.method = methodName(request.method());
    const QUrl url = request.url();
    out.path = url.path(QUrl::FullyDecoded);
    out.query = parseQuery(url.query(QUrl::FullyEncoded).toLatin1());
    const auto headers = request.headers();
    out.headers.reserve(headers.size());
    for (const auto &[name, value] : headers)
        out.headers.append({name.toLower(), value});
    out.body = request.body();
    return out;
}

} // namespace opsdeck::api

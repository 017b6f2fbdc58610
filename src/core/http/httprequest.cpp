#include "core/http/httprequest.h"

namespace opsdeck::http {

HttpRequest HttpRequest::get(QUrl url, QString apiName)
{
    HttpRequest request;
    request.url = std::move(url);
    request.apiName = std::move(apiName);
    return request;
}

HttpRequest HttpRequest::post(QUrl url, QByteArray body, QByteArray contentType, QString apiName)
{
    HttpRequest request;
    request.method = QByteArrayLiteral("POST");
    request.url = std::move(url);
    request.body = std::move(body);
    if (!contentType.isEmpty())
        request.headers.append({QByteArrayLiteral("Content-Type"), std::move(contentType)});
    request.apiName = std::move(apiName);
    return request;
}

QString HttpRequest::effectiveApiName() const
{
    return apiName.isEmpty() ? url.host() : apiName;
}

QUrl HttpRequest::effectiveUrl() const
{
    if (query.isEmpty())
        return url;
    // Encoded by hand: QUrlQuery leaves '+' alone, which servers read as a space.
    QByteArray encoded = url.query(QUrl::FullyEncoded).toLatin1();
    const auto items = query.queryItems(QUrl::FullyDecoded);
    for (const auto &[key, value] : items) {
        if (!encoded.isEmpty())
            encoded += '&';
        encoded += QUrl::toPercentEncoding(key) + '=' + QUrl::toPercentEncoding(value);
    }
    QUrl result = url;
    result.setQuery(QString::fromLatin1(encoded), QUrl::StrictMode);
    return result;
}

QByteArray HttpRequest::normalizedMethod() const
{
    return method.toUpper();
}

bool HttpRequest::isIdempotentMethod(QByteArrayView method)
{
    static constexpr QByteArrayView kIdempotent[]
        = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (const QByteArrayView candidate : kIdempotent) {
        if (method.compare(candidate, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

} // namespace opsdeck::http

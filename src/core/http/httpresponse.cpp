#include "core/http/httpresponse.h"

#include <array>

namespace opsdeck::http {

namespace {

constexpr std::array<QStringView, kHttpErrorKindCount> kKindNames{
    u"none",         u"http_status",  u"connection_error", u"timeout",         u"deadline_exceeded",
    u"rate_limited", u"circuit_open", u"cancelled",        u"invalid_request", u"shutdown"};

} // namespace

QString toString(HttpErrorKind kind)
{
    return kKindNames[size_t(kind)].toString();
}

HttpErrorKind httpErrorKindOf(const Error &error)
{
    for (size_t i = 0; i < kKindNames.size(); ++i) {
        if (error.code == kKindNames[i])
            return HttpErrorKind(i);
    }
    return HttpErrorKind::Connection;
}

QByteArray HttpResponse::header(QByteArrayView name) const
{
    for (const auto &[key, value] : headers) {
        if (QByteArrayView(key).compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

bool isJsonContentType(QByteArrayView contentType)
{
    QByteArrayView type = contentType;
    if (const qsizetype semicolon = type.indexOf(';'); semicolon >= 0)
        type = type.first(semicolon);
    type = type.trimmed();
    if (type.compare("application/json", Qt::CaseInsensitive) == 0
        || type.compare("text/json", Qt::CaseInsensitive) == 0)
        return true;
    return type.size() > 5 && type.last(5).compare("+json", Qt::CaseInsensitive) == 0
           && type.contains('/');
}

} // namespace opsdeck::http

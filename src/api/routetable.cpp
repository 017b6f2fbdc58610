#include "api/routetable.h"

#include "core/support/logging.h"

#include <exception>

namespace opsdeck::api {

namespace {

QStringList splitPath(const QString &path)
{
    return path.split(u'/', Qt::SkipEmptyParts);
}

QString stripVersionPrefix(const QString &path)
{
    if (path == RouteTable::kVersionPrefix)
        return QStringLiteral("/");
    if (path.startsWith(RouteTable::kVersionPrefix + u'/'))
        return path.mid(RouteTable::kVersionPrefix.size());
    return path;
}

} // namespace

void RouteTable::add(const QByteArray &method,
                     const QString &pattern,
                     Handler handler,
                     const QString &summary,
                     bool isPublic)
{
    Route route;
    route.method = method.toUpper();
    route.pattern = pattern;
    route.segments = splitPath(pattern);
    route.isPublic = isPublic;
    route.changesState = route.method != "GET" && route.method != "HEAD";
    route.summary = summary;
    route.handler = std::move(handler);
    m_routes.append(std::move(route));
}

std::optional<RouteMatch> RouteTable::match(const Route &route, const QStringList &segments)
{
    if (route.segments.size() != segments.size())
        return std::nullopt;
    RouteMatch result;
    for (qsizetype i = 0; i < segments.size(); ++i) {
        const QString &want = route.segments[i];
        if (want.startsWith(u'{') && want.endsWith(u'}'))
            result.params.insert(want.mid(1, want.size() - 2), segments[i]);
        else if (want != segments[i])
            return std::nullopt;
    }
    return result;
}

QByteArray RouteTable::allowedMethods(const QString &path) const
{
    const QStringList segments = splitPath(stripVersionPrefix(path));
    QList<QByteArray> methods;
    for (const Route &route : m_routes) {
        if (match(route, segments) && !methods.contains(route.method))
            methods.append(route.method);
    }
    if (methods.isEmpty())
        return {};
    if (methods.contains("GET") && !methods.contains("HEAD"))
        methods.append("HEAD");
    methods.append("OPTIONS");
    return methods.join(", ");
}

HttpReply RouteTable::dispatch(const ApiRequest &request) const
{
    const QString path = stripVersionPrefix(request.path);
    const QStringList segments = splitPath(path);
    const QByteArray method = request.method == "HEAD" ? QByteArrayLiteral("GET") : request.method;

    const Route *found = nullptr;
    RouteMatch foundMatch;
    bool pathExists = false;
    for (const Route &route : m_routes) {
        std::optional<RouteMatch> m = match(route, segments);
        if (!m)
            continue;
        pathExists = true;
        if (route.method == method) {
            found = &route;
            foundMatch = std::move(*m);
            break;
        }
    }

    if (!pathExists) {
        return HttpReply::error(404, QStringLiteral("not_found"),
                                QStringLiteral("No such endpoint: %1.").arg(request.path),
                                {{QStringLiteral("path"), request.path}});
    }
    const QByteArray allow = allowedMethods(path);
    if (request.method == "OPTIONS") {
        HttpReply reply;
        reply.status = 204;
        reply.contentType.clear();
        reply.headers.append({QByteArrayLiteral("Allow"), allow});
        return reply;
    }
    if (!found) {
        HttpReply reply = HttpReply::error(
            405, QStringLiteral("method_not_allowed"),
            QStringLiteral("%1 is not allowed on %2; allowed: %3.")
                .arg(QString::fromLatin1(request.method), request.path, QString::fromLatin1(allow)),
            {{QStringLiteral("allowed"), QString::fromLatin1(allow)}});
        reply.headers.append({QByteArrayLiteral("Allow"), allow});
        return reply;
    }
    if (!found->isPublic && m_authHook) {
        if (std::optional<HttpReply> refused = m_authHook(request, *found))
            return *refused;
    }
    try {
        return found->handler(request, foundMatch);
    } catch (const std::exception &e) {
        // Never echo internal text to the client: log it, answer a generic error.
        qCCritical(lcApi, "Handler for %s %s threw: %s", request.method.constData(),
                   qUtf8Printable(request.path), e.what());
    } catch (...) {
        qCCritical(lcApi, "Handler for %s %s threw an unknown exception",
                   request.method.constData(), qUtf8Printable(request.path));
    }
    return HttpReply::error(500, QStringLiteral("internal_error"),
                            QStringLiteral("The server failed to answer this request."));
}

} // namespace opsdeck::api

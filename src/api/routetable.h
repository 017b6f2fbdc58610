// RouteTable: our own routing in front of QHttpServer 6.4 (which sends no 405 and gives HEAD a
// body). Matches "/a/{id}/b" patterns, answers 404, 405 with Allow, HEAD like GET without a
// body, OPTIONS with Allow; every route is also reachable under /api/v1/. One auth hook guards
// every route not marked public. Handlers are synchronous and fast. Lives in the api thread;
// build it before serving, then only dispatch().
#pragma once

#include "api/httpreply.h"

#include <QtCore/QHash>
#include <QtCore/QStringList>

#include <functional>
#include <optional>

namespace opsdeck::api {

struct RouteMatch
{
    QHash<QString, QString> params; // {id} captures
};

struct Route
{
    QByteArray method;
    QString pattern;
    QStringList segments;
    bool isPublic = false;       // no auth (only /health)
    bool changesState = false;   // POST/PUT/DELETE operations
    QString summary;             // one line, for the OpenAPI document
    std::function<HttpReply(const ApiRequest &, const RouteMatch &)> handler;
};

class RouteTable final
{
public:
    using Handler = std::function<HttpReply(const ApiRequest &, const RouteMatch &)>;
    // Returns an answer to refuse the request (401, 403, ...), or nullopt to let it through.
    using AuthHook = std::function<std::optional<HttpReply>(const ApiRequest &, const Route &)>;

    static inline const QString kVersionPrefix = QStringLiteral("/api/v1");

    void add(const QByteArray &method,
             const QString &pattern,
             Handler handler,
             const QString &summary = {},
             bool isPublic = false);
    void setAuthHook(AuthHook hook) { m_authHook = std::move(hook); }

    HttpReply dispatch(const ApiRequest &request) const;

    const QList<Route> &routes() const { return m_routes; }
    // The methods a path answers to, HEAD and OPTIONS included ("GET, HEAD, OPTIONS").
    QByteArray allowedMethods(const QString &path) const;

private:
    static std::optional<RouteMatch> match(const Route &route, const QStringList &segments);

    QList<Route> m_routes;
    AuthHook m_authHook;
};

} // namespace opsdeck::api

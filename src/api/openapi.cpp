// ApiServer::openApiDocument(): the OpenAPI 3.0 document generated from the route table and the
// endpoint descriptions, so every registered route is listed, and nothing else.
#include "api/apiserver.h"

#include <QtCore/QJsonArray>
#include <QtCore/QRegularExpression>

namespace opsdeck::api {

namespace {

QJsonObject paramSchema(const ParamSpec &spec)
{
    QJsonObject schema;
    switch (spec.type) {
    case ParamSpec::Type::String:
        schema = {{QStringLiteral("type"), QStringLiteral("string")},
                  {QStringLiteral("maxLength"), spec.maxLength}};
        break;
    case ParamSpec::Type::Integer:
        schema = {{QStringLiteral("type"), QStringLiteral("integer")},
                  {QStringLiteral("format"), QStringLiteral("int64")},
                  {QStringLiteral("minimum"), spec.min},
                  {QStringLiteral("maximum"), spec.max}};
        if (!spec.defaultValue.isEmpty())
            schema.insert(QStringLiteral("default"), spec.defaultValue.toLongLong());
        break;
    case ParamSpec::Type::Number:
        schema = {{QStringLiteral("type"), QStringLiteral("number")},
                  {QStringLiteral("minimum"), spec.min},
                  {QStringLiteral("maximum"), spec.max}};
        if (!spec.defaultValue.isEmpty())
            schema.insert(QStringLiteral("default"), spec.defaultValue.toDouble());
        break;
    case ParamSpec::Type::Boolean:
        schema = {{QStringLiteral("type"), QStringLiteral("boolean")}};
        if (!spec.defaultValue.isEmpty())
            schema.insert(QStringLiteral("default"), spec.defaultValue == u"true");
        break;
    case ParamSpec::Type::Enum:
        schema = {{QStringLiteral("type"), QStringLiteral("string")},
                  {QStringLiteral("enum"), QJsonArray::fromStringList(spec.allowed)}};
        break;
    case ParamSpec::Type::Time:
        schema = {{QStringLiteral("oneOf"),
                   QJsonArray{QJsonObject{{QStringLiteral("type"), QStringLiteral("string")},
                                          {QStringLiteral("format"), QStringLiteral("date-time")}},
                              QJsonObject{{QStringLiteral("type"), QStringLiteral("integer")},
                                          {QStringLiteral("description"),
                                           QStringLiteral("epoch milliseconds")}}}}};
        break;
    }
    return schema;
}

QJsonObject parameter(const ParamSpec &spec, bool inPath)
{
    return {{QStringLiteral("name"), spec.name},
            {QStringLiteral("in"), inPath ? QStringLiteral("path") : QStringLiteral("query")},
            {QStringLiteral("required"), inPath || spec.required},
            {QStringLiteral("description"), spec.description},
            {QStringLiteral("schema"), paramSchema(spec)}};
}

QString statusDescription(int status)
{
    return QString::fromLatin1(reasonPhrase(status));
}

QJsonObject errorResponse(int status)
{
    return {{QStringLiteral("description"), statusDescription(status)},
            {QStringLiteral("content"),
             QJsonObject{
                 {QStringLiteral("application/json"),
                  QJsonObject{{QStringLiteral("schema"),
                               QJsonObject{{QStringLiteral("$ref"),
                                            QStringLiteral("#/components/schemas/Error")}}}}}}}};
}

QString operationId(const QByteArray &method, const QString &pattern)
{
    static const QRegularExpression nonWord(QStringLiteral("[^A-Za-z0-9]+"));
    QString id = QString::fromLatin1(method).toLower() + u'_' + pattern;
    id.replace(nonWord, QStringLiteral("_"));
    while (id.endsWith(u'_'))
        id.chop(1);
    return id;
}

QJsonObject errorSchema()
{
    const QJsonObject string{{QStringLiteral("type"), QStringLiteral("string")}};
    const QJsonObject inner{
        {QStringLiteral("type"), QStringLiteral("object")},
        {QStringLiteral("required"), QJsonArray{QStringLiteral("code"), QStringLiteral("message")}},
        {QStringLiteral("properties"),
         QJsonObject{{QStringLiteral("code"), string},
                     {QStringLiteral("message"), string},
                     {QStringLiteral("details"),
                      QJsonObject{{QStringLiteral("type"), QStringLiteral("object")}}}}}};
    return {{QStringLiteral("type"), QStringLiteral("object")},
            {QStringLiteral("required"), QJsonArray{QStringLiteral("error")}},
            {QStringLiteral("properties"), QJsonObject{{QStringLiteral("error"), inner}}}};
}

} // namespace

QJsonObject ApiServer::openApiDocument() const
{
    QJsonObject paths;
    QStringList tags;
    for (const Route &route : m_routes.routes()) {
        const auto endpoint
            = std::find_if(m_endpoints.cbegin(), m_endpoints.cend(), [&route](const Endpoint &e) {
                  return e.method == route.method && e.pattern == route.pattern;
              });
        const bool described = endpoint != m_endpoints.cend();
        QJsonObject operation{
            {QStringLiteral("summary"), route.summary},
            {QStringLiteral("operationId"), operationId(route.method, route.pattern)}};
        QJsonArray parameters;
        QJsonObject responses;
        QJsonObject ok{{QStringLiteral("description"), QStringLiteral("OK")}};
        if (described) {
            if (!endpoint->description.isEmpty())
                operation.insert(QStringLiteral("description"), endpoint->description);
            if (!endpoint->tag.isEmpty()) {
                operation.insert(QStringLiteral("tags"), QJsonArray{endpoint->tag});
                if (!tags.contains(endpoint->tag))
                    tags.append(endpoint->tag);
            }
            for (const ParamSpec &spec : endpoint->pathParams)
                parameters.append(parameter(spec, true));
            for (const ParamSpec &spec : endpoint->queryParams)
                parameters.append(parameter(spec, false));
            if (endpoint->body) {
                QJsonObject content;
                for (const QString &type : endpoint->body->contentTypes)
                    content.insert(type, QJsonObject{});
                operation.insert(
                    QStringLiteral("requestBody"),
                    QJsonObject{{QStringLiteral("description"), endpoint->body->description},
                                {QStringLiteral("required"), endpoint->body->required},
                                {QStringLiteral("content"), content}});
            }
            const QString okType = route.pattern == u"/metrics"
                                       ? QStringLiteral("text/plain")
                                       : QStringLiteral("application/json");
            ok.insert(QStringLiteral("content"), QJsonObject{{okType, QJsonObject{}}});
            for (const int status : endpoint->errorStatuses)
                responses.insert(QString::number(status), errorResponse(status));
        }
        // Every route can answer these (route table, guard, auth).
        for (const int status : {405, 413, 431})
            responses.insert(QString::number(status), errorResponse(status));
        if (!route.isPublic) {
            responses.insert(QStringLiteral("401"), errorResponse(401));
        } else {
            operation.insert(QStringLiteral("security"), QJsonArray{});
        }
        responses.insert(QStringLiteral("200"), ok);
        if (!parameters.isEmpty())
            operation.insert(QStringLiteral("parameters"), parameters);
        operation.insert(QStringLiteral("responses"), responses);

        QJsonObject item = paths.value(route.pattern).toObject();
        item.insert(QString::fromLatin1(route.method).toLower(), operation);
        paths.insert(route.pattern, item);
    }

    QJsonArray tagList;
    for (const QString &tag : tags)
        tagList.append(QJsonObject{{QStringLiteral("name"), tag}});
    const QJsonObject securitySchemes{
        {QStringLiteral("ApiKey"),
         QJsonObject{{QStringLiteral("type"), QStringLiteral("apiKey")},
                     {QStringLiteral("in"), QStringLiteral("header")},
                     {QStringLiteral("name"), QStringLiteral("X-API-Key")}}},
        {QStringLiteral("Bearer"),
         QJsonObject{{QStringLiteral("type"), QStringLiteral("http")},
                     {QStringLiteral("scheme"), QStringLiteral("bearer")}}}};
    return {
        {QStringLiteral("openapi"), QStringLiteral("3.0.3")},
        {QStringLiteral("info"),
         QJsonObject{
             {QStringLiteral("title"), QStringLiteral("OpsDeck monitoring and operations API")},
             {QStringLiteral("version"), QStringLiteral(OPSDECK_VERSION_STRING)},
             {QStringLiteral("description"),
              QStringLiteral("Every path is served both at the root and under /api/v1. "
                             "Errors: {\"error\": {code, message, details}}. See "
                             "docs/api.md.")}}},
        {QStringLiteral("servers"),
         QJsonArray{QJsonObject{{QStringLiteral("url"), QStringLiteral("/api/v1")}},
                    QJsonObject{{QStringLiteral("url"), QStringLiteral("/")}}}},
        {QStringLiteral("tags"), tagList},
        {QStringLiteral("security"),
         QJsonArray{QJsonObject{{QStringLiteral("ApiKey"), QJsonArray{}}},
                    QJsonObject{{QStringLiteral("Bearer"), QJsonArray{}}}}},
        {QStringLiteral("components"),
         QJsonObject{
             {QStringLiteral("securitySchemes"), securitySchemes},
             {QStringLiteral("schemas"), QJsonObject{{QStringLiteral("Error"), errorSchema()}}}}},
        {QStringLiteral("paths"), paths},
    };
}

} // namespace opsdeck::api

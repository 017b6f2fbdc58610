// Endpoint: one REST route described once: method, path pattern, documented and validated
// parameters, body, and handler. The ApiServer registers each in its RouteTable (reachable under
// "/" and "/api/v1/"), validates the query and path parameters before the handler runs, and
// generates /openapi.json from the same list, so the docs cannot drift from the code.
// Plain values; built and used in the api thread.
#pragma once

#include "api/httpreply.h"
#include "api/routetable.h"

#include <QtCore/QHash>
#include <QtCore/QStringList>
#include <QtCore/QVariant>

#include <functional>
#include <optional>

namespace opsdeck::api {

struct ParamSpec
{
    enum class Type {
        String,  // any text up to maxLength characters, no control characters
        Integer, // decimal, in [min, max]
        Number,  // decimal, in [min, max]
        Boolean, // true/false, 1/0, yes/no, on/off (any case)
        Enum,    // one of `allowed` (exact, lower case)
        Time,    // ISO-8601 ("2026-12-01T07:51:49.123Z", offsets allowed) or epoch milliseconds
    };

    QString name;
    Type type = Type::String;
    QString description;
    double min = 0;
    double max = 0;
    QStringList allowed;
    int maxLength = 256;
    bool required = false;
    QString defaultValue; // for the docs only; handlers apply defaults

    static ParamSpec string(QString name, QString description, int maxLength = 256);
    static ParamSpec
    integer(QString name, QString description, double min, double max, QString defaultValue = {});
    static ParamSpec
    number(QString name, QString description, double min, double max, QString defaultValue = {});
    static ParamSpec boolean(QString name, QString description, QString defaultValue = {});
    static ParamSpec oneOf(QString name, QString description, QStringList allowed);
    static ParamSpec time(QString name, QString description);
    ParamSpec &mandatory()
    {
        required = true;
        return *this;
    }
};

// Validated parameter values: QString (String, Enum), qint64 (Integer, Time in epoch ms),
// double (Number), bool (Boolean). Only the parameters the request gave are present.
class Params
{
public:
    bool has(const QString &name) const { return m_values.contains(name); }
    QString text(const QString &name, const QString &fallback = {}) const;
    qint64 integer(const QString &name, qint64 fallback = 0) const;
    double number(const QString &name, double fallback = 0) const;
    bool boolean(const QString &name, bool fallback = false) const;
    void insert(const QString &name, QVariant value) { m_values.insert(name, std::move(value)); }

private:
    QHash<QString, QVariant> m_values;
};

struct BodySpec
{
    QStringList contentTypes; // accepted media types; the first is the documented one
    QString description;
    bool required = true;
};

struct Endpoint
{
    using Handler
        = std::function<HttpReply(const ApiRequest &, const RouteMatch &, const Params &)>;

    QByteArray method;
    QString pattern;     // "/monitoring/alerts/{id}/ack"
    QString summary;     // one line
    QString description; // more, for the OpenAPI document
    QList<ParamSpec> pathParams;
    QList<ParamSpec> queryParams;
    std::optional<BodySpec> body;
    QList<int> errorStatuses; // besides 200: documented answers (400, 404, 503, ...)
    bool isPublic = false;
    QString tag; // OpenAPI group: "monitoring", "operations", ...
    Handler handler;
};

// Checks query (unknown names, duplicates, types, ranges, allowed values) and path parameters
// against an endpoint; returns the values, or the 400 answer in the CONTRACTS.md error shape.
// Echoed client values are cut to 64 characters.
std::variant<Params, HttpReply>
validateParams(const Endpoint &endpoint, const ApiRequest &request, const RouteMatch &match);

// Parses one value against a spec; nullopt with a reason when it does not fit.
std::optional<QVariant>
parseParamValue(const ParamSpec &spec, const QString &text, QString *reason);

} // namespace opsdeck::api

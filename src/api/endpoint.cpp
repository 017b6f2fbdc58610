#include "api/endpoint.h"

#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QRegularExpression>

#include <cmath>
#include <variant>

namespace opsdeck::api {

namespace {

QString typeName(ParamSpec::Type type)
{
    switch (type) {
    case ParamSpec::Type::String:
        return QStringLiteral("string");
    case ParamSpec::Type::Integer:
        return QStringLiteral("integer");
    case ParamSpec::Type::Number:
        return QStringLiteral("number");
    case ParamSpec::Type::Boolean:
        return QStringLiteral("boolean");
    case ParamSpec::Type::Enum:
        return QStringLiteral("enum");
    case ParamSpec::Type::Time:
        return QStringLiteral("time");
    }
    return QStringLiteral("string");
}

QString shortened(const QString &value)
{
    return value.size() <= 64 ? value : value.left(61) + QStringLiteral("...");
}

QString numberText(double value)
{
    return QString::number(value, 'g', 15);
}

HttpReply invalid(const ParamSpec &spec, const QString &value, const QString &reason, bool inPath)
{
    QJsonObject details{
        {QStringLiteral("parameter"), spec.name},
        {QStringLiteral("value"), shortened(value)},
        {QStringLiteral("type"), typeName(spec.type)},
        {QStringLiteral("in"), inPath ? QStringLiteral("path") : QStringLiteral("query")}};
    if (spec.type == ParamSpec::Type::Integer || spec.type == ParamSpec::Type::Number) {
        details.insert(QStringLiteral("min"), spec.min);
        details.insert(QStringLiteral("max"), spec.max);
    }
    if (spec.type == ParamSpec::Type::Enum)
        details.insert(QStringLiteral("allowed"), QJsonArray::fromStringList(spec.allowed));
    return HttpReply::error(400, QStringLiteral("invalid_parameter"),
                            QStringLiteral("Parameter \"%1\": %2").arg(spec.name, reason), details);
}

} // namespace

ParamSpec ParamSpec::string(QString name, QString description, int maxLength)
{
    ParamSpec s;
    s.name = std::move(name);
    s.description = std::move(description);
    s.type = Type::String;
    s.maxLength = maxLength;
    return s;
}

ParamSpec
ParamSpec::integer(QString name, QString description, double min, double max, QString defaultValue)
{
    ParamSpec s;
    s.name = std::move(name);
    s.description = std::move(description);
    s.type = Type::Integer;
    s.min = min;
    s.max = max;
    s.defaultValue = std::move(defaultValue);
    return s;
}

ParamSpec
ParamSpec::number(QString name, QString description, double min, double max, QString defaultValue)
{
    ParamSpec s
        = integer(std::move(name), std::move(description), min, max, std::move(defaultValue));
    s.type = Type::Number;
    return s;
}

ParamSpec ParamSpec::boolean(QString name, QString description, QString defaultValue)
{
    ParamSpec s;
    s.name = std::move(name);
    s.description = std::move(description);
    s.type = Type::Boolean;
    s.defaultValue = std::move(defaultValue);
    return s;
}

ParamSpec ParamSpec::oneOf(QString name, QString description, QStringList allowed)
{
    ParamSpec s;
    s.name = std::move(name);
    s.description = std::move(description);
    s.type = Type::Enum;
    s.allowed = std::move(allowed);
    return s;
}

ParamSpec ParamSpec::time(QString name, QString description)
{
    ParamSpec s;
    s.name = std::move(name);
    s.description = std::move(description);
    s.type = Type::Time;
    return s;
}

QString Params::text(const QString &name, const QString &fallback) const
{
    const auto it = m_values.constFind(name);
    return it == m_values.constEnd() ? fallback : it->toString();
}

qint64 Params::integer(const QString &name, qint64 fallback) const
{
    const auto it = m_values.constFind(name);
    return it == m_values.constEnd() ? fallback : it->toLongLong();
}

double Params::number(const QString &name, double fallback) const
{
    const auto it = m_values.constFind(name);
    return it == m_values.constEnd() ? fallback : it->toDouble();
}

bool Params::boolean(const QString &name, bool fallback) const
{
    const auto it = m_values.constFind(name);
    return it == m_values.constEnd() ? fallback : it->toBool();
}

std::optional<QVariant> parseParamValue(const ParamSpec &spec, const QString &text, QString *reason)
{
    const auto refuse = [reason](QString why) -> std::optional<QVariant> {
        if (reason)
            *reason = std::move(why);
        return std::nullopt;
    };
    switch (spec.type) {
    case ParamSpec::Type::String: {
        if (text.size() > spec.maxLength)
            return refuse(QStringLiteral("at most %1 characters are allowed.").arg(spec.maxLength));
        for (const QChar c : text) {
            if (c.category() == QChar::Other_Control)
                return refuse(QStringLiteral("control characters are not allowed."));
        }
        return QVariant(text);
    }
    case ParamSpec::Type::Integer: {
        bool ok = false;
        const qint64 value = text.toLongLong(&ok); // no spaces, no "+", no fractions
        if (!ok || text.startsWith(u'+') || text.trimmed() != text) {
            return refuse(QStringLiteral("expected an integer from %1 to %2.")
                              .arg(numberText(spec.min), numberText(spec.max)));
        }
        if (double(value) < spec.min || double(value) > spec.max) {
            return refuse(QStringLiteral("%1 is out of range %2..%3.")
                              .arg(value)
                              .arg(numberText(spec.min), numberText(spec.max)));
        }
        return QVariant(value);
    }
    case ParamSpec::Type::Number: {
        bool ok = false;
        const double value = text.toDouble(&ok);
        if (!ok || !std::isfinite(value) || text.trimmed() != text || text.isEmpty()) {
            return refuse(QStringLiteral("expected a number from %1 to %2.")
                              .arg(numberText(spec.min), numberText(spec.max)));
        }
        if (value < spec.min || value > spec.max) {
            return refuse(QStringLiteral("%1 is out of range %2..%3.")
                              .arg(numberText(value), numberText(spec.min), numberText(spec.max)));
        }
        return QVariant(value);
    }
    case ParamSpec::Type::Boolean: {
        const QString lower = text.toLower();
        if (lower == u"true" || lower == u"1" || lower == u"yes" || lower == u"on")
            return QVariant(true);
        if (lower == u"false" || lower == u"0" || lower == u"no" || lower == u"off")
            return QVariant(false);
        return refuse(QStringLiteral("expected true or false."));
    }
    case ParamSpec::Type::Enum:
        if (!spec.allowed.contains(text)) {
            return refuse(QStringLiteral("\"%1\" is not one of: %2.")
                              .arg(shortened(text), spec.allowed.join(QStringLiteral(", "))));
        }
        return QVariant(text);
    case ParamSpec::Type::Time: {
        bool isNumber = false;
        const qint64 ms = text.toLongLong(&isNumber);
        if (isNumber && !text.startsWith(u'+') && text.trimmed() == text) {
            if (ms < 0)
                return refuse(QStringLiteral("epoch milliseconds cannot be negative."));
            return QVariant(ms);
        }
        // An unencoded "+01:00" offset arrives as " 01:00" (form decoding): that space can only
        // have been a plus.
        static const QRegularExpression decodedPlus(
            QStringLiteral("^(.+T.+) (\\d\\d(:?\\d\\d)?)$"));
        QString iso = text;
        if (const QRegularExpressionMatch m = decodedPlus.match(text); m.hasMatch())
            iso = m.captured(1) + u'+' + m.captured(2);
        const QDateTime at = QDateTime::fromString(iso, Qt::ISODateWithMs);
        // A time without a zone would be read as local time: demand Z or an offset.
        if (!at.isValid() || at.timeSpec() == Qt::LocalTime) {
            return refuse(QStringLiteral("expected epoch milliseconds or an ISO-8601 time with a "
                                         "zone (2026-12-01T07:51:49.123Z)."));
        }
        return QVariant(at.toMSecsSinceEpoch());
    }
    }
    return refuse(QStringLiteral("unsupported parameter type."));
}

std::variant<Params, HttpReply>
validateParams(const Endpoint &endpoint, const ApiRequest &request, const RouteMatch &match)
{
    Params params;
    for (const ParamSpec &spec : endpoint.pathParams) {
        const QString value = match.params.value(spec.name);
        QString reason;
        std::optional<QVariant> parsed = parseParamValue(spec, value, &reason);
        if (!parsed)
            return invalid(spec, value, reason, true);
        params.insert(spec.name, std::move(*parsed));
    }

    QStringList allowed;
    for (const ParamSpec &spec : endpoint.queryParams)
        allowed.append(spec.name);
    QStringList seen;
    for (const auto &[key, value] : request.query) {
        const auto spec = std::find_if(endpoint.queryParams.cbegin(), endpoint.queryParams.cend(),
                                       [&key](const ParamSpec &s) { return s.name == key; });
        if (spec == endpoint.queryParams.cend()) {
            return HttpReply::error(
                400, QStringLiteral("unknown_parameter"),
                QStringLiteral("Unknown query parameter \"%1\"; allowed: %2.")
                    .arg(shortened(key), allowed.isEmpty() ? QStringLiteral("none")
                                                           : allowed.join(QStringLiteral(", "))),
                {{QStringLiteral("parameter"), shortened(key)},
                 {QStringLiteral("allowed"), QJsonArray::fromStringList(allowed)}});
        }
        if (seen.contains(key)) {
            return HttpReply::error(
                400, QStringLiteral("duplicate_parameter"),
                QStringLiteral("Query parameter \"%1\" is given twice.").arg(key),
                {{QStringLiteral("parameter"), key}});
        }
        seen.append(key);
        QString reason;
        std::optional<QVariant> parsed = parseParamValue(*spec, value, &reason);
        if (!parsed)
            return invalid(*spec, value, reason, false);
        params.insert(key, std::move(*parsed));
    }
    for (const ParamSpec &spec : endpoint.queryParams) {
        if (spec.required && !params.has(spec.name)) {
            return HttpReply::error(
                400, QStringLiteral("missing_parameter"),
                QStringLiteral("Query parameter \"%1\" is required.").arg(spec.name),
                {{QStringLiteral("parameter"), spec.name}});
        }
    }
    return params;
}

} // namespace opsdeck::api

#include "core/agents/agentoptions.h"

#include <QtCore/QJsonArray>

#include <cmath>

namespace opsdeck::agents {

Error agentConfigError(const QString &agentId,
                       const QString &key,
                       const QString &problem,
                       QJsonObject details)
{
    details.insert(QStringLiteral("agent"), agentId);
    details.insert(QStringLiteral("key"), key);
    return Error{QStringLiteral("invalid_agent_config"),
                 QStringLiteral("[agent.%1] %2: %3").arg(agentId, key, problem), details};
}

OptionReader::OptionReader(QString agentId, AgentOptions options)
    : m_agentId(std::move(agentId))
    , m_options(std::move(options))
{}

std::optional<QString> OptionReader::take(const QString &key)
{
    m_known.append(key);
    const auto it = m_options.constFind(key);
    if (it == m_options.constEnd())
        return std::nullopt;
    return it->trimmed();
}

double OptionReader::number(const QString &key, double fallback, double min, double max)
{
    const auto text = take(key);
    if (!text)
        return fallback;
    bool ok = false;
    const double v = text->toDouble(&ok);
    if (!ok || !std::isfinite(v) || v < min || v > max) {
        if (!m_error) {
            m_error = agentConfigError(
                m_agentId, key,
                QStringLiteral("\"%1\" is not a number in [%2, %3].").arg(*text).arg(min).arg(max),
                {{QStringLiteral("value"), *text},
                 {QStringLiteral("min"), min},
                 {QStringLiteral("max"), max}});
        }
        return fallback;
    }
    return v;
}

int OptionReader::integer(const QString &key, int fallback, int min, int max)
{
    const auto text = take(key);
    if (!text)
        return fallback;
    bool ok = false;
    const int v = text->toInt(&ok);
    if (!ok || v < min || v > max) {
        if (!m_error) {
            m_error = agentConfigError(m_agentId, key,
                                       QStringLiteral("\"%1\" is not a whole number in [%2, %3].")
                                           .arg(*text)
                                           .arg(min)
                                           .arg(max),
                                       {{QStringLiteral("value"), *text},
                                        {QStringLiteral("min"), min},
                                        {QStringLiteral("max"), max}});
        }
        return fallback;
    }
    return v;
}

bool OptionReader::boolean(const QString &key, bool fallback)
{
    const auto text = take(key);
    if (!text)
        return fallback;
    const QString t = text->toLower();
    if (t == u"true" || t == u"1" || t == u"yes" || t == u"on")
        return true;
    if (t == u"false" || t == u"0" || t == u"no" || t == u"off")
        return false;
    if (!m_error) {
        m_error = agentConfigError(m_agentId, key,
                                   QStringLiteral("\"%1\" is not true or false.").arg(*text),
                                   {{QStringLiteral("value"), *text}});
    }
    return fallback;
}

QString
OptionReader::choice(const QString &key, const QString &fallback, const QStringList &allowed)
{
    const auto text = take(key);
    if (!text)
        return fallback;
    if (allowed.contains(*text))
        return *text;
    if (!m_error) {
        m_error
            = agentConfigError(m_agentId, key,
                               QStringLiteral("\"%1\" is not one of %2.")
                                   .arg(*text, allowed.join(QStringLiteral(", "))),
                               {{QStringLiteral("value"), *text},
                                {QStringLiteral("allowed"), QJsonArray::fromStringList(allowed)}});
    }
    return fallback;
}

std::optional<Error> OptionReader::finish() const
{
    if (m_error)
        return m_error;
    for (auto it = m_options.constBegin(); it != m_options.constEnd(); ++it) {
        if (!m_known.contains(it.key())) {
            return agentConfigError(
                m_agentId, it.key(),
                QStringLiteral("unknown key for this agent type; known keys: %1.")
                    .arg(m_known.join(QStringLiteral(", "))),
                {{QStringLiteral("allowed"), QJsonArray::fromStringList(m_known)}});
        }
    }
    return std::nullopt;
}

} // namespace opsdeck::agents

#include "core/agents/agentregistry.h"

#include "core/agents/marketconditiontracker.h"
#include "core/agents/marketmakeragent.h"
#include "core/agents/momentumagent.h"
#include "core/agents/stoplossguardianagent.h"

#include <QtCore/QJsonArray>
#include <QtCore/QRegularExpression>

#include <cmath>

namespace opsdeck::agents {

namespace {

// Exchange symbols: upper-case letters and digits (the exchange's own pattern, shorter).
bool isSymbol(const QString &s)
{
    static const QRegularExpression re(QStringLiteral("^[A-Z0-9]{2,20}$"));
    return re.match(s).hasMatch();
}

Status checkCommon(const AgentConfig &config)
{
    if (config.id.isEmpty())
        return tl::unexpected(agentConfigError(config.id, QStringLiteral("id"),
                                               QStringLiteral("an agent needs an id.")));
    if (!AgentRegistry::typeNames().contains(config.type)) {
        const QStringList types = AgentRegistry::typeNames();
        return tl::unexpected(agentConfigError(
            config.id, QStringLiteral("type"),
            config.type.isEmpty()
                ? QStringLiteral("missing; known types: %1.").arg(types.join(QStringLiteral(", ")))
                : QStringLiteral("unknown agent type \"%1\"; known types: %2.")
                      .arg(config.type, types.join(QStringLiteral(", "))),
            {{QStringLiteral("value"), config.type},
             {QStringLiteral("allowed"), QJsonArray::fromStringList(types)}}));
    }
    if (!(config.interval >= 0) || !std::isfinite(config.interval)) {
        return tl::unexpected(agentConfigError(
            config.id, QStringLiteral("interval"),
            QStringLiteral("%1 is not a duration of 0 s or more.").arg(config.interval)));
    }
    if (!isSymbol(config.symbol)) {
        return tl::unexpected(agentConfigError(
            config.id, QStringLiteral("symbol"),
            QStringLiteral("\"%1\" is not an exchange symbol (upper-case letters and digits, "
                           "like BTCUSDT).")
                .arg(config.symbol),
            {{QStringLiteral("value"), config.symbol}}));
    }
    return ok();
}

} // namespace

AgentRegistry::AgentRegistry(AgentServices services)
    : m_services(services)
{}

QStringList AgentRegistry::typeNames()
{
    return {QLatin1String(MarketMakerAgent::kTypeName), QLatin1String(MomentumAgent::kTypeName),
            QLatin1String(StopLossGuardianAgent::kTypeName)};
}

QStringList AgentRegistry::optionKeys(const QString &type)
{
    if (type == QLatin1String(MarketMakerAgent::kTypeName))
        return MarketMakerSettings().toJson().keys();
    if (type == QLatin1String(MomentumAgent::kTypeName))
        return MomentumSettings().toJson().keys();
    if (type == QLatin1String(StopLossGuardianAgent::kTypeName))
        return StopLossSettings().toJson().keys();
    return {};
}

QList<AgentConfig> AgentRegistry::defaultAgents()
{
    auto make = [](const char *id, const char *type, const char *symbol, double interval,
                   TaskPriority priority) {
        AgentConfig c;
        c.id = QLatin1String(id);
        c.type = QLatin1String(type);
        c.symbol = QLatin1String(symbol);
        c.interval = interval;
        c.priority = priority;
        c.enabled = true;
        return c;
    };
    return {make(MarketMakerAgent::kTypeName, MarketMakerAgent::kTypeName, "BTCUSDT", 5.0,
                 TaskPriority::Normal),
            make(MomentumAgent::kTypeName, MomentumAgent::kTypeName, "ETHUSDT", 10.0,
                 TaskPriority::Normal),
            make(StopLossGuardianAgent::kTypeName, StopLossGuardianAgent::kTypeName, "BTCUSDT", 2.0,
                 TaskPriority::Critical)};
}

Status AgentRegistry::validate(const AgentConfig &config, const AgentOptions &options)
{
    if (Status common = checkCommon(config); !common)
        return common;
    if (config.type == QLatin1String(MarketMakerAgent::kTypeName)) {
        if (auto s = MarketMakerSettings::fromOptions(config.id, options); !s)
            return tl::unexpected(s.error());
    } else if (config.type == QLatin1String(MomentumAgent::kTypeName)) {
        if (auto s = MomentumSettings::fromOptions(config.id, options); !s)
            return tl::unexpected(s.error());
    } else if (auto s = StopLossSettings::fromOptions(config.id, options); !s) {
        return tl::unexpected(s.error());
    }
    return ok();
}

Result<std::shared_ptr<TradingAgent>> AgentRegistry::create(const AgentConfig &config,
                                                            const AgentOptions &options) const
{
    if (Status common = checkCommon(config); !common)
        return tl::unexpected(common.error());
    std::shared_ptr<TradingAgent> agent;
    if (config.type == QLatin1String(MarketMakerAgent::kTypeName)) {
        auto s = MarketMakerSettings::fromOptions(config.id, options);
        if (!s)
            return tl::unexpected(s.error());
        agent = std::make_shared<MarketMakerAgent>(config, m_services, *s);
    } else if (config.type == QLatin1String(MomentumAgent::kTypeName)) {
        auto s = MomentumSettings::fromOptions(config.id, options);
        if (!s)
            return tl::unexpected(s.error());
        agent = std::make_shared<MomentumAgent>(config, m_services, *s);
    } else {
        auto s = StopLossSettings::fromOptions(config.id, options);
        if (!s)
            return tl::unexpected(s.error());
        agent = std::make_shared<StopLossGuardianAgent>(config, m_services, *s);
    }
    if (m_services.conditions)
        m_services.conditions->bindAgent(config.id, config.symbol);
    return agent;
}

Result<std::shared_ptr<TradingAgent>> AgentRegistry::add(const AgentConfig &config,
                                                         const AgentOptions &options)
{
    auto agent = create(config, options);
    if (!agent)
        return agent;
    std::lock_guard lock(m_mutex);
    for (const auto &a : std::as_const(m_agents)) {
        if (a->id() == config.id) {
            return fail(
                QStringLiteral("duplicate_agent"),
                QStringLiteral("[agent.%1]: an agent with this id already exists.").arg(config.id),
                {{QStringLiteral("agent"), config.id}});
        }
    }
    m_agents.append(*agent);
    return agent;
}

Status AgentRegistry::addAll(const QList<AgentConfig> &configs,
                             const QHash<QString, AgentOptions> &options)
{
    const QList<AgentConfig> list = configs.isEmpty() ? defaultAgents() : configs;
    QList<std::shared_ptr<TradingAgent>> made;
    QStringList seen = ids();
    for (const AgentConfig &config : list) {
        if (seen.contains(config.id)) {
            return fail(
                QStringLiteral("duplicate_agent"),
                QStringLiteral("[agent.%1]: an agent with this id already exists.").arg(config.id),
                {{QStringLiteral("agent"), config.id}});
        }
        auto agent = create(config, options.value(config.id));
        if (!agent)
            return tl::unexpected(agent.error());
        seen.append(config.id);
        made.append(*agent);
    }
    std::lock_guard lock(m_mutex);
    m_agents += made;
    return ok();
}

bool AgentRegistry::remove(const QString &id)
{
    std::lock_guard lock(m_mutex);
    return m_agents.removeIf([&id](const auto &a) { return a->id() == id; }) > 0;
}

QList<std::shared_ptr<TradingAgent>> AgentRegistry::agents() const
{
    std::lock_guard lock(m_mutex);
    return m_agents;
}

std::shared_ptr<TradingAgent> AgentRegistry::find(const QString &id) const
{
    std::lock_guard lock(m_mutex);
    for (const auto &a : m_agents) {
        if (a->id() == id)
            return a;
    }
    return nullptr;
}

QStringList AgentRegistry::ids() const
{
    std::lock_guard lock(m_mutex);
    QStringList out;
    for (const auto &a : m_agents)
        out.append(a->id());
    return out;
}

int AgentRegistry::size() const
{
    std::lock_guard lock(m_mutex);
    return int(m_agents.size());
}

} // namespace opsdeck::agents

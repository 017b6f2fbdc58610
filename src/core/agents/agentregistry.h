// AgentRegistry: makes the built-in trading agents from [agent.<id>] configs by type name, keeps
// them, and finds them by id. Thread-safe (one mutex): the runtime fills it at start-up, the API
// thread lists and finds. It owns the agents (shared with the engine, which schedules them);
// it does not start or schedule them.
//
//     AgentRegistry registry({&marketData, &portfolio, &conditions});
//     if (Status added = registry.addAll(config.agents); !added) ... // exit 2 with the message
//     for (const auto &agent : registry.agents()) {
//         agent->start();
//         engine.scheduleAgentCycle(agent, agent->cyclePriority());
//     }
//
// Types ("type" key): "market_maker", "momentum", "stop_loss_guardian". Per-type options (text,
// AgentOptions) are the keys listed by optionKeys(type); unknown types, unknown keys and bad
// values fail with "invalid_agent_config" naming the agent and the key.
#pragma once

#include "core/agents/agentoptions.h"
#include "core/agents/tradingagent.h"
#include "core/runtime/runtimeconfig.h"

#include <QtCore/QHash>
#include <QtCore/QList>

#include <memory>
#include <mutex>

namespace opsdeck::agents {

class AgentRegistry
{
public:
    explicit AgentRegistry(AgentServices services);
    Q_DISABLE_COPY_MOVE(AgentRegistry)

    static QStringList typeNames();
    // The per-type option keys (beyond AgentConfig's fields); empty for an unknown type.
    static QStringList optionKeys(const QString &type);
    // The three built-in agents used when no [agent.<id>] is configured:
    //   market_maker       (type market_maker,       BTCUSDT, every 5 s, NORMAL)
    //   momentum           (type momentum,           ETHUSDT, every 10 s, NORMAL)
    //   stop_loss_guardian (type stop_loss_guardian, all symbols, every 2 s, CRITICAL)
    static QList<AgentConfig> defaultAgents();

    // Checks a config without making anything (for --check-config).
    static Status validate(const AgentConfig &config, const AgentOptions &options = {});
    // A new agent (not added).
    Result<std::shared_ptr<TradingAgent>> create(const AgentConfig &config,
                                                 const AgentOptions &options = {}) const;
    // Creates and adds; "duplicate_agent" when the id is taken.
    Result<std::shared_ptr<TradingAgent>> add(const AgentConfig &config,
                                              const AgentOptions &options = {});
    // Every config (defaultAgents() when the list is empty), all or nothing: on the first error
    // nothing is added. `options` by agent id.
    Status addAll(const QList<AgentConfig> &configs,
                  const QHash<QString, AgentOptions> &options = {});
    bool remove(const QString &id);

    QList<std::shared_ptr<TradingAgent>> agents() const; // in the order added
    std::shared_ptr<TradingAgent> find(const QString &id) const;
    QStringList ids() const;
    int size() const;

private:
    const AgentServices m_services;
    mutable std::mutex m_mutex;
    QList<std::shared_ptr<TradingAgent>> m_agents;
};

} // namespace opsdeck::agents

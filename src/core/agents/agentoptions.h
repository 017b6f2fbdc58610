// AgentOptions / OptionReader: the per-type keys of an [agent.<id>] section beyond AgentConfig's
// fields (spread_bps, fast_period, max_loss_percent, ...), as text, and a reader that checks them
// and names the agent and key in every error ("invalid_agent_config"). Plain values; any thread.
//
//     OptionReader r(config.id, options);
//     settings.spreadBps = r.number(u"spread_bps"_s, settings.spreadBps, 0.1, 10000);
//     if (auto bad = r.finish()) return *bad;   // also refuses keys nobody read
#pragma once

#include "core/support/result.h"

#include <QtCore/QMap>
#include <QtCore/QSet>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

namespace opsdeck::agents {

using AgentOptions = QMap<QString, QString>;

// Error "invalid_agent_config": "[agent.<id>] <key>: <problem>", details {agent, key, ...}.
Error agentConfigError(const QString &agentId,
                       const QString &key,
                       const QString &problem,
                       QJsonObject details = {});

class OptionReader
{
public:
    OptionReader(QString agentId, AgentOptions options);

    double number(const QString &key, double fallback, double min, double max);
    int integer(const QString &key, int fallback, int min, int max);
    bool boolean(const QString &key, bool fallback);
    QString choice(const QString &key, const QString &fallback, const QStringList &allowed);

    // The first error met, or one for a key that no reader asked for (with the known keys).
    std::optional<Error> finish() const;

private:
    std::optional<QString> take(const QString &key);

    const QString m_agentId;
    const AgentOptions m_options;
    QStringList m_known;
    std::optional<Error> m_error;
};

} // namespace opsdeck::agents

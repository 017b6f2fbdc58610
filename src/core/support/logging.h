// Logging categories, one per module ("opsdeck.cache", ...), and the --log-level switch.
// Log lines go to stderr; stdout is reserved for the machine-readable OPSDECK_* lines.
#pragma once

#include "core/support/result.h"

#include <QtCore/QLoggingCategory>
#include <QtCore/QStringList>

namespace opsdeck {

Q_DECLARE_LOGGING_CATEGORY(lcCore)
Q_DECLARE_LOGGING_CATEGORY(lcConfig)
Q_DECLARE_LOGGING_CATEGORY(lcCache)
Q_DECLARE_LOGGING_CATEGORY(lcHttp)
Q_DECLARE_LOGGING_CATEGORY(lcExec)
Q_DECLARE_LOGGING_CATEGORY(lcAgents)
Q_DECLARE_LOGGING_CATEGORY(lcMonitor)
Q_DECLARE_LOGGING_CATEGORY(lcPerf)
Q_DECLARE_LOGGING_CATEGORY(lcRuntime)
Q_DECLARE_LOGGING_CATEGORY(lcMarket)
Q_DECLARE_LOGGING_CATEGORY(lcApi)
Q_DECLARE_LOGGING_CATEGORY(lcUi)
Q_DECLARE_LOGGING_CATEGORY(lcApp)

// The accepted --log-level values, most verbose first (the old system's names, any case).
QStringList logLevelNames();

// Sets the threshold for every opsdeck.* category: DEBUG, INFO, WARNING, ERROR, CRITICAL.
Status applyLogLevel(const QString &level);

// Installs the stderr message format: "2026-12-01T07:51:49.123Z INFO opsdeck.api: message".
void installLogFormat();

} // namespace opsdeck

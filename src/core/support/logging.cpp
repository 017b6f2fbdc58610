#include "core/support/logging.h"

namespace opsdeck {

Q_LOGGING_CATEGORY(lcCore, "opsdeck.core", QtInfoMsg)
Q_LOGGING_CATEGORY(lcConfig, "opsdeck.config", QtInfoMsg)
Q_LOGGING_CATEGORY(lcCache, "opsdeck.cache", QtInfoMsg)
Q_LOGGING_CATEGORY(lcHttp, "opsdeck.http", QtInfoMsg)
Q_LOGGING_CATEGORY(lcExec, "opsdeck.exec", QtInfoMsg)
Q_LOGGING_CATEGORY(lcAgents, "opsdeck.agents", QtInfoMsg)
Q_LOGGING_CATEGORY(lcMonitor, "opsdeck.monitor", QtInfoMsg)
Q_LOGGING_CATEGORY(lcPerf, "opsdeck.perf", QtInfoMsg)
Q_LOGGING_CATEGORY(lcRuntime, "opsdeck.runtime", QtInfoMsg)
Q_LOGGING_CATEGORY(lcMarket, "opsdeck.market", QtInfoMsg)
Q_LOGGING_CATEGORY(lcApi, "opsdeck.api", QtInfoMsg)
Q_LOGGING_CATEGORY(lcUi, "opsdeck.ui", QtInfoMsg)
Q_LOGGING_CATEGORY(lcApp, "opsdeck.app", QtInfoMsg)

QStringList logLevelNames()
{
    return {QStringLiteral("DEBUG"), QStringLiteral("INFO"), QStringLiteral("WARNING"),
            QStringLiteral("ERROR"), QStringLiteral("CRITICAL")};
}

Status applyLogLevel(const QString &level)
{
    const int index = logLevelNames().indexOf(level.trimmed().toUpper());
    if (index < 0) {
        return fail(QStringLiteral("invalid_log_level"),
                    QStringLiteral("Unknown log level \"%1\"; allowed: %2.")
                        .arg(level, logLevelNames().join(QStringLiteral(", "))));
    }
    // Qt has no separate "error" level: ERROR and CRITICAL both keep warnings out, CRITICAL
    // keeps only qCritical/qFatal.
    const bool debug = index <= 0;
    const bool info = index <= 1;
    const bool warning = index <= 2;
    const bool critical = true;
    QString rules;
    rules += QStringLiteral("opsdeck.*.debug=%1\n").arg(debug ? u"true" : u"false");
    rules += QStringLiteral("opsdeck.*.info=%1\n").arg(info ? u"true" : u"false");
    rules += QStringLiteral("opsdeck.*.warning=%1\n").arg(warning ? u"true" : u"false");
    rules += QStringLiteral("opsdeck.*.critical=%1\n").arg(critical ? u"true" : u"false");
    QLoggingCategory::setFilterRules(rules);
    return ok();
}

void installLogFormat()
{
    qSetMessagePattern(QStringLiteral(
        "%{time yyyy-MM-ddThh:mm:ss.zzz} "
        "%{if-debug}DEBUG%{endif}%{if-info}INFO%{endif}%{if-warning}WARNING%{endif}"
        "%{if-critical}CRITICAL%{endif}%{if-fatal}FATAL%{endif} %{category}: %{message}"));
}

} // namespace opsdeck

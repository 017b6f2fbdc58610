#include "app/apiwiring.h"

#include "api/configrequest.h"
#include "api/prometheus.h"
#include "core/runtime/runtime.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QMetaObject>

namespace opsdeck {

namespace {

std::optional<AlertLevel> levelOrNone(const QString &text)
{
    return text.isEmpty() ? std::nullopt : parseAlertLevel(text);
}

api::MonitorControl monitorControl(AlertEngine &alerts, HistoryStore &history)
{
    api::MonitorControl control;
    control.alerts = [&alerts](const api::AlertFilter &filter) {
        AlertFilter engineFilter;
        engineFilter.level = levelOrNone(filter.level); // the API checked the names
        engineFilter.minLevel = levelOrNone(filter.minLevel);
        engineFilter.source = filter.source;
        engineFilter.sinceId = filter.sinceId;
        engineFilter.limit = filter.limit;
        QJsonArray out;
        for (const Alert &alert : alerts.alerts(engineFilter))
            out.append(alert.toJson());
        return out;
    };
    control.acknowledge = [&alerts](qint64 id) -> Status {
        Result<Alert> done = alerts.acknowledge(id);
        if (!done) {
            Error error = done.error();
            if (error.code == u"not_found")
                error.code = QStringLiteral("unknown_alert");
            return tl::unexpected(error);
        }
        return ok();
    };
    control.clearAlerts = [&alerts] { alerts.clear(); };
    control.rules = [&alerts] {
        return alerts.rulesJson().value(QStringLiteral("rules")).toArray();
    };
    control.setRules = [&alerts](const QJsonValue &body) -> Result<QJsonArray> {
        const QJsonArray items = body.isArray() ? body.toArray()
                                                : body.toObject().value(QStringLiteral("rules")).toArray();
        if (!body.isArray() && !body.toObject().value(QStringLiteral("rules")).isArray()) {
            return fail(QStringLiteral("invalid_rules"),
                        QStringLiteral("The body must be a JSON array of rule changes or "
                                       "{\"rules\": [...]}."));
        }
        Result<QList<AlertRule>> changed = alerts.setRules(items);
        if (!changed) {
            Error error = changed.error();
            error.details.insert(QStringLiteral("reason"), error.code);
            error.code = QStringLiteral("invalid_rules");
            return tl::unexpected(error);
        }
        return alerts.rulesJson().value(QStringLiteral("rules")).toArray();
    };
    control.history = [&history](const QString &category, qint64 fromMs, qint64 toMs,
                                 int limit) -> Result<QJsonArray> {
        if (!history.isOpen()) {
            return fail(QStringLiteral("history_unavailable"),
                        QStringLiteral("history.db is not open."));
        }
        Result<QList<HistoryStore::RawSample>> rows = history.rawSamples(category, fromMs, toMs, limit);
        if (!rows)
            return tl::unexpected(rows.error());
        QJsonArray out;
        for (const HistoryStore::RawSample &row : *rows)
            out.append(QJsonDocument::fromJson(row.json).object());
        return out;
    };
    return control;
}

api::CacheControl cacheControl(cache::CacheManager &cache)
{
    api::CacheControl control;
    control.stats = [&cache] { return cache.stats().toJson(); };
    control.keys = [&cache](const QString &prefix, int limit) {
        QJsonArray out;
        for (const QByteArray &key : cache.keys(prefix.toUtf8(), limit))
            out.append(QString::fromUtf8(key));
        return out;
    };
    control.invalidatePattern = [&cache](const QString &pattern) -> Result<int> {
        QFuture<Result<int>> removed = cache.invalidatePattern(pattern);
        removed.waitForFinished(); // the api thread, never the GUI thread
        Result<int> result = removed.result();
        if (!result && !result.error().code.startsWith(u"invalid_")) {
            Error error = result.error();
            error.code = QStringLiteral("invalid_pattern");
            return tl::unexpected(error);
        }
        return result;
    };
    control.invalidateTag = [&cache](const QString &tag) { return cache.invalidateTag(tag.toUtf8()); };
    return control;
}

api::TaskControl taskControl(exec::ExecutionEngine &engine)
{
    api::TaskControl control;
    control.list = [&engine] {
        QJsonArray out;
        for (const exec::TaskInfo &task : engine.listTasks())
            out.append(task.toJson());
        return out;
    };
    control.cancel = [&engine](const QString &text) -> Status {
        bool ok = false;
        const exec::TaskId id = text.toULongLong(&ok);
        if (!ok || !engine.cancel(id)) {
            return fail(QStringLiteral("unknown_task"),
                        QStringLiteral("No queued or running task \"%1\".").arg(text));
        }
        return opsdeck::ok();
    };
    return control;
}

// Cumulative latency histograms for GET /metrics: HTTP requests per api, task queue wait and
// run time per priority (nanosecond histograms, exposed in seconds at the fixed bounds).
api::PrometheusControl prometheusControl(http::HttpPool &pool, exec::ExecutionEngine &engine)
{
    api::PrometheusControl control;
    control.histograms = [&pool, &engine] {
        QList<api::PrometheusHistogram> out;
        for (const http::HttpApiStats &stats : pool.stats().apis) {
            out.append(api::prometheus::histogramFromSnapshot(
                QStringLiteral("opsdeck_http_request_duration_seconds"),
                QStringLiteral("HTTP request latency, from request() to its result, per api."),
                {{QStringLiteral("api"), stats.name}}, stats.latency));
        }
        const exec::ExecStats stats = engine.stats();
        for (int p = 0; p < kTaskPriorityCount; ++p) {
            const QString priority = toString(TaskPriority(p));
            out.append(api::prometheus::histogramFromSnapshot(
                QStringLiteral("opsdeck_task_queue_wait_seconds"),
                QStringLiteral("Time a task waited in the engine's queue, per priority."),
                {{QStringLiteral("priority"), priority}}, stats.queueWait[size_t(p)]));
            out.append(api::prometheus::histogramFromSnapshot(
                QStringLiteral("opsdeck_task_run_seconds"),
                QStringLiteral("Task run time, per priority."),
                {{QStringLiteral("priority"), priority}}, stats.runTime[size_t(p)]));
        }
        return out;
    };
    return control;
}

} // namespace

void wireApiControls(api::ApiServer::Settings &settings,
                     Runtime &runtime,
                     SharedConfig &config,
                     const QString &exportsDir,
                     std::function<QList<ConfigFinding>(const RuntimeConfig &)> crossCheck,
                     std::function<void(const RuntimeConfig &)> applyLive)
{
    settings.exportsDir = exportsDir;
    settings.events = &runtime.events();
    settings.monitorControl = monitorControl(runtime.alerts(), runtime.history());
    settings.cache = cacheControl(runtime.cache());
    settings.tasks = taskControl(runtime.engine());
    settings.prometheus = prometheusControl(runtime.httpPool(), runtime.engine());
    settings.config.get = [&config] { return api::configrequest::configDocument(config.get()); };
    settings.config.put = [&config, crossCheck, applyLive](
                              const QByteArray &body, const QByteArray &type) -> Result<QJsonObject> {
        Result<api::configrequest::ConfigChange> change =
            api::configrequest::parseChange(config.get(), body, type);
        if (!change)
            return tl::unexpected(change.error());
        // The same checks the file gets beyond RuntimeConfig's (e.g. a stall longer than its
        // period): refused whole, nothing changed.
        if (const QList<ConfigFinding> findings = crossCheck(change->config); !findings.isEmpty()) {
            QJsonArray list;
            for (const ConfigFinding &finding : findings) {
                QJsonObject json = finding.toJson();
                json.remove(QStringLiteral("line"));
                list.append(json);
            }
            return fail(QStringLiteral("invalid_config"),
                        QStringLiteral("The configuration change has %1 finding(s); nothing was "
                                       "changed.")
                            .arg(findings.size()),
                        {{QStringLiteral("findings"), list}});
        }
        config.set(change->config);
        // Queued, never blocking: the main thread may itself be waiting for the api thread
        // (shutdown), and a validated change cannot fail to apply.
        QMetaObject::invokeMethod(
            QCoreApplication::instance(),
            [applyLive, next = change->config] { applyLive(next); }, Qt::QueuedConnection);
        return api::configrequest::changeAnswer(*change);
    };
}

} // namespace opsdeck

// The operations routes of ApiServer: /config, /cache/*, /tasks, /events (long-poll).
#include "api/apiserver.h"

#include "api/routehelpers.h"
#include "core/monitor/eventlog.h"
#include "core/monitor/metricsjson.h"

#include <cmath>

namespace opsdeck::api {

namespace {

QString nowIso(const Clock &clock)
{
    return metricsjson::isoTimestamp(clock.wallMsecs());
}

} // namespace

QList<Endpoint> ApiServer::operationsEndpoints()
{
    QList<Endpoint> out;

    Endpoint getConfig;
    getConfig.method = "GET";
    getConfig.pattern = QStringLiteral("/config");
    getConfig.summary = QStringLiteral("The running configuration");
    getConfig.description = QStringLiteral(
        "Every section, key and value in effect, and which keys apply live and which need a "
        "restart, plus timestamp.");
    getConfig.errorStatuses = {503};
    getConfig.tag = QStringLiteral("config");
    getConfig.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return this->getConfig();
    };
    out.append(getConfig);

    Endpoint putConfig;
    putConfig.method = "PUT";
    putConfig.pattern = QStringLiteral("/config");
    putConfig.summary = QStringLiteral("Change the configuration, validated exactly like the INI");
    putConfig.description = QStringLiteral(
        "Body: INI text (text/plain) or JSON {section: {key: value}}. Any finding refuses the "
        "whole change with 400 invalid_config and every finding in details.findings. Answers "
        "{applied [...], restart_required [...], timestamp}: keys in restart_required take "
        "effect after a restart.");
    putConfig.body = BodySpec{{QStringLiteral("text/plain"), QStringLiteral("application/json")},
                              QStringLiteral("INI text or JSON sections"),
                              true};
    putConfig.errorStatuses = {400, 415, 500, 503};
    putConfig.tag = QStringLiteral("config");
    putConfig.handler = [this](const ApiRequest &request, const RouteMatch &, const Params &) {
        return this->putConfig(request);
    };
    out.append(putConfig);

    Endpoint stats;
    stats.method = "GET";
    stats.pattern = QStringLiteral("/cache/stats");
    stats.summary = QStringLiteral("Cache statistics (the old system's stats keys)");
    stats.description = QStringLiteral("{stats {...}, timestamp}; rates are 0..1.");
    stats.errorStatuses = {503};
    stats.tag = QStringLiteral("cache");
    stats.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return cacheStats();
    };
    out.append(stats);

    Endpoint keys;
    keys.method = "GET";
    keys.pattern = QStringLiteral("/cache/keys");
    keys.summary = QStringLiteral("Cache keys by prefix");
    keys.description = QStringLiteral("{keys [...], count, prefix, limit, timestamp}, sorted.");
    keys.queryParams = {
        ParamSpec::string(QStringLiteral("prefix"), QStringLiteral("Only keys starting with this"),
                          512),
        ParamSpec::integer(QStringLiteral("limit"), QStringLiteral("At most this many keys"), 1,
                           10000, QStringLiteral("100")),
    };
    keys.errorStatuses = {400, 503};
    keys.tag = QStringLiteral("cache");
    keys.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return cacheKeys(params);
    };
    out.append(keys);

    Endpoint invalidate;
    invalidate.method = "POST";
    invalidate.pattern = QStringLiteral("/cache/invalidate");
    invalidate.summary = QStringLiteral("Remove cache entries by pattern or tag, from every tier");
    invalidate.description = QStringLiteral(
        "Exactly one of `pattern` (a regular expression anchored at the key's start) or `tag`. "
        "Answers {message, removed, pattern|tag, timestamp}.");
    invalidate.queryParams = {
        ParamSpec::string(QStringLiteral("pattern"),
                          QStringLiteral("Regex anchored at the key's start"), 1024),
        ParamSpec::string(QStringLiteral("tag"), QStringLiteral("A tag"), 256),
    };
    invalidate.errorStatuses = {400, 503};
    invalidate.tag = QStringLiteral("cache");
    invalidate.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return cacheInvalidate(params);
    };
    out.append(invalidate);

    Endpoint tasks;
    tasks.method = "GET";
    tasks.pattern = QStringLiteral("/tasks");
    tasks.summary = QStringLiteral("Tasks queued and running in the execution engine");
    tasks.description = QStringLiteral("{tasks [...], count, timestamp}.");
    tasks.errorStatuses = {503};
    tasks.tag = QStringLiteral("tasks");
    tasks.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return listTasks();
    };
    out.append(tasks);

    Endpoint cancel;
    cancel.method = "POST";
    cancel.pattern = QStringLiteral("/tasks/{id}/cancel");
    cancel.summary = QStringLiteral("Cancel a queued or running task");
    cancel.description = QStringLiteral("{message, id, timestamp}; unknown id: 404 unknown_task; "
                                        "a task that cannot be cancelled any more: 409.");
    cancel.pathParams = {ParamSpec::string(QStringLiteral("id"), QStringLiteral("Task id"), 128)};
    cancel.errorStatuses = {400, 404, 409, 503};
    cancel.tag = QStringLiteral("tasks");
    cancel.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return cancelTask(params.text(QStringLiteral("id")));
    };
    out.append(cancel);

    Endpoint events;
    events.method = "GET";
    events.pattern = QStringLiteral("/events");
    events.summary = QStringLiteral("Alerts and state changes after a cursor (long-poll)");
    events.description = QStringLiteral(
        "{events [{id, type, timestamp, timestamp_ms, payload}], next_id, oldest_id, missed, "
        "timestamp}. Answers at once when events with id > since exist; otherwise holds the "
        "request until one arrives or `timeout` seconds pass (then events is empty). Pass "
        "next_id back as `since`. `missed` is true when events after `since` dropped out of the "
        "bounded log; a `since` beyond the newest id (a restarted server) starts over from the "
        "oldest event held.");
    events.queryParams = {
        ParamSpec::integer(QStringLiteral("since"),
                           QStringLiteral("Cursor: events with a larger id"), 0, 9007199254740991.0,
                           QStringLiteral("0")),
        ParamSpec::number(QStringLiteral("timeout"), QStringLiteral("Seconds to wait for an event"),
                          0, m_settings.maxEventWaitSeconds, QStringLiteral("0")),
        ParamSpec::integer(QStringLiteral("limit"), QStringLiteral("At most this many events"), 1,
                           1000, QStringLiteral("100")),
    };
    events.errorStatuses = {400, 503};
    events.tag = QStringLiteral("events");
    events.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return this->events(params);
    };
    out.append(events);
    return out;
}

HttpReply ApiServer::getConfig() const
{
    if (!m_settings.config.get)
        return routes::unavailable(QStringLiteral("config"), QStringLiteral("The configuration"));
    QJsonObject config = m_settings.config.get();
    config.insert(QStringLiteral("timestamp"), nowIso(m_clock));
    return HttpReply::json(config);
}

HttpReply ApiServer::putConfig(const ApiRequest &request) const
{
    if (!m_settings.config.put)
        return routes::unavailable(QStringLiteral("config"), QStringLiteral("The configuration"));
    const QByteArray type = routes::mediaType(request);
    if (!type.isEmpty() && type != "text/plain" && type != "application/json") {
        return HttpReply::error(
            415, QStringLiteral("unsupported_media_type"),
            QStringLiteral("Send INI text as text/plain or JSON as "
                           "application/json, not %1.")
                .arg(QString::fromLatin1(type.left(64))),
            {{QStringLiteral("accepted"),
              QJsonArray{QStringLiteral("text/plain"), QStringLiteral("application/json")}}});
    }
    if (request.body.trimmed().isEmpty()) {
        return HttpReply::error(
            400, QStringLiteral("empty_body"),
            QStringLiteral("PUT /config needs the settings to change in the body."));
    }
    const Result<QJsonObject> applied = m_settings.config.put(request.body, type);
    if (!applied)
        return routes::fromControlError(applied.error());
    QJsonObject answer = *applied;
    answer.insert(QStringLiteral("timestamp"), nowIso(m_clock));
    return HttpReply::json(answer);
}

HttpReply ApiServer::cacheStats() const
{
    if (!m_settings.cache.stats)
        return routes::unavailable(QStringLiteral("cache"), QStringLiteral("The cache"));
    return HttpReply::json({{QStringLiteral("stats"), m_settings.cache.stats()},
                            {QStringLiteral("timestamp"), nowIso(m_clock)}});
}

HttpReply ApiServer::cacheKeys(const Params &params) const
{
    if (!m_settings.cache.keys)
        return routes::unavailable(QStringLiteral("cache"), QStringLiteral("The cache"));
    const QString prefix = params.text(QStringLiteral("prefix"));
    const int limit = int(params.integer(QStringLiteral("limit"), 100));
    const QJsonArray keys = m_settings.cache.keys(prefix, limit);
    return HttpReply::json({{QStringLiteral("keys"), keys},
                            {QStringLiteral("count"), keys.size()},
                            {QStringLiteral("prefix"), prefix},
                            {QStringLiteral("limit"), limit},
                            {QStringLiteral("timestamp"), nowIso(m_clock)}});
}

HttpReply ApiServer::cacheInvalidate(const Params &params) const
{
    const bool byPattern = params.has(QStringLiteral("pattern"));
    const bool byTag = params.has(QStringLiteral("tag"));
    if (byPattern == byTag) {
        return HttpReply::error(400,
                                byPattern ? QStringLiteral("conflicting_parameters")
                                          : QStringLiteral("missing_parameter"),
                                QStringLiteral("Give exactly one of \"pattern\" or \"tag\"."),
                                {{QStringLiteral("parameters"),
                                  QJsonArray{QStringLiteral("pattern"), QStringLiteral("tag")}}});
    }
    const QString what = params.text(byPattern ? QStringLiteral("pattern") : QStringLiteral("tag"));
    if (what.isEmpty()) {
        return HttpReply::error(
            400, QStringLiteral("invalid_parameter"),
            QStringLiteral("\"%1\" must not be empty.")
                .arg(byPattern ? QStringLiteral("pattern") : QStringLiteral("tag")),
            {{QStringLiteral("parameter"),
              byPattern ? QStringLiteral("pattern") : QStringLiteral("tag")}});
    }
    int removed = 0;
    if (byPattern) {
        if (!m_settings.cache.invalidatePattern)
            return routes::unavailable(QStringLiteral("cache"), QStringLiteral("The cache"));
        const Result<int> done = m_settings.cache.invalidatePattern(what);
        if (!done)
            return routes::fromControlError(done.error());
        removed = *done;
    } else {
        if (!m_settings.cache.invalidateTag)
            return routes::unavailable(QStringLiteral("cache"), QStringLiteral("The cache"));
        removed = m_settings.cache.invalidateTag(what);
    }
    return HttpReply::json(
        {{QStringLiteral("message"), QStringLiteral("%1 cache entries removed").arg(removed)},
         {QStringLiteral("removed"), removed},
         {byPattern ? QStringLiteral("pattern") : QStringLiteral("tag"), what},
         {QStringLiteral("timestamp"), nowIso(m_clock)}});
}

HttpReply ApiServer::listTasks() const
{
    if (!m_settings.tasks.list)
        return routes::unavailable(QStringLiteral("tasks"), QStringLiteral("The execution engine"));
    const QJsonArray tasks = m_settings.tasks.list();
    return HttpReply::json({{QStringLiteral("tasks"), tasks},
                            {QStringLiteral("count"), tasks.size()},
                            {QStringLiteral("timestamp"), nowIso(m_clock)}});
}

HttpReply ApiServer::cancelTask(const QString &id) const
{
    if (!m_settings.tasks.cancel)
        return routes::unavailable(QStringLiteral("tasks"), QStringLiteral("The execution engine"));
    if (const Status done = m_settings.tasks.cancel(id); !done)
        return routes::fromControlError(done.error());
    return HttpReply::json(
        {{QStringLiteral("message"), QStringLiteral("Task %1 cancelled").arg(id)},
         {QStringLiteral("id"), id},
         {QStringLiteral("timestamp"), nowIso(m_clock)}});
}

HttpReply ApiServer::events(const Params &params) const
{
    const EventLog *log = m_settings.events;
    if (!log)
        return routes::unavailable(QStringLiteral("events"), QStringLiteral("The event log"));
    quint64 since = quint64(params.integer(QStringLiteral("since"), 0));
    const int limit = int(params.integer(QStringLiteral("limit"), 100));
    const double timeout = params.number(QStringLiteral("timeout"), 0);
    const quint64 last = log->lastId();
    // A cursor from an earlier process (ids start again at 1): start over, do not wait forever.
    if (since > last)
        since = 0;
    const QList<LoggedEvent> found = log->since(since, limit);
    // Held polls occupy connections (the guard caps them): beyond kMaxParkedPolls a poll is
    // answered at once, and the client simply polls again.
    constexpr int kMaxParkedPolls = 32;
    if (found.isEmpty() && timeout > 0 && m_parkingAllowed
        && m_parkedPolls.load() < kMaxParkedPolls) {
        m_parkRequestMs = int(std::ceil(timeout * 1000.0)); // the front holds the socket
        m_parkingAllowed = false;
    }
    QJsonArray list;
    for (const LoggedEvent &event : found)
        list.append(event.toJson());
    const quint64 oldest = log->oldestId();
    const bool missed = !found.isEmpty() && found.first().id > since + 1;
    const quint64 next = found.isEmpty() ? since : found.last().id;
    return HttpReply::json({{QStringLiteral("events"), list},
                            {QStringLiteral("next_id"), qint64(next)},
                            {QStringLiteral("oldest_id"), qint64(oldest)},
                            {QStringLiteral("missed"), missed},
                            {QStringLiteral("timestamp"), nowIso(m_clock)}});
}

} // namespace opsdeck::api

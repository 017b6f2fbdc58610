// The /monitoring/* routes of ApiServer: metrics (prepared bytes per snapshot, category and
// limit; ranges from the snapshot or the history), alerts, save, clear-alerts, ack, rules.
#include "api/apiserver.h"

#include "api/routehelpers.h"
#include "core/monitor/metricsjson.h"
#include "core/monitor/performancemonitor.h"
#include "core/support/logging.h"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QRegularExpression>
#include <QtCore/QSaveFile>
#include <QtCore/QTimeZone>

#include <limits>

namespace opsdeck::api {

namespace {

constexpr int kExportSchemaVersion = 1;
constexpr int kMaxFilenameLength = 128;

const QStringList &alertLevels()
{
    static const QStringList levels{QStringLiteral("info"), QStringLiteral("warning"),
                                    QStringLiteral("error"), QStringLiteral("critical")};
    return levels;
}

HttpReply conflicting(const QString &a, const QString &b)
{
    return HttpReply::error(400, QStringLiteral("conflicting_parameters"),
                            QStringLiteral("Give either \"%1\" or \"%2\", not both.").arg(a, b),
                            {{QStringLiteral("parameters"), QJsonArray{a, b}}});
}

// Keeps the samples with fromMs <= timestamp_ms <= toMs, then the newest `limit` of them.
QJsonArray samplesInRange(const QJsonArray &samples, qint64 fromMs, qint64 toMs, int limit)
{
    QJsonArray kept;
    for (const QJsonValue &sample : samples) {
        const qint64 at = sample.toObject().value(QStringLiteral("timestamp_ms")).toInteger();
        if (at >= fromMs && at <= toMs)
            kept.append(sample);
    }
    while (kept.size() > limit)
        kept.removeFirst();
    return kept;
}

// Why a save file name is refused, or empty when it is acceptable.
QString filenameProblem(const QString &name)
{
    static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9._-]+$"));
    if (name.isEmpty())
        return QStringLiteral("the name is empty");
    if (name.size() > kMaxFilenameLength)
        return QStringLiteral("the name is longer than %1 characters").arg(kMaxFilenameLength);
    if (!plain.match(name).hasMatch())
        return QStringLiteral("only ASCII letters, digits, '.', '_' and '-' are allowed");
    if (name.startsWith(u'.'))
        return QStringLiteral("the name must not start with a dot");
    if (name.contains(QStringLiteral("..")))
        return QStringLiteral("the name must not contain \"..\"");
    return {};
}

} // namespace

QList<Endpoint> ApiServer::monitoringEndpoints()
{
    QList<Endpoint> out;
    const QString tag = QStringLiteral("monitoring");
    const ParamSpec category
        = ParamSpec::oneOf(QStringLiteral("category"), QStringLiteral("One category; default: all"),
                           metricsjson::categories());

    Endpoint metrics;
    metrics.method = "GET";
    metrics.pattern = QStringLiteral("/monitoring/metrics");
    metrics.summary = QStringLiteral("Recent samples per metric category, oldest first");
    metrics.description = QStringLiteral(
        "{timestamp, timestamp_ms, metrics {category: [samples oldest first]}}. Without a range "
        "the newest `limit` samples (default 10) of the latest snapshot. `since` (exclusive) or "
        "`from`/`to` (inclusive) select a time range (default limit 1000), served from memory "
        "when it holds the range and otherwise from the history (history.db).");
    metrics.queryParams = {
        category,
        ParamSpec::integer(QStringLiteral("limit"), QStringLiteral("Samples per category"), 1,
                           MetricsSnapshot::kMaxSamplesPerCategory, QStringLiteral("10")),
        ParamSpec::time(QStringLiteral("since"),
                        QStringLiteral("Only samples after this time (ISO-8601 or epoch ms)")),
        ParamSpec::time(QStringLiteral("from"), QStringLiteral("Range start, inclusive")),
        ParamSpec::time(QStringLiteral("to"), QStringLiteral("Range end, inclusive")),
    };
    metrics.errorStatuses = {400, 503};
    metrics.tag = tag;
    metrics.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return monitoringMetrics(params);
    };
    out.append(metrics);

    Endpoint alerts;
    alerts.method = "GET";
    alerts.pattern = QStringLiteral("/monitoring/alerts");
    alerts.summary = QStringLiteral("Alerts, one per episode, oldest first");
    alerts.description = QStringLiteral(
        "{timestamp, alerts [...], count, next_since}. Each alert: {id, timestamp, level, source, "
        "message, details {metric, value, threshold}, first_seen, last_seen, count, state, "
        "acknowledged}. With `since` the oldest `limit` alerts after that id (pass next_since "
        "back as the next cursor), otherwise the newest `limit`.");
    alerts.queryParams = {
        ParamSpec::oneOf(QStringLiteral("level"), QStringLiteral("Exactly this level"),
                         alertLevels()),
        ParamSpec::oneOf(QStringLiteral("min_level"), QStringLiteral("This level or more severe"),
                         alertLevels()),
        ParamSpec::string(QStringLiteral("source"), QStringLiteral("Exactly this source"), 128),
        ParamSpec::integer(QStringLiteral("since"),
                           QStringLiteral("Cursor: alerts with a larger id"), 0, 9007199254740991.0,
                           QStringLiteral("0")),
        ParamSpec::integer(QStringLiteral("limit"), QStringLiteral("At most this many alerts"), 1,
                           1000, QStringLiteral("100")),
    };
    alerts.errorStatuses = {400, 503};
    alerts.tag = tag;
    alerts.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return monitoringAlerts(params);
    };
    out.append(alerts);

    Endpoint save;
    save.method = "POST";
    save.pattern = QStringLiteral("/monitoring/save");
    save.summary = QStringLiteral("Save metrics and alerts as JSON in the exports directory");
    save.description = QStringLiteral(
        "Writes {schema_version, opsdeck_version, timestamp, metrics, alerts} atomically into "
        "the data dir's exports/ and answers {message, timestamp, file, path, bytes}. Names: "
        "ASCII letters, digits, '.', '_', '-', at most 128 characters, no leading dot, no "
        "\"..\". An existing file is 409 unless overwrite=true.");
    save.queryParams = {
        ParamSpec::string(QStringLiteral("filename"),
                          QStringLiteral("File name inside exports/; default "
                                         "performance_metrics_YYYYMMDD_HHMMSS.json (UTC)"),
                          4096),
        ParamSpec::boolean(QStringLiteral("overwrite"), QStringLiteral("Replace an existing file"),
                           QStringLiteral("false")),
    };
    save.errorStatuses = {400, 409, 500, 503};
    save.tag = tag;
    save.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return saveMonitoring(params);
    };
    out.append(save);

    Endpoint clear;
    clear.method = "POST";
    clear.pattern = QStringLiteral("/monitoring/clear-alerts");
    clear.summary = QStringLiteral("Empty the alert list");
    clear.description = QStringLiteral("{message, timestamp}. A condition still true fires again "
                                       "after its `for` duration.");
    clear.errorStatuses = {503};
    clear.tag = tag;
    clear.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return clearAlerts();
    };
    out.append(clear);

    Endpoint ack;
    ack.method = "POST";
    ack.pattern = QStringLiteral("/monitoring/alerts/{id}/ack");
    ack.summary = QStringLiteral("Acknowledge an alert by id");
    ack.description = QStringLiteral("{message, id, timestamp}; unknown id: 404 unknown_alert.");
    ack.pathParams = {ParamSpec::integer(QStringLiteral("id"), QStringLiteral("Alert id"), 1,
                                         9007199254740991.0)};
    ack.errorStatuses = {400, 404, 503};
    ack.tag = tag;
    ack.handler = [this](const ApiRequest &, const RouteMatch &, const Params &params) {
        return acknowledgeAlert(params.integer(QStringLiteral("id")));
    };
    out.append(ack);

    Endpoint rules;
    rules.method = "GET";
    rules.pattern = QStringLiteral("/monitoring/rules");
    rules.summary = QStringLiteral("The alert rule table");
    rules.description = QStringLiteral("{rules [...], count, timestamp}.");
    rules.errorStatuses = {503};
    rules.tag = tag;
    rules.handler = [this](const ApiRequest &, const RouteMatch &, const Params &) {
        return getRules();
    };
    out.append(rules);

    Endpoint putRules;
    putRules.method = "PUT";
    putRules.pattern = QStringLiteral("/monitoring/rules");
    putRules.summary = QStringLiteral("Replace the alert rule table");
    putRules.description = QStringLiteral(
        "Body: the whole table as a JSON array (or {\"rules\": [...]}); validated as a whole, "
        "nothing changes on a 400 (details list each problem). Answers {message, rules, count, "
        "timestamp}.");
    putRules.body
        = BodySpec{{QStringLiteral("application/json")}, QStringLiteral("The rule table"), true};
    putRules.errorStatuses = {400, 415, 503};
    putRules.tag = tag;
    putRules.handler = [this](const ApiRequest &request, const RouteMatch &, const Params &) {
        return this->putRules(request);
    };
    out.append(putRules);
    return out;
}

std::optional<HttpReply> ApiServer::monitorNotReady() const
{
    const SnapshotPtr snapshot = m_monitor.latestSnapshot();
    if (snapshot && snapshot->monitorRunning)
        return std::nullopt;
    HttpReply reply = HttpReply::error(503, QStringLiteral("monitor_not_running"),
                                       snapshot ? QStringLiteral("The monitor is stopped.")
                                                : QStringLiteral("The monitor has not taken its "
                                                                 "first sample yet."));
    reply.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("1")});
    return reply;
}

HttpReply ApiServer::monitoringMetrics(const Params &params) const
{
    const QString category = params.text(QStringLiteral("category"));
    const bool since = params.has(QStringLiteral("since"));
    const bool ranged
        = since || params.has(QStringLiteral("from")) || params.has(QStringLiteral("to"));
    if (since && params.has(QStringLiteral("from")))
        return conflicting(QStringLiteral("since"), QStringLiteral("from"));
    if (since && params.has(QStringLiteral("to")))
        return conflicting(QStringLiteral("since"), QStringLiteral("to"));
    const qint64 fromMs = since ? params.integer(QStringLiteral("since")) + 1
                                : params.integer(QStringLiteral("from"), 0);
    const qint64 toMs = params.integer(QStringLiteral("to"), std::numeric_limits<qint64>::max());
    if (fromMs > toMs) {
        return HttpReply::error(400, QStringLiteral("invalid_range"),
                                QStringLiteral("\"from\" is after \"to\"."),
                                {{QStringLiteral("from"), metricsjson::isoTimestamp(fromMs)},
                                 {QStringLiteral("to"), metricsjson::isoTimestamp(toMs)}});
    }
    if (auto notReady = monitorNotReady())
        return *notReady;
    const SnapshotPtr snapshot = m_monitor.latestSnapshot();
    if (!snapshot)
        return *monitorNotReady();

    if (!ranged) {
        const int limit = int(params.integer(QStringLiteral("limit"), 10));
        if (m_preparedSequence != snapshot->sequence) {
            m_prepared.clear();
            m_preparedSequence = snapshot->sequence;
        }
        const QString key = category + u'|' + QString::number(limit);
        auto it = m_prepared.constFind(key);
        if (it == m_prepared.constEnd()) {
            const QJsonObject document
                = metricsjson::metricsDocument(*snapshot, category, limit, snapshot->timestampMs);
            if (m_prepared.size() > 64)
                m_prepared.clear();
            it = m_prepared.insert(key, QJsonDocument(document).toJson(QJsonDocument::Compact));
        }
        return HttpReply::jsonBytes(*it);
    }

    const int limit
        = int(params.integer(QStringLiteral("limit"), MetricsSnapshot::kMaxSamplesPerCategory));
    const QStringList wanted
        = category.isEmpty() ? metricsjson::categories() : QStringList{category};
    QJsonObject metrics;
    for (const QString &name : wanted) {
        const QJsonArray inMemory = metricsjson::categorySamples(
            *snapshot, name, MetricsSnapshot::kMaxSamplesPerCategory);
        const bool errorOnly
            = inMemory.size() == 1 && inMemory.first().toObject().contains(QStringLiteral("error"));
        const qint64 oldest
            = inMemory.isEmpty() || errorOnly
                  ? std::numeric_limits<qint64>::max()
                  : inMemory.first().toObject().value(QStringLiteral("timestamp_ms")).toInteger();
        const auto &history = m_settings.monitorControl.history;
        if (oldest <= fromMs || !history) {
            // Memory holds the whole range (or there is no history to ask): filter the snapshot.
            metrics.insert(name, samplesInRange(inMemory, fromMs, toMs, limit));
            continue;
        }
        const Result<QJsonArray> older = history(name, fromMs, toMs, limit);
        if (!older)
            return routes::fromControlError(older.error());
        metrics.insert(name, *older);
    }
    const qint64 now = m_clock.wallMsecs();
    return HttpReply::json({{QStringLiteral("timestamp"), metricsjson::isoTimestamp(now)},
                            {QStringLiteral("timestamp_ms"), now},
                            {QStringLiteral("metrics"), metrics}});
}

HttpReply ApiServer::monitoringAlerts(const Params &params) const
{
    if (params.has(QStringLiteral("level")) && params.has(QStringLiteral("min_level")))
        return conflicting(QStringLiteral("level"), QStringLiteral("min_level"));
    if (auto notReady = monitorNotReady())
        return *notReady;
    if (!m_settings.monitorControl.alerts)
        return routes::unavailable(QStringLiteral("alerts"), QStringLiteral("The alert engine"));
    AlertFilter filter;
    filter.level = params.text(QStringLiteral("level"));
    filter.minLevel = params.text(QStringLiteral("min_level"));
    filter.source = params.text(QStringLiteral("source"));
    filter.sinceId = params.integer(QStringLiteral("since"), 0);
    filter.limit = int(params.integer(QStringLiteral("limit"), 100));
    const QJsonArray alerts = m_settings.monitorControl.alerts(filter);
    qint64 next = filter.sinceId;
    for (const QJsonValue &alert : alerts)
        next = std::max(next, alert.toObject().value(QStringLiteral("id")).toInteger());
    const qint64 now = m_clock.wallMsecs();
    return HttpReply::json({{QStringLiteral("timestamp"), metricsjson::isoTimestamp(now)},
                            {QStringLiteral("timestamp_ms"), now},
                            {QStringLiteral("alerts"), alerts},
                            {QStringLiteral("count"), alerts.size()},
                            {QStringLiteral("next_since"), next}});
}

HttpReply ApiServer::saveMonitoring(const Params &params) const
{
    const qint64 now = m_clock.wallMsecs();
    QString name = params.text(QStringLiteral("filename"));
    if (!params.has(QStringLiteral("filename"))) {
        name = QDateTime::fromMSecsSinceEpoch(now, QTimeZone::utc())
                   .toString(QStringLiteral("'performance_metrics_'yyyyMMdd_HHmmss'.json'"));
    }
    if (const QString problem = filenameProblem(name); !problem.isEmpty()) {
        QString shown = name.left(64);
        shown.replace(QChar(0), QStringLiteral("\\0"));
        return HttpReply::error(
            400, QStringLiteral("invalid_filename"),
            QStringLiteral("Cannot save as \"%1\": %2. The file always goes into the exports "
                           "directory; give a plain name.")
                .arg(shown, problem),
            {{QStringLiteral("parameter"), QStringLiteral("filename")},
             {QStringLiteral("max_length"), kMaxFilenameLength},
             {QStringLiteral("allowed"),
              QStringLiteral("[A-Za-z0-9._-], no leading dot, no \"..\"")}});
    }
    if (auto notReady = monitorNotReady())
        return *notReady;
    if (!m_settings.monitorControl.alerts)
        return routes::unavailable(QStringLiteral("alerts"), QStringLiteral("The alert engine"));
    if (m_settings.exportsDir.isEmpty())
        return routes::unavailable(QStringLiteral("exports"),
                                   QStringLiteral("An exports directory"));

    const QDir dir(m_settings.exportsDir);
    if (!dir.mkpath(QStringLiteral("."))) {
        qCWarning(lcApi, "Cannot create the exports directory %s",
                  qUtf8Printable(m_settings.exportsDir));
        return HttpReply::error(500, QStringLiteral("export_failed"),
                                QStringLiteral("The exports directory cannot be created."));
    }
    const QString path = dir.absoluteFilePath(name);
    const QFileInfo existing(path);
    if (existing.exists() || existing.isSymLink()) {
        if (!params.boolean(QStringLiteral("overwrite"))) {
            return HttpReply::error(
                409, QStringLiteral("file_exists"),
                QStringLiteral("%1 exists; add overwrite=true to replace it.").arg(name),
                {{QStringLiteral("file"), name}});
        }
        // Replacing a link or a directory could write outside exports/ or lose data.
        if (existing.isSymLink() || !existing.isFile()) {
            return HttpReply::error(
                409, QStringLiteral("not_a_regular_file"),
                QStringLiteral("%1 is not a regular file; it is left alone.").arg(name),
                {{QStringLiteral("file"), name}});
        }
    }

    const SnapshotPtr snapshot = m_monitor.latestSnapshot();
    AlertFilter everything;
    everything.limit = 1000;
    const QJsonObject metrics = metricsjson::metricsDocument(
        *snapshot, QString(), MetricsSnapshot::kMaxSamplesPerCategory, now);
    const QJsonObject document{
        {QStringLiteral("schema_version"), kExportSchemaVersion},
        {QStringLiteral("opsdeck_version"), QStringLiteral(OPSDECK_VERSION_STRING)},
        {QStringLiteral("timestamp"), metricsjson::isoTimestamp(now)},
        {QStringLiteral("timestamp_ms"), now},
        {QStringLiteral("metrics"), metrics.value(QStringLiteral("metrics"))},
        {QStringLiteral("alerts"), m_settings.monitorControl.alerts(everything)},
    };
    const QByteArray bytes = QJsonDocument(document).toJson(QJsonDocument::Indented);
    QSaveFile file(path);
    file.setDirectWriteFallback(false); // temp + rename, or nothing
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        qCWarning(lcApi, "Saving metrics to %s failed: %s", qUtf8Printable(path),
                  qUtf8Printable(file.errorString()));
        return HttpReply::error(500, QStringLiteral("export_failed"),
                                QStringLiteral("Writing %1 failed; nothing was saved.").arg(name),
                                {{QStringLiteral("file"), name}});
    }
    return HttpReply::json(
        {{QStringLiteral("message"), QStringLiteral("Metrics saved to %1").arg(name)},
         {QStringLiteral("timestamp"), metricsjson::isoTimestamp(now)},
         {QStringLiteral("file"), name},
         {QStringLiteral("path"), path},
         {QStringLiteral("bytes"), bytes.size()}});
}

HttpReply ApiServer::clearAlerts() const
{
    if (auto notReady = monitorNotReady())
        return *notReady;
    if (!m_settings.monitorControl.clearAlerts)
        return routes::unavailable(QStringLiteral("alerts"), QStringLiteral("The alert engine"));
    m_settings.monitorControl.clearAlerts();
    return HttpReply::json(
        {{QStringLiteral("message"), QStringLiteral("Alerts cleared")},
         {QStringLiteral("timestamp"), metricsjson::isoTimestamp(m_clock.wallMsecs())}});
}

HttpReply ApiServer::acknowledgeAlert(qint64 id) const
{
    if (auto notReady = monitorNotReady())
        return *notReady;
    if (!m_settings.monitorControl.acknowledge)
        return routes::unavailable(QStringLiteral("alerts"), QStringLiteral("The alert engine"));
    if (const Status done = m_settings.monitorControl.acknowledge(id); !done)
        return routes::fromControlError(done.error());
    return HttpReply::json(
        {{QStringLiteral("message"), QStringLiteral("Alert %1 acknowledged").arg(id)},
         {QStringLiteral("id"), id},
         {QStringLiteral("timestamp"), metricsjson::isoTimestamp(m_clock.wallMsecs())}});
}

HttpReply ApiServer::getRules() const
{
    if (auto notReady = monitorNotReady())
        return *notReady;
    if (!m_settings.monitorControl.rules)
        return routes::unavailable(QStringLiteral("alerts"), QStringLiteral("The alert engine"));
    const QJsonArray rules = m_settings.monitorControl.rules();
    return HttpReply::json(
        {{QStringLiteral("rules"), rules},
         {QStringLiteral("count"), rules.size()},
         {QStringLiteral("timestamp"), metricsjson::isoTimestamp(m_clock.wallMsecs())}});
}

HttpReply ApiServer::putRules(const ApiRequest &request) const
{
    if (auto notReady = monitorNotReady())
        return *notReady;
    if (!m_settings.monitorControl.setRules)
        return routes::unavailable(QStringLiteral("alerts"), QStringLiteral("The alert engine"));
    std::variant<QJsonValue, HttpReply> body = routes::jsonBody(request);
    if (const HttpReply *refused = std::get_if<HttpReply>(&body))
        return *refused;
    const Result<QJsonArray> rules = m_settings.monitorControl.setRules(std::get<QJsonValue>(body));
    if (!rules)
        return routes::fromControlError(rules.error());
    return HttpReply::json(
        {{QStringLiteral("message"), QStringLiteral("Rules replaced")},
         {QStringLiteral("rules"), *rules},
         {QStringLiteral("count"), rules->size()},
         {QStringLiteral("timestamp"), metricsjson::isoTimestamp(m_clock.wallMsecs())}});
}

} // namespace opsdeck::api

#include "core/monitor/alertengine.h"

#include "core/monitor/historystore.h"
#include "core/monitor/metricsjson.h"
#include "core/runtime/runtimeconfig.h"
#include "core/support/logging.h"

#include <QtCore/QMutexLocker>
#include <QtCore/QSet>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace opsdeck {

using namespace Qt::StringLiterals;

// clang-format off
// The default rule table (hand this text to docs/ARCHITECTURE.md, "Alert rules").
//
// Levels: info = worth knowing, no action needed (no default rule; for custom rules).
// warning = a resource or quality figure is past its threshold; the system still works
//   (CPU, memory, disk, hit rates, HTTP error rate, response time, preloader errors, queue).
// error = a component is not doing its job (its stats fail, the engine is not running).
// critical = for user rules whose breach needs action now; no default rule has it (the old
//   system had none, and every default condition degrades service rather than stopping it).
//
// id                  metric                          fires when               level    for clear_for guard
// process_cpu         system.process.cpu_percent      > cpu_usage (%)          warning  F   0         -
// system_cpu          system.system.cpu_percent       > cpu_usage (%)          warning  F   0         -
// process_memory      system.process.memory_percent   > memory_usage (%)       warning  F   0         -
// system_memory       system.system.memory_percent    > memory_usage (%)       warning  F   0         -
// disk_usage          system.system.disk_percent      > disk_usage (%)         warning  F   0         -
// memory_hit_rate     cache.memory_hit_rate           < cache_hit_rate_min (%) warning  F   0         cache.memory_lookups >= L
// disk_hit_rate       cache.disk_hit_rate             < cache_hit_rate_min (%) warning  F   0         cache.disk_lookups >= L
// hit_rate            cache.hit_rate                  < cache_hit_rate_min (%) warning  F   0         cache.lookups >= L
// preloader_errors    cache.preloader.preload_errors  > 0 (in the interval)    warning  0   60 s      -
// http_error_rate     http.error_rate                 > http_error_rate_max (%) warning F   0         http.requests >= 1
// response_time       http.latency_p99_ms             > response_time_max (ms) warning  F   0         http.requests >= 1
// <c>_stats_failed    <c>.error, c = system, cache, http, execution: > 0       error    0   0         -
// engine_not_running  execution.running               < 1                      error    F   0         -
// queued_tasks        execution.queued_tasks          > queued_tasks_max       warning  F   0         -
//
// F = [monitor] alert_for (30 s), L = cache_min_lookups (10). Hysteresis = alert_hysteresis
// (10 %) of the threshold for the threshold rules (CPU 80 % fires above 80, clears at or below
// 72; hit rate 50 % fires below 50, clears at or above 55), 0 for the 0/1 and count rules.
// Rates are 0..1 in MetricValues and percent in rules: AlertRule::displayValue() converts, and
// nothing else does. A metric absent this tick, or an unmet guard, leaves a firing alert as it
// is (no evidence either way) and ends a pending one, so an idle cache raises no hit-rate alert.
// Preloader errors come as single bad ticks, so they fire at once and resolve only after a
// minute without errors (one episode, not one per failure). The response time is the
// interval's p99 of finished HTTP requests.
// clang-format on
QList<AlertRule> AlertEngine::defaultRules(const MonitorConfig &config)
{
    const AlertThresholds &t = config.thresholds;
    const double forSeconds = t.alertFor;
    const double hysteresisShare = t.alertHysteresis / 100.0;
    const double minLookups = t.cacheMinLookups;
    QList<AlertRule> rules;
    auto add
        = [&](QString id, QString name, QString metric, AlertComparison comparison,
              double threshold, AlertLevel level, QString source, QString message) -> AlertRule & {
        AlertRule rule;
        rule.id = std::move(id);
        rule.name = std::move(name);
        rule.metric = std::move(metric);
        rule.comparison = comparison;
        rule.threshold = threshold;
        rule.hysteresis = threshold * hysteresisShare;
        rule.forSeconds = forSeconds;
        rule.level = level;
        rule.source = std::move(source);
        rule.message = std::move(message);
        rules.append(rule);
        return rules.last();
    };
    const auto above = AlertComparison::Above;
    const auto below = AlertComparison::Below;
    const auto warning = AlertLevel::Warning;

    add(u"process_cpu"_s, u"Process CPU usage"_s, u"system.process.cpu_percent"_s, above,
        t.cpuUsage, warning, u"system"_s, u"Process CPU usage is {value}% (above {threshold}%)"_s);
    add(u"system_cpu"_s, u"System CPU usage"_s, u"system.system.cpu_percent"_s, above, t.cpuUsage,
        warning, u"system"_s, u"System CPU usage is {value}% (above {threshold}%)"_s);
    add(u"process_memory"_s, u"Process memory usage"_s, u"system.process.memory_percent"_s, above,
        t.memoryUsage, warning, u"system"_s,
        u"Process memory usage is {value}% (above {threshold}%)"_s);
    add(u"system_memory"_s, u"System memory usage"_s, u"system.system.memory_percent"_s, above,
        t.memoryUsage, warning, u"system"_s,
        u"System memory usage is {value}% (above {threshold}%)"_s);
    add(u"disk_usage"_s, u"Disk usage"_s, u"system.system.disk_percent"_s, above, t.diskUsage,
        warning, u"system"_s, u"Disk usage is {value}% (above {threshold}%)"_s);

    AlertRule &memoryHit
        = add(u"memory_hit_rate"_s, u"Memory cache hit rate"_s, u"cache.memory_hit_rate"_s, below,
              t.cacheHitRateMin, warning, u"cache"_s,
              u"Memory cache hit rate is {value}% (below {threshold}%)"_s);
    memoryHit.guardMetric = u"cache.memory_lookups"_s;
    memoryHit.guardMin = minLookups;
    AlertRule &diskHit = add(u"disk_hit_rate"_s, u"Disk cache hit rate"_s, u"cache.disk_hit_rate"_s,
                             below, t.cacheHitRateMin, warning, u"cache"_s,
                             u"Disk cache hit rate is {value}% (below {threshold}%)"_s);
    diskHit.guardMetric = u"cache.disk_lookups"_s;
    diskHit.guardMin = minLookups;
    AlertRule &hit
        = add(u"hit_rate"_s, u"Cache hit rate"_s, u"cache.hit_rate"_s, below, t.cacheHitRateMin,
              warning, u"cache"_s, u"Combined cache hit rate is {value}% (below {threshold}%)"_s);
    hit.guardMetric = u"cache.lookups"_s;
    hit.guardMin = minLookups;
    AlertRule &preload = add(u"preloader_errors"_s, u"Preloader errors"_s,
                             u"cache.preloader.preload_errors"_s, above, 0.0, warning, u"cache"_s,
                             u"The preloader had {value} failed loads in the last interval"_s);
    preload.forSeconds = 0.0;
    preload.clearForSeconds = 60.0;

    AlertRule &httpErrors = add(u"http_error_rate"_s, u"HTTP error rate"_s, u"http.error_rate"_s,
                                above, t.httpErrorRateMax, warning, u"http"_s,
                                u"HTTP error rate is {value}% (above {threshold}%)"_s);
    httpErrors.guardMetric = u"http.requests"_s;
    httpErrors.guardMin = 1.0;
    AlertRule &latency = add(u"response_time"_s, u"HTTP response time"_s, u"http.latency_p99_ms"_s,
                             above, t.responseTimeMax, warning, u"http"_s,
                             u"HTTP response time (p99) is {value} ms (above {threshold} ms)"_s);
    latency.guardMetric = u"http.requests"_s;
    latency.guardMin = 1.0;

    for (const QString &category : alertSources()) {
        AlertRule &failed
            = add(category + u"_stats_failed"_s, u"Stats of %1 failing"_s.arg(category),
                  category + u".error"_s, above, 0.0, AlertLevel::Error, category,
                  u"Collecting %1 metrics failed"_s.arg(category));
        failed.forSeconds = 0.0;
        failed.hysteresis = 0.0;
    }
    AlertRule &engine = add(u"engine_not_running"_s, u"Execution engine not running"_s,
                            u"execution.running"_s, below, 1.0, AlertLevel::Error, u"execution"_s,
                            u"The execution engine is not running"_s);
    engine.hysteresis = 0.0;
    add(u"queued_tasks"_s, u"Queued tasks"_s, u"execution.queued_tasks"_s, above,
        double(t.queuedTasksMax), warning, u"execution"_s,
        u"{value} tasks are queued (more than {threshold})"_s);
    return rules;
}

AlertEngine::AlertEngine(const Clock &clock, int maxAlerts, QObject *parent)
    : QObject(parent)
    , m_clock(clock)
    , m_maxAlerts(std::max(1, maxAlerts))
{
    qRegisterMetaType<opsdeck::Alert>();
}

AlertEngine::~AlertEngine() = default;

Alert *AlertEngine::findLocked(qint64 id)
{
    auto it = std::lower_bound(m_alerts.begin(), m_alerts.end(), id,
                               [](const Alert &a, qint64 v) { return a.id < v; });
    return it != m_alerts.end() && it->id == id ? &*it : nullptr;
}

const Alert *AlertEngine::findLocked(qint64 id) const
{
    return const_cast<AlertEngine *>(this)->findLocked(id);
}

void AlertEngine::setBaseRules(const QList<AlertRule> &rules)
{
    Notes notes;
    {
        QMutexLocker lock(&m_mutex);
        m_baseRules = rules;
        rebuildEffectiveLocked(notes, m_clock.wallMsecs());
    }
    emitAll(notes);
    Q_EMIT rulesChanged();
}

void AlertEngine::rebuildEffectiveLocked(Notes &notes, qint64 wallMs)
{
    QList<AlertRule> effective;
    QSet<QString> baseIds;
    for (const AlertRule &base : std::as_const(m_baseRules)) {
        baseIds.insert(base.id);
        const auto o = m_overrides.constFind(base.id);
        if (o == m_overrides.cend()) {
            effective.append(base);
            continue;
        }
        Result<AlertRule> changed = base.withChanges(*o);
        if (!changed) {
            // A stored override that the new base no longer accepts: keep the base, say so.
            qCWarning(lcMonitor).noquote()
                << u"alert rule override of %1 ignored: %2"_s.arg(base.id, changed.error().message);
            effective.append(base);
            continue;
        }
        effective.append(*changed);
    }
    for (const QString &id : std::as_const(m_customOrder)) {
        if (baseIds.contains(id))
            continue; // a base rule took the id: the override above applies to it
        QJsonObject json = m_overrides.value(id);
        if (!json.contains(u"metric"_s))
            continue; // changes to a base rule this table lacks (kept for when it returns)
        json.insert(u"id"_s, id);
        Result<AlertRule> custom = AlertRule::fromJson(json);
        if (!custom) {
            qCWarning(lcMonitor).noquote()
                << u"custom alert rule %1 ignored: %2"_s.arg(id, custom.error().message);
            continue;
        }
        effective.append(*custom);
    }
    m_rules = effective;

    QSet<QString> live;
    for (const AlertRule &rule : std::as_const(m_rules)) {
        if (rule.enabled)
            live.insert(rule.id);
    }
    for (auto it = m_states.begin(); it != m_states.end();) {
        if (!live.contains(it.key())) {
            resolveLocked(it.value(), wallMs, notes);
            it = m_states.erase(it);
        } else {
            ++it;
        }
    }
    if (!notes.resolved.isEmpty())
        persistLocked(notes.resolved);
}

void AlertEngine::resolveLocked(RuleState &state, qint64 wallMs, Notes &notes)
{
    if (state.phase == Phase::Firing) {
        if (Alert *alert = findLocked(state.alertId)) {
            alert->state = AlertState::Resolved;
            alert->resolvedAtMs = wallMs;
            notes.resolved.append(*alert);
        }
    }
    state = RuleState{};
}

void AlertEngine::appendLocked(const Alert &alert)
{
    m_alerts.push_back(alert);
    if (int(m_alerts.size()) <= m_maxAlerts)
        return;
    // Drop the oldest resolved episode; open ones are few (one per rule) and must stay.
    auto victim = std::find_if(m_alerts.begin(), m_alerts.end(),
                               [](const Alert &a) { return a.state == AlertState::Resolved; });
    m_alerts.erase(victim != m_alerts.end() ? victim : m_alerts.begin());
}

void AlertEngine::persistLocked(const QList<Alert> &alerts)
{
    if (!m_store || alerts.isEmpty())
        return;
    const Status saved = m_store->saveAlerts(alerts, m_nextId);
    // Said once per failing stretch, not on every tick of it.
    if (!saved && !m_storeFailing)
        qCWarning(lcMonitor).noquote()
            << u"alerts not saved to history: %1"_s.arg(saved.error().message);
    if (saved && m_storeFailing)
        qCInfo(lcMonitor).noquote() << u"alerts are saved to history again"_s;
    m_storeFailing = !saved;
}

void AlertEngine::persistOverridesLocked()
{
    if (!m_store)
        return;
    HistoryStore::RuleOverrides list;
    for (const AlertRule &base : std::as_const(m_baseRules)) {
        if (m_overrides.contains(base.id))
            list.append({base.id, m_overrides.value(base.id)});
    }
    for (const QString &id : std::as_const(m_customOrder)) {
        if (m_overrides.contains(id)
            && std::none_of(m_baseRules.cbegin(), m_baseRules.cend(),
                            [&](const AlertRule &r) { return r.id == id; }))
            list.append({id, m_overrides.value(id)});
    }
    // Overrides of rules absent from the current base (e.g. a knob removed) are kept too.
    for (auto it = m_overrides.cbegin(); it != m_overrides.cend(); ++it) {
        if (std::none_of(list.cbegin(), list.cend(),
                         [&](const auto &p) { return p.first == it.key(); }))
            list.append({it.key(), it.value()});
    }
    if (Status saved = m_store->saveRuleOverrides(list); !saved) {
        qCWarning(lcMonitor).noquote()
            << u"alert rule overrides not saved to history: %1"_s.arg(saved.error().message);
    }
}

Status AlertEngine::attachStore(HistoryStore *store)
{
    Notes notes;
    {
        QMutexLocker lock(&m_mutex);
        m_store = nullptr; // attached only once everything was read
        m_storeFailing = false;
        if (!store)
            return ok();
        Result<HistoryStore::StoredAlerts> stored = store->loadAlerts();
        if (!stored)
            return tl::unexpected(stored.error());
        Result<HistoryStore::RuleOverrides> overrides = store->loadRuleOverrides();
        if (!overrides)
            return tl::unexpected(overrides.error());
        m_store = store;

        m_overrides.clear();
        m_customOrder.clear();
        for (const auto &[id, json] : std::as_const(*overrides)) {
            m_overrides.insert(id, json);
            m_customOrder.append(id); // only ids that are not base rules are used as custom
        }
        // Restored episodes join what this run already has (normally nothing), by id.
        for (const Alert &alert : std::as_const(stored->alerts)) {
            if (!findLocked(alert.id)) {
                m_alerts.push_back(alert);
            }
        }
        std::sort(m_alerts.begin(), m_alerts.end(),
                  [](const Alert &a, const Alert &b) { return a.id < b.id; });
        while (int(m_alerts.size()) > m_maxAlerts)
            m_alerts.pop_front();
        qint64 maxId = 0;
        for (const Alert &alert : m_alerts)
            maxId = std::max(maxId, alert.id);
        m_nextId = std::max({m_nextId, stored->nextId, maxId + 1});

        const qint64 wallMs = m_clock.wallMsecs();
        rebuildEffectiveLocked(notes, wallMs);
        // A firing episode resumes under its rule (the condition must clear to resolve it);
        // one whose rule is gone or disabled resolves now.
        QSet<QString> live;
        for (const AlertRule &rule : std::as_const(m_rules)) {
            if (rule.enabled)
                live.insert(rule.id);
        }
        QList<Alert> changed;
        for (Alert &alert : m_alerts) {
            if (alert.state == AlertState::Resolved)
                continue;
            RuleState &state = m_states[alert.ruleId];
            if (!live.contains(alert.ruleId) || state.phase == Phase::Firing) {
                // Its rule is gone or disabled, or a newer open episode of the rule exists.
                if (!live.contains(alert.ruleId))
                    m_states.remove(alert.ruleId);
                alert.state = AlertState::Resolved;
                alert.resolvedAtMs = wallMs;
                changed.append(alert);
                continue;
            }
            state = RuleState{};
            state.phase = Phase::Firing;
            state.alertId = alert.id;
        }
        persistLocked(changed);
        persistOverridesLocked();
        notes.resolved.append(changed);
    }
    emitAll(notes);
    Q_EMIT rulesChanged();
    return ok();
}

QList<Alert> AlertEngine::evaluate(const MetricValues &values, qint64 wallMs)
{
    Notes notes;
    QList<Alert> touched;
    {
        QMutexLocker lock(&m_mutex);
        const Clock::MonoTime now = m_clock.monotonic();
        auto seconds = [](Clock::Duration d) {
            return std::chrono::duration<double>(d).count();
        };
        for (const AlertRule &rule : std::as_const(m_rules)) {
            if (!rule.enabled)
                continue;
            RuleState &state = m_states[rule.id];
            const auto metric = values.constFind(rule.metric);
            bool hasData = metric != values.cend() && std::isfinite(*metric);
            if (hasData && !rule.guardMetric.isEmpty()) {
                const auto guard = values.constFind(rule.guardMetric);
                hasData = guard != values.cend() && *guard >= rule.guardMin;
            }
            if (!hasData) {
                if (state.phase == Phase::Pending)
                    state = RuleState{};
                continue; // a firing alert stays as it is
            }
            const double value = rule.displayValue(*metric);

            if (state.phase == Phase::Firing) {
                Alert *alert = findLocked(state.alertId);
                if (!alert) { // evicted or cleared underneath: start over
                    state = RuleState{};
                } else if (rule.clears(value)) {
                    if (!state.clearSince)
                        state.clearSince = now;
                    if (seconds(now - *state.clearSince) >= rule.clearForSeconds) {
                        resolveLocked(state, wallMs, notes);
                        touched.append(notes.resolved.last());
                    }
                    continue;
                } else {
                    state.clearSince.reset();
                    alert->count += 1;
                    alert->lastSeenMs = wallMs;
                    alert->value = value;
                    alert->threshold = rule.threshold;
                    alert->level = rule.level;
                    alert->message = rule.renderMessage(value);
                    touched.append(*alert);
                    continue;
                }
            }

            if (state.phase == Phase::Inactive) {
                if (!rule.fires(value))
                    continue;
                state.phase = Phase::Pending;
                state.pendingSince = now;
                state.pendingFirstWallMs = wallMs;
                state.pendingCount = 0;
            }
            // Pending: a sample that does not fire ends the episode before it was an alert.
            if (!rule.fires(value)) {
                state = RuleState{};
                continue;
            }
            state.pendingCount += 1;
            if (seconds(now - state.pendingSince) < rule.forSeconds)
                continue;
            Alert alert;
            alert.id = m_nextId++;
            alert.ruleId = rule.id;
            alert.level = rule.level;
            alert.source = rule.source;
            alert.message = rule.renderMessage(value);
            alert.metric = rule.metric;
            alert.value = value;
            alert.threshold = rule.threshold;
            alert.firstSeenMs = state.pendingFirstWallMs;
            alert.lastSeenMs = wallMs;
            alert.count = state.pendingCount;
            alert.state = AlertState::Firing;
            appendLocked(alert);
            state.phase = Phase::Firing;
            state.alertId = alert.id;
            state.clearSince.reset();
            notes.raised.append(alert);
            touched.append(alert);
        }
        persistLocked(touched);
    }
    emitAll(notes);
    return touched;
}

QList<Alert> AlertEngine::alerts(const AlertFilter &filter) const
{
    QMutexLocker lock(&m_mutex);
    auto matches = [&](const Alert &a) {
        if (filter.level && a.level != *filter.level)
            return false;
        if (filter.minLevel && int(a.level) < int(*filter.minLevel))
            return false;
        if (filter.state && a.state != *filter.state)
            return false;
        if (!filter.source.isEmpty() && a.source != filter.source)
            return false;
        return true;
    };
    const int limit = std::max(0, filter.limit);
    QList<Alert> out;
    if (limit == 0)
        return out;
    if (filter.sinceId > 0) {
        auto it = std::upper_bound(m_alerts.begin(), m_alerts.end(), filter.sinceId,
                                   [](qint64 v, const Alert &a) { return v < a.id; });
        for (; it != m_alerts.end() && out.size() < limit; ++it) {
            if (matches(*it))
                out.append(*it);
        }
        return out;
    }
    for (auto it = m_alerts.rbegin(); it != m_alerts.rend() && out.size() < limit; ++it) {
        if (matches(*it))
            out.append(*it);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::optional<Alert> AlertEngine::alert(qint64 id) const
{
    QMutexLocker lock(&m_mutex);
    if (const Alert *a = findLocked(id))
        return *a;
    return std::nullopt;
}

Result<Alert> AlertEngine::acknowledge(qint64 id)
{
    Alert copy;
    bool changed = false;
    {
        QMutexLocker lock(&m_mutex);
        Alert *a = findLocked(id);
        if (!a)
            return fail(u"not_found"_s, u"There is no alert with id %1."_s.arg(id),
                        QJsonObject{{u"id"_s, id}});
        if (!a->acknowledged) {
            a->acknowledged = true;
            a->acknowledgedAtMs = m_clock.wallMsecs();
            changed = true;
            persistLocked({*a});
        }
        copy = *a;
    }
    if (changed)
        Q_EMIT alertChanged(copy);
    return copy;
}

int AlertEngine::clear()
{
    int removed = 0;
    {
        QMutexLocker lock(&m_mutex);
        removed = int(m_alerts.size());
        m_alerts.clear();
        m_states.clear(); // every episode forgotten: a true condition is pending again
        if (m_store) {
            if (Status cleared = m_store->clearAlerts(m_nextId); !cleared)
                qCWarning(lcMonitor).noquote()
                    << u"alerts not cleared in history: %1"_s.arg(cleared.error().message);
        }
    }
    Q_EMIT alertsCleared(removed);
    return removed;
}

QList<AlertRule> AlertEngine::rules() const
{
    QMutexLocker lock(&m_mutex);
    return m_rules;
}

QJsonObject AlertEngine::rulesJson() const
{
    QMutexLocker lock(&m_mutex);
    QJsonArray list;
    for (const AlertRule &rule : std::as_const(m_rules)) {
        QJsonObject json = rule.toJson();
        const RuleState state = m_states.value(rule.id);
        json.insert(u"state"_s, state.phase == Phase::Firing    ? u"firing"_s
                                : state.phase == Phase::Pending ? u"pending"_s
                                                                : u"inactive"_s);
        json.insert(u"overridden"_s, m_overrides.contains(rule.id));
        json.insert(u"pending_since"_s, state.phase == Phase::Pending ? QJsonValue(
                                            metricsjson::isoTimestamp(state.pendingFirstWallMs))
                                                                      : QJsonValue());
        json.insert(u"alert_id"_s,
                    state.phase == Phase::Firing ? QJsonValue(state.alertId) : QJsonValue());
        list.append(json);
    }
    return QJsonObject{{u"rules"_s, list}};
}

Result<AlertRule> AlertEngine::updateRule(const QString &id, const QJsonObject &changes)
{
    {
        QMutexLocker lock(&m_mutex);
        if (std::none_of(m_rules.cbegin(), m_rules.cend(),
                         [&](const AlertRule &r) { return r.id == id; }))
            return fail(u"not_found"_s, u"There is no alert rule '%1'."_s.arg(id),
                        QJsonObject{{u"rule"_s, id}});
    }
    QJsonObject item = changes;
    item.insert(u"id"_s, id);
    Result<QList<AlertRule>> result = setRules(QJsonArray{item});
    if (!result)
        return tl::unexpected(result.error());
    QList<AlertRule> all = rules();
    for (const AlertRule &rule : std::as_const(all)) {
        if (rule.id == id)
            return rule;
    }
    return fail(u"not_found"_s, u"There is no alert rule '%1'."_s.arg(id),
                QJsonObject{{u"rule"_s, id}});
}

Result<QList<AlertRule>> AlertEngine::setRules(const QJsonArray &items)
{
    Notes notes;
    QList<AlertRule> result;
    {
        QMutexLocker lock(&m_mutex);
        QHash<QString, QJsonObject> overrides = m_overrides;
        QStringList customOrder = m_customOrder;
        auto indexed = [](Error error, int index) {
            error.details.insert(u"index"_s, index);
            return tl::unexpected<Error>(std::move(error));
        };
        auto baseOf = [&](const QString &id) -> const AlertRule * {
            for (const AlertRule &r : std::as_const(m_baseRules)) {
                if (r.id == id)
                    return &r;
            }
            return nullptr;
        };
        for (int i = 0; i < items.size(); ++i) {
            if (!items.at(i).isObject())
                return indexed(Error{u"invalid_value"_s,
                                     u"Alert rule %1 is not a JSON object."_s.arg(i),
                                     QJsonObject{{u"field"_s, u"rules"_s}}},
                               i);
            QJsonObject item = items.at(i).toObject();
            if (!item.value(u"id"_s).isString())
                return indexed(Error{u"missing_field"_s,
                                     u"Alert rule %1 has no \"id\" string."_s.arg(i),
                                     QJsonObject{{u"field"_s, u"id"_s}}},
                               i);
            const QString id = item.value(u"id"_s).toString();
            const AlertRule *base = baseOf(id);
            if (item.contains(u"reset"_s)) {
                if (item.value(u"reset"_s) != QJsonValue(true) || item.size() != 2)
                    return indexed(Error{u"invalid_value"_s,
                                         u"Alert rule '%1': \"reset\" must be true and come "
                                         "alone with \"id\"."_s.arg(id),
                                         QJsonObject{{u"field"_s, u"reset"_s}, {u"rule"_s, id}}},
                                   i);
                if (!base && !overrides.contains(id))
                    return indexed(Error{u"not_found"_s, u"There is no alert rule '%1'."_s.arg(id),
                                         QJsonObject{{u"rule"_s, id}, {u"field"_s, u"id"_s}}},
                                   i);
                overrides.remove(id);
                customOrder.removeAll(id);
                continue;
            }
            item.remove(u"id"_s);
            if (base) {
                // Changes accumulate over earlier overrides of the same rule.
                QJsonObject merged = overrides.value(id);
                for (auto it = item.constBegin(); it != item.constEnd(); ++it) {
                    if (it.key() != u"state" && it.key() != u"overridden" && it.key() != u"unit")
                        merged.insert(it.key(), it.value());
                }
                Result<AlertRule> changed = base->withChanges(item);
                if (changed)
                    changed = base->withChanges(merged);
                if (!changed)
                    return indexed(changed.error(), i);
                overrides.insert(id, merged);
            } else {
                QJsonObject whole = overrides.contains(id) ? overrides.value(id) : QJsonObject();
                for (auto it = item.constBegin(); it != item.constEnd(); ++it) {
                    if (it.key() != u"state" && it.key() != u"overridden" && it.key() != u"unit")
                        whole.insert(it.key(), it.value());
                }
                QJsonObject withId = whole;
                withId.insert(u"id"_s, id);
                Result<AlertRule> custom = AlertRule::fromJson(withId);
                if (!custom)
                    return indexed(custom.error(), i);
                overrides.insert(id, whole);
                if (!customOrder.contains(id))
                    customOrder.append(id);
            }
        }
        m_overrides = overrides;
        m_customOrder = customOrder;
        rebuildEffectiveLocked(notes, m_clock.wallMsecs());
        persistOverridesLocked();
        result = m_rules;
    }
    emitAll(notes);
    Q_EMIT rulesChanged();
    return result;
}

qint64 AlertEngine::nextId() const
{
    QMutexLocker lock(&m_mutex);
    return m_nextId;
}

void AlertEngine::emitAll(const Notes &notes)
{
    for (const Alert &a : notes.raised)
        Q_EMIT alertRaised(a);
    for (const Alert &a : notes.resolved)
        Q_EMIT alertResolved(a);
    for (const Alert &a : notes.changed)
        Q_EMIT alertChanged(a);
}

} // namespace opsdeck

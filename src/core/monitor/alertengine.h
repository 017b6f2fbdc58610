// AlertEngine: turns each tick's MetricValues into de-duplicated alert episodes, one per rule
// and episode (pending → firing → resolved), with `for` durations on the injectable Clock's
// monotonic time and hysteresis on clearing. Owns the rules (the config's defaults plus the
// overrides set through the API) and a bounded list of episodes.
//
// Threads: evaluate() runs in the monitor thread; alerts(), acknowledge(), clear(), rules() and
// the rule setters come from the API (or GUI) thread. Every public call is thread-safe (one
// mutex). Signals are emitted after the mutex is released, from the calling thread.
// With a HistoryStore attached, episodes, the next id and rule overrides are written through, so
// they survive a restart. It is not a notifier: subscribers connect to the signals.
#pragma once

#include "core/monitor/alertrule.h"
#include "core/monitor/metricvalues.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QMutex>
#include <QtCore/QObject>

#include <deque>
#include <optional>

namespace opsdeck {

struct MonitorConfig;
class HistoryStore;

struct AlertFilter
{
    std::optional<AlertLevel> level = {};    // exactly this level (the old `level` parameter)
    std::optional<AlertLevel> minLevel = {}; // this level or more severe
    std::optional<AlertState> state = {};    // firing or resolved (pending ones are not listed)
    QString source = {};                     // empty: every source
    qint64 sinceId = 0; // > 0: only ids above it, the OLDEST `limit` of them (a forward cursor)
    int limit = 100;    // without sinceId: the NEWEST `limit`; always returned oldest → newest
};

class AlertEngine final : public QObject
{
    Q_OBJECT

public:
    static constexpr int kDefaultMaxAlerts = 10000;

    explicit AlertEngine(const Clock &clock = Clock::system(),
                         int maxAlerts = kDefaultMaxAlerts,
                         QObject *parent = nullptr);
    ~AlertEngine() override;

    // The old system's rules with the [monitor] thresholds and knobs (the documented table).
    static QList<AlertRule> defaultRules(const MonitorConfig &config);

    // Replaces the base rules (start-up, SIGHUP); the API's overrides stay applied on top.
    // Episodes of rules that disappear or become disabled resolve.
    void setBaseRules(const QList<AlertRule> &rules);

    // Restores persisted state: episodes (firing ones resume; their rule's condition must clear
    // to resolve them), the next id, and rule overrides; afterwards writes through to `store`.
    // On an error (e.g. the store is not open) nothing is restored and nothing is attached.
    // The store must outlive the engine or be detached with attachStore(nullptr).
    Status attachStore(HistoryStore *store);

    // Once per tick, in the monitor thread. wallMs stamps the episodes; `for` and `clear_for`
    // use the clock's monotonic time. Returns the alerts raised, updated or resolved.
    QList<Alert> evaluate(const MetricValues &values, qint64 wallMs);

    QList<Alert> alerts(const AlertFilter &filter = {}) const;
    std::optional<Alert> alert(qint64 id) const;
    // not_found for an unknown id; acknowledging twice keeps the first time.
    Result<Alert> acknowledge(qint64 id);
    // Empties the list and forgets every episode: a condition still true starts pending again
    // and fires only after its `for` duration. Ids keep increasing. Returns the alerts removed.
    int clear();

    // The effective rules, in table order (custom rules last).
    QList<AlertRule> rules() const;
    // {"rules": [rule JSON + "state": inactive|pending|firing, "overridden": bool,
    //  "pending_since": ISO-8601 | null, "alert_id": the firing episode's id | null]}
    QJsonObject rulesJson() const;
    // Partial update of one rule (AlertRule::withChanges fields); not_found for an unknown id.
    Result<AlertRule> updateRule(const QString &id, const QJsonObject &changes);
    // PUT /monitoring/rules: an array of objects each with "id": an existing id gets its fields
    // changed, a new id must be a complete rule (a custom rule); {"id", "reset": true} drops the
    // overrides of a rule (and removes a custom one). All or nothing: the first error is
    // returned (details name the index, rule and field) and nothing changes.
    Result<QList<AlertRule>> setRules(const QJsonArray &items);

    qint64 nextId() const;

Q_SIGNALS:
    void alertRaised(const opsdeck::Alert &alert);
    void alertResolved(const opsdeck::Alert &alert);
    void alertChanged(const opsdeck::Alert &alert); // acknowledged
    void alertsCleared(int removed);
    void rulesChanged();

private:
    enum class Phase { Inactive, Pending, Firing };
    struct RuleState
    {
        Phase phase = Phase::Inactive;
        Clock::MonoTime pendingSince{};
        qint64 pendingFirstWallMs = 0;
        qint64 pendingCount = 0;
        qint64 alertId = 0; // while firing
        std::optional<Clock::MonoTime> clearSince;
    };
    struct Notes
    {
        QList<Alert> raised, resolved, changed;
    };

    Alert *findLocked(qint64 id);
    const Alert *findLocked(qint64 id) const;
    void rebuildEffectiveLocked(Notes &notes, qint64 wallMs);
    void resolveLocked(RuleState &state, qint64 wallMs, Notes &notes);
    void appendLocked(const Alert &alert);
    void persistLocked(const QList<Alert> &alerts);
    void persistOverridesLocked();
    void emitAll(const Notes &notes);

    const Clock &m_clock;
    const int m_maxAlerts;
    mutable QMutex m_mutex;
    QList<AlertRule> m_baseRules;
    QHash<QString, QJsonObject> m_overrides; // id → changed fields, or a whole custom rule
    QStringList m_customOrder;               // custom rule ids, in order of creation
    QList<AlertRule> m_rules;                // effective
    QHash<QString, RuleState> m_states;
    std::deque<Alert> m_alerts; // ascending id
    qint64 m_nextId = 1;
    HistoryStore *m_store = nullptr;
    bool m_storeFailing = false;
};

} // namespace opsdeck

Q_DECLARE_METATYPE(opsdeck::Alert)

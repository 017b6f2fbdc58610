// HistoryStore: history.db in the data dir (CONTRACTS.md): raw per-category samples (24 h),
// 1-minute min/mean/max/count aggregates of every MetricValues entry (7 days), alert episodes,
// the next alert id and the API's alert rule overrides, all surviving a restart.
//
// SQLite through the C API, WAL, `PRAGMA user_version` with forward migrations on open. A
// corrupt or foreign file is moved aside (history.db.corrupt-<time>) with a warning and a fresh
// one is created; a file from a newer OpsDeck (higher user_version) is refused and left as it is.
// Threads: appendTick() and the alert/rule writes take the writer connection's mutex; the range
// queries use a second (read) connection under its own mutex, so the API thread never waits for
// a tick's transaction. Retention runs on the injectable Clock, amortised once a minute.
// Memory is bounded (SQLite page caches of fixed size, no growing caches of our own).
#pragma once

#include "core/monitor/alertrule.h"
#include "core/monitor/metricvalues.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QPair>
#include <QtCore/QString>

#include <memory>

namespace opsdeck {

struct MonitorConfig;

class HistoryStore
{
public:
    static constexpr int kSchemaVersion = 1;

    struct Settings
    {
        double rawRetentionSeconds = 86400.0; // [monitor] history_raw_retention; 0 keeps none
        double aggregateRetentionSeconds = 604800.0; // history_aggregate_retention; 0 keeps none
        int maxAlerts = 10000;                       // episodes kept (oldest resolved go first)
        double pruneIntervalSeconds = 60.0;          // amortised retention
        bool operator==(const Settings &) const = default;
    };

    struct RawSample
    {
        QString category;
        qint64 timestampMs = 0;
        QByteArray json; // as given to appendTick
        bool operator==(const RawSample &) const = default;
    };

    struct Aggregate
    {
        qint64 minuteMs = 0; // start of the minute, epoch ms
        double min = 0.0;
        double mean = 0.0;
        double max = 0.0;
        qint64 count = 0;
        bool operator==(const Aggregate &) const = default;
    };

    struct StoredAlerts
    {
        QList<Alert> alerts; // ascending id
        qint64 nextId = 1;
    };

    // Rule overrides in the engine's order: id → changed fields (or a whole custom rule).
    using RuleOverrides = QList<QPair<QString, QJsonObject>>;

    // history_raw_retention and history_aggregate_retention of [monitor].
    static Settings settingsFrom(const MonitorConfig &config);

    // path: usually DataDir's "history.db". Nothing is opened before open().
    HistoryStore(QString path, Settings settings, const Clock &clock = Clock::system());
    ~HistoryStore();
    HistoryStore(const HistoryStore &) = delete;
    HistoryStore &operator=(const HistoryStore &) = delete;

    // Creates or migrates the file. Errors: history_schema_newer (left untouched),
    // history_unavailable (cannot be created, even after moving a corrupt file aside).
    Status open();
    void close();
    bool isOpen() const;
    QString path() const { return m_path; }
    // Where the last corrupt/foreign file was moved (empty if none).
    QString movedAsidePath() const;
    void applySettings(const Settings &settings);

    // Once per tick (monitor thread): one transaction with the raw samples and the minute
    // roll-up of every value; prunes when a prune interval has passed on the clock.
    Status appendTick(qint64 wallMs,
                      const QList<QPair<QString, QByteArray>> &categoryJson,
                      const MetricValues &values);

    // Samples of one category with fromMs <= ts <= toMs: the newest `limit` (limit <= 0: all),
    // returned oldest → newest.
    Result<QList<RawSample>>
    rawSamples(const QString &category, qint64 fromMs, qint64 toMs, int limit) const;
    // Minutes of one metric whose start lies in [fromMs, toMs], oldest first.
    Result<QList<Aggregate>> aggregates(const QString &metric, qint64 fromMs, qint64 toMs) const;
    // Every metric name with at least one aggregate, sorted.
    Result<QStringList> aggregateMetrics() const;

    // Upserts episodes (by id) and raises the stored next id to at least nextId.
    Status saveAlerts(const QList<Alert> &alerts, qint64 nextId);
    Result<StoredAlerts> loadAlerts() const;
    // Deletes every episode; the next id is kept (ids stay unique across clear and restart).
    Status clearAlerts(qint64 nextId);

    Status saveRuleOverrides(const RuleOverrides &overrides);
    Result<RuleOverrides> loadRuleOverrides() const;

    // Retention now, on the clock's wall time (also run by appendTick once per interval).
    Status prune();

private:
    struct Impl;
    const QString m_path;
    std::unique_ptr<Impl> d;
};

} // namespace opsdeck

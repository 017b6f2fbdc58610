#include "core/monitor/alertengine.h"
#include "core/runtime/runtimeconfig.h"

#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <chrono>

using namespace opsdeck;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

// A quiet, busy system: nothing past a threshold.
MetricValues healthy()
{
    return MetricValues{
        {u"system.process.cpu_percent"_s, 10},
        {u"system.system.cpu_percent"_s, 20},
        {u"system.process.memory_percent"_s, 5},
        {u"system.system.memory_percent"_s, 40},
        {u"system.system.disk_percent"_s, 30},
        {u"cache.hit_rate"_s, 0.9},
        {u"cache.lookups"_s, 500},
        {u"cache.memory_hit_rate"_s, 0.85},
        {u"cache.memory_lookups"_s, 500},
        {u"cache.disk_hit_rate"_s, 0.7},
        {u"cache.disk_lookups"_s, 75},
        {u"cache.preloader.preload_errors"_s, 0},
        {u"http.requests"_s, 20},
        {u"http.error_rate"_s, 0.0},
        {u"http.latency_p99_ms"_s, 40},
        {u"execution.running"_s, 1},
        {u"execution.queued_tasks"_s, 3},
    };
}

MetricValues with(MetricValues values, const QString &name, double value)
{
    values.insert(name, value);
    return values;
}

MetricValues without(MetricValues values, const QString &name)
{
    values.remove(name);
    return values;
}

const QString kCpu = u"system.process.cpu_percent"_s;

} // namespace

class TstAlertEngine : public QObject
{
    Q_OBJECT

    std::unique_ptr<ManualClock> m_clock;
    std::unique_ptr<AlertEngine> m_engine;
    MonitorConfig m_config;

    // One tick: a second passes, then the engine sees the values.
    QList<Alert> tick(const MetricValues &values)
    {
        m_clock->advance(1s);
        return m_engine->evaluate(values, m_clock->wallMsecs());
    }
    void ticks(int n, const MetricValues &values)
    {
        for (int i = 0; i < n; ++i)
            tick(values);
    }
    QList<Alert> alertsOf(const QString &rule)
    {
        QList<Alert> out;
        for (const Alert &a : m_engine->alerts(AlertFilter{.limit = 100000}))
            if (a.ruleId == rule)
                out.append(a);
        return out;
    }

private Q_SLOTS:
    void init()
    {
        m_clock = std::make_unique<ManualClock>();
        m_engine = std::make_unique<AlertEngine>(*m_clock);
        m_config = MonitorConfig{};
        m_engine->setBaseRules(AlertEngine::defaultRules(m_config));
    }

    void defaultTableIsTheOldSystemsRules()
    {
        const QList<AlertRule> rules = m_engine->rules();
        QStringList ids;
        for (const AlertRule &r : rules) {
            QVERIFY2(r.validate(), qPrintable(r.id));
            ids.append(r.id);
        }
        QCOMPARE(
            ids,
            QStringList({u"process_cpu"_s, u"system_cpu"_s, u"process_memory"_s, u"system_memory"_s,
                         u"disk_usage"_s, u"memory_hit_rate"_s, u"disk_hit_rate"_s, u"hit_rate"_s,
                         u"preloader_errors"_s, u"http_error_rate"_s, u"response_time"_s,
                         u"system_stats_failed"_s, u"cache_stats_failed"_s, u"http_stats_failed"_s,
                         u"execution_stats_failed"_s, u"engine_not_running"_s, u"queued_tasks"_s}));
        const AlertRule cpu = rules.at(0);
        QCOMPARE(cpu.threshold, 80.0);
        QCOMPARE(cpu.hysteresis, 8.0);
        QCOMPARE(cpu.forSeconds, 30.0);
        QCOMPARE(cpu.level, AlertLevel::Warning);
        QCOMPARE(rules.at(7).threshold, 50.0); // percent, while the metric is 0..1
        QCOMPARE(rules.at(7).guardMetric, u"cache.lookups"_s);
        QCOMPARE(rules.at(7).guardMin, 10.0);
        QCOMPARE(rules.at(9).threshold, 5.0);
        QCOMPARE(rules.at(10).threshold, 1000.0);
        QCOMPARE(rules.at(11).level, AlertLevel::Error);
        QCOMPARE(rules.at(15).level, AlertLevel::Error);
        QCOMPARE(rules.at(16).threshold, 100.0);

        MonitorConfig custom;
        custom.thresholds.cpuUsage = 90;
        custom.thresholds.alertFor = 5;
        custom.thresholds.alertHysteresis = 0;
        custom.thresholds.cacheMinLookups = 250;
        custom.thresholds.queuedTasksMax = 7;
        const QList<AlertRule> c = AlertEngine::defaultRules(custom);
        QCOMPARE(c.at(0).threshold, 90.0);
        QCOMPARE(c.at(0).forSeconds, 5.0);
        QCOMPARE(c.at(0).hysteresis, 0.0);
        QCOMPARE(c.at(5).guardMin, 250.0);
        QCOMPARE(c.at(16).threshold, 7.0);
    }

    void healthySystemRaisesNothing()
    {
        ticks(300, healthy());
        QVERIFY(m_engine->alerts().isEmpty());
    }

    void oneAlertPerEpisode()
    {
        QSignalSpy raised(m_engine.get(), &AlertEngine::alertRaised);
        const qint64 firstWall = m_clock->wallMsecs() + 1000;
        ticks(100, with(healthy(), kCpu, 95));
        const QList<Alert> all = m_engine->alerts();
        QCOMPARE(all.size(), 1);
        const Alert a = all.first();
        QCOMPARE(a.count, 100);
        QCOMPARE(a.state, AlertState::Firing);
        QCOMPARE(a.ruleId, u"process_cpu"_s);
        QCOMPARE(a.source, u"system"_s);
        QCOMPARE(a.level, AlertLevel::Warning);
        QCOMPARE(a.firstSeenMs, firstWall);
        QCOMPARE(a.lastSeenMs, m_clock->wallMsecs());
        QCOMPARE(a.value, 95.0);
        QCOMPARE(a.threshold, 80.0);
        QCOMPARE(a.message, u"Process CPU usage is 95% (above 80%)"_s);
        QCOMPARE(raised.count(), 1);
        QCOMPARE(a.toJson().value(u"timestamp_ms"_s).toInteger(), a.lastSeenMs);
    }

    void forDurationHoldsBeforeFiring()
    {
        const MetricValues bad = with(healthy(), kCpu, 95);
        // Samples at 0..29 s after the first bad one: pending.
        ticks(30, bad);
        QVERIFY(m_engine->alerts().isEmpty());
        QCOMPARE(
            m_engine->rulesJson().value(u"rules"_s).toArray().at(0).toObject().value(u"state"_s),
            QJsonValue(u"pending"_s));
        const QJsonObject pendingRule
            = m_engine->rulesJson().value(u"rules"_s).toArray().at(0).toObject();
        QCOMPARE(pendingRule.value(u"pending_since"_s).toString(), u"2027-01-01T00:00:01.000Z"_s);
        QVERIFY(pendingRule.value(u"alert_id"_s).isNull());
        // The sample 30 s after the first fires.
        const QList<Alert> touched = tick(bad);
        QCOMPARE(touched.size(), 1);
        QCOMPARE(m_engine->alerts().size(), 1);
        QCOMPARE(m_engine->alerts().first().count, 31);
        const QJsonObject firingRule
            = m_engine->rulesJson().value(u"rules"_s).toArray().at(0).toObject();
        QCOMPARE(firingRule.value(u"state"_s), QJsonValue(u"firing"_s));
        QCOMPARE(firingRule.value(u"alert_id"_s).toInteger(), m_engine->alerts().first().id);
    }

    void blipShorterThanForNeverFires()
    {
        for (int round = 0; round < 10; ++round) {
            ticks(20, with(healthy(), kCpu, 99));
            tick(healthy()); // one good sample ends the pending episode
        }
        QVERIFY(m_engine->alerts().isEmpty());
    }

    void hysteresisStopsFlapping()
    {
        QSignalSpy raised(m_engine.get(), &AlertEngine::alertRaised);
        QSignalSpy resolved(m_engine.get(), &AlertEngine::alertResolved);
        ticks(31, with(healthy(), kCpu, 90));
        QCOMPARE(raised.count(), 1);
        for (int i = 0; i < 200; ++i)
            tick(with(healthy(), kCpu, i % 2 ? 81.0 : 75.0)); // around 80, above the 72 clear line
        QCOMPARE(raised.count(), 1);
        QCOMPARE(resolved.count(), 0);
        QCOMPARE(m_engine->alerts().size(), 1);
        QCOMPARE(m_engine->alerts().first().count, 231);
        tick(with(healthy(), kCpu, 72));
        QCOMPARE(resolved.count(), 1);
        const Alert a = m_engine->alerts().first();
        QCOMPARE(a.state, AlertState::Resolved);
        QCOMPARE(a.resolvedAtMs, m_clock->wallMsecs());
        QCOMPARE(qvariant_cast<Alert>(resolved.first().first()).id, a.id);
    }

    void newEpisodeAfterResolveGetsANewId()
    {
        ticks(31, with(healthy(), kCpu, 90));
        tick(healthy());
        ticks(31, with(healthy(), kCpu, 90));
        const QList<Alert> all = m_engine->alerts();
        QCOMPARE(all.size(), 2);
        QCOMPARE(all.at(0).state, AlertState::Resolved);
        QCOMPARE(all.at(1).state, AlertState::Firing);
        QCOMPARE(all.at(1).id, all.at(0).id + 1);
        QCOMPARE(all.at(1).count, 31);
    }

    void acknowledgeById()
    {
        QSignalSpy changed(m_engine.get(), &AlertEngine::alertChanged);
        ticks(31, with(healthy(), kCpu, 90));
        const qint64 id = m_engine->alerts().first().id;
        const Result<Alert> acked = m_engine->acknowledge(id);
        QVERIFY(acked);
        QVERIFY(acked->acknowledged);
        QCOMPARE(acked->acknowledgedAtMs, m_clock->wallMsecs());
        QCOMPARE(changed.count(), 1);
        m_clock->advance(5s);
        QCOMPARE(m_engine->acknowledge(id)->acknowledgedAtMs, acked->acknowledgedAtMs);
        QCOMPARE(changed.count(), 1);
        QVERIFY(m_engine->alert(id)->acknowledged);
        QCOMPARE(m_engine->alert(id)->toJson().value(u"acknowledged_at"_s).isString(), true);

        const Result<Alert> unknown = m_engine->acknowledge(id + 1000);
        QVERIFY(!unknown);
        QCOMPARE(unknown.error().code, u"not_found"_s);
        QCOMPARE(unknown.error().details.value(u"id"_s).toInteger(), id + 1000);
    }

    void clearThenRefireOnlyAfterFor()
    {
        QSignalSpy cleared(m_engine.get(), &AlertEngine::alertsCleared);
        const MetricValues bad = with(healthy(), kCpu, 90);
        ticks(40, bad);
        const qint64 firstId = m_engine->alerts().first().id;
        QCOMPARE(m_engine->clear(), 1);
        QCOMPARE(cleared.count(), 1);
        QVERIFY(m_engine->alerts().isEmpty());
        ticks(30, bad); // still true, but pending again
        QVERIFY(m_engine->alerts().isEmpty());
        tick(bad);
        QCOMPARE(m_engine->alerts().size(), 1);
        QCOMPARE(m_engine->alerts().first().id, firstId + 1);
        QCOMPARE(m_engine->alerts().first().count, 31);
    }

    void idleCacheRaisesNoHitRateAlert()
    {
        // No traffic: the monitor leaves the rates out or reports 0 over 0 lookups.
        MetricValues idle = healthy();
        idle.insert(u"cache.lookups"_s, 0);
        idle.insert(u"cache.memory_lookups"_s, 0);
        idle.insert(u"cache.disk_lookups"_s, 0);
        idle.insert(u"cache.hit_rate"_s, 0);
        idle.insert(u"cache.memory_hit_rate"_s, 0);
        idle.insert(u"cache.disk_hit_rate"_s, 0);
        ticks(300, idle);
        MetricValues absent
            = without(without(without(idle, u"cache.hit_rate"_s), u"cache.memory_hit_rate"_s),
                      u"cache.disk_hit_rate"_s);
        ticks(300, absent);
        // A trickle below cache_min_lookups is still too little to judge.
        MetricValues trickle = idle;
        trickle.insert(u"cache.lookups"_s, 9);
        trickle.insert(u"cache.memory_lookups"_s, 9);
        trickle.insert(u"cache.disk_lookups"_s, 9);
        ticks(300, trickle);
        QVERIFY(m_engine->alerts().isEmpty());

        // Real traffic with a bad hit rate does alert (percent threshold vs 0..1 rate).
        MetricValues busy = healthy();
        busy.insert(u"cache.hit_rate"_s, 0.2);
        ticks(31, busy);
        const QList<Alert> all = m_engine->alerts();
        QCOMPARE(all.size(), 1);
        QCOMPARE(all.first().ruleId, u"hit_rate"_s);
        QCOMPARE(all.first().value, 20.0);
        QCOMPARE(all.first().threshold, 50.0);
        QCOMPARE(all.first().source, u"cache"_s);
    }

    void missingDataKeepsAFiringAlertAndEndsAPendingOne()
    {
        ticks(31, with(healthy(), kCpu, 90));
        ticks(20, without(healthy(), kCpu));
        QCOMPARE(m_engine->alerts().first().state, AlertState::Firing);
        QCOMPARE(m_engine->alerts().first().count, 31);
        tick(healthy());
        QCOMPARE(m_engine->alerts().first().state, AlertState::Resolved);

        ticks(20, with(healthy(), kCpu, 90));
        tick(without(healthy(), kCpu)); // the pending episode ends
        ticks(20, with(healthy(), kCpu, 90));
        QCOMPARE(m_engine->alerts().size(), 1);
    }

    void statsFailureIsAnErrorAtOnce()
    {
        MetricValues failing = healthy();
        failing.insert(u"http.error"_s, 1);
        failing.remove(u"http.requests"_s);
        failing.remove(u"http.error_rate"_s);
        failing.remove(u"http.latency_p99_ms"_s);
        const QList<Alert> touched = tick(failing);
        QCOMPARE(touched.size(), 1);
        const Alert a = touched.first();
        QCOMPARE(a.ruleId, u"http_stats_failed"_s);
        QCOMPARE(a.level, AlertLevel::Error);
        QCOMPARE(a.source, u"http"_s);
        QCOMPARE(a.metric, u"http.error"_s);
        QCOMPARE(a.message, u"Collecting http metrics failed"_s);
        ticks(9, failing);
        QCOMPARE(m_engine->alerts().size(), 1);
        QCOMPARE(m_engine->alerts().first().count, 10);
        tick(with(healthy(), u"http.error"_s, 0));
        QCOMPARE(m_engine->alerts().first().state, AlertState::Resolved);
    }

    void engineNotRunningAndQueueLength()
    {
        MetricValues stopped
            = with(with(healthy(), u"execution.running"_s, 0), u"execution.queued_tasks"_s, 150);
        ticks(31, stopped);
        const QList<Alert> engine = alertsOf(u"engine_not_running"_s);
        QCOMPARE(engine.size(), 1);
        QCOMPARE(engine.first().level, AlertLevel::Error);
        QCOMPARE(engine.first().source, u"execution"_s);
        const QList<Alert> queue = alertsOf(u"queued_tasks"_s);
        QCOMPARE(queue.size(), 1);
        QCOMPARE(queue.first().message, u"150 tasks are queued (more than 100)"_s);
        ticks(5, with(healthy(), u"execution.queued_tasks"_s, 95)); // inside the hysteresis band
        QCOMPARE(alertsOf(u"queued_tasks"_s).first().state, AlertState::Firing);
        QCOMPARE(alertsOf(u"engine_not_running"_s).first().state, AlertState::Resolved);
        tick(with(healthy(), u"execution.queued_tasks"_s, 90));
        QCOMPARE(alertsOf(u"queued_tasks"_s).first().state, AlertState::Resolved);
    }

    void preloaderErrorsResolveAfterAQuietMinute()
    {
        const QString m = u"cache.preloader.preload_errors"_s;
        tick(with(healthy(), m, 2));
        QCOMPARE(alertsOf(u"preloader_errors"_s).size(), 1);
        for (int i = 0; i < 5; ++i) {
            ticks(20, healthy());
            tick(with(healthy(), m, 1)); // a failure every 21 s: one episode
        }
        QCOMPARE(alertsOf(u"preloader_errors"_s).size(), 1);
        // Quiet samples while waiting out clear_for are not bad samples: count stays at 6.
        QCOMPARE(alertsOf(u"preloader_errors"_s).first().count, 6);
        ticks(60, healthy());
        QCOMPARE(alertsOf(u"preloader_errors"_s).first().state, AlertState::Firing);
        tick(healthy());
        QCOMPARE(alertsOf(u"preloader_errors"_s).first().state, AlertState::Resolved);
    }

    void filters()
    {
        MetricValues v = healthy();
        v.insert(kCpu, 90);                  // warning, system
        v.insert(u"cache.error"_s, 1);       // error, cache
        v.insert(u"http.error_rate"_s, 0.5); // warning, http
        v.insert(u"execution.running"_s, 0); // error, execution
        ticks(31, v);
        QCOMPARE(m_engine->alerts().size(), 4);
        QCOMPARE(m_engine->alerts(AlertFilter{.level = AlertLevel::Error}).size(), 2);
        QCOMPARE(m_engine->alerts(AlertFilter{.level = AlertLevel::Warning}).size(), 2);
        QCOMPARE(m_engine->alerts(AlertFilter{.level = AlertLevel::Critical}).size(), 0);
        QCOMPARE(m_engine->alerts(AlertFilter{.minLevel = AlertLevel::Warning}).size(), 4);
        QCOMPARE(m_engine->alerts(AlertFilter{.minLevel = AlertLevel::Error}).size(), 2);
        QCOMPARE(m_engine->alerts(AlertFilter{.minLevel = AlertLevel::Critical}).size(), 0);
        const QList<Alert> cache = m_engine->alerts(AlertFilter{.source = u"cache"_s});
        QCOMPARE(cache.size(), 1);
        QCOMPARE(cache.first().ruleId, u"cache_stats_failed"_s);

        const QList<Alert> all = m_engine->alerts();
        for (int i = 1; i < all.size(); ++i)
            QVERIFY(all.at(i - 1).id < all.at(i).id); // oldest → newest
        const QList<Alert> newest = m_engine->alerts(AlertFilter{.limit = 2});
        QCOMPARE(newest.size(), 2);
        QCOMPARE(newest.at(1).id, all.last().id);
        QCOMPARE(newest.at(0).id, all.at(2).id);
        const QList<Alert> after
            = m_engine->alerts(AlertFilter{.sinceId = all.first().id, .limit = 2});
        QCOMPARE(after.size(), 2);
        QCOMPARE(after.at(0).id, all.at(1).id);
        QCOMPARE(after.at(1).id, all.at(2).id);
        QVERIFY(m_engine->alerts(AlertFilter{.sinceId = all.last().id}).isEmpty());
        QVERIFY(m_engine->alerts(AlertFilter{.limit = 0}).isEmpty());

        tick(healthy()); // cache.error absent: no evidence, that episode stays open
        QCOMPARE(m_engine->alerts(AlertFilter{.state = AlertState::Resolved}).size(), 3);
        tick(with(healthy(), u"cache.error"_s, 0));
        QCOMPARE(m_engine->alerts(AlertFilter{.state = AlertState::Resolved}).size(), 4);
        QCOMPARE(m_engine->alerts(AlertFilter{.state = AlertState::Firing}).size(), 0);
    }

    void ruleUpdatesAreValidated()
    {
        const Result<AlertRule> unknown = m_engine->updateRule(u"nope"_s, QJsonObject{});
        QVERIFY(!unknown);
        QCOMPARE(unknown.error().code, u"not_found"_s);

        const Result<AlertRule> bad
            = m_engine->updateRule(u"process_cpu"_s, QJsonObject{{u"threshold"_s, u"high"_s}});
        QVERIFY(!bad);
        QCOMPARE(bad.error().code, u"invalid_value"_s);
        QCOMPARE(bad.error().details.value(u"field"_s).toString(), u"threshold"_s);
        QCOMPARE(bad.error().details.value(u"rule"_s).toString(), u"process_cpu"_s);

        QSignalSpy changed(m_engine.get(), &AlertEngine::rulesChanged);
        const Result<AlertRule> good = m_engine->updateRule(
            u"process_cpu"_s, QJsonObject{{u"threshold"_s, 95}, {u"for"_s, 0}});
        QVERIFY(good);
        QCOMPARE(good->threshold, 95.0);
        QCOMPARE(changed.count(), 1);
        tick(with(healthy(), kCpu, 94));
        QVERIFY(m_engine->alerts().isEmpty());
        tick(with(healthy(), kCpu, 96));
        QCOMPARE(m_engine->alerts().size(), 1);

        // All or nothing: a bad second item leaves the first unapplied.
        const Result<QList<AlertRule>> batch = m_engine->setRules(QJsonArray{
            QJsonObject{{u"id"_s, u"system_cpu"_s}, {u"threshold"_s, 50}},
            QJsonObject{{u"id"_s, u"disk_usage"_s}, {u"level"_s, u"loud"_s}},
        });
        QVERIFY(!batch);
        QCOMPARE(batch.error().details.value(u"index"_s).toInt(), 1);
        QCOMPARE(batch.error().details.value(u"field"_s).toString(), u"level"_s);
        QCOMPARE(m_engine->rules().at(1).threshold, 80.0);
        QVERIFY(!m_engine->setRules(QJsonArray{42}));
        QVERIFY(!m_engine->setRules(QJsonArray{QJsonObject{{u"threshold"_s, 1}}}));

        // Base rules change (SIGHUP): the override stays on top.
        MonitorConfig other;
        other.thresholds.cpuUsage = 60;
        m_engine->setBaseRules(AlertEngine::defaultRules(other));
        QCOMPARE(m_engine->rules().at(0).threshold, 95.0);
        QCOMPARE(m_engine->rules().at(1).threshold, 60.0);
        const QJsonObject first
            = m_engine->rulesJson().value(u"rules"_s).toArray().at(0).toObject();
        QCOMPARE(first.value(u"overridden"_s).toBool(), true);

        // Reset drops the override.
        QVERIFY(m_engine->setRules(
            QJsonArray{QJsonObject{{u"id"_s, u"process_cpu"_s}, {u"reset"_s, true}}}));
        QCOMPARE(m_engine->rules().at(0).threshold, 60.0);
    }

    void customRulesAndDisabling()
    {
        const Result<QList<AlertRule>> added = m_engine->setRules(QJsonArray{QJsonObject{
            {u"id"_s, u"slow_tasks"_s},
            {u"metric"_s, u"execution.run_p99_ms"_s},
            {u"comparison"_s, u"above"_s},
            {u"threshold"_s, 500},
            {u"level"_s, u"critical"_s},
            {u"source"_s, u"execution"_s},
            {u"for"_s, 0},
        }});
        QVERIFY2(added, qPrintable(added ? QString() : added.error().message));
        QCOMPARE(added->last().id, u"slow_tasks"_s);
        tick(with(healthy(), u"execution.run_p99_ms"_s, 900));
        QCOMPARE(m_engine->alerts(AlertFilter{.level = AlertLevel::Critical}).size(), 1);

        const Result<QList<AlertRule>> incomplete = m_engine->setRules(
            QJsonArray{QJsonObject{{u"id"_s, u"half"_s}, {u"metric"_s, u"http.requests"_s}}});
        QVERIFY(!incomplete);
        QCOMPARE(incomplete.error().code, u"missing_field"_s);

        // Disabling a rule resolves its open episode.
        QSignalSpy resolved(m_engine.get(), &AlertEngine::alertResolved);
        QVERIFY(m_engine->updateRule(u"slow_tasks"_s, QJsonObject{{u"enabled"_s, false}}));
        QCOMPARE(resolved.count(), 1);
        ticks(5, with(healthy(), u"execution.run_p99_ms"_s, 900));
        QCOMPARE(m_engine->alerts().size(), 1);
        QCOMPARE(m_engine->alerts().first().state, AlertState::Resolved);

        QVERIFY(m_engine->setRules(
            QJsonArray{QJsonObject{{u"id"_s, u"slow_tasks"_s}, {u"reset"_s, true}}}));
        QCOMPARE(m_engine->rules().size(), 17);
    }

    void listIsBounded()
    {
        AlertEngine small(*m_clock, 5);
        MonitorConfig c;
        c.thresholds.alertFor = 0;
        small.setBaseRules(AlertEngine::defaultRules(c));
        for (int i = 0; i < 20; ++i) {
            m_clock->advance(1s);
            small.evaluate(with(healthy(), kCpu, 90), m_clock->wallMsecs());
            m_clock->advance(1s);
            small.evaluate(healthy(), m_clock->wallMsecs());
        }
        const QList<Alert> all = small.alerts(AlertFilter{.limit = 1000});
        QCOMPARE(all.size(), 5);
        QCOMPARE(all.last().id, 20);
        QCOMPARE(small.nextId(), 21);
    }

    void queriesFromAnotherThreadWhileEvaluating()
    {
        MonitorConfig c;
        c.thresholds.alertFor = 0;
        m_engine->setBaseRules(AlertEngine::defaultRules(c));
        std::atomic<bool> done{false};
        std::atomic<int> reads{0};
        QThread *reader = QThread::create([&] {
            while (!done.load()) {
                const QList<Alert> list = m_engine->alerts();
                for (const Alert &a : list)
                    (void)a.toJson();
                (void)m_engine->rulesJson();
                reads.fetch_add(1);
            }
        });
        reader->start();
        for (int i = 0; i < 2000; ++i)
            tick(with(healthy(), kCpu, i % 3 ? 90.0 : 10.0));
        done.store(true);
        reader->wait();
        delete reader;
        QVERIFY(reads.load() > 0);
        QCOMPARE(m_engine->alerts(AlertFilter{.limit = 10000}).size(), 667);
    }
};

QTEST_GUILESS_MAIN(TstAlertEngine)
#include "tst_alertengine.moc"

// Tests for HttpStatsRecorder and HttpPoolStats::toJson(): the error rate counts logical
// requests (never above 1), rate_limited_apis lists only apis throttled right now (waiting or
// paused, judged against the clock), breaker states, status classes, error kinds, latency deltas.
#include "core/http/httpstatsrecorder.h"
#include "core/support/clock.h"

#include <QtCore/QJsonArray>
#include <QtTest/QTest>

using namespace opsdeck;
using namespace opsdeck::http;
using namespace std::chrono_literals;
using namespace Qt::StringLiterals;

class TestHttpStatsRecorder : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void errorRateCountsRequestsNotAttempts();
    void rateLimitedApisAreOnlyThrottledOnes();
    void breakerStateFollowsTheClock();
    void jsonHasTheDocumentedFields();
    void latencyDeltasRestartEachCall();
};

void TestHttpStatsRecorder::errorRateCountsRequestsNotAttempts()
{
    const ManualClock clock;
    HttpStatsRecorder recorder(clock);
    for (int i = 0; i < 4; ++i) {
        recorder.requestSubmitted(u"a"_s);
        for (int attempt = 0; attempt < 4; ++attempt) {
            recorder.attemptStarted(u"a"_s, 10);
            recorder.attemptFinished(u"a"_s, 503, 20);
        }
        recorder.retryScheduled(u"a"_s);
        recorder.requestFinished(u"a"_s, true, HttpErrorKind::HttpStatus, 5ms);
    }
    HttpPoolStats stats = recorder.snapshot();
    QCOMPARE(stats.requests, quint64(4));
    QCOMPARE(stats.attempts, quint64(16));
    QCOMPARE(stats.errors, quint64(4));
    QCOMPARE(stats.errorRate, 1.0);
    QCOMPARE(stats.statusClasses.value(u"5xx"_s), quint64(16));
    QCOMPARE(stats.errorKinds.value(u"http_status"_s), quint64(4));
    QCOMPARE(stats.bytesOut, quint64(160));
    QCOMPARE(stats.bytesIn, quint64(320));

    for (int i = 0; i < 4; ++i) {
        recorder.requestSubmitted(u"b"_s);
        recorder.attemptStarted(u"b"_s, 0);
        recorder.attemptFinished(u"b"_s, 200, 0);
        recorder.requestFinished(u"b"_s, false, HttpErrorKind::None, 1ms);
    }
    recorder.requestSubmitted(u"c"_s); // still pending
    stats = recorder.snapshot();
    QCOMPARE(stats.clients, 3);
    QCOMPARE(stats.requests, quint64(9));
    QCOMPARE(stats.completed, quint64(8));
    QCOMPARE(stats.errorRate, 4.0 / 9.0);
    QVERIFY(stats.errorRate <= 1.0);
}

void TestHttpStatsRecorder::rateLimitedApisAreOnlyThrottledOnes()
{
    ManualClock clock;
    HttpStatsRecorder recorder(clock);
    for (const QString &api : {u"idle"_s, u"waiting"_s, u"paused"_s})
        recorder.requestSubmitted(api);
    HttpStatsRecorder::Gauges gauges;
    HttpStatsRecorder::ApiGauge idle;
    idle.name = u"idle"_s;
    idle.rateLimitPerMinute = 60;
    HttpStatsRecorder::ApiGauge waiting;
    waiting.name = u"waiting"_s;
    waiting.waitingOnLimiter = true;
    waiting.queued = 3;
    HttpStatsRecorder::ApiGauge paused;
    paused.name = u"paused"_s;
    paused.pausedUntilNs = (clock.monotonic() + 2s).count();
    gauges.apis = {idle, waiting, paused};
    recorder.publishGauges(gauges);

    HttpPoolStats stats = recorder.snapshot();
    QCOMPARE(stats.rateLimitedApis, QStringList({u"paused"_s, u"waiting"_s}));
    QCOMPARE(stats.apis.size(), 3);
    QCOMPARE(stats.apis[0].name, u"idle"_s);
    QCOMPARE(stats.apis[1].pausedForMs, 2000);

    clock.advance(2s); // the pause is over even though nothing was published since
    stats = recorder.snapshot();
    QCOMPARE(stats.rateLimitedApis, QStringList({u"waiting"_s}));
    const QJsonObject json = stats.toJson();
    QCOMPARE(json.value(u"rate_limited_apis").toArray(), QJsonArray({u"waiting"_s}));
    QCOMPARE(json.value(u"rate_limited_api_count").toInt(), 1);
}

void TestHttpStatsRecorder::breakerStateFollowsTheClock()
{
    ManualClock clock;
    HttpStatsRecorder recorder(clock);
    recorder.requestSubmitted(u"a"_s);
    HttpStatsRecorder::Gauges gauges;
    HttpStatsRecorder::ApiGauge gauge;
    gauge.name = u"a"_s;
    gauge.breakerOpen = true;
    gauge.breakerOpenUntilNs = (clock.monotonic() + 1s).count();
    gauges.apis = {gauge};
    recorder.publishGauges(gauges);
    QCOMPARE(recorder.snapshot().apis[0].breakerState, u"open"_s);
    clock.advance(1s);
    QCOMPARE(recorder.snapshot().apis[0].breakerState, u"half_open"_s);
    gauges.apis[0].breakerOpen = false;
    recorder.publishGauges(gauges);
    QCOMPARE(recorder.snapshot().apis[0].breakerState, u"closed"_s);
}

void TestHttpStatsRecorder::jsonHasTheDocumentedFields()
{
    const ManualClock clock;
    HttpStatsRecorder recorder(clock);
    recorder.requestSubmitted(u"a"_s);
    recorder.attemptStarted(u"a"_s, 0);
    recorder.attemptFinished(u"a"_s, 0, 0);
    recorder.requestFinished(u"a"_s, true, HttpErrorKind::Timeout, 30ms);
    HttpStatsRecorder::Gauges gauges;
    gauges.workers = 4;
    gauges.poolSize = 20;
    gauges.inFlight = 2;
    gauges.queued = 7;
    recorder.publishGauges(gauges);
    const QJsonObject json = recorder.snapshot().toJson();
    for (const char *key :
         {"http_clients", "http_workers", "http_pool_size", "http_requests", "http_attempts",
          "http_retries", "http_errors", "http_error_rate", "http_status_classes",
          "http_error_kinds", "http_in_flight", "http_queued", "http_bytes_in", "http_bytes_out",
          "rate_limited_apis", "apis"}) {
        QVERIFY2(json.contains(QLatin1StringView(key)), key);
    }
    QCOMPARE(json.value(u"http_workers").toInt(), 4);
    QCOMPARE(json.value(u"http_queued").toInt(), 7);
    QCOMPARE(json.value(u"http_error_rate").toDouble(), 1.0);
    QCOMPARE(json.value(u"http_error_kinds").toObject().value(u"timeout").toInt(), 1);
    QCOMPARE(json.value(u"http_status_classes").toObject().value(u"none").toInt(), 1);
    const QJsonObject api = json.value(u"apis").toObject().value(u"a").toObject();
    QCOMPARE(api.value(u"breaker").toString(), u"closed"_s);
    QCOMPARE(api.value(u"latency").toObject().value(u"count").toInt(), 1);
    QVERIFY(qAbs(api.value(u"latency").toObject().value(u"p50_ms").toDouble() - 30.0) < 0.1);
}

void TestHttpStatsRecorder::latencyDeltasRestartEachCall()
{
    const ManualClock clock;
    HttpStatsRecorder recorder(clock);
    recorder.requestSubmitted(u"a"_s);
    recorder.requestFinished(u"a"_s, false, HttpErrorKind::None, 10ms);
    recorder.requestFinished(u"a"_s, false, HttpErrorKind::None, 20ms);
    auto deltas = recorder.latencyDeltas();
    QCOMPARE(deltas.value(u"a"_s).count(), quint64(2));
    deltas = recorder.latencyDeltas();
    QCOMPARE(deltas.value(u"a"_s).count(), quint64(0));
    recorder.requestFinished(u"a"_s, false, HttpErrorKind::None, 40ms);
    deltas = recorder.latencyDeltas();
    QCOMPARE(deltas.value(u"a"_s).count(), quint64(1));
    QCOMPARE(recorder.snapshot().apis[0].latency.count(), quint64(3)); // cumulative there
}

QTEST_GUILESS_MAIN(TestHttpStatsRecorder)
#include "tst_httpstatsrecorder.moc"

// FaultSettings: the control endpoint's JSON, merging (PUT semantics) and range checks.
#include "market/faultsettings.h"

#include <QtCore/QJsonDocument>
#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::market;

class TstFaultSettings : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultsAreValidAndOff()
    {
        const FaultSettings f;
        QVERIFY(f.validate().has_value());
        QCOMPARE(f.latencyMs, 0);
        QCOMPARE(f.errorRate, 0.0);
        QCOMPARE(f.weightLimit, 6000);
        QCOMPARE(f.weightWindowMs, 60'000);
    }

    void roundTrip()
    {
        FaultSettings f;
        f.latencyMs = 25;
        f.jitterMs = 5;
        f.errorRate = 0.25;
        f.errorStatus = 503;
        f.stallMs = 200;
        f.stallEverySeconds = 2.5;
        f.weightLimit = 100;
        f.weightWindowMs = 5000;
        const Result<FaultSettings> back = FaultSettings::fromJson(f.toJson(), FaultSettings{});
        QVERIFY(back.has_value());
        QCOMPARE(*back, f);
    }

    void mergesOnlyGivenKeys()
    {
        FaultSettings base;
        base.latencyMs = 10;
        const auto merged = FaultSettings::fromJson({{QStringLiteral("error_rate"), 0.5}}, base);
        QVERIFY(merged.has_value());
        QCOMPARE(merged->latencyMs, 10);
        QCOMPARE(merged->errorRate, 0.5);
    }

    void rejects_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("key");
        QTest::newRow("unknown key") << QByteArray(R"({"latency":5})") << QStringLiteral("latency");
        QTest::newRow("string") << QByteArray(R"({"latency_ms":"5"})") << QStringLiteral("latency_ms");
        QTest::newRow("negative latency") << QByteArray(R"({"latency_ms":-1})") << QStringLiteral("latency_ms");
        QTest::newRow("fractional latency") << QByteArray(R"({"latency_ms":1.5})") << QStringLiteral("latency_ms");
        QTest::newRow("huge jitter") << QByteArray(R"({"jitter_ms":60001})") << QStringLiteral("jitter_ms");
        QTest::newRow("rate above 1") << QByteArray(R"({"error_rate":1.01})") << QStringLiteral("error_rate");
        QTest::newRow("status 404") << QByteArray(R"({"error_status":404})") << QStringLiteral("error_status");
        QTest::newRow("stall not shorter") << QByteArray(R"({"stall_ms":1000,"stall_every_s":1})") << QStringLiteral("stall_ms");
        QTest::newRow("limit 0") << QByteArray(R"({"weight_limit":0})") << QStringLiteral("weight_limit");
        QTest::newRow("window 0.5 s") << QByteArray(R"({"weight_window_s":0.5})") << QStringLiteral("weight_window_s");
    }

    void rejects()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, key);
        const auto r = FaultSettings::fromJson(QJsonDocument::fromJson(json).object(), FaultSettings{});
        QVERIFY(!r.has_value());
        QCOMPARE(r.error().code, QStringLiteral("invalid_fault_settings"));
        QCOMPARE(r.error().details.value(QStringLiteral("key")).toString(), key);
    }
};

QTEST_GUILESS_MAIN(TstFaultSettings)
#include "tst_faultsettings.moc"

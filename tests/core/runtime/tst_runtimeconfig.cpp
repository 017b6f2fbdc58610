// RuntimeConfig: CONTRACTS.md defaults, value parsing per type, findings (codes, messages,
// lines, hints), agent sections, the --dump-config round trip and the live/restart flags.
#include "core/runtime/inifile.h"
#include "core/runtime/runtimeconfig.h"

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

using namespace opsdeck;
using namespace Qt::StringLiterals;

// QCOMPARE cannot print a TaskPriority: inside QTest, toString(t) finds opsdeck::toString (a
// QString) by ADL. Compare the names instead.
#define COMPARE_PRIORITY(actual, expected) QCOMPARE(toString(actual), toString(expected))

namespace {

QString describe(const QList<ConfigFinding> &findings)
{
    QStringList lines;
    for (const ConfigFinding &f : findings)
        lines.append(formatFinding(f, u"opsdeck.ini"_s) + u" [" + f.code + u']');
    return lines.join(u'\n');
}

// The current value of a key as --dump-config would print it.
QString dumped(const RuntimeConfig &config, const QString &section, const QString &key)
{
    const IniFile ini = config.toIniFile();
    const IniFile::Entry *e = ini.find(section, key);
    return e ? e->value : u"<missing>"_s;
}

} // namespace

class TestRuntimeConfig : public QObject
{
    Q_OBJECT

private slots:
    void defaultsMatchContracts();
    void emptyTextGivesDefaults();
    void schemaDefaultsAgreeWithStruct();
    void schemaCoversEveryKey();
    void parseValues_data();
    void parseValues();
    void parsedFieldsLandInTheStruct();
    void badValues_data();
    void badValues();
    void exactMessages();
    void apiExposureRules_data();
    void apiExposureRules();
    void unknownKeys_data();
    void unknownKeys();
    void unknownSections_data();
    void unknownSections();
    void xSectionsIgnored();
    void agentsInOrderWithDefaults();
    void agentSectionProblems();
    void agentTypeOptionsAreCollected();
    void duplicateKey();
    void syntaxErrorsWithLines();
    void quotedValueWithSemicolon();
    void findingsSortedAndInvalidKeepDefault();
    void roundTripDefaults();
    void roundTripCustom();
    void dumpListsEveryKeyWithHelp();
    void loadFile();
    void missingFile();
    void findingJsonAndFormat();
    void liveAndRestartKeys();
    void changedKeys();
    void valueHelpers_data();
    void valueHelpers();
    void formatHelpers();
};

void TestRuntimeConfig::defaultsMatchContracts()
{
    const RuntimeConfig c;
    QCOMPARE(c.cache.memoryMaxSize, 10000);
    QCOMPARE(c.cache.memoryMaxBytes, 0);
    QCOMPARE(c.cache.diskCacheEnabled, true);
    QCOMPARE(c.cache.diskMaxSize, qint64(104857600));
    QCOMPARE(c.cache.defaultTtl, 300.0);
    QCOMPARE(c.cache.invalidationStrategy, u"adaptive"_s);

    QCOMPARE(c.http.poolSize, 20);
    QCOMPARE(c.http.timeout, 30.0);
    QCOMPARE(c.http.retryCount, 3);
    QCOMPARE(c.http.retryDelay, 1.0);

    QCOMPARE(c.exec.maxConcurrentTasks, 10);
    QCOMPARE(c.exec.taskTimeoutMultiplier, 1.2);
    QCOMPARE(c.exec.reservedCriticalSlots, 1);
    QCOMPARE(c.exec.agingInterval, 5.0);

    QCOMPARE(c.monitor.collectionInterval, 1.0);
    QCOMPARE(c.monitor.memoryRetention, 3600.0);
    QCOMPARE(c.monitor.historyRawRetention, 86400.0);
    QCOMPARE(c.monitor.historyAggregateRetention, 604800.0);
    QCOMPARE(c.monitor.thresholds.cpuUsage, 80.0);
    QCOMPARE(c.monitor.thresholds.memoryUsage, 80.0);
    QCOMPARE(c.monitor.thresholds.diskUsage, 80.0);
    QCOMPARE(c.monitor.thresholds.cacheHitRateMin, 50.0);
    QCOMPARE(c.monitor.thresholds.httpErrorRateMax, 5.0);
    QCOMPARE(c.monitor.thresholds.responseTimeMax, 1000.0);
    QCOMPARE(c.monitor.thresholds.alertFor, 30.0);
    QCOMPARE(c.monitor.thresholds.alertHysteresis, 10.0);
    QCOMPARE(c.monitor.thresholds.cacheMinLookups, 10);
    QCOMPARE(c.monitor.thresholds.queuedTasksMax, 100);

    QCOMPARE(c.api.bind, u"127.0.0.1"_s);
    QCOMPARE(c.api.port, 8765);
    QCOMPARE(c.api.auth, u"on"_s);
    QVERIFY(c.api.authEnabled());
    QCOMPARE(c.api.maxHeaderBytes, qint64(16384));
    QCOMPARE(c.api.maxBodyBytes, qint64(1048576));
    QCOMPARE(c.api.idleTimeout, 30.0);
    QCOMPARE(c.api.maxConnections, 64);
    QVERIFY(c.api.allowedHosts.isEmpty());
    QCOMPARE(c.api.allowPlainHttp, false);
    QVERIFY(c.api.tlsCert.isEmpty() && c.api.tlsKey.isEmpty() && !c.api.tlsEnabled());
    QVERIFY(c.api.corsOrigins.isEmpty());

    QVERIFY(c.market.baseUrl.isEmpty());
    QCOMPARE(c.market.seed, qint64(42));
    QCOMPARE(c.market.symbols, QStringList({u"BTCUSDT"_s, u"ETHUSDT"_s, u"SOLUSDT"_s}));

    QVERIFY(c.agents.isEmpty());
    const AgentConfig a;
    QCOMPARE(a.interval, 5.0);
    COMPARE_PRIORITY(a.priority, TaskPriority::Normal);
    QCOMPARE(a.enabled, true);
    QCOMPARE(a.symbol, u"BTCUSDT"_s);
}

void TestRuntimeConfig::emptyTextGivesDefaults()
{
    for (const QByteArray &text :
         {QByteArray(), QByteArray("\n\n"), QByteArray("; only a comment\n# another\n"),
          QByteArray("[cache]\n[http]\n[exec]\n[monitor]\n[api]\n[market]\n")}) {
        const ConfigLoad load = RuntimeConfig::fromText(text);
        QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
        QVERIFY(load.config == RuntimeConfig());
    }
}

void TestRuntimeConfig::schemaDefaultsAgreeWithStruct()
{
    // Writing every row's default text explicitly gives exactly the struct's defaults.
    QByteArray fixed;
    QByteArray agent = "[agent.a1]\ntype = t\n";
    QString lastSection;
    for (const ConfigKeySpec &spec : RuntimeConfig::schema()) {
        const QByteArray line
            = spec.key.toUtf8() + " = " + IniFile::quoteIfNeeded(spec.defaultValue).toUtf8() + '\n';
        if (spec.section == u"agent") {
            if (!spec.required)
                agent += line;
            continue;
        }
        if (spec.section != lastSection) {
            fixed += '[' + spec.section.toUtf8() + "]\n";
            lastSection = spec.section;
        }
        fixed += line;
    }
    const ConfigLoad load = RuntimeConfig::fromText(fixed + agent);
    QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
    RuntimeConfig expected;
    AgentConfig a;
    a.id = u"a1"_s;
    a.type = u"t"_s;
    expected.agents.append(a);
    QVERIFY(load.config == expected);
}

void TestRuntimeConfig::schemaCoversEveryKey()
{
    const QSet<QString> expected{
        u"cache/memory_max_size"_s,
        u"cache/memory_max_bytes"_s,
        u"cache/disk_cache_enabled"_s,
        u"cache/disk_max_size"_s,
        u"cache/default_ttl"_s,
        u"cache/invalidation_strategy"_s,
        u"http/http_pool_size"_s,
        u"http/http_timeout"_s,
        u"http/http_retry_count"_s,
        u"http/http_retry_delay"_s,
        u"exec/max_concurrent_tasks"_s,
        u"exec/task_timeout_multiplier"_s,
        u"exec/reserved_critical_slots"_s,
        u"exec/aging_interval"_s,
        u"monitor/collection_interval"_s,
        u"monitor/memory_retention"_s,
        u"monitor/history_raw_retention"_s,
        u"monitor/history_aggregate_retention"_s,
        u"monitor/cpu_usage"_s,
        u"monitor/memory_usage"_s,
        u"monitor/disk_usage"_s,
        u"monitor/cache_hit_rate_min"_s,
        u"monitor/http_error_rate_max"_s,
        u"monitor/response_time_max"_s,
        u"monitor/alert_for"_s,
        u"monitor/alert_hysteresis"_s,
        u"monitor/cache_min_lookups"_s,
        u"monitor/queued_tasks_max"_s,
        u"api/api_bind"_s,
        u"api/api_port"_s,
        u"api/auth"_s,
        u"api/max_header_bytes"_s,
        u"api/max_body_bytes"_s,
        u"api/idle_timeout"_s,
        u"api/max_connections"_s,
        u"api/allowed_hosts"_s,
        u"api/allow_plain_http"_s,
        u"api/tls_cert"_s,
        u"api/tls_key"_s,
        u"api/cors_origins"_s,
        u"market/market_base_url"_s,
        u"market/seed"_s,
        u"market/symbols"_s,
        u"market/latency"_s,
        u"market/jitter"_s,
        u"market/error_rate"_s,
        u"market/error_status"_s,
        u"market/stall"_s,
        u"market/stall_every"_s,
        u"market/weight_limit"_s,
        u"market/weight_window"_s,
        u"market/order_book_ttl"_s,
        u"market/recent_trades_ttl"_s,
        u"market/klines_ttl"_s,
        u"agent/type"_s,
        u"agent/interval"_s,
        u"agent/priority"_s,
        u"agent/enabled"_s,
        u"agent/symbol"_s,
    };
    QSet<QString> actual;
    for (const ConfigKeySpec &spec : RuntimeConfig::schema()) {
        QVERIFY2(!actual.contains(spec.section + u'/' + spec.key), qPrintable(spec.key));
        actual.insert(spec.section + u'/' + spec.key);
        QVERIFY2(!spec.help.isEmpty(), qPrintable(spec.key));
    }
    QCOMPARE(actual, expected);
    QVERIFY(RuntimeConfig::keySpec(u"agent.mm1", u"interval"));
    QCOMPARE(RuntimeConfig::keySpec(u"api", u"api_port")->max, 65535.0);
    QVERIFY(!RuntimeConfig::keySpec(u"api", u"nope"));
}

void TestRuntimeConfig::parseValues_data()
{
    QTest::addColumn<QString>("section");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("dumpedValue");

    // sizes
    QTest::newRow("size plain") << u"cache"_s << u"disk_max_size"_s << u"1000"_s << u"1000"_s;
    QTest::newRow("size MiB spaced")
        << u"cache"_s << u"disk_max_size"_s << u"200 MiB"_s << u"200 MiB"_s;
    QTest::newRow("size MiB tight")
        << u"cache"_s << u"disk_max_size"_s << u"200MiB"_s << u"200 MiB"_s;
    QTest::newRow("size MiB as bytes")
        << u"cache"_s << u"disk_max_size"_s << u"209715200"_s << u"200 MiB"_s;
    QTest::newRow("size GiB") << u"cache"_s << u"disk_max_size"_s << u"2 GiB"_s << u"2 GiB"_s;
    QTest::newRow("size lower-case suffix")
        << u"cache"_s << u"disk_max_size"_s << u"3kib"_s << u"3 KiB"_s;
    QTest::newRow("size fraction") << u"cache"_s << u"disk_max_size"_s << u"1.5 KiB"_s << u"1536"_s;
    QTest::newRow("size B") << u"cache"_s << u"memory_max_bytes"_s << u"512 B"_s << u"512"_s;
    QTest::newRow("size zero") << u"cache"_s << u"memory_max_bytes"_s << u"0"_s << u"0"_s;
    // ints
    QTest::newRow("int") << u"cache"_s << u"memory_max_size"_s << u"50000"_s << u"50000"_s;
    QTest::newRow("int zero") << u"cache"_s << u"memory_max_size"_s << u"0"_s << u"0"_s;
    QTest::newRow("int plus") << u"http"_s << u"http_pool_size"_s << u"+30"_s << u"30"_s;
    QTest::newRow("port 0") << u"api"_s << u"api_port"_s << u"0"_s << u"0"_s;
    QTest::newRow("port max") << u"api"_s << u"api_port"_s << u"65535"_s << u"65535"_s;
    QTest::newRow("seed negative") << u"market"_s << u"seed"_s << u"-7"_s << u"-7"_s;
    QTest::newRow("seed large") << u"market"_s << u"seed"_s << u"9000000000"_s << u"9000000000"_s;
    // durations and doubles
    QTest::newRow("duration int") << u"http"_s << u"http_timeout"_s << u"45"_s << u"45"_s;
    QTest::newRow("duration float") << u"http"_s << u"http_timeout"_s << u"2.5"_s << u"2.5"_s;
    QTest::newRow("duration s") << u"http"_s << u"http_timeout"_s << u"1.5s"_s << u"1.5"_s;
    QTest::newRow("duration ms") << u"http"_s << u"http_timeout"_s << u"250ms"_s << u"0.25"_s;
    QTest::newRow("duration ms spaced")
        << u"http"_s << u"http_retry_delay"_s << u"250 MS"_s << u"0.25"_s;
    QTest::newRow("duration zero ttl") << u"cache"_s << u"default_ttl"_s << u"0"_s << u"0"_s;
    QTest::newRow("duration min interval")
        << u"monitor"_s << u"collection_interval"_s << u"0.05"_s << u"0.05"_s;
    QTest::newRow("duration leading dot")
        << u"http"_s << u"http_retry_delay"_s << u".5"_s << u"0.5"_s;
    QTest::newRow("double") << u"exec"_s << u"task_timeout_multiplier"_s << u"1.5"_s << u"1.5"_s;
    QTest::newRow("double exponent")
        << u"exec"_s << u"task_timeout_multiplier"_s << u"2e1"_s << u"20"_s;
    QTest::newRow("threshold") << u"monitor"_s << u"cpu_usage"_s << u"95.5"_s << u"95.5"_s;
    QTest::newRow("response ms") << u"monitor"_s << u"response_time_max"_s << u"250"_s << u"250"_s;
    QTest::newRow("alert for") << u"monitor"_s << u"alert_for"_s << u"90s"_s << u"90"_s;
    QTest::newRow("alert for zero") << u"monitor"_s << u"alert_for"_s << u"0"_s << u"0"_s;
    QTest::newRow("alert hysteresis")
        << u"monitor"_s << u"alert_hysteresis"_s << u"2.5"_s << u"2.5"_s;
    QTest::newRow("cache min lookups")
        << u"monitor"_s << u"cache_min_lookups"_s << u"500"_s << u"500"_s;
    QTest::newRow("queued tasks max")
        << u"monitor"_s << u"queued_tasks_max"_s << u"0"_s << u"0"_s;
    // bools
    for (const auto &[text, value] : {std::pair{u"true"_s, true},
                                      {u"FALSE"_s, false},
                                      {u"Yes"_s, true},
                                      {u"no"_s, false},
                                      {u"ON"_s, true},
                                      {u"off"_s, false},
                                      {u"1"_s, true},
                                      {u"0"_s, false}}) {
        QTest::addRow("bool %s", qPrintable(text))
            << u"cache"_s << u"disk_cache_enabled"_s << text << (value ? u"true"_s : u"false"_s);
    }
    // enums
    QTest::newRow("enum lru") << u"cache"_s << u"invalidation_strategy"_s << u"lru"_s << u"lru"_s;
    QTest::newRow("enum LFU upper")
        << u"cache"_s << u"invalidation_strategy"_s << u"LFU"_s << u"lfu"_s;
    QTest::newRow("enum Fifo mixed")
        << u"cache"_s << u"invalidation_strategy"_s << u"Fifo"_s << u"fifo"_s;
    QTest::newRow("enum ttl") << u"cache"_s << u"invalidation_strategy"_s << u"TTL"_s << u"ttl"_s;
    QTest::newRow("auth off") << u"api"_s << u"auth"_s << u"OFF"_s << u"off"_s;
    // addresses, URLs, lists
    QTest::newRow("address loopback") << u"api"_s << u"api_bind"_s << u"127.0.0.2"_s << u"127.0.0.2"_s;
    QTest::newRow("plain http") << u"api"_s << u"allow_plain_http"_s << u"yes"_s << u"true"_s;
    QTest::newRow("cors origins")
        << u"api"_s << u"cors_origins"_s << u"HTTPS://Ops.Example:8443, http://localhost:3000"_s
        << u"https://ops.example:8443,http://localhost:3000"_s;
    QTest::newRow("address v6") << u"api"_s << u"api_bind"_s << u"::1"_s << u"::1"_s;
    QTest::newRow("url http") << u"market"_s << u"market_base_url"_s << u"http://127.0.0.1:9000"_s
                              << u"http://127.0.0.1:9000"_s;
    QTest::newRow("url https path")
        << u"market"_s << u"market_base_url"_s << u"https://api.example.com/v3/"_s
        << u"https://api.example.com/v3/"_s;
    QTest::newRow("url empty") << u"market"_s << u"market_base_url"_s << QString() << QString();
    QTest::newRow("symbols spaced")
        << u"market"_s << u"symbols"_s << u"BTCUSDT, ETHUSDT"_s << u"BTCUSDT,ETHUSDT"_s;
    QTest::newRow("hosts lower-cased")
        << u"api"_s << u"allowed_hosts"_s << u"OpsDeck.local, box-1,[::1]"_s
        << u"opsdeck.local,box-1,[::1]"_s;
    QTest::newRow("hosts empty") << u"api"_s << u"allowed_hosts"_s << QString() << QString();
}

void TestRuntimeConfig::parseValues()
{
    QFETCH(QString, section);
    QFETCH(QString, key);
    QFETCH(QString, text);
    QFETCH(QString, dumpedValue);
    const QByteArray ini = '[' + section.toUtf8() + "]\n" + key.toUtf8() + " = "
                           + IniFile::quoteIfNeeded(text).toUtf8() + '\n';
    const ConfigLoad load = RuntimeConfig::fromText(ini);
    QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
    QCOMPARE(dumped(load.config, section, key), dumpedValue);
}

void TestRuntimeConfig::parsedFieldsLandInTheStruct()
{
    const ConfigLoad load = RuntimeConfig::fromText("[cache]\n"
                                                    "memory_max_size = 50000\n"
                                                    "memory_max_bytes = 64 MiB\n"
                                                    "disk_cache_enabled = no\n"
                                                    "disk_max_size = 200 MiB\n"
                                                    "default_ttl = 1500ms\n"
                                                    "invalidation_strategy = LRU\n"
                                                    "[http]\n"
                                                    "http_pool_size = 30\n"
                                                    "http_retry_delay = 0\n"
                                                    "[exec]\n"
                                                    "max_concurrent_tasks = 20\n"
                                                    "reserved_critical_slots = 19\n"
                                                    "task_timeout_multiplier = 1.5\n"
                                                    "[monitor]\n"
                                                    "http_error_rate_max = 0\n"
                                                    "[api]\n"
                                                    "api_port = 0\n"
                                                    "auth = off\n"
                                                    "allowed_hosts = a.example, b\n"
                                                    "[market]\n"
                                                    "seed = 7\n"
                                                    "symbols = XRPUSDT\n");
    QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
    const RuntimeConfig &c = load.config;
    QCOMPARE(c.cache.memoryMaxSize, 50000);
    QCOMPARE(c.cache.memoryMaxBytes, qint64(64) << 20);
    QCOMPARE(c.cache.diskCacheEnabled, false);
    QCOMPARE(c.cache.diskMaxSize, qint64(209715200));
    QCOMPARE(c.cache.defaultTtl, 1.5);
    QCOMPARE(c.cache.invalidationStrategy, u"lru"_s);
    QCOMPARE(c.http.poolSize, 30);
    QCOMPARE(c.http.retryDelay, 0.0);
    QCOMPARE(c.exec.maxConcurrentTasks, 20);
    QCOMPARE(c.exec.reservedCriticalSlots, 19);
    QCOMPARE(c.exec.taskTimeoutMultiplier, 1.5);
    QCOMPARE(c.monitor.thresholds.httpErrorRateMax, 0.0);
    QCOMPARE(c.api.port, 0);
    QVERIFY(!c.api.authEnabled());
    QCOMPARE(c.api.allowedHosts, QStringList({u"a.example"_s, u"b"_s}));
    QCOMPARE(c.market.seed, qint64(7));
    QCOMPARE(c.market.symbols, QStringList{u"XRPUSDT"_s});
}

void TestRuntimeConfig::badValues_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("section");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QStringList>("messageParts");
    QTest::addColumn<int>("line");

    auto row
        = [](const char *name, const QByteArray &text, const QString &code, const QString &section,
             const QString &key, const QString &value, const QStringList &parts, int line) {
              QTest::newRow(name) << text << code << section << key << value << parts << line;
          };
    row("negative size entries", "[cache]\nmemory_max_size = -5\n", u"out_of_range"_s, u"cache"_s,
        u"memory_max_size"_s, u"-5"_s,
        {u"[cache] memory_max_size = -5 is out of range: allowed 0..100000000 entries"_s}, 2);
    row("negative size bytes", "[cache]\n\ndisk_max_size = -5 MiB\n", u"out_of_range"_s, u"cache"_s,
        u"disk_max_size"_s, u"-5 MiB"_s,
        {u"[cache] disk_max_size = -5 MiB is out of range: allowed 1..17592186044416 bytes"_s,
         u"(1..16 TiB)"_s},
        3);
    row("size MB suffix", "[cache]\ndisk_max_size = 200 MB\n", u"invalid_value"_s, u"cache"_s,
        u"disk_max_size"_s, u"200 MB"_s,
        {u"[cache] disk_max_size = 200 MB has an unknown unit"_s, u"write e.g. 200 MiB"_s,
         u"allowed 1..17592186044416 bytes"_s},
        2);
    row("size K suffix", "[cache]\nmemory_max_bytes = 4K\n", u"invalid_value"_s, u"cache"_s,
        u"memory_max_bytes"_s, u"4K"_s, {u"unknown unit"_s}, 2);
    row("size not whole", "[cache]\nmemory_max_bytes = 0.1 KiB\n", u"invalid_value"_s, u"cache"_s,
        u"memory_max_bytes"_s, u"0.1 KiB"_s, {u"not a whole number of bytes"_s}, 2);
    row("size words", "[cache]\nmemory_max_bytes = lots\n", u"invalid_value"_s, u"cache"_s,
        u"memory_max_bytes"_s, u"lots"_s, {u"is not a size"_s}, 2);
    row("size overflow", "[cache]\nmemory_max_bytes = 99999999999 TiB\n", u"out_of_range"_s,
        u"cache"_s, u"memory_max_bytes"_s, u"99999999999 TiB"_s, {u"is out of range"_s}, 2);
    row("port 70000", "[api]\napi_port = 70000\n", u"out_of_range"_s, u"api"_s, u"api_port"_s,
        u"70000"_s, {u"[api] api_port = 70000 is out of range: allowed 0..65535"_s}, 2);
    row("port negative", "[api]\napi_port = -1\n", u"out_of_range"_s, u"api"_s, u"api_port"_s,
        u"-1"_s, {u"allowed 0..65535"_s}, 2);
    row("int not whole", "[http]\nhttp_pool_size = 1.5\n", u"invalid_value"_s, u"http"_s,
        u"http_pool_size"_s, u"1.5"_s,
        {u"[http] http_pool_size = 1.5 is not a whole number; allowed 1..1000"_s}, 2);
    row("int empty", "[http]\nhttp_pool_size =\n", u"invalid_value"_s, u"http"_s,
        u"http_pool_size"_s, QString(), {u"[http] http_pool_size = \"\" is not a whole number"_s},
        2);
    row("int huge", "[http]\nhttp_pool_size = 99999999999999999999\n", u"out_of_range"_s, u"http"_s,
        u"http_pool_size"_s, u"99999999999999999999"_s, {u"allowed 1..1000"_s}, 2);
    row("strategy foo", "[cache]\ninvalidation_strategy = foo\n", u"not_allowed"_s, u"cache"_s,
        u"invalidation_strategy"_s, u"foo"_s,
        {u"[cache] invalidation_strategy = foo is not one of lru, lfu, fifo, ttl, adaptive"_s}, 2);
    row("auth maybe", "[api]\nauth = maybe\n", u"not_allowed"_s, u"api"_s, u"auth"_s, u"maybe"_s,
        {u"is not one of on, off"_s}, 2);
    row("bool maybe", "[cache]\ndisk_cache_enabled = maybe\n", u"invalid_value"_s, u"cache"_s,
        u"disk_cache_enabled"_s, u"maybe"_s,
        {u"[cache] disk_cache_enabled = maybe is not a boolean: use true/false, yes/no, on/off "
         "or 1/0"_s},
        2);
    row("url ftp", "[market]\nmarket_base_url = ftp://example.com\n", u"invalid_value"_s,
        u"market"_s, u"market_base_url"_s, u"ftp://example.com"_s,
        {u"[market] market_base_url = ftp://example.com is not an http:// or https:// URL"_s}, 2);
    row("url no scheme", "[market]\nmarket_base_url = example.com/api\n", u"invalid_value"_s,
        u"market"_s, u"market_base_url"_s, u"example.com/api"_s,
        {u"is not an http:// or https:// URL"_s}, 2);
    row("url no host", "[market]\nmarket_base_url = http://\n", u"invalid_value"_s, u"market"_s,
        u"market_base_url"_s, u"http://"_s, {u"with a host"_s}, 2);
    row("address host name", "[api]\napi_bind = localhost\n", u"invalid_value"_s, u"api"_s,
        u"api_bind"_s, u"localhost"_s,
        {u"[api] api_bind = localhost is not an IP address"_s, u"127.0.0.1"_s}, 2);
    row("address bad octet", "[api]\napi_bind = 300.1.1.1\n", u"invalid_value"_s, u"api"_s,
        u"api_bind"_s, u"300.1.1.1"_s, {u"is not an IP address"_s}, 2);
    row("reserved >= max", "[exec]\nmax_concurrent_tasks = 4\nreserved_critical_slots = 4\n",
        u"out_of_range"_s, u"exec"_s, u"reserved_critical_slots"_s, u"4"_s,
        {u"[exec] reserved_critical_slots = 4 is out of range: allowed 0..3"_s,
         u"less than max_concurrent_tasks = 4"_s},
        3);
    row("default reserved vs max 1", "[exec]\nmax_concurrent_tasks = 1\n", u"out_of_range"_s,
        u"exec"_s, u"reserved_critical_slots"_s, u"1"_s,
        {u"reserved_critical_slots = 1 (the default) is out of range: allowed 0..0"_s}, 2);
    row("timeout zero", "[http]\nhttp_timeout = 0\n", u"out_of_range"_s, u"http"_s,
        u"http_timeout"_s, u"0"_s,
        {u"[http] http_timeout = 0 is out of range: allowed more than 0 and at most 3600 "
         "seconds"_s},
        2);
    row("timeout too long", "[http]\nhttp_timeout = 2h\n", u"invalid_value"_s, u"http"_s,
        u"http_timeout"_s, u"2h"_s, {u"has an unknown unit"_s, u"250ms"_s}, 2);
    row("ttl negative", "[cache]\ndefault_ttl = -1\n", u"out_of_range"_s, u"cache"_s,
        u"default_ttl"_s, u"-1"_s, {u"allowed 0..31536000 seconds"_s}, 2);
    row("duration words", "[exec]\naging_interval = soon\n", u"invalid_value"_s, u"exec"_s,
        u"aging_interval"_s, u"soon"_s, {u"is not a duration"_s}, 2);
    row("collection too fast", "[monitor]\ncollection_interval = 10ms\n", u"out_of_range"_s,
        u"monitor"_s, u"collection_interval"_s, u"10ms"_s, {u"allowed 0.05..3600 seconds"_s}, 2);
    row("threshold over 100", "[monitor]\ncpu_usage = 101\n", u"out_of_range"_s, u"monitor"_s,
        u"cpu_usage"_s, u"101"_s, {u"allowed 0..100 percent"_s}, 2);
    row("double words", "[monitor]\ncpu_usage = high\n", u"invalid_value"_s, u"monitor"_s,
        u"cpu_usage"_s, u"high"_s, {u"is not a number; allowed 0..100 percent"_s}, 2);
    row("alert for negative", "[monitor]\nalert_for = -1\n", u"out_of_range"_s, u"monitor"_s,
        u"alert_for"_s, u"-1"_s, {u"allowed 0..86400 seconds"_s}, 2);
    row("hysteresis over 100", "[monitor]\nalert_hysteresis = 150\n", u"out_of_range"_s,
        u"monitor"_s, u"alert_hysteresis"_s, u"150"_s, {u"allowed 0..100 percent"_s}, 2);
    row("min lookups zero", "[monitor]\ncache_min_lookups = 0\n", u"out_of_range"_s,
        u"monitor"_s, u"cache_min_lookups"_s, u"0"_s, {u"allowed 1..1000000000"_s}, 2);
    row("queued max words", "[monitor]\nqueued_tasks_max = many\n", u"invalid_value"_s,
        u"monitor"_s, u"queued_tasks_max"_s, u"many"_s, {u"is not"_s}, 2);
    row("double nan", "[exec]\ntask_timeout_multiplier = nan\n", u"invalid_value"_s, u"exec"_s,
        u"task_timeout_multiplier"_s, u"nan"_s, {u"is not a number"_s}, 2);
    row("multiplier small", "[exec]\ntask_timeout_multiplier = 0.01\n", u"out_of_range"_s,
        u"exec"_s, u"task_timeout_multiplier"_s, u"0.01"_s, {u"allowed 0.1..100"_s}, 2);
    row("header bytes small", "[api]\nmax_header_bytes = 100\n", u"out_of_range"_s, u"api"_s,
        u"max_header_bytes"_s, u"100"_s, {u"allowed 1024..1048576 bytes (1 KiB..1 MiB)"_s}, 2);
    row("symbols lower", "[market]\nsymbols = BTCUSDT,ethusdt\n", u"invalid_value"_s, u"market"_s,
        u"symbols"_s, u"BTCUSDT,ethusdt"_s,
        {u"'ethusdt' is not an upper-case symbol (write 'ETHUSDT')"_s}, 2);
    row("symbols empty", "[market]\nsymbols =\n", u"invalid_value"_s, u"market"_s, u"symbols"_s,
        QString(), {u"is empty: list at least one value"_s}, 2);
    row("symbols hole", "[market]\nsymbols = A,,B\n", u"invalid_value"_s, u"market"_s, u"symbols"_s,
        u"A,,B"_s, {u"empty item"_s}, 2);
    row("symbols twice", "[market]\nsymbols = A,B,A\n", u"invalid_value"_s, u"market"_s,
        u"symbols"_s, u"A,B,A"_s, {u"lists 'A' twice"_s}, 2);
    row("cors wildcard", "[api]\ncors_origins = *\n", u"invalid_value"_s, u"api"_s,
        u"cors_origins"_s, u"*"_s, {u"list exact origins"_s}, 2);
    row("cors path", "[api]\ncors_origins = https://ops.example/app\n", u"invalid_value"_s,
        u"api"_s, u"cors_origins"_s, u"https://ops.example/app"_s, {u"is not a web origin"_s}, 2);
    row("host bad", "[api]\nallowed_hosts = ok.example, bad_host!\n", u"invalid_value"_s, u"api"_s,
        u"allowed_hosts"_s, u"ok.example, bad_host!"_s, {u"'bad_host!' is not a host name"_s}, 2);
    row("agent interval negative", "[agent.a]\ntype = t\ninterval = -1\n", u"out_of_range"_s,
        u"agent.a"_s, u"interval"_s, u"-1"_s,
        {u"[agent.a] interval = -1 is out of range: allowed 0..86400 seconds"_s}, 3);
    row("agent priority", "[agent.a]\ntype = t\npriority = urgent\n", u"not_allowed"_s,
        u"agent.a"_s, u"priority"_s, u"urgent"_s,
        {u"[agent.a] priority = urgent is not one of CRITICAL, HIGH, NORMAL, LOW, IDLE"_s}, 3);
    row("agent symbol", "[agent.a]\ntype = t\nsymbol = btc usdt\n", u"invalid_value"_s,
        u"agent.a"_s, u"symbol"_s, u"btc usdt"_s, {u"is not a symbol"_s}, 3);
    row("agent empty type", "[agent.a]\ntype = \"  \"\n", u"invalid_value"_s, u"agent.a"_s,
        u"type"_s, u"  "_s, {u"[agent.a] type = \"  \" is empty"_s}, 2);
}

void TestRuntimeConfig::badValues()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, code);
    QFETCH(QString, section);
    QFETCH(QString, key);
    QFETCH(QString, value);
    QFETCH(QStringList, messageParts);
    QFETCH(int, line);

    const ConfigLoad load = RuntimeConfig::fromText(text);
    QVERIFY2(load.findings.size() == 1, qPrintable(describe(load.findings)));
    const ConfigFinding &f = load.findings.at(0);
    QCOMPARE(f.code, code);
    QCOMPARE(f.section, section);
    QCOMPARE(f.key, key);
    QCOMPARE(f.value, value);
    QCOMPARE(f.line, line);
    for (const QString &part : messageParts)
        QVERIFY2(f.message.contains(part), qPrintable(f.message + u"\n  lacks: "_s + part));
    // Every message names the key and its section.
    QVERIFY2(f.message.contains(u'[' + section + u"] "_s + key), qPrintable(f.message));
    if (code == u"out_of_range") {
        QVERIFY(f.min.has_value() || f.max.has_value());
    }
    // A rejected value leaves the default in place (agents excepted: there is no default one),
    // and the cross-field rule leaves a consistent value.
    if (key == u"reserved_critical_slots") {
        QVERIFY(load.config.exec.reservedCriticalSlots < load.config.exec.maxConcurrentTasks);
    } else if (!section.startsWith(u"agent.")) {
        QCOMPARE(dumped(load.config, section, key), dumped(RuntimeConfig(), section, key));
    }
}

void TestRuntimeConfig::exactMessages()
{
    const ConfigLoad load = RuntimeConfig::fromText("[cache]\n"
                                                    "memory_max_size = -5\n"
                                                    "invalidation_strategy = foo\n"
                                                    "[api]\n"
                                                    "api_port = 70000\n");
    QCOMPARE(load.findings.size(), 3);
    QCOMPARE(load.findings.at(0).message,
             u"[cache] memory_max_size = -5 is out of range: allowed 0..100000000 entries"_s);
    QCOMPARE(load.findings.at(0).min, 0.0);
    QCOMPARE(load.findings.at(0).max, 100000000.0);
    QCOMPARE(load.findings.at(1).message,
             u"[cache] invalidation_strategy = foo is not one of lru, lfu, fifo, ttl, adaptive"_s);
    QCOMPARE(load.findings.at(1).allowed,
             QStringList({u"lru"_s, u"lfu"_s, u"fifo"_s, u"ttl"_s, u"adaptive"_s}));
    QCOMPARE(load.findings.at(2).message,
             u"[api] api_port = 70000 is out of range: allowed 0..65535"_s);
    QCOMPARE(formatFinding(load.findings.at(0), u"opsdeck.ini"_s),
             u"opsdeck.ini:2: [cache] memory_max_size = -5 is out of range: allowed "
             "0..100000000 entries"_s);
}

// [api] rules between keys: TLS files both or neither; auth = off and plain HTTP only on
// loopback unless allowed. Each finding names the key to change and keeps a safe value.
void TestRuntimeConfig::apiExposureRules_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QStringList>("keys"); // the findings' keys, in order; empty = valid
    QTest::addColumn<QString>("mentions");
    QTest::newRow("loopback defaults") << QByteArray("[api]\n") << QStringList() << QString();
    QTest::newRow("auth off on loopback")
        << QByteArray("[api]\nauth = off\n") << QStringList() << QString();
    QTest::newRow("auth off on ::1")
        << QByteArray("[api]\napi_bind = ::1\nauth = off\n") << QStringList() << QString();
    QTest::newRow("any without TLS")
        << QByteArray("[api]\napi_bind = 0.0.0.0\n") << QStringList{u"api_bind"_s}
        << u"[api] api_bind = 0.0.0.0 is not a loopback address: set tls_cert and tls_key "
           "(HTTPS), or allow_plain_http = true"_s;
    QTest::newRow("any with plain allowed")
        << QByteArray("[api]\napi_bind = 0.0.0.0\nallow_plain_http = true\n") << QStringList()
        << QString();
    QTest::newRow("any with TLS")
        << QByteArray("[api]\napi_bind = ::\ntls_cert = c.pem\ntls_key = k.pem\n")
        << QStringList() << QString();
    QTest::newRow("any with auth off")
        << QByteArray("[api]\napi_bind = 0.0.0.0\nauth = off\nallow_plain_http = true\n")
        << QStringList{u"auth"_s} << u"[api] auth = off is only allowed with a loopback api_bind"_s;
    QTest::newRow("cert without key")
        << QByteArray("[api]\ntls_cert = c.pem\n") << QStringList{u"tls_key"_s}
        << u"[api] tls_key is empty but tls_cert is set: give both (HTTPS) or neither (HTTP)"_s;
    QTest::newRow("key without cert")
        << QByteArray("[api]\ntls_key = k.pem\n") << QStringList{u"tls_cert"_s}
        << u"[api] tls_cert is empty but tls_key is set"_s;
    QTest::newRow("half TLS off loopback")
        << QByteArray("[api]\napi_bind = 0.0.0.0\ntls_cert = c.pem\n")
        << QStringList{u"tls_key"_s, u"api_bind"_s} << u"give both"_s;
}

void TestRuntimeConfig::apiExposureRules()
{
    QFETCH(QByteArray, text);
    QFETCH(QStringList, keys);
    QFETCH(QString, mentions);
    const ConfigLoad load = RuntimeConfig::fromText(text);
    QStringList found;
    for (const ConfigFinding &f : load.findings) {
        found.append(f.key);
        QCOMPARE(f.section, u"api"_s);
    }
    QVERIFY2(found == keys, qPrintable(describe(load.findings)));
    if (!keys.isEmpty()) {
        QVERIFY2(load.findings.first().message.contains(mentions), qPrintable(describe(load.findings)));
        // What is left is safe: loopback, or TLS, or plain HTTP allowed; auth off only on loopback.
        const ApiConfig &api = load.config.api;
        const bool loopback = api.bind == u"127.0.0.1" || api.bind == u"::1";
        QVERIFY(loopback || api.tlsEnabled() || api.allowPlainHttp);
        QVERIFY(loopback || api.authEnabled());
        QCOMPARE(api.tlsCert.isEmpty(), api.tlsKey.isEmpty());
    }
}

void TestRuntimeConfig::unknownKeys_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("section");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("suggestion");
    QTest::addColumn<QString>("suggestedSection");
    QTest::addColumn<QString>("message");

    QTest::newRow("typo same section")
        << QByteArray("[http]\nhttp_timout = 5\n") << u"http"_s << u"http_timout"_s
        << u"http_timeout"_s << QString()
        << u"[http] http_timout is not a known key of [http]; did you mean 'http_timeout'?"_s;
    QTest::newRow("wrong case") << QByteArray("[http]\nHTTP_TIMEOUT = 5\n") << u"http"_s
                                << u"HTTP_TIMEOUT"_s << u"http_timeout"_s << QString()
                                << u"did you mean 'http_timeout'?"_s;
    QTest::newRow("right key wrong section")
        << QByteArray("[cache]\nhttp_timeout = 5\n") << u"cache"_s << u"http_timeout"_s
        << u"http_timeout"_s << u"http"_s
        << u"[cache] http_timeout is not a key of [cache]: 'http_timeout' belongs in [http]"_s;
    QTest::newRow("typo and wrong section")
        << QByteArray("[cache]\nhttp_timout = 5\n") << u"cache"_s << u"http_timout"_s
        << u"http_timeout"_s << u"http"_s
        << u"[cache] http_timout is not a known key of [cache]; did you mean 'http_timeout'? "
           "'http_timeout' belongs in [http]"_s;
    QTest::newRow("agent key in agent-like place")
        << QByteArray("[agent.a]\ntype = t\nsymbols = X\n") << u"agent.a"_s << u"symbols"_s
        << u"symbols"_s << u"market"_s
        << u"[agent.a] symbols is not a key of [agent.a]: 'symbols' belongs in [market]; or "
           "did you mean 'symbol'?"_s;
    QTest::newRow("agent key in fixed section")
        << QByteArray("[exec]\npriority = HIGH\n") << u"exec"_s << u"priority"_s << u"priority"_s
        << u"agent"_s << u"'priority' belongs in [agent.<id>]"_s;
    QTest::newRow("agent typo") << QByteArray("[agent.a]\ntype = t\nintervall = 3\n")
                                << u"agent.a"_s << u"intervall"_s << u"interval"_s << QString()
                                << u"did you mean 'interval'?"_s;
    QTest::newRow("nothing close")
        << QByteArray("[api]\nzzzzzzzz = 1\n") << u"api"_s << u"zzzzzzzz"_s << QString()
        << QString()
        << u"[api] zzzzzzzz is not a known key of [api] (known keys: api_bind, "
           "api_port, auth, max_header_bytes, max_body_bytes, idle_timeout, "
           "max_connections, allowed_hosts, allow_plain_http, tls_cert, tls_key, "
           "cors_origins)"_s;
}

void TestRuntimeConfig::unknownKeys()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, section);
    QFETCH(QString, key);
    QFETCH(QString, suggestion);
    QFETCH(QString, suggestedSection);
    QFETCH(QString, message);
    const ConfigLoad load = RuntimeConfig::fromText(text);
    QVERIFY2(load.findings.size() == 1, qPrintable(describe(load.findings)));
    const ConfigFinding &f = load.findings.at(0);
    QCOMPARE(f.code, u"unknown_key"_s);
    QCOMPARE(f.section, section);
    QCOMPARE(f.key, key);
    QCOMPARE(f.suggestion, suggestion);
    QCOMPARE(f.suggestedSection, suggestedSection);
    QVERIFY2(f.message.contains(message), qPrintable(f.message));
    QVERIFY(!f.allowed.isEmpty()); // the known keys of that section
    QVERIFY(f.line > 0);
}

void TestRuntimeConfig::unknownSections_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("suggestion");
    QTest::addColumn<QString>("messagePart");
    QTest::newRow("typo") << QByteArray("[cahce]\nmemory_max_size = 1\n") << u"cache"_s
                          << u"[cahce] is not a known section; did you mean [cache]?"_s;
    QTest::newRow("case") << QByteArray("[HTTP]\n") << u"http"_s << u"did you mean [http]?"_s;
    QTest::newRow("agent typo") << QByteArray("[agnet.mm1]\ntype = x\n") << u"agent.mm1"_s
                                << u"did you mean [agent.mm1]?"_s;
    QTest::newRow("bare agent") << QByteArray("[agent]\ntype = x\n") << u"agent.<id>"_s
                                << u"agent sections are named [agent.<id>]"_s;
    QTest::newRow("far away") << QByteArray("[database]\nurl = x\n") << QString()
                              << u"[database] is not a known section (known: [cache]"_s;
}

void TestRuntimeConfig::unknownSections()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, suggestion);
    QFETCH(QString, messagePart);
    const ConfigLoad load = RuntimeConfig::fromText("; lead\n" + text);
    // One finding for the section; its keys are not reported one by one.
    QVERIFY2(load.findings.size() == 1, qPrintable(describe(load.findings)));
    const ConfigFinding &f = load.findings.at(0);
    QCOMPARE(f.code, u"unknown_section"_s);
    QCOMPARE(f.line, 2);
    QCOMPARE(f.suggestion, suggestion);
    QVERIFY2(f.message.contains(messagePart), qPrintable(f.message));
    QVERIFY(load.config == RuntimeConfig());
}

void TestRuntimeConfig::xSectionsIgnored()
{
    const ConfigLoad load = RuntimeConfig::fromText("[x-foo]\n"
                                                    "anything = goes\n"
                                                    "memory_max_size = -5\n"
                                                    "[x-notes.v2]\n"
                                                    "bad_value = \"; ok\"\n"
                                                    "[cache]\n"
                                                    "memory_max_size = 7\n");
    QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
    QCOMPARE(load.config.cache.memoryMaxSize, 7);
}

void TestRuntimeConfig::agentsInOrderWithDefaults()
{
    const ConfigLoad load = RuntimeConfig::fromText("[agent.zeta]\n"
                                                    "type = stop_loss\n"
                                                    "priority = critical\n"
                                                    "interval = 500ms\n"
                                                    "[cache]\n"
                                                    "[agent.alpha-1]\n"
                                                    "type = market_maker\n"
                                                    "[agent.m_2]\n"
                                                    "type = arbitrage\n"
                                                    "priority = 3\n"
                                                    "enabled = off\n"
                                                    "symbol = ETHUSDT\n");
    QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
    const QList<AgentConfig> &agents = load.config.agents;
    QCOMPARE(agents.size(), 3);
    QCOMPARE(agents.at(0).id, u"zeta"_s);
    QCOMPARE(agents.at(0).type, u"stop_loss"_s);
    COMPARE_PRIORITY(agents.at(0).priority, TaskPriority::Critical);
    QCOMPARE(agents.at(0).interval, 0.5);
    QCOMPARE(agents.at(0).enabled, true);
    QCOMPARE(agents.at(0).symbol, u"BTCUSDT"_s);

    QCOMPARE(agents.at(1).id, u"alpha-1"_s);
    QCOMPARE(agents.at(1).type, u"market_maker"_s);
    QCOMPARE(agents.at(1).interval, 5.0);
    COMPARE_PRIORITY(agents.at(1).priority, TaskPriority::Normal);
    QCOMPARE(agents.at(1).enabled, true);

    QCOMPARE(agents.at(2).id, u"m_2"_s);
    COMPARE_PRIORITY(agents.at(2).priority, TaskPriority::Low);
    QCOMPARE(agents.at(2).enabled, false);
    QCOMPARE(agents.at(2).symbol, u"ETHUSDT"_s);

    QVERIFY(load.config.agent(u"alpha-1"));
    QCOMPARE(load.config.agent(u"m_2")->type, u"arbitrage"_s);
    QVERIFY(!load.config.agent(u"nope"));
}

// Keys of some agent type are kept as text for the registry to check against the agent's type;
// they survive --dump-config. Other unknown keys stay findings.
void TestRuntimeConfig::agentTypeOptionsAreCollected()
{
    const ConfigLoad load = RuntimeConfig::fromText(
        "[agent.mm1]\ntype = market_maker\nspread_bps = 12.5\nquote_notional = 50\n");
    QVERIFY2(load.findings.isEmpty(), qPrintable(load.findings.value(0).message));
    QCOMPARE(load.config.agents.size(), 1);
    const AgentConfig &agent = load.config.agents.first();
    QCOMPARE(agent.options.value(u"spread_bps"_s), u"12.5"_s);
    QCOMPARE(agent.options.value(u"quote_notional"_s), u"50"_s);
    const ConfigLoad again = RuntimeConfig::fromText(load.config.toIni());
    QVERIFY(again.findings.isEmpty());
    QVERIFY(again.config.agents.first() == agent);

    const ConfigLoad typo = RuntimeConfig::fromText("[agent.mm1]\ntype = market_maker\nsprad_bps = 3\n");
    QCOMPARE(typo.findings.size(), 1);
    QCOMPARE(typo.findings.first().code, u"unknown_key"_s);
}

void TestRuntimeConfig::agentSectionProblems()
{
    const ConfigLoad load = RuntimeConfig::fromText("[agent.notype]\n" // 1
                                                    "interval = 3\n"   // 2
                                                    "[agent.a.b]\n"    // 3
                                                    "type = x\n"       // 4
                                                    "[agent.]\n"       // 5
                                                    "type = y\n"       // 6
                                                    "[agent.ok]\n"     // 7
                                                    "type = z\n");     // 8
    QVERIFY2(load.findings.size() == 3, qPrintable(describe(load.findings)));
    QCOMPARE(load.findings.at(0).code, u"missing_key"_s);
    QCOMPARE(load.findings.at(0).section, u"agent.notype"_s);
    QCOMPARE(load.findings.at(0).key, u"type"_s);
    QCOMPARE(load.findings.at(0).line, 1);
    QVERIFY2(load.findings.at(0).message.contains(u"[agent.notype] has no 'type'"_s),
             qPrintable(load.findings.at(0).message));
    QCOMPARE(load.findings.at(1).code, u"invalid_value"_s);
    QCOMPARE(load.findings.at(1).line, 3);
    QVERIFY(load.findings.at(1).message.contains(u"agent id 'a.b' may contain only"_s));
    QCOMPARE(load.findings.at(2).line, 5);
    QVERIFY(load.findings.at(2).message.contains(u"has no agent id"_s));
    // The agent without a type is still listed (with the findings, the caller refuses to run).
    QCOMPARE(load.config.agents.size(), 2);
    QCOMPARE(load.config.agents.at(0).id, u"notype"_s);
    QCOMPARE(load.config.agents.at(0).interval, 3.0);
    QCOMPARE(load.config.agents.at(1).id, u"ok"_s);
}

void TestRuntimeConfig::duplicateKey()
{
    const ConfigLoad load
        = RuntimeConfig::fromText("[http]\nhttp_pool_size = 5\n\nhttp_pool_size = 6\n");
    QCOMPARE(load.findings.size(), 1);
    const ConfigFinding &f = load.findings.at(0);
    QCOMPARE(f.code, u"duplicate_key"_s);
    QCOMPARE(f.section, u"http"_s);
    QCOMPARE(f.key, u"http_pool_size"_s);
    QCOMPARE(f.value, u"6"_s);
    QCOMPARE(f.line, 4);
    QVERIFY(f.message.contains(u"first on line 2"_s));
    QCOMPARE(load.config.http.poolSize, 5);
}

void TestRuntimeConfig::syntaxErrorsWithLines()
{
    const ConfigLoad load = RuntimeConfig::fromText("memory_max_size = 1\n"           // 1
                                                    "[cache]\n"                       // 2
                                                    "this is not ini\n"               // 3
                                                    "memory_max_size = 9 ; entries\n" // 4
                                                    "[http\n");                       // 5
    QVERIFY2(load.findings.size() == 4, qPrintable(describe(load.findings)));
    const QList<int> lines{1, 3, 4, 5};
    for (qsizetype i = 0; i < lines.size(); ++i) {
        QCOMPARE(load.findings.at(i).code, u"syntax"_s);
        QCOMPARE(load.findings.at(i).line, lines.at(i));
    }
    QCOMPARE(formatFinding(load.findings.at(1), u"opsdeck.ini"_s),
             u"opsdeck.ini:3: malformed line 'this is not ini': expected 'key = value', "
             "'[section]' or a comment starting with ';' or '#'"_s);
    QVERIFY(load.findings.at(2).message.contains(u"inline comments are not supported"_s));
    QCOMPARE(load.config.cache.memoryMaxSize, 10000);
}

void TestRuntimeConfig::quotedValueWithSemicolon()
{
    const ConfigLoad load = RuntimeConfig::fromText("[agent.q]\n"
                                                    "type = \"maker ; v2 # beta\"\n"
                                                    "[api]\n"
                                                    "allowed_hosts = \"a.example\"\n");
    QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
    QCOMPARE(load.config.agents.at(0).type, u"maker ; v2 # beta"_s);
    QCOMPARE(load.config.api.allowedHosts, QStringList{u"a.example"_s});
}

void TestRuntimeConfig::findingsSortedAndInvalidKeepDefault()
{
    const ConfigLoad load = RuntimeConfig::fromText("[monitor]\n"
                                                    "cpu_usage = 120\n"
                                                    "bogus line\n"
                                                    "[http]\n"
                                                    "http_pool_size = 0\n"
                                                    "http_pool_size = 1\n");
    QVERIFY2(load.findings.size() == 4, qPrintable(describe(load.findings)));
    for (qsizetype i = 1; i < load.findings.size(); ++i)
        QVERIFY(load.findings.at(i - 1).line <= load.findings.at(i).line);
    QCOMPARE(load.config.monitor.thresholds.cpuUsage, 80.0);
    QCOMPARE(load.config.http.poolSize, 20);
    QVERIFY(!load.ok());
}

void TestRuntimeConfig::roundTripDefaults()
{
    const RuntimeConfig defaults;
    const QByteArray ini = defaults.toIni();
    const ConfigLoad load = RuntimeConfig::fromText(ini);
    QVERIFY2(load.ok(), qPrintable(describe(load.findings)));
    QVERIFY(load.config == defaults);
    // Stable: dumping what was read gives the same bytes.
    QCOMPARE(load.config.toIni(), ini);
}

void TestRuntimeConfig::roundTripCustom()
{
    RuntimeConfig c;
    c.cache.memoryMaxSize = 0;
    c.cache.memoryMaxBytes = 1000;
    c.cache.diskCacheEnabled = false;
    c.cache.diskMaxSize = qint64(3) << 30;
    c.cache.defaultTtl = 0.125;
    c.cache.invalidationStrategy = u"lfu"_s;
    c.http.poolSize = 1000;
    c.http.timeout = 0.001;
    c.http.retryCount = 0;
    c.http.retryDelay = 60;
    c.exec.maxConcurrentTasks = 1;
    c.exec.reservedCriticalSlots = 0;
    c.exec.taskTimeoutMultiplier = 1.0 / 3.0;
    c.exec.agingInterval = 0.7;
    c.monitor.collectionInterval = 0.05;
    c.monitor.thresholds.cpuUsage = 99.9;
    c.monitor.thresholds.responseTimeMax = 12.5;
    c.api.bind = u"::"_s; // not loopback: allowed with TLS (the files are not read here)
    c.api.port = 0;
    c.api.allowPlainHttp = true;
    c.api.tlsCert = u"/etc/opsdeck/cert.pem"_s;
    c.api.tlsKey = u"key file.pem"_s;
    c.api.corsOrigins = {u"https://ops.example:8443"_s, u"http://[::1]:3000"_s};
    c.api.maxBodyBytes = 0;
    c.api.allowedHosts = {u"a.example"_s, u"b"_s};
    c.market.baseUrl = u"https://api.example.com/v3?x=1#y"_s;
    c.market.seed = -123456789012LL;
    c.market.symbols = {u"XRPUSDT"_s};
    AgentConfig a;
    a.id = u"mm-1"_s;
    a.type = u"  spaced ; \"quoted\" \\ type"_s;
    a.interval = 2.25;
    a.priority = TaskPriority::Idle;
    a.enabled = false;
    a.symbol = u"SOLUSDT"_s;
    c.agents.append(a);
    AgentConfig b;
    b.id = u"b"_s;
    b.type = u"plain"_s;
    c.agents.append(b);

    const QByteArray ini = c.toIni();
    const ConfigLoad load = RuntimeConfig::fromText(ini);
    QVERIFY2(load.ok(), qPrintable(describe(load.findings) + u'\n' + QString::fromUtf8(ini)));
    QVERIFY(load.config == c);
    QVERIFY(!(load.config == RuntimeConfig()));
    QCOMPARE(load.config.agents.at(0).type, a.type);
    QCOMPARE(load.config.exec.taskTimeoutMultiplier, 1.0 / 3.0);
}

void TestRuntimeConfig::dumpListsEveryKeyWithHelp()
{
    const QString text = QString::fromUtf8(RuntimeConfig().toIni());
    // Comments are word-wrapped: join continuation lines to find whole help sentences.
    QString flat = text;
    flat.replace(u"\n; "_s, u" "_s);
    for (const ConfigKeySpec &spec : RuntimeConfig::schema()) {
        if (spec.section == u"agent") {
            // No agents configured: the dump shows a commented example.
            QVERIFY2(text.contains(u"; " + spec.key + u" = "), qPrintable(spec.key));
            continue;
        }
        QVERIFY2(text.contains(u'\n' + spec.key + u" ="), qPrintable(spec.key));
        QVERIFY2(flat.contains(spec.help), qPrintable(spec.key));
    }
    QVERIFY(text.contains(u"[cache]\n"_s));
    QVERIFY(text.contains(u"[agent.mm1]"_s));
    QVERIFY(text.contains(u"; integer, 0..100000000 entries, default 10000, applied live\n"
                          "memory_max_size = 10000\n"_s));
    QVERIFY(text.contains(u"default 100 MiB, needs a restart\ndisk_max_size = 100 MiB\n"_s));
    QVERIFY(text.contains(u"default 1, needs a restart\nhttp_retry_delay = 1\n"_s));
    const QStringList lines = text.split(u'\n');
    for (const QString &line : lines)
        QVERIFY2(line.size() <= 100, qPrintable(line));
    QVERIFY(text.contains(u"one of lru, lfu, fifo, ttl, adaptive (any case)"_s));
    QVERIFY(text.contains(u"symbols = BTCUSDT,ETHUSDT,SOLUSDT\n"_s));
    QVERIFY(text.contains(u"market_base_url =\n"_s));

    RuntimeConfig withAgent;
    AgentConfig a;
    a.id = u"mm1"_s;
    a.type = u"market_maker"_s;
    withAgent.agents.append(a);
    const QString agentText = QString::fromUtf8(withAgent.toIni());
    QVERIFY(agentText.contains(u"[agent.mm1]\n"_s));
    QVERIFY(agentText.contains(u"\ntype = market_maker\n"_s));
    QVERIFY(agentText.contains(u"\npriority = NORMAL\n"_s));
}

void TestRuntimeConfig::loadFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(u"opsdeck.ini"_s);
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("; mine\n[http]\nhttp_pool_size = 30\n[cache]\nmemory_max_size = -5\n");
    f.close();
    const Result<ConfigLoad> load = RuntimeConfig::load(path, true);
    QVERIFY(load.has_value());
    QCOMPARE(load->config.http.poolSize, 30);
    QCOMPARE(load->findings.size(), 1);
    QCOMPARE(formatFinding(load->findings.at(0), path),
             path
                 + u":5: [cache] memory_max_size = -5 is out of range: allowed 0..100000000 "
                   "entries"_s);
    // Loading never rewrites the file.
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(),
             QByteArray("; mine\n[http]\nhttp_pool_size = 30\n[cache]\nmemory_max_size = -5\n"));
}

void TestRuntimeConfig::missingFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(u"none.ini"_s);
    const Result<ConfigLoad> optional = RuntimeConfig::load(path);
    QVERIFY(optional.has_value());
    QVERIFY(optional->ok());
    QVERIFY(optional->config == RuntimeConfig());

    const Result<ConfigLoad> required = RuntimeConfig::load(path, true);
    QVERIFY(!required.has_value());
    QCOMPARE(required.error().code, u"config_not_found"_s);
    QVERIFY(required.error().message.contains(path));

    const Result<ConfigLoad> directory = RuntimeConfig::load(dir.path(), true);
    QVERIFY(!directory.has_value());
    QCOMPARE(directory.error().code, u"config_unreadable"_s);
}

void TestRuntimeConfig::findingJsonAndFormat()
{
    const ConfigLoad load = RuntimeConfig::fromText("[api]\n\napi_port = 70000\n"
                                                    "[cache]\nhttp_timout = 1\n");
    QCOMPARE(load.findings.size(), 2);
    const QJsonObject port = load.findings.at(0).toJson();
    QCOMPARE(port.value(u"section"_s).toString(), u"api"_s);
    QCOMPARE(port.value(u"key"_s).toString(), u"api_port"_s);
    QCOMPARE(port.value(u"value"_s).toString(), u"70000"_s);
    QCOMPARE(port.value(u"code"_s).toString(), u"out_of_range"_s);
    QCOMPARE(port.value(u"message"_s).toString(), load.findings.at(0).message);
    QCOMPARE(port.value(u"line"_s).toInt(), 3);
    QCOMPARE(port.value(u"min"_s).toDouble(), 0.0);
    QCOMPARE(port.value(u"max"_s).toDouble(), 65535.0);
    QVERIFY(port.value(u"allowed"_s).isArray());
    QVERIFY(!port.contains(u"suggestion"_s));

    const QJsonObject typo = load.findings.at(1).toJson();
    QCOMPARE(typo.value(u"code"_s).toString(), u"unknown_key"_s);
    QVERIFY(typo.value(u"min"_s).isNull());
    QVERIFY(typo.value(u"max"_s).isNull());
    QCOMPARE(typo.value(u"suggestion"_s).toString(), u"http_timeout"_s);
    QCOMPARE(typo.value(u"suggested_section"_s).toString(), u"http"_s);
    QVERIFY(typo.value(u"allowed"_s).toArray().contains(u"memory_max_size"_s));

    ConfigFinding noLine;
    noLine.message = u"m"_s;
    QCOMPARE(formatFinding(noLine, u"f.ini"_s), u"f.ini: m"_s);
    QCOMPARE(formatFinding(load.findings.at(0), QString()),
             u"line 3: "_s + load.findings.at(0).message);
}

void TestRuntimeConfig::liveAndRestartKeys()
{
    const QStringList live = RuntimeConfig::liveKeys();
    const QStringList restart = RuntimeConfig::restartRequiredKeys();
    for (const QString &key :
         {u"http_pool_size"_s, u"max_concurrent_tasks"_s, u"memory_max_size"_s,
          u"memory_max_bytes"_s, u"invalidation_strategy"_s, u"collection_interval"_s,
          u"cpu_usage"_s, u"memory_usage"_s, u"disk_usage"_s, u"cache_hit_rate_min"_s,
          u"http_error_rate_max"_s, u"response_time_max"_s}) {
        QVERIFY2(live.contains(key), qPrintable(key));
        QVERIFY2(!restart.contains(key), qPrintable(key));
    }
    for (const QString &key : {u"api_bind"_s, u"api_port"_s, u"disk_cache_enabled"_s,
                               u"disk_max_size"_s, u"market_base_url"_s}) {
        QVERIFY2(restart.contains(key), qPrintable(key));
        QVERIFY2(!live.contains(key), qPrintable(key));
    }
    QCOMPARE(live.size() + restart.size() + 5, RuntimeConfig::schema().size()); // 5 agent rows
}

void TestRuntimeConfig::changedKeys()
{
    const RuntimeConfig a;
    QVERIFY(a.changedKeys(a).isEmpty());
    QVERIFY(a.canApplyLive(a));

    RuntimeConfig b = a;
    b.http.poolSize = 40;
    b.cache.invalidationStrategy = u"lru"_s;
    QCOMPARE(a.changedKeys(b),
             QStringList({u"cache/invalidation_strategy"_s, u"http/http_pool_size"_s}));
    QVERIFY(a.canApplyLive(b));

    b.api.port = 9000;
    QVERIFY(a.changedKeys(b).contains(u"api/api_port"_s));
    QVERIFY(!a.canApplyLive(b));

    RuntimeConfig c = a;
    AgentConfig agent;
    agent.id = u"mm1"_s;
    agent.type = u"t"_s;
    c.agents.append(agent);
    QCOMPARE(a.changedKeys(c), QStringList{u"agent.mm1"_s});
    QCOMPARE(c.changedKeys(a), QStringList{u"agent.mm1"_s});
    QVERIFY(!a.canApplyLive(c));
    RuntimeConfig d = c;
    d.agents[0].interval = 9;
    QCOMPARE(c.changedKeys(d), QStringList{u"agent.mm1/interval"_s});
}

void TestRuntimeConfig::valueHelpers_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("size"); // -1 = rejected
    QTest::newRow("plain") << u"1048576"_s << qint64(1048576);
    QTest::newRow("KiB") << u"4KiB"_s << qint64(4096);
    QTest::newRow("MiB spaced") << u" 200 MiB "_s << qint64(209715200);
    QTest::newRow("GiB") << u"1GiB"_s << (qint64(1) << 30);
    QTest::newRow("TiB") << u"2 TiB"_s << (qint64(2) << 40);
    QTest::newRow("B") << u"12 B"_s << qint64(12);
    QTest::newRow("negative kept") << u"-5"_s << qint64(-5);
    QTest::newRow("K rejected") << u"4K"_s << qint64(-1);
    QTest::newRow("MB rejected") << u"200MB"_s << qint64(-1);
    QTest::newRow("G rejected") << u"1G"_s << qint64(-1);
    QTest::newRow("fraction bytes rejected") << u"1.5"_s << qint64(-1);
    QTest::newRow("empty rejected") << QString() << qint64(-1);
    QTest::newRow("words rejected") << u"big"_s << qint64(-1);
}

void TestRuntimeConfig::valueHelpers()
{
    QFETCH(QString, text);
    QFETCH(qint64, size);
    const std::optional<qint64> parsed = configvalue::parseSize(text);
    if (size == -1) {
        QVERIFY(!parsed.has_value());
    } else {
        QVERIFY(parsed.has_value());
        QCOMPARE(*parsed, size);
    }
}

void TestRuntimeConfig::formatHelpers()
{
    QCOMPARE(configvalue::formatSize(0), u"0"_s);
    QCOMPARE(configvalue::formatSize(1000), u"1000"_s);
    QCOMPARE(configvalue::formatSize(1024), u"1 KiB"_s);
    QCOMPARE(configvalue::formatSize(104857600), u"100 MiB"_s);
    QCOMPARE(configvalue::formatSize(qint64(16) << 40), u"16 TiB"_s);
    QCOMPARE(configvalue::formatNumber(1.2), u"1.2"_s);
    QCOMPARE(configvalue::formatNumber(604800), u"604800"_s);
    QCOMPARE(configvalue::formatNumber(0.05), u"0.05"_s);
    QCOMPARE(configvalue::formatNumber(-0.0), u"0"_s);
    QCOMPARE(configvalue::parseDuration(u"250ms"), 0.25);
    QCOMPARE(configvalue::parseDuration(u"2 s"), 2.0);
    QVERIFY(!configvalue::parseDuration(u"2 min"));
    QVERIFY(!configvalue::parseDuration(u"inf"));
    QCOMPARE(configvalue::parseBool(u" Yes "), true);
    QCOMPARE(configvalue::parseBool(u"0"), false);
    QVERIFY(!configvalue::parseBool(u"maybe"));
    QCOMPARE(configvalue::editDistance(u"http_timout", u"http_timeout"), 1);
    QCOMPARE(configvalue::editDistance(u"HTTP_TIMEOUT", u"http_timeout"), 0);
    QCOMPARE(configvalue::editDistance(u"", u"abc"), 3);
    QCOMPARE(configvalue::editDistance(u"kitten", u"sitting"), 3);
}

QTEST_GUILESS_MAIN(TestRuntimeConfig)
#include "tst_runtimeconfig.moc"

// RuntimeConfig: the one validated runtime configuration (opsdeck.ini), a plain value type.
// Load with RuntimeConfig::load(path) or fromText(); an empty result of findings() means valid.
//
// Every key is one row of a schema table (runtimeconfig.cpp) that drives parsing, validation,
// --dump-config (toIni) and the English messages; RuntimeConfig::schema() exposes the rows so
// the Settings dialog and ui/ translations can use key, type, range and allowed values.
// Units: durations are double seconds (the INI accepts an optional "s" or "ms" suffix), sizes are
// qint64 bytes (suffixes B, KiB, MiB, GiB, TiB), alert thresholds are percent, response time ms.
// Defaults are CONTRACTS.md's. Values that fail validation keep their default and produce a
// ConfigFinding; callers exit 2 (CLI) or refuse the change (Settings, SIGHUP) when any exist.
#pragma once

#include "core/support/result.h"
#include "core/support/taskpriority.h"

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QMap>
#include <QtCore/QStringList>

#include <optional>

namespace opsdeck {

class IniFile;

struct CacheConfig
{
    int memoryMaxSize = 10000; // entries; 0 disables the memory tier
    qint64 memoryMaxBytes = 0; // bytes; 0 = no byte budget
    bool diskCacheEnabled = true;
    qint64 diskMaxSize = 104857600;                            // bytes of payload (100 MiB)
    double defaultTtl = 300.0;                                 // seconds; 0 = no expiry
    QString invalidationStrategy = QStringLiteral("adaptive"); // lru lfu fifo ttl adaptive

    bool operator==(const CacheConfig &) const = default;
};

struct HttpConfig
{
    int poolSize = 20;       // http_pool_size: requests in flight at once
    double timeout = 30.0;   // http_timeout: seconds, total deadline per attempt
    int retryCount = 3;      // http_retry_count
    double retryDelay = 1.0; // http_retry_delay: seconds

    bool operator==(const HttpConfig &) const = default;
};

struct ExecConfig
{
    int maxConcurrentTasks = 10;
    double taskTimeoutMultiplier = 1.2;
    int reservedCriticalSlots = 1; // inside maxConcurrentTasks; always < maxConcurrentTasks
    double agingInterval = 5.0;    // seconds per priority level of aging

    bool operator==(const ExecConfig &) const = default;
};

// Alert thresholds, in the old system's units (percent, ms).
struct AlertThresholds
{
    double cpuUsage = 80.0;          // percent, alert above
    double memoryUsage = 80.0;       // percent, alert above
    double diskUsage = 80.0;         // percent, alert above
    double cacheHitRateMin = 50.0;   // percent, alert below
    double httpErrorRateMax = 5.0;   // percent, alert above
    double responseTimeMax = 1000.0; // milliseconds, alert above
    // Alert engine knobs (AlertEngine::defaultRules).
    double alertFor = 30.0;        // seconds a condition must hold before its alert fires
    double alertHysteresis = 10.0; // percent OF THE THRESHOLD: a firing alert clears only past it
    int cacheMinLookups = 10;      // hit-rate rules need this many lookups in the interval
    int queuedTasksMax = 100;      // alert above this many queued tasks

    bool operator==(const AlertThresholds &) const = default;
};

struct MonitorConfig
{
    double collectionInterval = 1.0;             // seconds
    double memoryRetention = 3600.0;             // seconds of raw samples kept in memory
    double historyRawRetention = 86400.0;        // seconds of raw samples kept in SQLite
    double historyAggregateRetention = 604800.0; // seconds of 1-minute aggregates in SQLite
    AlertThresholds thresholds;

    bool operator==(const MonitorConfig &) const = default;
};

struct ApiConfig
{
    QString bind = QStringLiteral("127.0.0.1"); // api_bind: an IP address
    int port = 8765;                            // api_port: 0 = any free port
    QString auth = QStringLiteral("on");        // "on" or "off"
    qint64 maxHeaderBytes = 16384;
    qint64 maxBodyBytes = 1048576;
    double idleTimeout = 30.0; // seconds
    int maxConnections = 64;
    QStringList allowedHosts; // extra Host names, lower-case, besides 127.0.0.1/localhost/[::1]
    // Security (issue 7): a non-loopback bind needs auth on and TLS, or allow_plain_http.
    bool allowPlainHttp = false; // allow_plain_http
    QString tlsCert;             // tls_cert: PEM file; relative to the config file's directory
    QString tlsKey;              // tls_key: unencrypted PEM private key; both or neither
    QStringList corsOrigins;     // cors_origins: exact "scheme://host[:port]"; empty = no CORS

    bool authEnabled() const { return auth == u"on"; }
    bool tlsEnabled() const { return !tlsCert.isEmpty() && !tlsKey.isEmpty(); }
    bool operator==(const ApiConfig &) const = default;
};

struct MarketConfig
{
    QString baseUrl; // market_base_url: empty = embedded simulator, else an http(s) URL
    qint64 seed = 42;
    QStringList symbols{QStringLiteral("BTCUSDT"), QStringLiteral("ETHUSDT"),
                        QStringLiteral("SOLUSDT")};
    // Faults the embedded simulator injects (also changeable through its /control/faults).
    double latency = 0.0;                      // seconds added to every answer
    double jitter = 0.0;                       // plus uniform 0..jitter seconds
    double errorRate = 0.0;                    // 0..1: answered 500/503 instead
    QString errorStatus = QStringLiteral("any"); // "any", "500" or "503"
    double stall = 0.0;                        // seconds of silence ...
    double stallEvery = 0.0;                   // ... every this many seconds (0: off)
    int weightLimit = 6000;                    // request weight per window, then 429
    double weightWindow = 60.0;                // seconds
    // How long the agents' market data stays in the cache (seconds; the tuning guide's values).
    double orderBookTtl = 30.0;
    double recentTradesTtl = 300.0;
    double klinesTtl = 3600.0;

    bool operator==(const MarketConfig &) const = default;
};

// One [agent.<id>] section.
struct AgentConfig
{
    QString id;            // from the section name: letters, digits, '_', '-'
    QString type;          // required
    double interval = 5.0; // seconds
    TaskPriority priority = TaskPriority::Normal;
    bool enabled = true;
    QString symbol = QStringLiteral("BTCUSDT");
    // The agent type's own keys (spread_bps, fast_period, ...), as written; the agent registry
    // checks them against the type (unknown key or bad value: a finding naming agent and key).
    QMap<QString, QString> options;

    bool operator==(const AgentConfig &) const = default;
};

enum class ConfigType {
    Int,
    Size,
    Duration,
    Double,
    Bool,
    String,
    Enum,
    Url,
    Address,
    List,
    Priority
};

// One row of the schema, as the outside sees it.
struct ConfigKeySpec
{
    QString section = {}; // "cache", "http", ...; "agent" stands for every [agent.<id>]
    QString key = {};
    ConfigType type = ConfigType::String;
    QString defaultValue = {}; // as written in the INI
    std::optional<double> min = {};
    std::optional<double> max = {};
    bool minExclusive = false; // "more than min" rather than "at least min"
    QStringList allowed = {};  // Enum words, Priority names
    QString unit = {};         // "entries", "bytes", "seconds", "ms", "percent" or empty
    QString help = {};         // one English sentence or two
    bool live = false;         // can be applied to a running system without a restart
    bool required = false;     // must be present in its section (agent "type")
};

struct ConfigFinding
{
    QString section; // "cache", "agent.mm1", ... (empty for file-level syntax findings)
    QString key;
    QString value;
    // "unknown_key", "unknown_section", "out_of_range", "invalid_value", "not_allowed",
    // "syntax", "duplicate_key", "missing_key"
    QString code;
    QString message; // complete English sentence, without the "file:line:" prefix
    int line = 0;    // 1-based, 0 if not tied to a line
    std::optional<double> min;
    std::optional<double> max;
    QStringList allowed;      // allowed values, or the known keys/sections for unknown_*
    QString suggestion;       // did-you-mean key or section name, if any
    QString suggestedSection; // where `suggestion` (or this key) belongs, if another section

    // {"section","key","value","code","message","line","min","max","allowed"} plus
    // "suggestion"/"suggested_section" when set; min/max are null when not applicable.
    QJsonObject toJson() const;
    bool operator==(const ConfigFinding &) const = default;
};

// "opsdeck.ini:12: [cache] memory_max_size = -5 is out of range: allowed 0..100000000 entries"
// (no ":line" when the finding has none; no file prefix when fileName is empty).
QString formatFinding(const ConfigFinding &finding, const QString &fileName);

struct ConfigLoad;

struct RuntimeConfig
{
    CacheConfig cache;
    HttpConfig http;
    ExecConfig exec;
    MonitorConfig monitor;
    ApiConfig api;
    MarketConfig market;
    QList<AgentConfig> agents; // file order

    // Reads a file (IniFile::read rules: a missing file gives the defaults unless mustExist).
    // I/O problems are the error; content problems are findings of the ConfigLoad.
    static Result<ConfigLoad> load(const QString &path, bool mustExist = false);
    static ConfigLoad fromText(const QByteArray &text);
    static ConfigLoad fromIni(const IniFile &ini);

    // The whole configuration as a commented INI (--dump-config): every key with its current
    // value, its help text, type, range and default. fromText(toIni()) == *this, no findings.
    QByteArray toIni() const;
    IniFile toIniFile() const;

    const AgentConfig *agent(QStringView id) const;

    static const QList<ConfigKeySpec> &schema();
    static const ConfigKeySpec *keySpec(QStringView section, QStringView key);
    // Keys of the fixed sections whose change needs a restart (row flag live == false).
    static QStringList restartRequiredKeys();
    static QStringList liveKeys();
    // "section/key" for every value that differs ("agent.mm1/interval"), and "agent.<id>" for
    // an agent present in only one of the two. For SIGHUP reload and the Settings dialog.
    QStringList changedKeys(const RuntimeConfig &other) const;
    // Whether every change between the two can be applied live.
    bool canApplyLive(const RuntimeConfig &other) const;

    bool operator==(const RuntimeConfig &) const = default;
};

struct ConfigLoad
{
    RuntimeConfig config;          // defaults where a value was missing or rejected
    QList<ConfigFinding> findings; // sorted by line
    bool ok() const { return findings.isEmpty(); }
};

// Value parsers the schema uses, also for command-line options. They parse syntax only (a
// negative number is returned as such); range checks are the caller's.
namespace configvalue {
// "1048576", "200 MiB", "200MiB", "1.5 GiB", "512 B", "4KiB": bytes. No K/M/G/KB/MB.
std::optional<qint64> parseSize(QStringView text);
// "30", "1.5", "1.5s", "250 ms": seconds.
std::optional<double> parseDuration(QStringView text);
// true/false, yes/no, on/off, 1/0, any case.
std::optional<bool> parseBool(QStringView text);
// 104857600 -> "100 MiB", 1000 -> "1000" (exact IEC multiples only).
QString formatSize(qint64 bytes);
// Shortest round-trip decimal, no exponent: 1.2 -> "1.2", 604800 -> "604800".
QString formatNumber(double value);
// Levenshtein distance, case-insensitive.
int editDistance(QStringView a, QStringView b);
} // namespace configvalue

} // namespace opsdeck

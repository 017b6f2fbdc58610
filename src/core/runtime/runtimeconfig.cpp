#include "core/runtime/runtimeconfig.h"

#include "core/agents/agentregistry.h"
#include "core/runtime/inifile.h"
#include "core/support/logging.h"

#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QLocale>
#include <QtCore/QRegularExpression>
#include <QtCore/QUrl>
#include <QtNetwork/QHostAddress>

#include <algorithm>
#include <cmath>
#include <limits>
#include <variant>

namespace opsdeck {

using namespace Qt::StringLiterals;

namespace {

// ---------------------------------------------------------------------------------------------
// The schema table. A new key is one row here plus its field in runtimeconfig.h.

using FieldRef
    = std::variant<int *, qint64 *, double *, bool *, QString *, QStringList *, TaskPriority *>;
// Where a row's value lives: in the config (fixed sections) or in the agent being parsed.
using Access = FieldRef (*)(RuntimeConfig &config, AgentConfig &agent);
// Extra validation and normalisation of a String value or of each List item: returns the
// complaint ("is not ...") or an empty string, and may rewrite the value (e.g. lower-case).
using Check = QString (*)(QString &value);

struct Row
{
    ConfigKeySpec spec = {};
    Access access = nullptr;
    Check check = nullptr;
    bool nonEmpty = false; // String/List: the empty value is invalid
};

// clang-format off
#define OPSDECK_FIELD(p) [](RuntimeConfig &c, AgentConfig &) -> FieldRef { return &c.p; }
#define OPSDECK_AGENT_FIELD(p) [](RuntimeConfig &, AgentConfig &a) -> FieldRef { return &a.p; }
// clang-format on

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;
constexpr double kGiB = 1024.0 * kMiB;
constexpr double kTiB = 1024.0 * kGiB;
constexpr double kDay = 86400.0;

constexpr QStringView kAgentKind = u"agent";
constexpr QStringView kAgentPrefix = u"agent.";

QString checkSymbol(QString &value)
{
    static const QRegularExpression re(u"^[A-Z0-9][A-Z0-9._-]{0,31}$"_s);
    if (re.match(value).hasMatch())
        return {};
    if (re.match(value.toUpper()).hasMatch())
        return u"is not an upper-case symbol (write '%1')"_s.arg(value.toUpper());
    return u"is not a symbol: use upper-case letters, digits, '.', '_' or '-', e.g. BTCUSDT"_s;
}

QString checkHostName(QString &value)
{
    static const QRegularExpression re(
        u"^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$"_s);
    if (!re.match(value).hasMatch())
        return u"is not a host name (letters, digits, '-' and '.', e.g. opsdeck.local)"_s;
    value = value.toLower();
    return {};
}

// An exact web origin: scheme://host[:port], lower-case scheme and host, no path, never "*".
QString checkOrigin(QString &value)
{
    static const QRegularExpression re(
        u"^(https?)://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)(:[0-9]{1,5})?$"_s);
    if (value == u"*")
        return u"is not allowed: list exact origins (a wildcard would let every web page use the "
               "API key)"_s;
    // Browsers send origins in lower case; compare them that way.
    if (!re.match(value.toLower()).hasMatch())
        return u"is not a web origin (scheme://host[:port], no path, e.g. "
               "https://ops.example:8443)"_s;
    value = value.toLower();
    return {};
}

QString checkNotBlank(QString &value)
{
    if (value.trimmed().isEmpty())
        return u"is empty"_s;
    return {};
}

// One row per key reads better as a table than clang-format's one field per line.
// clang-format off
const QList<Row> &rows()
{
    static const QList<Row> table{
        // [cache]
        {.spec = {.section = u"cache"_s, .key = u"memory_max_size"_s, .type = ConfigType::Int,
                  .defaultValue = u"10000"_s, .min = 0, .max = 100'000'000,
                  .unit = u"entries"_s,
                  .help = u"Maximum number of entries in the memory tier; 0 disables the memory "
                          "tier."_s,
                  .live = true},
         .access = OPSDECK_FIELD(cache.memoryMaxSize)},
        {.spec = {.section = u"cache"_s, .key = u"memory_max_bytes"_s, .type = ConfigType::Size,
                  .defaultValue = u"0"_s, .min = 0, .max = kTiB, .unit = u"bytes"_s,
                  .help = u"Byte budget of the memory tier (payload bytes); 0 = no byte "
                          "budget."_s,
                  .live = true},
         .access = OPSDECK_FIELD(cache.memoryMaxBytes)},
        {.spec = {.section = u"cache"_s, .key = u"disk_cache_enabled"_s,
                  .type = ConfigType::Bool, .defaultValue = u"true"_s,
                  .help = u"Whether the disk tier (cache.db in the data directory) is used."_s},
         .access = OPSDECK_FIELD(cache.diskCacheEnabled)},
        {.spec = {.section = u"cache"_s, .key = u"disk_max_size"_s, .type = ConfigType::Size,
                  .defaultValue = u"104857600"_s, .min = 1, .max = 16 * kTiB,
                  .unit = u"bytes"_s,
                  .help = u"Byte budget of the disk tier, counted in payload bytes; to turn the "
                          "disk tier off use disk_cache_enabled = false."_s},
         .access = OPSDECK_FIELD(cache.diskMaxSize)},
        {.spec = {.section = u"cache"_s, .key = u"default_ttl"_s, .type = ConfigType::Duration,
                  .defaultValue = u"300"_s, .min = 0, .max = 365 * kDay, .unit = u"seconds"_s,
                  .help = u"Time to live of entries stored without an explicit TTL; 0 = no "
                          "expiry."_s},
         .access = OPSDECK_FIELD(cache.defaultTtl)},
        {.spec = {.section = u"cache"_s, .key = u"invalidation_strategy"_s,
                  .type = ConfigType::Enum, .defaultValue = u"adaptive"_s,
                  .allowed = {u"lru"_s, u"lfu"_s, u"fifo"_s, u"ttl"_s, u"adaptive"_s},
                  .help = u"Eviction policy of the memory tier: least recently used, least "
                          "frequently used, first in first out, soonest to expire, or "
                          "adaptive."_s,
                  .live = true},
         .access = OPSDECK_FIELD(cache.invalidationStrategy)},

        // [http]
        {.spec = {.section = u"http"_s, .key = u"http_pool_size"_s, .type = ConfigType::Int,
                  .defaultValue = u"20"_s, .min = 1, .max = 1000,
                  .help = u"HTTP requests in flight at once."_s, .live = true},
         .access = OPSDECK_FIELD(http.poolSize)},
        {.spec = {.section = u"http"_s, .key = u"http_timeout"_s, .type = ConfigType::Duration,
                  .defaultValue = u"30"_s, .min = 0, .max = 3600, .minExclusive = true,
                  .unit = u"seconds"_s, .help = u"Total deadline of one HTTP attempt."_s},
         .access = OPSDECK_FIELD(http.timeout)},
        {.spec = {.section = u"http"_s, .key = u"http_retry_count"_s, .type = ConfigType::Int,
                  .defaultValue = u"3"_s, .min = 0, .max = 20,
                  .help = u"Retries after a failed attempt (timeouts, 429, 5xx; never POST)."_s},
         .access = OPSDECK_FIELD(http.retryCount)},
        {.spec = {.section = u"http"_s, .key = u"http_retry_delay"_s,
                  .type = ConfigType::Duration, .defaultValue = u"1.0"_s, .min = 0, .max = 60,
                  .unit = u"seconds"_s,
                  .help = u"Base delay before the first retry (exponential backoff with "
                          "jitter)."_s},
         .access = OPSDECK_FIELD(http.retryDelay)},

        // [exec]
        {.spec = {.section = u"exec"_s, .key = u"max_concurrent_tasks"_s,
                  .type = ConfigType::Int, .defaultValue = u"10"_s, .min = 1, .max = 1024,
                  .help = u"Tasks running at once (the engine's own thread pool size)."_s,
                  .live = true},
         .access = OPSDECK_FIELD(exec.maxConcurrentTasks)},
        {.spec = {.section = u"exec"_s, .key = u"task_timeout_multiplier"_s,
                  .type = ConfigType::Double, .defaultValue = u"1.2"_s, .min = 0.1, .max = 100,
                  .help = u"Effective task timeout = the task's timeout x this factor."_s,
                  .live = true},
         .access = OPSDECK_FIELD(exec.taskTimeoutMultiplier)},
        {.spec = {.section = u"exec"_s, .key = u"reserved_critical_slots"_s,
                  .type = ConfigType::Int, .defaultValue = u"1"_s, .min = 0, .max = 1023,
                  .help = u"Slots of max_concurrent_tasks kept for CRITICAL tasks; must be less "
                          "than max_concurrent_tasks."_s,
                  .live = true},
         .access = OPSDECK_FIELD(exec.reservedCriticalSlots)},
        {.spec = {.section = u"exec"_s, .key = u"aging_interval"_s,
                  .type = ConfigType::Duration, .defaultValue = u"5"_s, .min = 0, .max = 3600,
                  .minExclusive = true, .unit = u"seconds"_s,
                  .help = u"A waiting task moves up one priority level per interval."_s,
                  .live = true},
         .access = OPSDECK_FIELD(exec.agingInterval)},

        // [monitor]
        {.spec = {.section = u"monitor"_s, .key = u"collection_interval"_s,
                  .type = ConfigType::Duration, .defaultValue = u"1"_s, .min = 0.05,
                  .max = 3600, .unit = u"seconds"_s,
                  .help = u"Interval between metric samples."_s, .live = true},
         .access = OPSDECK_FIELD(monitor.collectionInterval)},
        {.spec = {.section = u"monitor"_s, .key = u"memory_retention"_s,
                  .type = ConfigType::Duration, .defaultValue = u"3600"_s, .min = 0,
                  .max = 7 * kDay, .minExclusive = true, .unit = u"seconds"_s,
                  .help = u"Raw samples kept in memory."_s},
         .access = OPSDECK_FIELD(monitor.memoryRetention)},
        {.spec = {.section = u"monitor"_s, .key = u"history_raw_retention"_s,
                  .type = ConfigType::Duration, .defaultValue = u"86400"_s, .min = 0,
                  .max = 30 * kDay, .unit = u"seconds"_s,
                  .help = u"Raw samples kept in history.db; 0 keeps none."_s},
         .access = OPSDECK_FIELD(monitor.historyRawRetention)},
        {.spec = {.section = u"monitor"_s, .key = u"history_aggregate_retention"_s,
                  .type = ConfigType::Duration, .defaultValue = u"604800"_s, .min = 0,
                  .max = 365 * kDay, .unit = u"seconds"_s,
                  .help = u"1-minute min/mean/max aggregates kept in history.db; 0 keeps "
                          "none."_s},
         .access = OPSDECK_FIELD(monitor.historyAggregateRetention)},
        {.spec = {.section = u"monitor"_s, .key = u"cpu_usage"_s, .type = ConfigType::Double,
                  .defaultValue = u"80"_s, .min = 0, .max = 100, .unit = u"percent"_s,
                  .help = u"Alert when process or system CPU usage is above this."_s,
                  .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.cpuUsage)},
        {.spec = {.section = u"monitor"_s, .key = u"memory_usage"_s, .type = ConfigType::Double,
                  .defaultValue = u"80"_s, .min = 0, .max = 100, .unit = u"percent"_s,
                  .help = u"Alert when process or system memory usage is above this."_s,
                  .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.memoryUsage)},
        {.spec = {.section = u"monitor"_s, .key = u"disk_usage"_s, .type = ConfigType::Double,
                  .defaultValue = u"80"_s, .min = 0, .max = 100, .unit = u"percent"_s,
                  .help = u"Alert when disk usage is above this."_s, .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.diskUsage)},
        {.spec = {.section = u"monitor"_s, .key = u"cache_hit_rate_min"_s,
                  .type = ConfigType::Double, .defaultValue = u"50"_s, .min = 0, .max = 100,
                  .unit = u"percent"_s,
                  .help = u"Alert when a cache hit rate is below this."_s, .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.cacheHitRateMin)},
        {.spec = {.section = u"monitor"_s, .key = u"http_error_rate_max"_s,
                  .type = ConfigType::Double, .defaultValue = u"5"_s, .min = 0, .max = 100,
                  .unit = u"percent"_s,
                  .help = u"Alert when the HTTP error rate is above this."_s, .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.httpErrorRateMax)},
        {.spec = {.section = u"monitor"_s, .key = u"response_time_max"_s,
                  .type = ConfigType::Double, .defaultValue = u"1000"_s, .min = 0,
                  .max = 3'600'000, .minExclusive = true, .unit = u"ms"_s,
                  .help = u"Alert when the response time is above this."_s, .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.responseTimeMax)},
        {.spec = {.section = u"monitor"_s, .key = u"alert_for"_s, .type = ConfigType::Duration,
                  .defaultValue = u"30"_s, .min = 0, .max = kDay, .unit = u"seconds"_s,
                  .help = u"How long a threshold condition must hold before its alert fires; "
                          "0 fires on the first bad sample."_s,
                  .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.alertFor)},
        {.spec = {.section = u"monitor"_s, .key = u"alert_hysteresis"_s,
                  .type = ConfigType::Double, .defaultValue = u"10"_s, .min = 0, .max = 100,
                  .unit = u"percent"_s,
                  .help = u"A firing threshold alert resolves only when the value is back past "
                          "the threshold by this percentage of the threshold."_s,
                  .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.alertHysteresis)},
        {.spec = {.section = u"monitor"_s, .key = u"cache_min_lookups"_s,
                  .type = ConfigType::Int, .defaultValue = u"10"_s, .min = 1,
                  .max = 1'000'000'000,
                  .help = u"Cache hit-rate alerts are evaluated only over intervals with at "
                          "least this many lookups (an idle cache raises none)."_s,
                  .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.cacheMinLookups)},
        {.spec = {.section = u"monitor"_s, .key = u"queued_tasks_max"_s,
                  .type = ConfigType::Int, .defaultValue = u"100"_s, .min = 0,
                  .max = 1'000'000'000,
                  .help = u"Alert when more tasks than this wait in the execution engine's "
                          "queue."_s,
                  .live = true},
         .access = OPSDECK_FIELD(monitor.thresholds.queuedTasksMax)},

        // [api]
        {.spec = {.section = u"api"_s, .key = u"api_bind"_s, .type = ConfigType::Address,
                  .defaultValue = u"127.0.0.1"_s,
                  .help = u"IP address the monitoring API listens on (0.0.0.0 or :: for every "
                          "interface)."_s},
         .access = OPSDECK_FIELD(api.bind)},
        {.spec = {.section = u"api"_s, .key = u"api_port"_s, .type = ConfigType::Int,
                  .defaultValue = u"8765"_s, .min = 0, .max = 65535,
                  .help = u"TCP port of the monitoring API; 0 = any free port."_s},
         .access = OPSDECK_FIELD(api.port)},
        {.spec = {.section = u"api"_s, .key = u"auth"_s, .type = ConfigType::Enum,
                  .defaultValue = u"on"_s, .allowed = {u"on"_s, u"off"_s},
                  .help = u"Whether API routes other than /health need the API key."_s},
         .access = OPSDECK_FIELD(api.auth)},
        {.spec = {.section = u"api"_s, .key = u"max_header_bytes"_s, .type = ConfigType::Size,
                  .defaultValue = u"16384"_s, .min = 1024, .max = 1048576, .unit = u"bytes"_s,
                  .help = u"Larger request headers are answered 431 and the connection is "
                          "closed."_s},
         .access = OPSDECK_FIELD(api.maxHeaderBytes)},
        {.spec = {.section = u"api"_s, .key = u"max_body_bytes"_s, .type = ConfigType::Size,
                  .defaultValue = u"1048576"_s, .min = 0, .max = 67108864, .unit = u"bytes"_s,
                  .help = u"Larger request bodies are answered 413 and the connection is "
                          "closed."_s},
         .access = OPSDECK_FIELD(api.maxBodyBytes)},
        {.spec = {.section = u"api"_s, .key = u"idle_timeout"_s, .type = ConfigType::Duration,
                  .defaultValue = u"30"_s, .min = 0, .max = 3600, .minExclusive = true,
                  .unit = u"seconds"_s,
                  .help = u"Idle or slow connections are closed after this long."_s},
         .access = OPSDECK_FIELD(api.idleTimeout)},
        {.spec = {.section = u"api"_s, .key = u"max_connections"_s, .type = ConfigType::Int,
                  .defaultValue = u"64"_s, .min = 1, .max = 10000,
                  .help = u"Open API connections at once; more are refused."_s},
         .access = OPSDECK_FIELD(api.maxConnections)},
        {.spec = {.section = u"api"_s, .key = u"allowed_hosts"_s, .type = ConfigType::List,
                  .defaultValue = QString(),
                  .help = u"Comma-separated Host names accepted besides 127.0.0.1, localhost "
                          "and [::1]."_s},
         .access = OPSDECK_FIELD(api.allowedHosts),
         .check = &checkHostName},
        {.spec = {.section = u"api"_s, .key = u"allow_plain_http"_s, .type = ConfigType::Bool,
                  .defaultValue = u"false"_s,
                  .help = u"Allow a non-loopback api_bind without TLS (the API key then crosses "
                          "the network unencrypted)."_s},
         .access = OPSDECK_FIELD(api.allowPlainHttp)},
        {.spec = {.section = u"api"_s, .key = u"tls_cert"_s, .type = ConfigType::String,
                  .defaultValue = QString(),
                  .help = u"PEM certificate file (chain, leaf first) for HTTPS, relative to the "
                          "config file's directory; set together with tls_key. Empty = HTTP."_s},
         .access = OPSDECK_FIELD(api.tlsCert)},
        {.spec = {.section = u"api"_s, .key = u"tls_key"_s, .type = ConfigType::String,
                  .defaultValue = QString(),
                  .help = u"Unencrypted PEM private key file of tls_cert."_s},
         .access = OPSDECK_FIELD(api.tlsKey)},
        {.spec = {.section = u"api"_s, .key = u"cors_origins"_s, .type = ConfigType::List,
                  .defaultValue = QString(),
                  .help = u"Comma-separated web origins (scheme://host[:port]) allowed to call the "
                          "API from a browser; empty = no CORS, and requests from web pages are "
                          "refused."_s},
         .access = OPSDECK_FIELD(api.corsOrigins),
         .check = &checkOrigin},

        // [market]
        {.spec = {.section = u"market"_s, .key = u"market_base_url"_s, .type = ConfigType::Url,
                  .defaultValue = QString(),
                  .help = u"Base URL of the exchange API; empty = the embedded market "
                          "simulator."_s},
         .access = OPSDECK_FIELD(market.baseUrl)},
        {.spec = {.section = u"market"_s, .key = u"seed"_s, .type = ConfigType::Int,
                  .defaultValue = u"42"_s,
                  .help = u"Random seed of the embedded market simulator."_s},
         .access = OPSDECK_FIELD(market.seed)},
        {.spec = {.section = u"market"_s, .key = u"symbols"_s, .type = ConfigType::List,
                  .defaultValue = u"BTCUSDT,ETHUSDT,SOLUSDT"_s,
                  .help = u"Comma-separated upper-case symbols the market serves."_s},
         .access = OPSDECK_FIELD(market.symbols),
         .check = &checkSymbol,
         .nonEmpty = true},
        {.spec = {.section = u"market"_s, .key = u"latency"_s, .type = ConfigType::Duration,
                  .defaultValue = u"0"_s, .min = 0, .max = 60, .unit = u"seconds"_s,
                  .help = u"Delay the embedded simulator adds to every answer."_s,
                  .live = true},
         .access = OPSDECK_FIELD(market.latency)},
        {.spec = {.section = u"market"_s, .key = u"jitter"_s, .type = ConfigType::Duration,
                  .defaultValue = u"0"_s, .min = 0, .max = 60, .unit = u"seconds"_s,
                  .help = u"Extra random delay, uniform from 0 to this, per answer."_s,
                  .live = true},
         .access = OPSDECK_FIELD(market.jitter)},
        {.spec = {.section = u"market"_s, .key = u"error_rate"_s, .type = ConfigType::Double,
                  .defaultValue = u"0"_s, .min = 0, .max = 1,
                  .help = u"Fraction of requests the simulator answers with a server error."_s,
                  .live = true},
         .access = OPSDECK_FIELD(market.errorRate)},
        {.spec = {.section = u"market"_s, .key = u"error_status"_s, .type = ConfigType::Enum,
                  .defaultValue = u"any"_s, .allowed = {u"any"_s, u"500"_s, u"503"_s},
                  .help = u"Status of the injected errors: 500, 503, or either."_s,
                  .live = true},
         .access = OPSDECK_FIELD(market.errorStatus)},
        {.spec = {.section = u"market"_s, .key = u"stall"_s, .type = ConfigType::Duration,
                  .defaultValue = u"0"_s, .min = 0, .max = 60, .unit = u"seconds"_s,
                  .help = u"The simulator answers nothing for this long (less than "
                          "stall_every) ..."_s, .live = true},
         .access = OPSDECK_FIELD(market.stall)},
        {.spec = {.section = u"market"_s, .key = u"stall_every"_s, .type = ConfigType::Duration,
                  .defaultValue = u"0"_s, .min = 0, .max = 3600, .unit = u"seconds"_s,
                  .help = u"... once in every period of this length (0: never)."_s,
                  .live = true},
         .access = OPSDECK_FIELD(market.stallEvery)},
        {.spec = {.section = u"market"_s, .key = u"weight_limit"_s, .type = ConfigType::Int,
                  .defaultValue = u"6000"_s, .min = 1, .max = 10'000'000,
                  .help = u"Request weight the simulator allows per window before it answers "
                          "429 with Retry-After."_s,
                  .live = true},
         .access = OPSDECK_FIELD(market.weightLimit)},
        {.spec = {.section = u"market"_s, .key = u"weight_window"_s, .type = ConfigType::Duration,
                  .defaultValue = u"60"_s, .min = 1, .max = 3600, .unit = u"seconds"_s,
                  .help = u"Length of the simulator's request-weight window."_s, .live = true},
         .access = OPSDECK_FIELD(market.weightWindow)},
        {.spec = {.section = u"market"_s, .key = u"order_book_ttl"_s, .type = ConfigType::Duration,
                  .defaultValue = u"30"_s, .min = 0, .max = 86400, .unit = u"seconds"_s,
                  .help = u"How long the agents' order books stay in the cache (0: no "
                          "expiry)."_s},
         .access = OPSDECK_FIELD(market.orderBookTtl)},
        {.spec = {.section = u"market"_s, .key = u"recent_trades_ttl"_s,
                  .type = ConfigType::Duration, .defaultValue = u"300"_s, .min = 0,
                  .max = 86400, .unit = u"seconds"_s,
                  .help = u"How long recent trades stay in the cache (0: no expiry)."_s},
         .access = OPSDECK_FIELD(market.recentTradesTtl)},
        {.spec = {.section = u"market"_s, .key = u"klines_ttl"_s, .type = ConfigType::Duration,
                  .defaultValue = u"3600"_s, .min = 0, .max = 7 * kDay, .unit = u"seconds"_s,
                  .help = u"How long historical candles stay in the cache (0: no expiry)."_s},
         .access = OPSDECK_FIELD(market.klinesTtl)},

        // [agent.<id>]
        {.spec = {.section = u"agent"_s, .key = u"type"_s, .type = ConfigType::String,
                  .help = u"The kind of agent (required)."_s, .required = true},
         .access = OPSDECK_AGENT_FIELD(type),
         .check = &checkNotBlank,
         .nonEmpty = true},
        {.spec = {.section = u"agent"_s, .key = u"interval"_s, .type = ConfigType::Duration,
                  .defaultValue = u"5"_s, .min = 0, .max = kDay, .unit = u"seconds"_s,
                  .help = u"Base interval between the agent's cycles (the adaptive scheduler "
                          "adjusts it); 0 runs them back to back."_s},
         .access = OPSDECK_AGENT_FIELD(interval)},
        {.spec = {.section = u"agent"_s, .key = u"priority"_s, .type = ConfigType::Priority,
                  .defaultValue = u"NORMAL"_s,
                  .allowed = {u"CRITICAL"_s, u"HIGH"_s, u"NORMAL"_s, u"LOW"_s, u"IDLE"_s},
                  .help = u"Priority of the agent's cycles (or the number 0..4)."_s},
         .access = OPSDECK_AGENT_FIELD(priority)},
        {.spec = {.section = u"agent"_s, .key = u"enabled"_s, .type = ConfigType::Bool,
                  .defaultValue = u"true"_s, .help = u"Whether the agent is started."_s},
         .access = OPSDECK_AGENT_FIELD(enabled)},
        {.spec = {.section = u"agent"_s, .key = u"symbol"_s, .type = ConfigType::String,
                  .defaultValue = u"BTCUSDT"_s, .help = u"The symbol the agent trades."_s},
         .access = OPSDECK_AGENT_FIELD(symbol),
         .check = &checkSymbol,
         .nonEmpty = true},
    };
    return table;
}
// clang-format on

#undef OPSDECK_FIELD
#undef OPSDECK_AGENT_FIELD

struct SectionInfo
{
    QString name;
    QString help;
};

const QList<SectionInfo> &fixedSections()
{
    static const QList<SectionInfo> sections{
        {u"cache"_s, u"Cache: the memory and disk tiers."_s},
        {u"http"_s, u"HTTP pool: outgoing requests to market APIs."_s},
        {u"exec"_s, u"Execution engine: task concurrency, timeouts and priority aging."_s},
        {u"monitor"_s,
         u"Performance monitor: sampling, retention and alert thresholds (percent, ms)."_s},
        {u"api"_s, u"Monitoring API (HTTP)."_s},
        {u"market"_s, u"Market data source."_s},
    };
    return sections;
}

bool isFixedSection(QStringView name)
{
    for (const SectionInfo &s : fixedSections()) {
        if (s.name == name)
            return true;
    }
    return false;
}

// "agent" for every [agent.<id>], the name itself for fixed sections.
QString sectionKind(const QString &section)
{
    return section.startsWith(kAgentPrefix) ? kAgentKind.toString() : section;
}

QString displaySection(QStringView kind)
{
    return kind == kAgentKind ? u"[agent.<id>]"_s : u'[' + kind + u']';
}

const Row *findRow(QStringView kind, QStringView key)
{
    for (const Row &r : rows()) {
        if (r.spec.section == kind && r.spec.key == key)
            return &r;
    }
    return nullptr;
}

QStringList keysOf(QStringView kind)
{
    QStringList keys;
    for (const Row &r : rows()) {
        if (r.spec.section == kind)
            keys.append(r.spec.key);
    }
    return keys;
}

template<typename T> T *target(FieldRef ref)
{
    T **p = std::get_if<T *>(&ref);
    Q_ASSERT_X(p, "RuntimeConfig", "schema row type does not match its field");
    return p ? *p : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Value syntax

enum class Parse { Ok, Invalid, Overflow, BadSuffix, NotWhole };

const QRegularExpression &numberRe()
{
    static const QRegularExpression re(
        u"^([+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\\s*([A-Za-z]*)$"_s);
    return re;
}

Parse parseInt(const QString &text, qint64 &out)
{
    static const QRegularExpression re(u"^[+-]?[0-9]+$"_s);
    if (!re.match(text).hasMatch())
        return Parse::Invalid;
    bool ok = false;
    out = text.toLongLong(&ok);
    return ok ? Parse::Ok : Parse::Overflow;
}

// A plain number (no suffix allowed when suffixes is empty).
Parse parseNumber(const QString &text, double &out, QString *suffix)
{
    const QRegularExpressionMatch m = numberRe().match(text);
    if (!m.hasMatch())
        return Parse::Invalid;
    if (!suffix && !m.capturedView(2).isEmpty())
        return Parse::Invalid;
    if (suffix)
        *suffix = m.captured(2);
    bool ok = false;
    out = m.captured(1).toDouble(&ok);
    if (!ok || !std::isfinite(out))
        return Parse::Overflow;
    return Parse::Ok;
}

Parse parseSizeText(const QString &text, qint64 &out)
{
    static const QRegularExpression re(u"^([+-]?[0-9]+(?:\\.[0-9]+)?)\\s*([A-Za-z]*)$"_s);
    const QRegularExpressionMatch m = re.match(text);
    if (!m.hasMatch())
        return Parse::Invalid;
    const QString number = m.captured(1);
    const QString suffix = m.captured(2).toLower();
    qint64 multiplier = 0;
    if (suffix.isEmpty() || suffix == u"b")
        multiplier = 1;
    else if (suffix == u"kib")
        multiplier = qint64(1) << 10;
    else if (suffix == u"mib")
        multiplier = qint64(1) << 20;
    else if (suffix == u"gib")
        multiplier = qint64(1) << 30;
    else if (suffix == u"tib")
        multiplier = qint64(1) << 40;
    else
        return Parse::BadSuffix;
    if (!number.contains(u'.')) {
        bool ok = false;
        const qint64 n = number.toLongLong(&ok);
        if (!ok)
            return Parse::Overflow;
        if (n > std::numeric_limits<qint64>::max() / multiplier
            || n < std::numeric_limits<qint64>::min() / multiplier)
            return Parse::Overflow;
        out = n * multiplier;
        return Parse::Ok;
    }
    if (multiplier == 1)
        return Parse::NotWhole;
    const double v = number.toDouble() * double(multiplier);
    if (!std::isfinite(v) || std::fabs(v) >= 9.0e18)
        return Parse::Overflow;
    if (std::floor(v) != v)
        return Parse::NotWhole;
    out = qint64(v);
    return Parse::Ok;
}

Parse parseDurationText(const QString &text, double &out)
{
    QString suffix;
    const Parse p = parseNumber(text, out, &suffix);
    if (p != Parse::Ok)
        return p;
    const QString s = suffix.toLower();
    if (s.isEmpty() || s == u"s")
        return Parse::Ok;
    if (s == u"ms") {
        out /= 1000.0;
        return Parse::Ok;
    }
    return Parse::BadSuffix;
}

const QStringList &boolWords()
{
    static const QStringList words{u"true"_s, u"false"_s, u"yes"_s, u"no"_s,
                                   u"on"_s,   u"off"_s,   u"1"_s,   u"0"_s};
    return words;
}

std::optional<bool> boolFromText(const QString &text)
{
    const QString t = text.trimmed().toLower();
    const qsizetype i = boolWords().indexOf(t);
    if (i < 0)
        return std::nullopt;
    return i % 2 == 0;
}

// A value as shown in a message: bare, or quoted when empty or ambiguous.
QString shownValue(const QString &value)
{
    if (value.isEmpty())
        return u"\"\""_s;
    return IniFile::quoteIfNeeded(value);
}

QString boundText(double v)
{
    return configvalue::formatNumber(v);
}

// "0..65535", "more than 0 and at most 3600 seconds", "1024..1048576 bytes (1 KiB..1 MiB)".
QString rangeText(const ConfigKeySpec &spec)
{
    QString text;
    if (spec.min && spec.max) {
        text = spec.minExclusive ? u"more than %1 and at most %2"_s.arg(boundText(*spec.min),
                                                                        boundText(*spec.max))
                                 : boundText(*spec.min) + u".."_s + boundText(*spec.max);
    } else if (spec.min) {
        text = spec.minExclusive ? u"more than %1"_s.arg(boundText(*spec.min))
                                 : u"%1 or more"_s.arg(boundText(*spec.min));
    } else if (spec.max) {
        text = u"at most %1"_s.arg(boundText(*spec.max));
    } else {
        return {};
    }
    if (!spec.unit.isEmpty())
        text += u' ' + spec.unit;
    if (spec.type == ConfigType::Size && spec.min && spec.max) {
        const QString lo = configvalue::formatSize(qint64(*spec.min));
        const QString hi = configvalue::formatSize(qint64(*spec.max));
        if (lo.contains(u"iB") || hi.contains(u"iB"))
            text += u" (%1..%2)"_s.arg(lo, hi);
    }
    return text;
}

bool inRange(const ConfigKeySpec &spec, double v)
{
    if (spec.min && (spec.minExclusive ? v <= *spec.min : v < *spec.min))
        return false;
    if (spec.max && v > *spec.max)
        return false;
    return true;
}

QString typeDescription(const Row &row)
{
    const ConfigKeySpec &s = row.spec;
    switch (s.type) {
    case ConfigType::Int:
        return u"integer"_s;
    case ConfigType::Size:
        return u"size"_s;
    case ConfigType::Duration:
        return u"duration"_s;
    case ConfigType::Double:
        return u"number"_s;
    case ConfigType::Bool:
        return u"boolean"_s;
    case ConfigType::String:
        return u"text"_s;
    case ConfigType::Enum:
        return u"one of %1 (any case)"_s.arg(s.allowed.join(u", "_s));
    case ConfigType::Url:
        return u"http:// or https:// URL, or empty"_s;
    case ConfigType::Address:
        return u"IP address"_s;
    case ConfigType::List:
        return u"comma-separated list"_s;
    case ConfigType::Priority:
        return u"one of %1 (any case, or 0..4)"_s.arg(s.allowed.join(u", "_s));
    }
    return {};
}

// Splits text into lines of at most `width` characters at spaces.
QStringList wrapped(const QString &text, qsizetype width)
{
    QStringList lines;
    QString line;
    const QStringList words = text.split(u' ', Qt::SkipEmptyParts);
    for (const QString &word : words) {
        if (!line.isEmpty() && line.size() + 1 + word.size() > width) {
            lines.append(line);
            line.clear();
        }
        line += (line.isEmpty() ? QString() : u" "_s) + word;
    }
    if (!line.isEmpty())
        lines.append(line);
    return lines;
}

// ---------------------------------------------------------------------------------------------
// Reading and writing field values

QString formatValue(const Row &row, FieldRef ref)
{
    switch (row.spec.type) {
    case ConfigType::Int:
        if (int *const *ip = std::get_if<int *>(&ref))
            return QString::number(**ip);
        if (const qint64 *p = target<qint64>(ref))
            return QString::number(*p);
        return {};
    case ConfigType::Size:
        if (const qint64 *p = target<qint64>(ref))
            return configvalue::formatSize(*p);
        return {};
    case ConfigType::Duration:
    case ConfigType::Double:
        if (const double *p = target<double>(ref))
            return configvalue::formatNumber(*p);
        return {};
    case ConfigType::Bool:
        if (const bool *p = target<bool>(ref))
            return *p ? u"true"_s : u"false"_s;
        return {};
    case ConfigType::String:
    case ConfigType::Enum:
    case ConfigType::Url:
    case ConfigType::Address:
        if (const QString *p = target<QString>(ref))
            return *p;
        return {};
    case ConfigType::List:
        if (const QStringList *p = target<QStringList>(ref))
            return p->join(u',');
        return {};
    case ConfigType::Priority:
        if (const TaskPriority *p = target<TaskPriority>(ref))
            return toString(*p);
        return {};
    }
    return {};
}

// Reading through a non-const reference into a const object is fine: nothing is written.
QString formatValue(const Row &row, const RuntimeConfig &config, const AgentConfig &agent)
{
    return formatValue(
        row, row.access(const_cast<RuntimeConfig &>(config), const_cast<AgentConfig &>(agent)));
}

class FindingMaker
{
public:
    FindingMaker(const Row &row, const QString &section, const QString &value, int line)
        : m_row(row)
        , m_section(section)
        , m_value(value)
        , m_line(line)
    {}

    QString prefix() const
    {
        return u"[%1] %2 = %3"_s.arg(m_section, m_row.spec.key, shownValue(m_value));
    }

    ConfigFinding make(const QString &code, const QString &message) const
    {
        ConfigFinding f;
        f.section = m_section;
        f.key = m_row.spec.key;
        f.value = m_value;
        f.code = code;
        f.message = message;
        f.line = m_line;
        f.min = m_row.spec.min;
        f.max = m_row.spec.max;
        f.allowed = m_row.spec.allowed;
        return f;
    }

    ConfigFinding outOfRange() const
    {
        return make(u"out_of_range"_s,
                    prefix() + u" is out of range: allowed "_s + rangeText(m_row.spec));
    }

    // "is not a whole number" + "; allowed 0..65535"
    ConfigFinding invalid(const QString &what) const
    {
        const QString range = rangeText(m_row.spec);
        return make(u"invalid_value"_s,
                    prefix() + u' ' + what
                        + (range.isEmpty() ? QString() : u"; allowed "_s + range));
    }

private:
    const Row &m_row;
    QString m_section;
    QString m_value;
    int m_line;
};

// Parses `text` for `row` and stores it; returns a finding instead when the value is bad.
std::optional<ConfigFinding> applyValue(const Row &row,
                                        const QString &section,
                                        const QString &text,
                                        int line,
                                        RuntimeConfig &config,
                                        AgentConfig &agent)
{
    const FindingMaker fm(row, section, text, line);
    const ConfigKeySpec &spec = row.spec;
    const FieldRef ref = row.access(config, agent);
    const QString t = text.trimmed();

    switch (spec.type) {
    case ConfigType::Int: {
        qint64 v = 0;
        const Parse p = parseInt(t, v);
        if (p == Parse::Invalid)
            return fm.invalid(u"is not a whole number"_s);
        if (p == Parse::Overflow || !inRange(spec, double(v)))
            return fm.outOfRange();
        if (int *const *ip = std::get_if<int *>(&ref)) {
            if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
                return fm.outOfRange();
            **ip = int(v);
        } else if (qint64 *lp = target<qint64>(ref)) {
            *lp = v;
        }
        return std::nullopt;
    }
    case ConfigType::Size: {
        qint64 v = 0;
        switch (parseSizeText(t, v)) {
        case Parse::Ok:
            break;
        case Parse::Overflow:
            return fm.outOfRange();
        case Parse::BadSuffix:
            return fm.invalid(u"has an unknown unit: use a plain number of bytes or the suffix "
                              "B, KiB, MiB, GiB or TiB (K, M, G, KB, MB, GB are not accepted; "
                              "write e.g. 200 MiB)"_s);
        case Parse::NotWhole:
            return fm.invalid(u"is not a whole number of bytes"_s);
        case Parse::Invalid:
            return fm.invalid(u"is not a size: use a number of bytes, optionally with a KiB, "
                              "MiB, GiB or TiB suffix (e.g. 200 MiB)"_s);
        }
        if (!inRange(spec, double(v)))
            return fm.outOfRange();
        if (qint64 *p = target<qint64>(ref))
            *p = v;
        return std::nullopt;
    }
    case ConfigType::Duration: {
        double v = 0;
        switch (parseDurationText(t, v)) {
        case Parse::Ok:
            break;
        case Parse::Overflow:
            return fm.outOfRange();
        case Parse::BadSuffix:
            return fm.invalid(u"has an unknown unit: use seconds (30, 1.5, 1.5s) or "
                              "milliseconds (250ms)"_s);
        case Parse::Invalid:
        case Parse::NotWhole:
            return fm.invalid(u"is not a duration: use seconds (30, 1.5, 1.5s) or "
                              "milliseconds (250ms)"_s);
        }
        if (!inRange(spec, v))
            return fm.outOfRange();
        if (double *p = target<double>(ref))
            *p = v;
        return std::nullopt;
    }
    case ConfigType::Double: {
        double v = 0;
        const Parse p = parseNumber(t, v, nullptr);
        if (p == Parse::Invalid)
            return fm.invalid(u"is not a number"_s);
        if (p != Parse::Ok || !inRange(spec, v))
            return fm.outOfRange();
        if (double *dp = target<double>(ref))
            *dp = v;
        return std::nullopt;
    }
    case ConfigType::Bool: {
        const std::optional<bool> v = boolFromText(t);
        if (!v) {
            ConfigFinding f = fm.make(u"invalid_value"_s,
                                      fm.prefix()
                                          + u" is not a boolean: use true/false, yes/no, on/off "
                                            "or 1/0"_s);
            f.allowed = boolWords();
            return f;
        }
        if (bool *p = target<bool>(ref))
            *p = *v;
        return std::nullopt;
    }
    case ConfigType::Enum: {
        const QString v = t.toLower();
        if (!spec.allowed.contains(v)) {
            return fm.make(u"not_allowed"_s,
                           fm.prefix() + u" is not one of "_s + spec.allowed.join(u", "_s));
        }
        if (QString *p = target<QString>(ref))
            *p = v;
        return std::nullopt;
    }
    case ConfigType::Priority: {
        const std::optional<TaskPriority> v = taskPriorityFromString(t);
        if (!v) {
            return fm.make(u"not_allowed"_s, fm.prefix() + u" is not one of "_s
                                                 + spec.allowed.join(u", "_s) + u" (or 0..4)"_s);
        }
        if (TaskPriority *p = target<TaskPriority>(ref))
            *p = *v;
        return std::nullopt;
    }
    case ConfigType::String: {
        // Quoted values keep their outer spaces; IniFile already trimmed bare ones.
        QString v = text;
        if (v.isEmpty() && row.nonEmpty)
            return fm.make(u"invalid_value"_s, fm.prefix() + u" is empty: a value is required"_s);
        if (row.check && !v.isEmpty()) {
            const QString complaint = row.check(v);
            if (!complaint.isEmpty())
                return fm.make(u"invalid_value"_s, fm.prefix() + u' ' + complaint);
        }
        if (QString *p = target<QString>(ref))
            *p = v;
        return std::nullopt;
    }
    case ConfigType::Url: {
        if (t.isEmpty()) {
            if (QString *p = target<QString>(ref))
                p->clear();
            return std::nullopt;
        }
        const QUrl url(t, QUrl::StrictMode);
        const QString scheme = url.scheme().toLower();
        if (!url.isValid() || (scheme != u"http" && scheme != u"https") || url.host().isEmpty())
            return fm.make(u"invalid_value"_s,
                           fm.prefix()
                               + u" is not an http:// or https:// URL with a host (e.g. "
                                 "http://127.0.0.1:9000); leave it empty for the default"_s);
        if (QString *p = target<QString>(ref))
            *p = t;
        return std::nullopt;
    }
    case ConfigType::Address: {
        QHostAddress address;
        if (t.isEmpty() || !address.setAddress(t)) {
            return fm.make(u"invalid_value"_s,
                           fm.prefix()
                               + u" is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1; "
                                 "host names are not accepted)"_s);
        }
        if (QString *p = target<QString>(ref))
            *p = t;
        return std::nullopt;
    }
    case ConfigType::List: {
        QStringList items;
        if (!t.isEmpty()) {
            const QStringList parts = t.split(u',');
            for (const QString &part : parts) {
                QString item = part.trimmed();
                if (item.isEmpty())
                    return fm.make(u"invalid_value"_s,
                                   fm.prefix() + u" has an empty item between commas"_s);
                if (row.check) {
                    const QString complaint = row.check(item);
                    if (!complaint.isEmpty())
                        return fm.make(u"invalid_value"_s, fm.prefix() + u": '"_s + part.trimmed()
                                                               + u"' "_s + complaint);
                }
                if (items.contains(item))
                    return fm.make(u"invalid_value"_s,
                                   fm.prefix() + u" lists '"_s + item + u"' twice"_s);
                items.append(item);
            }
        }
        if (items.isEmpty() && row.nonEmpty)
            return fm.make(u"invalid_value"_s,
                           fm.prefix() + u" is empty: list at least one value"_s);
        if (QStringList *p = target<QStringList>(ref))
            *p = items;
        return std::nullopt;
    }
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Unknown keys and sections

int suggestionThreshold(const QString &word)
{
    return word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
}

ConfigFinding unknownKey(const QString &section, const IniFile::Entry &entry)
{
    const QString kind = sectionKind(section);
    const QString key = entry.key;
    const int threshold = suggestionThreshold(key);

    QString sameNear;
    int sameBest = threshold + 1;
    QString otherExactKey;
    QString otherExactSection;
    QString otherNear;
    QString otherNearSection;
    int otherBest = threshold + 1;
    for (const Row &r : rows()) {
        const int d = configvalue::editDistance(key, r.spec.key);
        if (r.spec.section == kind) {
            if (d < sameBest) {
                sameBest = d;
                sameNear = r.spec.key;
            }
        } else if (d == 0) {
            if (otherExactKey.isEmpty()) {
                otherExactKey = r.spec.key;
                otherExactSection = r.spec.section;
            }
        } else if (d < otherBest) {
            otherBest = d;
            otherNear = r.spec.key;
            otherNearSection = r.spec.section;
        }
    }

    ConfigFinding f;
    f.section = section;
    f.key = key;
    f.value = entry.value;
    f.code = u"unknown_key"_s;
    f.line = entry.line;
    f.allowed = keysOf(kind);
    const QString here = u'[' + section + u']';
    if (!otherExactKey.isEmpty()) {
        f.suggestion = otherExactKey;
        f.suggestedSection = otherExactSection;
        f.message = u"%1 %2 is not a key of %1: '%3' belongs in %4"_s.arg(
            here, key, otherExactKey, displaySection(otherExactSection));
        if (!sameNear.isEmpty())
            f.message += u"; or did you mean '%1'?"_s.arg(sameNear);
    } else if (!sameNear.isEmpty()) {
        f.suggestion = sameNear;
        f.message
            = u"%1 %2 is not a known key of %1; did you mean '%3'?"_s.arg(here, key, sameNear);
    } else if (!otherNear.isEmpty()) {
        f.suggestion = otherNear;
        f.suggestedSection = otherNearSection;
        f.message = u"%1 %2 is not a known key of %1; did you mean '%3'? '%3' belongs in %4"_s.arg(
            here, key, otherNear, displaySection(otherNearSection));
    } else {
        f.message = u"%1 %2 is not a known key of %1 (known keys: %3)"_s.arg(
            here, key, f.allowed.join(u", "_s));
    }
    return f;
}

ConfigFinding unknownSection(const IniFile::Section &section)
{
    ConfigFinding f;
    f.section = section.name;
    f.code = u"unknown_section"_s;
    f.line = section.line;
    QStringList known;
    for (const SectionInfo &s : fixedSections())
        known.append(s.name);
    known.append(u"agent.<id>"_s);
    known.append(u"x-<anything>"_s);
    f.allowed = known;

    const QString lower = section.name.toLower();
    QStringList candidates;
    for (const SectionInfo &s : fixedSections())
        candidates.append(s.name);
    const qsizetype dot = lower.indexOf(u'.');
    if (dot >= 0)
        candidates.append(kAgentPrefix + section.name.mid(dot + 1));
    QString best;
    int bestDistance = suggestionThreshold(dot >= 0 ? lower.left(dot) : lower) + 1;
    for (const QString &c : candidates) {
        const int d = configvalue::editDistance(section.name, c);
        if (d < bestDistance) {
            bestDistance = d;
            best = c;
        }
    }
    if (section.name == kAgentKind) {
        f.suggestion = u"agent.<id>"_s;
        f.message = u"[agent] is not a known section: agent sections are named [agent.<id>], "
                    "e.g. [agent.mm1]"_s;
    } else if (!best.isEmpty()) {
        f.suggestion = best;
        f.message = u"[%1] is not a known section; did you mean [%2]?"_s.arg(section.name, best);
    } else {
        f.message
            = u"[%1] is not a known section (known: [cache], [http], [exec], [monitor], "
              "[api], [market], [agent.<id>]; [x-...] sections are ignored)"_s.arg(section.name);
    }
    return f;
}

ConfigFinding fromIniFinding(const IniFile::Finding &in)
{
    ConfigFinding f;
    f.section = in.section;
    f.key = in.key;
    f.value = in.value;
    f.code = in.code;
    f.message = in.message;
    f.line = in.line;
    return f;
}

// Every agent type's own keys: accepted in any [agent.<id>], then checked against its type.
const QStringList &agentOptionKeys()
{
    static const QStringList keys = [] {
        QStringList all;
        for (const QString &type : agents::AgentRegistry::typeNames()) {
            for (const QString &key : agents::AgentRegistry::optionKeys(type)) {
                if (!all.contains(key))
                    all.append(key);
            }
        }
        return all;
    }();
    return keys;
}

void parseSection(const IniFile::Section &section,
                  const QString &kind,
                  RuntimeConfig &config,
                  AgentConfig &agent,
                  QList<ConfigFinding> &findings)
{
    for (const IniFile::Entry &e : section.entries) {
        const Row *row = findRow(kind, e.key);
        if (!row && kind == kAgentKind && agentOptionKeys().contains(e.key)) {
            // Checked against the agent's type by the registry (Application::loadConfig).
            agent.options.insert(e.key, e.value.trimmed());
            continue;
        }
        if (!row) {
            findings.append(unknownKey(section.name, e));
            continue;
        }
        if (std::optional<ConfigFinding> f
            = applyValue(*row, section.name, e.value, e.line, config, agent)) {
            findings.append(*f);
        }
    }
}

// [api] exposure rules: tls_cert and tls_key both or neither; auth = off only on loopback; a
// non-loopback bind needs TLS or allow_plain_http. Each finding names the keys to change.
void crossCheckApi(const IniFile &ini, RuntimeConfig &config, QList<ConfigFinding> &findings)
{
    ApiConfig &api = config.api;
    const auto finding = [&](const QString &key, const QString &value, const QString &code,
                             const QString &message) {
        const IniFile::Entry *entry = ini.find(u"api", key);
        ConfigFinding f;
        f.section = u"api"_s;
        f.key = key;
        f.value = entry ? entry->value : value;
        f.code = code;
        f.line = entry ? entry->line : 0;
        f.message = message;
        findings.append(f);
    };
    if (api.tlsCert.isEmpty() != api.tlsKey.isEmpty()) {
        const QString missing = api.tlsCert.isEmpty() ? u"tls_cert"_s : u"tls_key"_s;
        const QString given = api.tlsCert.isEmpty() ? u"tls_key"_s : u"tls_cert"_s;
        finding(missing, QString(), u"missing_key"_s,
                u"[api] %1 is empty but %2 is set: give both (HTTPS) or neither (HTTP)"_s.arg(
                    missing, given));
        api.tlsCert.clear();
        api.tlsKey.clear();
    }
    const bool loopback = QHostAddress(api.bind).isLoopback();
    if (!loopback && !api.authEnabled()) {
        finding(u"auth"_s, api.auth, u"not_allowed"_s,
                u"[api] auth = off is only allowed with a loopback api_bind (127.0.0.1 or ::1), "
                "not api_bind = %1"_s.arg(api.bind));
        api.auth = u"on"_s;
    }
    if (!loopback && !api.tlsEnabled() && !api.allowPlainHttp) {
        finding(u"api_bind"_s, api.bind, u"not_allowed"_s,
                u"[api] api_bind = %1 is not a loopback address: set tls_cert and tls_key "
                "(HTTPS), or allow_plain_http = true to accept plain HTTP"_s.arg(api.bind));
        api.bind = ApiConfig().bind;
    }
}

// Rules between keys. A violation is a finding on the dependent key, whose value is then reset
// to the nearest consistent one (the config stays usable for the dialog that shows it).
void crossCheck(const IniFile &ini, RuntimeConfig &config, QList<ConfigFinding> &findings)
{
    ExecConfig &exec = config.exec;
    if (exec.reservedCriticalSlots >= exec.maxConcurrentTasks) {
        const IniFile::Entry *reserved = ini.find(u"exec", u"reserved_critical_slots");
        const IniFile::Entry *maxTasks = ini.find(u"exec", u"max_concurrent_tasks");
        ConfigFinding f;
        f.section = u"exec"_s;
        f.key = u"reserved_critical_slots"_s;
        f.value = reserved ? reserved->value : QString::number(exec.reservedCriticalSlots);
        f.code = u"out_of_range"_s;
        f.line = reserved ? reserved->line : (maxTasks ? maxTasks->line : 0);
        f.min = 0;
        f.max = exec.maxConcurrentTasks - 1;
        f.message = u"[exec] reserved_critical_slots = %1%2 is out of range: allowed 0..%3 (it "
                    "must be less than max_concurrent_tasks = %4)"_s.arg(
                        shownValue(f.value), reserved ? QString() : u" (the default)"_s,
                        QString::number(exec.maxConcurrentTasks - 1),
                        QString::number(exec.maxConcurrentTasks));
        findings.append(f);
        exec.reservedCriticalSlots
            = std::min(ExecConfig().reservedCriticalSlots, exec.maxConcurrentTasks - 1);
    }
    crossCheckApi(ini, config, findings);
}

const QRegularExpression &agentIdRe()
{
    static const QRegularExpression re(u"^[A-Za-z0-9_-]+$"_s);
    return re;
}

// The default as the dump writes values ("100 MiB", not "104857600").
QString canonicalDefault(const Row &row)
{
    RuntimeConfig config;
    AgentConfig agent;
    if (applyValue(row, row.spec.section, row.spec.defaultValue, 0, config, agent))
        return row.spec.defaultValue; // not reached: the tests parse every default
    return formatValue(row, config, agent);
}

QStringList rowComment(const Row &row)
{
    QString details = typeDescription(row);
    const QString range = rangeText(row.spec);
    if (!range.isEmpty())
        details += u", "_s + range;
    if (row.spec.required) {
        details += u", required"_s;
    } else {
        const QString def = canonicalDefault(row);
        details += u", default "_s + (def.isEmpty() ? u"empty"_s : def);
    }
    details += row.spec.live ? u", applied live"_s : u", needs a restart"_s;
    return wrapped(row.spec.help, 96) + wrapped(details, 96);
}

} // namespace

// -------------------------------------------------------------------------------------------------

QJsonObject ConfigFinding::toJson() const
{
    QJsonObject o{
        {u"section"_s, section},
        {u"key"_s, key},
        {u"value"_s, value},
        {u"code"_s, code},
        {u"message"_s, message},
        {u"line"_s, line},
        {u"min"_s, min ? QJsonValue(*min) : QJsonValue(QJsonValue::Null)},
        {u"max"_s, max ? QJsonValue(*max) : QJsonValue(QJsonValue::Null)},
        {u"allowed"_s, QJsonArray::fromStringList(allowed)},
    };
    if (!suggestion.isEmpty())
        o.insert(u"suggestion"_s, suggestion);
    if (!suggestedSection.isEmpty())
        o.insert(u"suggested_section"_s, suggestedSection);
    return o;
}

QString formatFinding(const ConfigFinding &finding, const QString &fileName)
{
    QString prefix;
    if (!fileName.isEmpty())
        prefix
            = finding.line > 0 ? u"%1:%2: "_s.arg(fileName).arg(finding.line) : fileName + u": "_s;
    else if (finding.line > 0)
        prefix = u"line %1: "_s.arg(finding.line);
    return prefix + finding.message;
}

Result<ConfigLoad> RuntimeConfig::load(const QString &path, bool mustExist)
{
    Result<IniFile> ini
        = IniFile::read(path, mustExist ? IniFile::Missing::Error : IniFile::Missing::Allowed);
    if (!ini)
        return tl::unexpected(ini.error());
    if (!QFileInfo::exists(path))
        qCInfo(lcConfig).noquote()
            << u"No configuration file at %1: using the defaults"_s.arg(path);
    ConfigLoad result = fromIni(*ini);
    qCDebug(lcConfig).noquote() << u"Read %1: %2 finding(s), %3 agent(s)"_s.arg(path)
                                       .arg(result.findings.size())
                                       .arg(result.config.agents.size());
    return result;
}

ConfigLoad RuntimeConfig::fromText(const QByteArray &text)
{
    return fromIni(IniFile::parse(text));
}

ConfigLoad RuntimeConfig::fromIni(const IniFile &ini)
{
    ConfigLoad result;
    for (const IniFile::Finding &f : ini.findings())
        result.findings.append(fromIniFinding(f));

    AgentConfig unusedAgent;
    for (const IniFile::Section &section : ini.sections()) {
        const QString &name = section.name;
        if (name.startsWith(u"x-"))
            continue;
        if (isFixedSection(name)) {
            parseSection(section, name, result.config, unusedAgent, result.findings);
            continue;
        }
        if (name.startsWith(kAgentPrefix)) {
            const QString id = name.mid(kAgentPrefix.size());
            if (!agentIdRe().match(id).hasMatch()) {
                ConfigFinding f;
                f.section = name;
                f.value = id;
                f.code = u"invalid_value"_s;
                f.line = section.line;
                f.message = id.isEmpty()
                                ? u"[%1] has no agent id: name agent sections [agent.<id>], e.g. "
                                  "[agent.mm1]"_s.arg(name)
                                : u"[%1]: agent id '%2' may contain only letters, digits, '_' "
                                  "and '-'"_s.arg(name, id);
                result.findings.append(f);
                continue;
            }
            AgentConfig agent;
            agent.id = id;
            parseSection(section, kAgentKind.toString(), result.config, agent, result.findings);
            for (const Row &r : rows()) {
                if (r.spec.section == kAgentKind && r.spec.required && !section.find(r.spec.key)) {
                    ConfigFinding f;
                    f.section = name;
                    f.key = r.spec.key;
                    f.code = u"missing_key"_s;
                    f.line = section.line;
                    f.message = u"[%1] has no '%2': it is required in every [agent.<id>] "
                                "section"_s.arg(name, r.spec.key);
                    result.findings.append(f);
                }
            }
            result.config.agents.append(agent);
            continue;
        }
        result.findings.append(unknownSection(section));
    }
    crossCheck(ini, result.config, result.findings);
    std::stable_sort(
        result.findings.begin(), result.findings.end(),
        [](const ConfigFinding &a, const ConfigFinding &b) { return a.line < b.line; });
    return result;
}

IniFile RuntimeConfig::toIniFile() const
{
    IniFile ini;
    ini.setHeaderComment({
        u"OpsDeck runtime configuration (opsdeck.ini): every key with its current value."_s,
        u"Sizes are bytes (suffixes B, KiB, MiB, GiB, TiB accepted); durations are seconds"_s,
        u"(a float; suffix s or ms accepted). Values may be double-quoted (\\\" and \\\\ "
        "escapes)."_s,
        u"Comments are whole lines starting with ';' or '#'. Unknown keys and sections are "
        "errors;"_s,
        u"sections named [x-...] are ignored."_s,
    });
    const AgentConfig noAgent;
    for (const SectionInfo &info : fixedSections()) {
        IniFile::Section &section = ini.addSection(info.name, {info.help});
        for (const Row &r : rows()) {
            if (r.spec.section == info.name)
                section.set(r.spec.key, formatValue(r, *this, noAgent), rowComment(r));
        }
    }
    for (const AgentConfig &agent : agents) {
        IniFile::Section &section
            = ini.addSection(kAgentPrefix + agent.id, {u"Agent '%1'."_s.arg(agent.id)});
        for (const Row &r : rows()) {
            if (r.spec.section == kAgentKind)
                section.set(r.spec.key, formatValue(r, *this, agent), rowComment(r));
        }
        for (auto it = agent.options.cbegin(); it != agent.options.cend(); ++it)
            section.set(it.key(), it.value(), {u"Option of agent type %1."_s.arg(agent.type)});
    }
    if (agents.isEmpty()) {
        QStringList example{
            u"Agents: one [agent.<id>] section each (id: letters, digits, '_', '-'), e.g."_s,
            u"[agent.mm1]"_s};
        for (const Row &r : rows()) {
            if (r.spec.section != kAgentKind)
                continue;
            const QString value = r.spec.required ? u"<%1>"_s.arg(r.spec.key) : canonicalDefault(r);
            example.append(u"%1 = %2"_s.arg(r.spec.key, value));
            for (const QString &line : rowComment(r))
                example.append(u"    "_s + line);
        }
        ini.setTrailingComment(example);
    }
    return ini;
}

QByteArray RuntimeConfig::toIni() const
{
    return toIniFile().serialize();
}

const AgentConfig *RuntimeConfig::agent(QStringView id) const
{
    for (const AgentConfig &a : agents) {
        if (a.id == id)
            return &a;
    }
    return nullptr;
}

const QList<ConfigKeySpec> &RuntimeConfig::schema()
{
    static const QList<ConfigKeySpec> specs = [] {
        QList<ConfigKeySpec> list;
        for (const Row &r : rows())
            list.append(r.spec);
        return list;
    }();
    return specs;
}

const ConfigKeySpec *RuntimeConfig::keySpec(QStringView section, QStringView key)
{
    const QString kind = sectionKind(section.toString());
    for (const ConfigKeySpec &s : schema()) {
        if (s.section == kind && s.key == key)
            return &s;
    }
    return nullptr;
}

QStringList RuntimeConfig::restartRequiredKeys()
{
    QStringList keys;
    for (const Row &r : rows()) {
        if (r.spec.section != kAgentKind && !r.spec.live)
            keys.append(r.spec.key);
    }
    return keys;
}

QStringList RuntimeConfig::liveKeys()
{
    QStringList keys;
    for (const Row &r : rows()) {
        if (r.spec.section != kAgentKind && r.spec.live)
            keys.append(r.spec.key);
    }
    return keys;
}

QStringList RuntimeConfig::changedKeys(const RuntimeConfig &other) const
{
    QStringList changed;
    const AgentConfig noAgent;
    for (const Row &r : rows()) {
        if (r.spec.section == kAgentKind)
            continue;
        if (formatValue(r, *this, noAgent) != formatValue(r, other, noAgent))
            changed.append(r.spec.section + u'/' + r.spec.key);
    }
    for (const AgentConfig &mine : agents) {
        const AgentConfig *theirs = other.agent(mine.id);
        if (!theirs) {
            changed.append(kAgentPrefix + mine.id);
            continue;
        }
        for (const Row &r : rows()) {
            if (r.spec.section == kAgentKind
                && formatValue(r, *this, mine) != formatValue(r, other, *theirs))
                changed.append(kAgentPrefix + mine.id + u'/' + r.spec.key);
        }
    }
    for (const AgentConfig &theirs : other.agents) {
        if (!agent(theirs.id))
            changed.append(kAgentPrefix + theirs.id);
    }
    return changed;
}

bool RuntimeConfig::canApplyLive(const RuntimeConfig &other) const
{
    const QStringList changed = changedKeys(other);
    for (const QString &item : changed) {
        const qsizetype slash = item.indexOf(u'/');
        if (slash < 0)
            return false; // an agent added or removed
        const ConfigKeySpec *spec
            = keySpec(QStringView(item).left(slash), QStringView(item).mid(slash + 1));
        if (!spec || !spec->live)
            return false;
    }
    return true;
}

// -------------------------------------------------------------------------------------------------

namespace configvalue {

std::optional<qint64> parseSize(QStringView text)
{
    qint64 v = 0;
    if (parseSizeText(text.trimmed().toString(), v) != Parse::Ok)
        return std::nullopt;
    return v;
}

std::optional<double> parseDuration(QStringView text)
{
    double v = 0;
    if (parseDurationText(text.trimmed().toString(), v) != Parse::Ok)
        return std::nullopt;
    return v;
}

std::optional<bool> parseBool(QStringView text)
{
    return boolFromText(text.toString());
}

QString formatSize(qint64 bytes)
{
    static constexpr struct
    {
        int shift;
        char16_t name[4];
    } units[] = {{40, u"TiB"}, {30, u"GiB"}, {20, u"MiB"}, {10, u"KiB"}};
    if (bytes != 0) {
        for (const auto &u : units) {
            const qint64 unit = qint64(1) << u.shift;
            if (bytes % unit == 0)
                return QString::number(bytes / unit) + u' ' + QString::fromUtf16(u.name, 3);
        }
    }
    return QString::number(bytes);
}

QString formatNumber(double value)
{
    if (value == 0)
        return u"0"_s;
    return QString::number(value, 'f', QLocale::FloatingPointShortest);
}

int editDistance(QStringView a, QStringView b)
{
    const QString x = a.toString().toLower();
    const QString y = b.toString().toLower();
    QList<int> previous(y.size() + 1);
    QList<int> current(y.size() + 1);
    for (qsizetype j = 0; j <= y.size(); ++j)
        previous[j] = int(j);
    for (qsizetype i = 1; i <= x.size(); ++i) {
        current[0] = int(i);
        for (qsizetype j = 1; j <= y.size(); ++j) {
            const int cost = x.at(i - 1) == y.at(j - 1) ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
        }
        std::swap(previous, current);
    }
    return previous[y.size()];
}

} // namespace configvalue

} // namespace opsdeck

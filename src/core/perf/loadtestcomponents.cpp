#include "core/perf/loadtestcomponents.h"

#include "core/cache/cachemanager.h"
#include "core/exec/executionengine.h"
#include "core/http/httppool.h"
#include "core/http/httppoolsettings.h"
#include "core/http/httpresponse.h"
#include "core/support/logging.h"
#include "market/marketservice.h"

#include <QtCore/QDir>
#include <QtCore/QJsonArray>

namespace opsdeck::perf {

namespace {

// Draw purposes of OpTicket::draw.
constexpr int kMix = 0;
constexpr int kKey = 1;
constexpr int kVariant = 2;

QByteArray cacheKey(quint64 i)
{
    return QByteArrayLiteral("loadtest:key:") + QByteArray::number(i);
}

QByteArray cacheTag(quint64 i)
{
    return QByteArrayLiteral("loadtest:tag:") + QByteArray::number(i);
}

} // namespace

// ---- cache ------------------------------------------------------------------------------------

CacheLoadComponent::CacheLoadComponent()
    : m_value(kValueBytes, 'v')
{}

CacheLoadComponent::~CacheLoadComponent()
{
    finish();
}

QStringList CacheLoadComponent::operationNames() const
{
    return {QStringLiteral("get"), QStringLiteral("set"), QStringLiteral("delete"),
            QStringLiteral("invalidate")};
}

Status CacheLoadComponent::prepare()
{
    m_dir = std::make_unique<QTemporaryDir>(QDir::tempPath()
                                            + QStringLiteral("/opsdeck-loadtest-XXXXXX"));
    if (!m_dir->isValid())
        return fail(QStringLiteral("cache_dir_failed"),
                    QStringLiteral("Cannot create a temporary cache directory: %1.")
                        .arg(m_dir->errorString()));
    cache::CacheSettings settings; // the defaults: 10000 entries in memory, 100 MiB on disk
    settings.disk.path = m_dir->filePath(QStringLiteral("cache.db"));
    m_cache = std::make_unique<cache::CacheManager>(settings);
    if (Status opened = m_cache->open(); !opened)
        return opened;
    QList<QPair<QByteArray, QByteArray>> items;
    for (int i = 0; i < kKeyCount; ++i)
        items.append({cacheKey(quint64(i)), m_value});
    for (int i = 0; i < kKeyCount; i += kKeyCount / kTagCount) {
        // Prefill tag by tag, so invalidate finds its keys from the start.
        const auto group = items.mid(i, kKeyCount / kTagCount);
        if (Status s = m_cache->setMany(group, cache::SetOptions().withTags({cacheTag(
                                                   quint64(i / (kKeyCount / kTagCount)))}));
            !s)
            return s;
    }
    return ok();
}

void CacheLoadComponent::start(const OpTicket &ticket, Completion done)
{
    const double mix = ticket.draw(kMix);
    const quint64 key = ticket.drawBelow(kKey, kKeyCount);
    OpOutcome outcome;
    if (mix < 0.60) {
        outcome.operation = 0;
        outcome.cacheLookup = m_cache->get(cacheKey(key)).has_value() ? 1 : -1;
    } else if (mix < 0.90) {
        outcome.operation = 1;
        const Status s = m_cache->set(cacheKey(key), m_value,
                                      cache::SetOptions().withTags({cacheTag(key % kTagCount)}));
        if (!s) {
            outcome.error = LoadErrorKind::Other;
            outcome.detail = s.error().message;
        }
    } else if (mix < 0.95) {
        outcome.operation = 2;
        m_cache->remove(cacheKey(key));
    } else {
        outcome.operation = 3;
        m_cache->invalidateTag(cacheTag(ticket.drawBelow(kVariant, kTagCount)));
    }
    done(outcome);
}

void CacheLoadComponent::finish()
{
    if (m_cache) {
        m_finalStats = m_cache->stats().toJson();
        m_cache->stop();
        m_cache.reset();
    }
    m_dir.reset(); // removes cache.db and its WAL files
}

QJsonObject CacheLoadComponent::extraResults() const
{
    return {{QStringLiteral("cache_stats"), m_finalStats}};
}

// ---- http -------------------------------------------------------------------------------------

namespace {
const char *const kSymbols[] = {"BTCUSDT", "ETHUSDT", "SOLUSDT"};

// The four GET variants: path and query for a symbol.
QUrlQuery getQuery(int variant, const QString &symbol, QString &path)
{
    QUrlQuery query;
    switch (variant) {
    case 0:
        path = QStringLiteral("/api/v3/ticker/price");
        query.addQueryItem(QStringLiteral("symbol"), symbol);
        break;
    case 1:
        path = QStringLiteral("/api/v3/depth");
        query.addQueryItem(QStringLiteral("symbol"), symbol);
        query.addQueryItem(QStringLiteral("limit"), QStringLiteral("5"));
        break;
    case 2:
        path = QStringLiteral("/api/v3/time");
        break;
    default:
        path = QStringLiteral("/api/v3/klines");
        query.addQueryItem(QStringLiteral("symbol"), symbol);
        // One candle: longer klines windows cost the simulator ~10 ms each in a Debug build
        // and would make it, not the client, the bottleneck.
        query.addQueryItem(QStringLiteral("interval"), QStringLiteral("1m"));
        query.addQueryItem(QStringLiteral("limit"), QStringLiteral("1"));
        break;
    }
    return query;
}

// Validation only: the exchange's test endpoint never places an order.
QByteArray orderBody(const QString &symbol)
{
    return QByteArrayLiteral("symbol=") + symbol.toLatin1()
           + QByteArrayLiteral("&side=BUY&type=MARKET&quoteOrderQty=100");
}
} // namespace

HttpLoadComponent::HttpLoadComponent(QUrl targetUrl, int connections, int timeoutMs, bool throughPool)
    : m_target(std::move(targetUrl))
    , m_poolSize(std::max(1, connections))
    , m_timeoutMs(timeoutMs)
    , m_throughPool(throughPool)
{}

HttpLoadComponent::~HttpLoadComponent()
{
    finish();
}

QStringList HttpLoadComponent::operationNames() const
{
    return {QStringLiteral("GET"), QStringLiteral("POST")};
}

Status HttpLoadComponent::prepare()
{
    if (m_target.isEmpty()) {
        market::MarketServer::Settings settings;
        settings.port = 0;
        // The load test measures the pool and the server, not the exchange's weight limiter.
        settings.faults.weightLimit = 1'000'000'000;
        m_market = std::make_unique<market::MarketService>(settings);
        const Result<quint16> port = m_market->start();
        if (!port)
            return tl::unexpected(port.error());
        m_base = QUrl(m_market->baseUrl());
        qCInfo(lcPerf, "Embedded market simulator at %s", qUtf8Printable(m_market->baseUrl()));
    } else {
        m_base = m_target;
    }
    m_apiName = QStringLiteral("loadtest:%1:%2")
                    .arg(m_base.host())
                    .arg(m_base.port(m_base.scheme() == u"https" ? 443 : 80));
    if (!m_throughPool) {
        QString prefix = m_base.path(QUrl::FullyEncoded);
        if (prefix.endsWith(u'/'))
            prefix.chop(1);
        for (int v = 0; v < 4; ++v) {
            for (int k = 0; k < 3; ++k) {
                QString path;
                const QUrlQuery query = getQuery(v, QString::fromLatin1(kSymbols[k]), path);
                QByteArray target = (prefix + path).toUtf8();
                if (!query.isEmpty())
                    target += '?' + query.toString(QUrl::FullyEncoded).toUtf8();
                m_getTargets[v][k] = target;
            }
        }
        m_postTarget = (prefix + QStringLiteral("/api/v3/order/test")).toUtf8();
        for (int k = 0; k < 3; ++k)
            m_postBodies[k] = orderBody(QString::fromLatin1(kSymbols[k]));
        LoadHttpClient::Settings settings;
        settings.base = m_base;
        settings.connections = m_poolSize;
        settings.timeoutMs = m_timeoutMs;
        m_client = std::make_unique<LoadHttpClient>(settings);
        return ok();
    }
    http::HttpPoolSettings settings;
    settings.poolSize = m_poolSize;
    settings.timeout = std::chrono::milliseconds(m_timeoutMs);
    settings.retry.retryCount = 0;
    settings.breaker.failureThreshold = 0; // an open breaker would hide failures as fast errors
    settings.useSystemProxy = !m_market;   // the user's host may need their proxy; loopback never
    m_pool = std::make_unique<http::HttpPool>(settings);
    return ok();
}

void HttpLoadComponent::start(const OpTicket &ticket, Completion done)
{
    const int symbol = int(ticket.drawBelow(kKey, 3));
    const bool isGet = ticket.draw(kMix) < 0.70;
    const int variant = isGet ? int(ticket.drawBelow(kVariant, 4)) : 0;
    if (m_throughPool) {
        startThroughPool(QString::fromLatin1(kSymbols[symbol]), variant, isGet, std::move(done));
        return;
    }
    LoadHttpClient::Request request;
    if (isGet) {
        request.method = QByteArrayLiteral("GET");
        request.target = m_getTargets[variant][symbol];
    } else {
        request.method = QByteArrayLiteral("POST");
        request.target = m_postTarget;
        request.body = m_postBodies[symbol];
        request.contentType = QByteArrayLiteral("application/x-www-form-urlencoded");
    }
    const int operation = isGet ? 0 : 1;
    m_client->submit(std::move(request),
                     [done = std::move(done), operation](const LoadHttpClient::Response &r) {
                         OpOutcome outcome;
                         outcome.operation = operation;
                         outcome.httpStatus = r.status;
                         outcome.error = r.error;
                         outcome.detail = r.detail;
                         done(outcome);
                     });
}

void HttpLoadComponent::startThroughPool(const QString &symbol, int variant, bool isGet,
                                         Completion done)
{
    auto url = [this](const QString &path) {
        QUrl u = m_base;
        QString base = u.path();
        if (base.endsWith(u'/'))
            base.chop(1);
        u.setPath(base + path);
        return u;
    };
    http::HttpRequest request;
    if (isGet) {
        QString path;
        const QUrlQuery query = getQuery(variant, symbol, path);
        request = http::HttpRequest::get(url(path), m_apiName);
        request.query = query;
    } else {
        request = http::HttpRequest::post(url(QStringLiteral("/api/v3/order/test")),
                                          orderBody(symbol),
                                          QByteArrayLiteral("application/x-www-form-urlencoded"),
                                          m_apiName);
    }
    const int operation = isGet ? 0 : 1;
    // The pool's callback, not a Sync .then(): see HttpPool::request.
    m_pool->request(std::move(request),
              [done = std::move(done), operation](const Result<http::HttpResponse> &r) {
                  OpOutcome outcome;
                  outcome.operation = operation;
                  if (r) {
                      outcome.httpStatus = r->status;
                      outcome.error = loadErrorOfStatus(r->status);
                      outcome.detail = loadErrorDetailOfStatus(r->status);
                  } else {
                      switch (http::httpErrorKindOf(r.error())) {
                      case http::HttpErrorKind::Timeout:
                      case http::HttpErrorKind::DeadlineExceeded:
                          outcome.error = LoadErrorKind::Timeout;
                          break;
                      case http::HttpErrorKind::Connection:
                          outcome.error = LoadErrorKind::Connect;
                          break;
                      case http::HttpErrorKind::RateLimited:
                          outcome.error = LoadErrorKind::RateLimited;
                          break;
                      default:
                          outcome.error = LoadErrorKind::Other;
                          break;
                      }
                      outcome.detail = r.error().message;
                  }
                  done(outcome);
              });
}

void HttpLoadComponent::finish()
{
    if (m_client) {
        m_client->shutdown();
        const LoadHttpClient::Stats stats = m_client->stats();
        m_finalStats = {{QStringLiteral("requests"), double(stats.requests)},
                        {QStringLiteral("connections_opened"), double(stats.connectionsOpened)},
                        {QStringLiteral("bytes_received"), double(stats.bytesReceived)},
                        {QStringLiteral("threads"), m_client->threadCount()}};
        m_client.reset();
    }
    if (m_pool) {
        m_finalStats = m_pool->stats().toJson();
        m_pool->shutdown();
        m_pool.reset();
    }
    if (m_market) {
        m_market->stop();
        m_market.reset();
    }
}

QJsonObject HttpLoadComponent::extraResults() const
{
    return {{QStringLiteral("target"),
             m_target.isEmpty() ? QStringLiteral("embedded_simulator") : m_target.toString()},
            {QStringLiteral("client"),
             m_throughPool ? QStringLiteral("pool") : QStringLiteral("direct")},
            {m_throughPool ? QStringLiteral("pool_stats") : QStringLiteral("client_stats"),
             m_finalStats}};
}

// ---- execution --------------------------------------------------------------------------------

ExecutionLoadComponent::ExecutionLoadComponent(ExecConfig config)
    : m_config(config)
{}

ExecutionLoadComponent::~ExecutionLoadComponent()
{
    finish();
}

QStringList ExecutionLoadComponent::operationNames() const
{
    return {QStringLiteral("NORMAL"), QStringLiteral("HIGH"), QStringLiteral("LOW")};
}

Status ExecutionLoadComponent::prepare()
{
    m_engine = std::make_unique<exec::ExecutionEngine>(m_config);
    return m_engine->start();
}

void ExecutionLoadComponent::start(const OpTicket &ticket, Completion done)
{
    const double mix = ticket.draw(kMix);
    const int operation = mix < 0.60 ? 0 : mix < 0.90 ? 1 : 2;
    const TaskPriority priority = operation == 0   ? TaskPriority::Normal
                                  : operation == 1 ? TaskPriority::High
                                                   : TaskPriority::Low;
    const quint64 salt = ticket.drawBelow(kKey, ~quint64(0));
    // A small, fixed amount of CPU: the engine's overhead is what is measured.
    exec::TaskWork work = [salt](const exec::TaskContext &) -> Result<QJsonValue> {
        quint64 x = salt;
        for (int i = 0; i < 256; ++i)
            x = splitMix64(x);
        return QJsonValue(double(x & 0xFFFF));
    };
    // The completion comes from the engine's onFinished callback, not QFuture::then(): a Sync
    // continuation attached while this tiny task already finishes in a worker crashed Qt 6.4
    // (1 run in 5 of the CLI test). done() is called exactly once either way.
    auto shared = std::make_shared<Completion>(std::move(done));
    exec::TaskOptions options;
    options.onFinished = [shared, operation](const Result<QJsonValue> &r) {
        OpOutcome outcome;
        outcome.operation = operation;
        if (!r) {
            outcome.error
                = r.error().code == u"timeout" ? LoadErrorKind::Timeout : LoadErrorKind::Other;
            outcome.detail = r.error().message;
        }
        (*shared)(outcome);
    };
    Result<exec::TaskHandle> handle = m_engine->scheduleTask(
        QStringLiteral("loadtest"), QStringLiteral("loadtest"), std::move(work), priority, options);
    if (!handle) {
        OpOutcome outcome;
        outcome.operation = operation;
        outcome.error = LoadErrorKind::Other;
        outcome.detail = handle.error().message;
        (*shared)(outcome);
    }
}

void ExecutionLoadComponent::finish()
{
    if (m_engine) {
        m_finalStats = m_engine->stats().toJson();
        m_engine->stop();
        m_engine.reset();
    }
}

QJsonObject ExecutionLoadComponent::extraResults() const
{
    return {{QStringLiteral("engine_stats"), m_finalStats}};
}

std::vector<std::unique_ptr<LoadComponent>> makeLoadComponents(const LoadTestConfig &config)
{
    std::vector<std::unique_ptr<LoadComponent>> out;
    if (config.runs(LoadComponentKind::Cache))
        out.push_back(std::make_unique<CacheLoadComponent>());
    if (config.runs(LoadComponentKind::Http))
        out.push_back(std::make_unique<HttpLoadComponent>(config.targetUrl, config.concurrency,
                                                          config.httpTimeoutMs,
                                                          config.httpThroughPool));
    if (config.runs(LoadComponentKind::Execution))
        out.push_back(std::make_unique<ExecutionLoadComponent>());
    return out;
}

} // namespace opsdeck::perf

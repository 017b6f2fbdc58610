#include "core/agents/marketdataclient.h"

#include "core/cache/cachemanager.h"
#include "core/http/httppool.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QPromise>
#include <QtCore/QUrlQuery>

#include <algorithm>

namespace opsdeck::agents {

using namespace std::chrono_literals;

namespace {

Result<QByteArray> bodyOf(const Result<http::HttpResponse> &result)
{
    if (!result)
        return tl::unexpected(result.error());
    const http::HttpResponse &response = *result;
    if (response.ok())
        return response.body;
    // The exchange's error shape: {"code": -1121, "msg": "Invalid symbol."}
    const QJsonObject error = QJsonDocument::fromJson(response.body).object();
    QJsonObject details{{QStringLiteral("status"), response.status}};
    if (error.contains(QStringLiteral("code")))
        details.insert(QStringLiteral("exchange_code"), error.value(QStringLiteral("code")));
    const QString msg = error.value(QStringLiteral("msg")).toString();
    return fail(QStringLiteral("market_http_error"),
                QStringLiteral("The market answered HTTP %1%2")
                    .arg(response.status)
                    .arg(msg.isEmpty() ? QStringLiteral(".") : QStringLiteral(": ") + msg),
                details);
}

QByteArray keyOf(const QString &api, QStringView kind, const QStringList &parts)
{
    return (QStringLiteral("mkt/") + api + u'/' + kind + u'/' + parts.join(u'/')).toUtf8();
}

} // namespace

MarketDataSettings MarketDataSettings::forBaseUrl(const QUrl &baseUrl)
{
    MarketDataSettings s;
    s.baseUrl = baseUrl;
    return s;
}

MarketDataSettings MarketDataSettings::fromConfig(const MarketConfig &config,
                                                  const QUrl &simulatorUrl)
{
    MarketDataSettings s;
    s.orderBookTtl = config.orderBookTtl;
    s.recentTradesTtl = config.recentTradesTtl;
    s.klinesTtl = config.klinesTtl;
    if (config.baseUrl.isEmpty()) {
        s.baseUrl = simulatorUrl;
        if (config.weightWindow > 0)
            s.weightLimitPerMinute = double(config.weightLimit) * 60.0 / config.weightWindow;
    } else {
        s.baseUrl = QUrl(config.baseUrl);
    }
    return s;
}

QString MarketDataSettings::effectiveApiName() const
{
    if (!apiName.isEmpty())
        return apiName;
    const int port = baseUrl.port(baseUrl.scheme() == u"https" ? 443 : 80);
    return QStringLiteral("market:%1:%2").arg(baseUrl.host()).arg(port);
}

int MarketDataSettings::depthWeight(int limit)
{
    if (limit <= 100)
        return 5;
    if (limit <= 500)
        return 25;
    if (limit <= 1000)
        return 50;
    return 250;
}

QJsonObject RequestCounters::toJson() const
{
    return {{QStringLiteral("api_calls"), double(apiCalls.load())},
            {QStringLiteral("cache_hits"), double(cacheHits.load())},
            {QStringLiteral("request_errors"), double(errors.load())}};
}

CallOptions CallOptions::from(const exec::CycleContext &context,
                              TaskPriority priority,
                              std::shared_ptr<RequestCounters> counters)
{
    CallOptions o;
    o.priority = priority;
    o.counters = std::move(counters);
    o.token = context.token;
    if (context.clock && context.deadline.count() > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            context.deadline - context.clock->monotonic());
        o.deadline = std::max(left, std::chrono::milliseconds(1));
    }
    return o;
}

MarketDataClient::MarketDataClient(MarketDataSettings settings,
                                   cache::CacheManager *cache,
                                   http::HttpPool *pool)
    : m_settings(std::move(settings))
    , m_apiName(m_settings.effectiveApiName())
    , m_burst(m_settings.weightBurst > 0 ? m_settings.weightBurst
                                         : std::max(m_settings.weightLimitPerMinute / 12.0,
                                                    double(MarketDataSettings::depthWeight(1000))))
    , m_cache(cache)
    , m_pool(pool)
{}

std::optional<qint64> MarketDataClient::intervalMs(const QString &interval)
{
    static const QList<std::pair<QString, qint64>> table{
        {QStringLiteral("1s"), 1'000},       {QStringLiteral("1m"), 60'000},
        {QStringLiteral("3m"), 180'000},     {QStringLiteral("5m"), 300'000},
        {QStringLiteral("15m"), 900'000},    {QStringLiteral("30m"), 1'800'000},
        {QStringLiteral("1h"), 3'600'000},   {QStringLiteral("2h"), 7'200'000},
        {QStringLiteral("4h"), 14'400'000},  {QStringLiteral("6h"), 21'600'000},
        {QStringLiteral("8h"), 28'800'000},  {QStringLiteral("12h"), 43'200'000},
        {QStringLiteral("1d"), 86'400'000},  {QStringLiteral("3d"), 259'200'000},
        {QStringLiteral("1w"), 604'800'000}, {QStringLiteral("1M"), 2'592'000'000}};
    for (const auto &[name, ms] : table) {
        if (name == interval)
            return ms;
    }
    return std::nullopt;
}

http::HttpRequest MarketDataClient::makeGet(const QString &path,
                                            const QList<std::pair<QString, QString>> &query,
                                            int weight,
                                            const CallOptions &options) const
{
    QUrl url = m_settings.baseUrl;
    url.setPath(url.path().chopped(url.path().endsWith(u'/') ? 1 : 0) + path);
    http::HttpRequest request = http::HttpRequest::get(url, m_apiName);
    for (const auto &[k, v] : query)
        request.query.addQueryItem(k, v);
    request.priority = options.priority;
    request.weight = weight;
    if (m_settings.weightLimitPerMinute > 0) {
        request.rateLimit = m_settings.weightLimitPerMinute;
        request.burst = m_burst;
    }
    request.deadline = options.deadline.value_or(m_settings.defaultDeadline);
    return request;
}

Result<QByteArray> MarketDataClient::send(const http::HttpRequest &request,
                                          const CallOptions &options) const
{
    if (!m_pool)
        return fail(QStringLiteral("market_no_pool"),
                    QStringLiteral("No HTTP pool is configured."));
    if (options.counters)
        options.counters->apiCalls.fetch_add(1);
    if (m_observer)
        m_observer(request);
    QFuture<Result<http::HttpResponse>> future = m_pool->request(request);
    future.waitForFinished();
    return bodyOf(future.result());
}

Result<QByteArray> MarketDataClient::fetch(const QByteArray &key,
                                           std::optional<double> ttl,
                                           const http::HttpRequest &request,
                                           const CallOptions &options) const
{
    if (options.token && options.token->isCancelled())
        return fail(QStringLiteral("cancelled"), QStringLiteral("The cycle was cancelled."));
    if (!m_cache || !ttl)
        return send(request, options);
    if (!m_pool)
        return fail(QStringLiteral("market_no_pool"),
                    QStringLiteral("No HTTP pool is configured."));

    auto loaded = std::make_shared<std::atomic<bool>>(false);
    http::HttpPool *pool = m_pool;
    std::shared_ptr<RequestCounters> counters = options.counters;
    RequestObserver observer = m_observer;
    cache::CacheManager::Loader loader = [pool, request, counters, loaded, observer]() {
        loaded->store(true);
        if (counters)
            counters->apiCalls.fetch_add(1);
        if (observer)
            observer(request);
        // A started promise, not the continuation itself: CacheManager refuses a future that is
        // not valid yet, and in Qt 6.4 a .then() future is not valid until its parent finishes.
        // If the request is cancelled, the promise's destructor cancels the load.
        auto promise = std::make_shared<QPromise<Result<QByteArray>>>();
        promise->start();
        QFuture<Result<QByteArray>> out = promise->future();
        // The pool's callback, not a Sync .then(): see HttpPool::request.
        pool->request(request, [promise](const Result<http::HttpResponse> &r) {
            promise->addResult(bodyOf(r));
            promise->finish();
        });
        return out;
    };
    QFuture<Result<QByteArray>> future = m_cache->getOrLoad(key, ttl, std::move(loader));
    future.waitForFinished();
    Result<QByteArray> result = future.result();
    if (result && !loaded->load() && counters)
        counters->cacheHits.fetch_add(1);
    return result;
}

template<typename T>
Result<T> MarketDataClient::counted(Result<T> result, const CallOptions &options) const
{
    if (!result && options.counters)
        options.counters->errors.fetch_add(1);
    return result;
}

Result<OrderBook>
MarketDataClient::orderBook(const QString &symbol, int limit, const CallOptions &options) const
{
    const auto request = makeGet(
        QStringLiteral("/api/v3/depth"),
        {{QStringLiteral("symbol"), symbol}, {QStringLiteral("limit"), QString::number(limit)}},
        MarketDataSettings::depthWeight(limit), options);
    const auto bytes = fetch(keyOf(m_apiName, u"depth", {symbol, QString::number(limit)}),
                             m_settings.orderBookTtl, request, options);
    if (!bytes)
        return counted<OrderBook>(tl::unexpected(bytes.error()), options);
    return counted(parseOrderBook(symbol, *bytes), options);
}

Result<QList<Trade>>
MarketDataClient::recentTrades(const QString &symbol, int limit, const CallOptions &options) const
{
    const auto request = makeGet(
        QStringLiteral("/api/v3/trades"),
        {{QStringLiteral("symbol"), symbol}, {QStringLiteral("limit"), QString::number(limit)}},
        MarketDataSettings::kTradesWeight, options);
    const auto bytes = fetch(keyOf(m_apiName, u"trades", {symbol, QString::number(limit)}),
                             m_settings.recentTradesTtl, request, options);
    if (!bytes)
        return counted<QList<Trade>>(tl::unexpected(bytes.error()), options);
    return counted(parseTrades(*bytes), options);
}

Result<QList<Kline>> MarketDataClient::closedKlines(const QString &symbol,
                                                    const QString &interval,
                                                    int limit,
                                                    qint64 nowMs,
                                                    const CallOptions &options) const
{
    const auto step = intervalMs(interval);
    if (!step) {
        return counted<QList<Kline>>(
            fail(QStringLiteral("invalid_argument"),
                 QStringLiteral("Unknown kline interval \"%1\".").arg(interval)),
            options);
    }
    const qint64 endTime = nowMs - nowMs % *step - 1; // the last closed candle's closeTime
    const auto request = makeGet(QStringLiteral("/api/v3/klines"),
                                 {{QStringLiteral("symbol"), symbol},
                                  {QStringLiteral("interval"), interval},
                                  {QStringLiteral("limit"), QString::number(limit)},
                                  {QStringLiteral("endTime"), QString::number(endTime)}},
                                 MarketDataSettings::kKlinesWeight, options);
    const auto bytes
        = fetch(keyOf(m_apiName, u"klines",
                      {symbol, interval, QString::number(limit), QString::number(endTime)}),
                m_settings.klinesTtl, request, options);
    if (!bytes)
        return counted<QList<Kline>>(tl::unexpected(bytes.error()), options);
    return counted(parseKlines(*bytes), options);
}

Result<TickerPrice> MarketDataClient::tickerPrice(const QString &symbol,
                                                  const CallOptions &options) const
{
    const auto request
        = makeGet(QStringLiteral("/api/v3/ticker/price"), {{QStringLiteral("symbol"), symbol}},
                  MarketDataSettings::kTickerOneWeight, options);
    const auto bytes
        = fetch(keyOf(m_apiName, u"ticker", {symbol}), m_settings.tickerTtl, request, options);
    if (!bytes)
        return counted<TickerPrice>(tl::unexpected(bytes.error()), options);
    auto prices = parseTickerPrices(*bytes);
    if (!prices)
        return counted<TickerPrice>(tl::unexpected(prices.error()), options);
    if (prices->size() != 1 || prices->first().symbol != symbol) {
        return counted<TickerPrice>(
            fail(QStringLiteral("market_bad_response"),
                 QStringLiteral("The ticker answer is not for %1.").arg(symbol)),
            options);
    }
    return prices->first();
}

Result<QList<TickerPrice>> MarketDataClient::allTickerPrices(const CallOptions &options) const
{
    const auto request = makeGet(QStringLiteral("/api/v3/ticker/price"), {},
                                 MarketDataSettings::kTickerAllWeight, options);
    const auto bytes = fetch(keyOf(m_apiName, u"ticker", {QStringLiteral("*")}),
                             m_settings.tickerTtl, request, options);
    if (!bytes)
        return counted<QList<TickerPrice>>(tl::unexpected(bytes.error()), options);
    return counted(parseTickerPrices(*bytes), options);
}

Result<SymbolRules> MarketDataClient::symbolRules(const QString &symbol,
                                                  const CallOptions &options) const
{
    const auto request
        = makeGet(QStringLiteral("/api/v3/exchangeInfo"), {{QStringLiteral("symbol"), symbol}},
                  MarketDataSettings::kExchangeInfoWeight, options);
    const auto bytes = fetch(keyOf(m_apiName, u"exchangeInfo", {symbol}),
                             m_settings.exchangeInfoTtl, request, options);
    if (!bytes)
        return counted<SymbolRules>(tl::unexpected(bytes.error()), options);
    return counted(parseSymbolRules(symbol, *bytes), options);
}

Result<qint64> MarketDataClient::serverTime(const CallOptions &options) const
{
    const auto request
        = makeGet(QStringLiteral("/api/v3/time"), {}, MarketDataSettings::kTimeWeight, options);
    const auto bytes = fetch({}, std::nullopt, request, options);
    if (!bytes)
        return counted<qint64>(tl::unexpected(bytes.error()), options);
    return counted(parseServerTime(*bytes), options);
}

Status MarketDataClient::testOrder(const OrderTestRequest &order, const CallOptions &options) const
{
    // The one order path this program ever uses: validation only, nothing is executed.
    http::HttpRequest request = makeGet(QStringLiteral("/api/v3/order/test"), {},
                                        MarketDataSettings::kOrderTestWeight, options);
    QUrlQuery form;
    form.addQueryItem(QStringLiteral("symbol"), order.symbol);
    form.addQueryItem(QStringLiteral("side"), toString(order.side));
    form.addQueryItem(QStringLiteral("type"),
                      order.limit ? QStringLiteral("LIMIT") : QStringLiteral("MARKET"));
    if (order.limit)
        form.addQueryItem(QStringLiteral("timeInForce"), QStringLiteral("GTC"));
    form.addQueryItem(QStringLiteral("quantity"), order.rules.formatQuantity(order.quantity));
    if (order.limit)
        form.addQueryItem(QStringLiteral("price"), order.rules.formatPrice(order.price));
    request.method = QByteArrayLiteral("POST");
    request.body = form.toString(QUrl::FullyEncoded).toUtf8();
    request.headers.append({QByteArrayLiteral("Content-Type"),
                            QByteArrayLiteral("application/x-www-form-urlencoded")});
    // A test order executes nothing, so sending it twice is harmless: retry it like a GET (a
    // 429 or a dropped connection would otherwise fail the quote outright).
    request.retryNonIdempotent = true;
    const auto bytes = fetch({}, std::nullopt, request, options);
    if (!bytes)
        return counted<void>(tl::unexpected(bytes.error()), options);
    return ok();
}

} // namespace opsdeck::agents

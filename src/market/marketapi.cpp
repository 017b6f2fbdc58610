#include "market/marketapi.h"

#include "market/marketsimulator.h"
#include "market/weightwindow.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QRegularExpression>

#include <cmath>

namespace opsdeck::market {

using api::ApiRequest;
using api::HttpReply;
using api::QueryList;
using api::RouteMatch;

namespace {

const QString kSymbolRange = QStringLiteral("^[A-Z0-9-_.]{1,20}$");
const QString kIntRange = QStringLiteral("^[0-9]{1,20}$");
const QString kDecimalRange = QStringLiteral("^([0-9]{1,20})(\\.[0-9]{1,20})?$");
const QString kSymbolsRange = QStringLiteral(
    "^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$");

template<typename T>
using Checked = tl::expected<T, HttpReply>;

tl::unexpected<HttpReply> reject(int code, const QString &message)
{
    return tl::unexpected<HttpReply>(exchangeError(400, code, message));
}

tl::unexpected<HttpReply> illegal(const QString &name, const QString &range)
{
    return reject(-1100, QStringLiteral("Illegal characters found in parameter '%1'; legal range "
                                        "is '%2'.")
                             .arg(name, range));
}

tl::unexpected<HttpReply> mandatory(const QString &name)
{
    return reject(-1102, QStringLiteral("Mandatory parameter '%1' was not sent, was empty/null, "
                                        "or malformed.")
                             .arg(name));
}

tl::unexpected<HttpReply> notRequired(const QString &name)
{
    return reject(-1106, QStringLiteral("Parameter '%1' sent when not required.").arg(name));
}

tl::unexpected<HttpReply> invalidData(const QString &name)
{
    return reject(-1130, QStringLiteral("Data sent for parameter '%1' is not valid.").arg(name));
}

tl::unexpected<HttpReply> filterFailure(const char *filter)
{
    return reject(-1013, QStringLiteral("Filter failure: %1").arg(QLatin1String(filter)));
}

bool fullMatch(const QString &pattern, const QString &text)
{
    // A handful of patterns, compiled once per thread (two servers may run in one process).
    thread_local QHash<QString, QRegularExpression> cache;
    auto it = cache.find(pattern);
    if (it == cache.end())
        it = cache.insert(pattern, QRegularExpression(pattern));
    return it->match(text).hasMatch();
}

// The parameters of one request: the query string, plus an x-www-form-urlencoded body for
// POST (the exchange accepts both, mixed). A repeated name is -1101; a name the endpoint does
// not read is -1104, as the exchange answers.
class Params final
{
public:
    static Checked<Params> from(const ApiRequest &request)
    {
        Params p;
        p.m_items = request.query;
        if (request.method == "POST" && !request.body.isEmpty()) {
            const QByteArray type = request.header("content-type").toLower();
            if (type.isEmpty() || type.contains("x-www-form-urlencoded"))
                p.m_items += api::parseQuery(request.body);
        }
        QStringList seen;
        for (const auto &[key, value] : p.m_items) {
            Q_UNUSED(value)
            if (seen.contains(key))
                return reject(-1101, QStringLiteral("Duplicate values for a parameter detected."));
            seen.append(key);
        }
        return p;
    }

    std::optional<HttpReply> onlyAllowed(const QStringList &allowed) const
    {
        qsizetype read = 0;
        for (const auto &[key, value] : m_items) {
            Q_UNUSED(value)
            if (allowed.contains(key))
                ++read;
        }
        if (read == m_items.size())
            return std::nullopt;
        return exchangeError(400, -1104,
                             QStringLiteral("Not all sent parameters were read; read '%1' "
                                            "parameter(s) but was sent '%2'.")
                                 .arg(read)
                                 .arg(m_items.size()));
    }

    std::optional<QString> value(const QString &name) const
    {
        for (const auto &[key, value] : m_items) {
            if (key == name)
                return value;
        }
        return std::nullopt;
    }

    // Present and non-empty.
    bool has(const QString &name) const
    {
        const auto v = value(name);
        return v && !v->isEmpty();
    }

private:
    QueryList m_items;
};

Checked<const SymbolSpec *> symbolParam(const MarketSimulator &sim, const QString &text)
{
    if (!fullMatch(kSymbolRange, text))
        return illegal(QStringLiteral("symbol"), kSymbolRange);
    const SymbolSpec *spec = sim.spec(text);
    if (!spec)
        return reject(-1121, QStringLiteral("Invalid symbol."));
    return spec;
}

Checked<const SymbolSpec *> mandatorySymbol(const MarketSimulator &sim, const Params &params)
{
    if (!params.has(QStringLiteral("symbol")))
        return mandatory(QStringLiteral("symbol"));
    return symbolParam(sim, *params.value(QStringLiteral("symbol")));
}

// An optional non-negative integer; empty counts as absent for the optional ones.
Checked<std::optional<qint64>> integerParam(const Params &params, const QString &name)
{
    const auto text = params.value(name);
    if (!text || text->isEmpty())
        return std::optional<qint64>();
    if (!fullMatch(kIntRange, *text))
        return illegal(name, kIntRange);
    bool ok = false;
    const qint64 v = text->toLongLong(&ok);
    if (!ok)
        return invalidData(name);
    return std::optional<qint64>(v);
}

Checked<int> limitParam(const Params &params, int defaultLimit, int maxLimit)
{
    auto v = integerParam(params, QStringLiteral("limit"));
    if (!v)
        return tl::unexpected<HttpReply>(v.error());
    if (!*v)
        return defaultLimit;
    if (**v < 1 || **v > maxLimit)
        return invalidData(QStringLiteral("limit"));
    return int(**v);
}

// A decimal in units of 1e-8 (the exchange's precision). Over 8 decimals is -1111.
Checked<qint64> decimalParam(const QString &name, const QString &text)
{
    if (!fullMatch(kDecimalRange, text))
        return illegal(name, kDecimalRange);
    const qsizetype dot = text.indexOf(u'.');
    const QString whole = dot < 0 ? text : text.left(dot);
    QString fraction = dot < 0 ? QString() : text.mid(dot + 1);
    while (fraction.endsWith(u'0'))
        fraction.chop(1);
    if (fraction.size() > 8)
        return reject(-1111, QStringLiteral("Parameter '%1' has too much precision.").arg(name));
    if (whole.size() > 10)
        return qint64(9'000'000'000) * 100'000'000; // far beyond every filter's maximum
    const qint64 units = whole.toLongLong() * 100'000'000
                         + QString(fraction + QString(8 - fraction.size(), u'0')).toLongLong();
    return units;
}

qint64 toUnits(double value)
{
    return std::llround(value * 1e8);
}

QByteArray quoted(double value)
{
    QByteArray out;
    out.reserve(24);
    out.append('"').append(formatDecimal(value).toLatin1()).append('"');
    return out;
}

HttpReply jsonBytes(QByteArray bytes)
{
    HttpReply reply;
    reply.body = std::move(bytes);
    return reply;
}

HttpReply jsonObject(const QJsonObject &object)
{
    return jsonBytes(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

QJsonObject symbolInfo(const SymbolSpec &s)
{
    const QJsonArray orderTypes{QStringLiteral("LIMIT"),           QStringLiteral("LIMIT_MAKER"),
                                QStringLiteral("MARKET"),          QStringLiteral("STOP_LOSS"),
                                QStringLiteral("STOP_LOSS_LIMIT"), QStringLiteral("TAKE_PROFIT"),
                                QStringLiteral("TAKE_PROFIT_LIMIT")};
    const QJsonArray filters{
        QJsonObject{{QStringLiteral("filterType"), QStringLiteral("PRICE_FILTER")},
                    {QStringLiteral("minPrice"), formatDecimal(s.minPrice)},
                    {QStringLiteral("maxPrice"), formatDecimal(s.maxPrice)},
                    {QStringLiteral("tickSize"), formatDecimal(s.tickSize)}},
        QJsonObject{{QStringLiteral("filterType"), QStringLiteral("LOT_SIZE")},
                    {QStringLiteral("minQty"), formatDecimal(s.minQty)},
                    {QStringLiteral("maxQty"), formatDecimal(s.maxQty)},
                    {QStringLiteral("stepSize"), formatDecimal(s.stepSize)}},
        QJsonObject{{QStringLiteral("filterType"), QStringLiteral("NOTIONAL")},
                    {QStringLiteral("minNotional"), formatDecimal(s.minNotional)},
                    {QStringLiteral("applyMinToMarket"), true},
                    {QStringLiteral("maxNotional"), formatDecimal(s.maxNotional)},
                    {QStringLiteral("applyMaxToMarket"), false},
                    {QStringLiteral("avgPriceMins"), 5}},
    };
    return {{QStringLiteral("symbol"), s.symbol},
            {QStringLiteral("status"), QStringLiteral("TRADING")},
            {QStringLiteral("baseAsset"), s.baseAsset},
            {QStringLiteral("baseAssetPrecision"), 8},
            {QStringLiteral("quoteAsset"), s.quoteAsset},
            {QStringLiteral("quotePrecision"), 8},
            {QStringLiteral("quoteAssetPrecision"), 8},
            {QStringLiteral("orderTypes"), orderTypes},
            {QStringLiteral("icebergAllowed"), true},
            {QStringLiteral("ocoAllowed"), true},
            {QStringLiteral("quoteOrderQtyMarketAllowed"), true},
            {QStringLiteral("isSpotTradingAllowed"), true},
            {QStringLiteral("isMarginTradingAllowed"), false},
            {QStringLiteral("filters"), filters},
            {QStringLiteral("permissions"), QJsonArray{QStringLiteral("SPOT")}}};
}

// The symbols parameter: a JSON array of symbol names, e.g. ["BTCUSDT","ETHUSDT"].
Checked<QList<const SymbolSpec *>> symbolsParam(const MarketSimulator &sim, const QString &text)
{
    if (!fullMatch(kSymbolsRange, text))
        return illegal(QStringLiteral("symbols"), kSymbolsRange);
    const QJsonArray names = QJsonDocument::fromJson(text.toUtf8()).array();
    if (names.isEmpty())
        return illegal(QStringLiteral("symbols"), kSymbolsRange);
    QList<const SymbolSpec *> out;
    for (const QJsonValue &name : names) {
        const SymbolSpec *spec = sim.spec(name.toString());
        if (!spec)
            return reject(-1121, QStringLiteral("Invalid symbol."));
        if (!out.contains(spec))
            out.append(spec);
    }
    return out;
}

// Symbol selection shared by ticker/price and exchangeInfo: symbol, symbols, or all.
Checked<QList<const SymbolSpec *>> selectSymbols(const MarketSimulator &sim, const Params &params)
{
    const bool one = params.value(QStringLiteral("symbol")).has_value();
    const bool many = params.value(QStringLiteral("symbols")).has_value();
    if (one && many)
        return reject(-1128, QStringLiteral("Combination of optional parameters invalid."));
    if (one) {
        if (!params.has(QStringLiteral("symbol")))
            return reject(-1105, QStringLiteral("Parameter 'symbol' was empty."));
        auto spec = symbolParam(sim, *params.value(QStringLiteral("symbol")));
        if (!spec)
            return tl::unexpected<HttpReply>(spec.error());
        return QList<const SymbolSpec *>{*spec};
    }
    if (many)
        return symbolsParam(sim, *params.value(QStringLiteral("symbols")));
    QList<const SymbolSpec *> all;
    for (const SymbolSpec &s : sim.symbols())
        all.append(&s);
    return all;
}

#define OPSDECK_TRY_PARAMS(params, request)                                                      \
    auto params##Checked = Params::from(request);                                               \
    if (!params##Checked)                                                                        \
        return params##Checked.error();                                                          \
    const Params &params = *params##Checked

} // namespace

HttpReply exchangeError(int status, int code, const QString &message)
{
    HttpReply reply = HttpReply::json({{QStringLiteral("code"), code},
                                       {QStringLiteral("msg"), message}},
                                      status);
    reply.body.chop(1); // the exchange sends no trailing newline
    return reply;
}

MarketApi::MarketApi(const MarketSimulator &simulator, WeightWindow &weights)
    : m_simulator(simulator)
    , m_weights(weights)
{
    registerRoutes();
}

void MarketApi::registerRoutes()
{
    m_routes.add("GET", QStringLiteral("/api/v3/ping"), [](const ApiRequest &, const RouteMatch &) {
        return jsonBytes(QByteArrayLiteral("{}"));
    });
    m_routes.add("GET", QStringLiteral("/api/v3/time"),
                 [this](const ApiRequest &r, const RouteMatch &) { return time(r); });
    m_routes.add("GET", QStringLiteral("/api/v3/exchangeInfo"),
                 [this](const ApiRequest &r, const RouteMatch &) { return exchangeInfo(r, m_faults); });
    m_routes.add("GET", QStringLiteral("/api/v3/ticker/price"),
                 [this](const ApiRequest &r, const RouteMatch &) { return tickerPrice(r); });
    m_routes.add("GET", QStringLiteral("/api/v3/depth"),
                 [this](const ApiRequest &r, const RouteMatch &) { return depth(r); });
    m_routes.add("GET", QStringLiteral("/api/v3/trades"),
                 [this](const ApiRequest &r, const RouteMatch &) { return trades(r); });
    m_routes.add("GET", QStringLiteral("/api/v3/klines"),
                 [this](const ApiRequest &r, const RouteMatch &) { return klines(r); });
    m_routes.add("POST", QStringLiteral("/api/v3/order/test"),
                 [this](const ApiRequest &r, const RouteMatch &) { return orderTest(r); });
}

std::optional<int> MarketApi::weightOf(const ApiRequest &request) const
{
    const QByteArray method = request.method == "HEAD" ? QByteArrayLiteral("GET") : request.method;
    if (method == "OPTIONS")
        return std::nullopt;
    bool served = false;
    for (const QByteArray &allowed : m_routes.allowedMethods(request.path).split(','))
        served = served || allowed.trimmed() == method;
    if (!served)
        return std::nullopt;
    const QString &path = request.path;
    if (path == u"/api/v3/ping" || path == u"/api/v3/time")
        return 1;
    if (path == u"/api/v3/exchangeInfo")
        return 20;
    if (path == u"/api/v3/ticker/price")
        return request.queryValue(QStringLiteral("symbol")) ? 2 : 4;
    if (path == u"/api/v3/depth") {
        bool ok = false;
        const int limit = request.queryValue(QStringLiteral("limit")).value_or(QString()).toInt(&ok);
        if (!ok || limit <= 100)
            return 5;
        if (limit <= 500)
            return 25;
        if (limit <= 1000)
            return 50;
        return 250;
    }
    if (path == u"/api/v3/trades")
        return 25;
    if (path == u"/api/v3/klines")
        return 2;
    if (path == u"/api/v3/order/test") {
        auto params = Params::from(request);
        const bool commission = params
                                && params->value(QStringLiteral("computeCommissionRates"))
                                       .value_or(QString()) == u"true";
        return commission ? 20 : 1;
    }
    return std::nullopt;
}

HttpReply MarketApi::handle(const ApiRequest &request, const FaultSettings &faults) const
{
    if (const std::optional<int> weight = weightOf(request)) {
        const WeightWindow::Admission a = m_weights.admit(*weight, faults.weightLimit,
                                                          faults.weightWindowMs);
        if (!a.admitted) {
            const QString per = faults.weightWindowMs == 60'000
                                    ? QStringLiteral("1 MINUTE")
                                    : QStringLiteral("%1 SECOND").arg(faults.weightWindowMs / 1000.0);
            HttpReply reply = exchangeError(
                429, -1003,
                QStringLiteral("Too much request weight used; current limit is %1 request weight "
                               "per %2. Please use WebSocket Streams for live updates to avoid "
                               "polling the API.")
                    .arg(faults.weightLimit)
                    .arg(per));
            reply.headers.append({QByteArrayLiteral("Retry-After"),
                                  QByteArray::number(a.retryAfterSeconds)});
            return reply;
        }
    }
    m_faults = faults;
    HttpReply reply = m_routes.dispatch(request);
    if (reply.status == 404 || reply.status == 405) {
        // The exchange's shape for paths and methods it does not serve.
        HttpReply shaped = exchangeError(reply.status, -1000,
                                         reply.status == 404
                                             ? QStringLiteral("Unknown endpoint %1.").arg(request.path)
                                             : QStringLiteral("Method not allowed."));
        shaped.headers = reply.headers;
        return shaped;
    }
    return reply;
}

HttpReply MarketApi::time(const ApiRequest &request) const
{
    OPSDECK_TRY_PARAMS(params, request);
    if (auto bad = params.onlyAllowed({}))
        return *bad;
    return jsonBytes("{\"serverTime\":" + QByteArray::number(m_simulator.nowMs()) + '}');
}

HttpReply MarketApi::exchangeInfo(const ApiRequest &request, const FaultSettings &faults) const
{
    OPSDECK_TRY_PARAMS(params, request);
    if (auto bad = params.onlyAllowed({QStringLiteral("symbol"), QStringLiteral("symbols")}))
        return *bad;
    auto selected = selectSymbols(m_simulator, params);
    if (!selected)
        return selected.error();
    QJsonArray symbols;
    for (const SymbolSpec *spec : *selected)
        symbols.append(symbolInfo(*spec));
    const bool minutes = faults.weightWindowMs % 60'000 == 0;
    const QJsonArray rateLimits{
        QJsonObject{{QStringLiteral("rateLimitType"), QStringLiteral("REQUEST_WEIGHT")},
                    {QStringLiteral("interval"),
                     minutes ? QStringLiteral("MINUTE") : QStringLiteral("SECOND")},
                    {QStringLiteral("intervalNum"),
                     minutes ? faults.weightWindowMs / 60'000 : qMax(1, faults.weightWindowMs / 1000)},
                    {QStringLiteral("limit"), faults.weightLimit}},
        QJsonObject{{QStringLiteral("rateLimitType"), QStringLiteral("ORDERS")},
                    {QStringLiteral("interval"), QStringLiteral("SECOND")},
                    {QStringLiteral("intervalNum"), 10},
                    {QStringLiteral("limit"), 100}},
        QJsonObject{{QStringLiteral("rateLimitType"), QStringLiteral("RAW_REQUESTS")},
                    {QStringLiteral("interval"), QStringLiteral("MINUTE")},
                    {QStringLiteral("intervalNum"), 5},
                    {QStringLiteral("limit"), 61000}}};
    return jsonObject({{QStringLiteral("timezone"), QStringLiteral("UTC")},
                       {QStringLiteral("serverTime"), m_simulator.nowMs()},
                       {QStringLiteral("rateLimits"), rateLimits},
                       {QStringLiteral("exchangeFilters"), QJsonArray()},
                       {QStringLiteral("symbols"), symbols}});
}

HttpReply MarketApi::tickerPrice(const ApiRequest &request) const
{
    OPSDECK_TRY_PARAMS(params, request);
    if (auto bad = params.onlyAllowed({QStringLiteral("symbol"), QStringLiteral("symbols")}))
        return *bad;
    auto selected = selectSymbols(m_simulator, params);
    if (!selected)
        return selected.error();
    const qint64 now = m_simulator.nowMs();
    auto one = [&](const SymbolSpec &spec) -> QByteArray { // not a dangling QStringBuilder
        return "{\"symbol\":\"" + spec.symbol.toLatin1() + "\",\"price\":"
               + quoted(m_simulator.tickerPrice(spec, now)) + "}";
    };
    if (params.value(QStringLiteral("symbol")))
        return jsonBytes(one(*selected->front()));
    QByteArray out = "[";
    for (const SymbolSpec *spec : *selected) {
        if (out.size() > 1)
            out += ',';
        out += one(*spec);
    }
    out += ']';
    return jsonBytes(out);
}

HttpReply MarketApi::depth(const ApiRequest &request) const
{
    OPSDECK_TRY_PARAMS(params, request);
    if (auto bad = params.onlyAllowed({QStringLiteral("symbol"), QStringLiteral("limit")}))
        return *bad;
    auto spec = mandatorySymbol(m_simulator, params);
    if (!spec)
        return spec.error();
    auto limit = limitParam(params, 100, 5000);
    if (!limit)
        return limit.error();
    const OrderBook book = m_simulator.orderBook(**spec, *limit, m_simulator.nowMs());
    QByteArray out;
    out.reserve(64 + (book.bids.size() + book.asks.size()) * 36);
    out += "{\"lastUpdateId\":" + QByteArray::number(book.lastUpdateId);
    for (int side = 0; side < 2; ++side) {
        out += side == 0 ? ",\"bids\":[" : "],\"asks\":[";
        const QList<BookLevel> &levels = side == 0 ? book.bids : book.asks;
        for (qsizetype i = 0; i < levels.size(); ++i) {
            if (i > 0)
                out += ',';
            out += "[" + quoted(levels[i].price) + "," + quoted(levels[i].qty) + "]";
        }
    }
    out += "]}";
    return jsonBytes(out);
}

HttpReply MarketApi::trades(const ApiRequest &request) const
{
    OPSDECK_TRY_PARAMS(params, request);
    if (auto bad = params.onlyAllowed({QStringLiteral("symbol"), QStringLiteral("limit")}))
        return *bad;
    auto spec = mandatorySymbol(m_simulator, params);
    if (!spec)
        return spec.error();
    auto limit = limitParam(params, 500, 1000);
    if (!limit)
        return limit.error();
    const QList<Trade> list = m_simulator.recentTrades(**spec, *limit, m_simulator.nowMs());
    QByteArray out = "[";
    out.reserve(list.size() * 150);
    for (const Trade &t : list) {
        if (out.size() > 1)
            out += ',';
        out += "{\"id\":" + QByteArray::number(t.id) + ",\"price\":" + quoted(t.price)
               + ",\"qty\":" + quoted(t.qty) + ",\"quoteQty\":" + quoted(t.price * t.qty)
               + ",\"time\":" + QByteArray::number(t.timeMs)
               + ",\"isBuyerMaker\":" + (t.isBuyerMaker ? "true" : "false")
               + ",\"isBestMatch\":true}";
    }
    out += ']';
    return jsonBytes(out);
}

HttpReply MarketApi::klines(const ApiRequest &request) const
{
    OPSDECK_TRY_PARAMS(params, request);
    if (auto bad = params.onlyAllowed({QStringLiteral("symbol"), QStringLiteral("interval"),
                                       QStringLiteral("limit"), QStringLiteral("startTime"),
                                       QStringLiteral("endTime")}))
        return *bad;
    auto spec = mandatorySymbol(m_simulator, params);
    if (!spec)
        return spec.error();
    if (!params.has(QStringLiteral("interval")))
        return mandatory(QStringLiteral("interval")).value();
    const std::optional<qint64> interval =
        MarketSimulator::intervalMs(*params.value(QStringLiteral("interval")));
    if (!interval)
        return exchangeError(400, -1120, QStringLiteral("Invalid interval."));
    auto limit = limitParam(params, 500, 1000);
    if (!limit)
        return limit.error();
    auto start = integerParam(params, QStringLiteral("startTime"));
    if (!start)
        return start.error();
    auto end = integerParam(params, QStringLiteral("endTime"));
    if (!end)
        return end.error();
    if (*start && *end && **start > **end)
        return exchangeError(400, -1023, QStringLiteral("Start time is greater than end time."));
    const QList<Kline> list =
        m_simulator.klines(**spec, *interval, *start, *end, *limit, m_simulator.nowMs());
    QByteArray out = "[";
    out.reserve(list.size() * 200);
    for (const Kline &k : list) {
        if (out.size() > 1)
            out += ',';
        out += "[" + QByteArray::number(k.openTime) + "," + quoted(k.open) + "," + quoted(k.high)
               + "," + quoted(k.low) + "," + quoted(k.close) + "," + quoted(k.volume) + ','
               + QByteArray::number(k.closeTime) + "," + quoted(k.quoteVolume) + ','
               + QByteArray::number(k.trades) + "," + quoted(k.takerBuyBaseVolume) + ','
               + quoted(k.takerBuyQuoteVolume) + ",\"0\"]";
    }
    out += ']';
    return jsonBytes(out);
}

HttpReply MarketApi::orderTest(const ApiRequest &request) const
{
    OPSDECK_TRY_PARAMS(params, request);
    static const QStringList allowed{
        QStringLiteral("symbol"),           QStringLiteral("side"),
        QStringLiteral("type"),             QStringLiteral("timeInForce"),
        QStringLiteral("quantity"),         QStringLiteral("quoteOrderQty"),
        QStringLiteral("price"),            QStringLiteral("stopPrice"),
        QStringLiteral("newClientOrderId"), QStringLiteral("icebergQty"),
        QStringLiteral("newOrderRespType"), QStringLiteral("recvWindow"),
        QStringLiteral("timestamp"),        QStringLiteral("signature"),
        QStringLiteral("computeCommissionRates"), QStringLiteral("selfTradePreventionMode"),
        QStringLiteral("strategyId"),       QStringLiteral("strategyType"),
        QStringLiteral("trailingDelta")};
    if (auto bad = params.onlyAllowed(allowed))
        return *bad;
    auto spec = mandatorySymbol(m_simulator, params);
    if (!spec)
        return spec.error();
    const SymbolSpec &s = **spec;

    if (!params.has(QStringLiteral("side")))
        return mandatory(QStringLiteral("side")).value();
    const QString side = *params.value(QStringLiteral("side"));
    if (side != u"BUY" && side != u"SELL")
        return exchangeError(400, -1117, QStringLiteral("Invalid side."));

    if (!params.has(QStringLiteral("type")))
        return mandatory(QStringLiteral("type")).value();
    const QString type = *params.value(QStringLiteral("type"));
    static const QStringList types{QStringLiteral("LIMIT"),           QStringLiteral("MARKET"),
                                   QStringLiteral("STOP_LOSS"),       QStringLiteral("STOP_LOSS_LIMIT"),
                                   QStringLiteral("TAKE_PROFIT"),     QStringLiteral("TAKE_PROFIT_LIMIT"),
                                   QStringLiteral("LIMIT_MAKER")};
    if (!types.contains(type))
        return exchangeError(400, -1116, QStringLiteral("Invalid orderType."));

    const bool isMarket = type == u"MARKET";
    const bool needsTimeInForce = type == u"LIMIT" || type == u"STOP_LOSS_LIMIT"
                                  || type == u"TAKE_PROFIT_LIMIT";
    const bool needsPrice = needsTimeInForce || type == u"LIMIT_MAKER";
    const bool needsStop = type.startsWith(u"STOP_LOSS") || type.startsWith(u"TAKE_PROFIT");

    if (params.has(QStringLiteral("timeInForce"))) {
        const QString tif = *params.value(QStringLiteral("timeInForce"));
        if (tif != u"GTC" && tif != u"IOC" && tif != u"FOK")
            return exchangeError(400, -1115, QStringLiteral("Invalid timeInForce."));
        if (!needsTimeInForce)
            return notRequired(QStringLiteral("timeInForce")).value();
    } else if (needsTimeInForce) {
        return mandatory(QStringLiteral("timeInForce")).value();
    }

    const bool hasQty = params.has(QStringLiteral("quantity"));
    const bool hasQuoteQty = params.has(QStringLiteral("quoteOrderQty"));
    if (isMarket) {
        if (!hasQty && !hasQuoteQty) {
            return exchangeError(400, -1102,
                                 QStringLiteral("Param 'quantity' or 'quoteOrderQty' must be sent, "
                                                "but both were empty/null!"));
        }
        if (hasQty && hasQuoteQty)
            return notRequired(QStringLiteral("quoteOrderQty")).value();
    } else {
        if (!hasQty)
            return mandatory(QStringLiteral("quantity")).value();
        if (hasQuoteQty)
            return notRequired(QStringLiteral("quoteOrderQty")).value();
    }
    const bool hasPrice = params.has(QStringLiteral("price"));
    if (needsPrice && !hasPrice)
        return mandatory(QStringLiteral("price")).value();
    if (!needsPrice && hasPrice)
        return notRequired(QStringLiteral("price")).value();
    const bool hasStop = params.has(QStringLiteral("stopPrice"));
    if (needsStop && !hasStop && !params.has(QStringLiteral("trailingDelta")))
        return mandatory(QStringLiteral("stopPrice")).value();
    if (!needsStop && hasStop)
        return notRequired(QStringLiteral("stopPrice")).value();
    for (const QString &name : {QStringLiteral("recvWindow"), QStringLiteral("timestamp"),
                                QStringLiteral("trailingDelta"), QStringLiteral("strategyId"),
                                QStringLiteral("strategyType")}) {
        auto v = integerParam(params, name);
        if (!v)
            return v.error();
    }

    // Filters, in units of 1e-8.
    const qint64 tick = toUnits(s.tickSize);
    const qint64 step = toUnits(s.stepSize);
    auto priceFilter = [&](const QString &name) -> Checked<qint64> {
        auto p = decimalParam(name, *params.value(name));
        if (!p)
            return p;
        if (*p < toUnits(s.minPrice) || *p > toUnits(s.maxPrice) || (tick > 0 && *p % tick != 0))
            return filterFailure("PRICE_FILTER");
        return p;
    };
    qint64 priceUnits = 0;
    if (hasPrice) {
        auto p = priceFilter(QStringLiteral("price"));
        if (!p)
            return p.error();
        priceUnits = *p;
    }
    if (hasStop) {
        auto p = priceFilter(QStringLiteral("stopPrice"));
        if (!p)
            return p.error();
        if (!hasPrice)
            priceUnits = *p;
    }
    // MARKET (and stop orders without a limit price) are valued at the current price.
    const double valuePrice = priceUnits > 0 ? double(priceUnits) / 1e8
                                             : m_simulator.tickerPrice(s, m_simulator.nowMs());
    double notional = 0;
    if (hasQty) {
        auto q = decimalParam(QStringLiteral("quantity"), *params.value(QStringLiteral("quantity")));
        if (!q)
            return q.error();
        const qint64 minQty = toUnits(s.minQty);
        if (*q < minQty || *q > toUnits(s.maxQty) || (step > 0 && (*q - minQty) % step != 0))
            return filterFailure("LOT_SIZE").value();
        notional = double(*q) / 1e8 * valuePrice;
    } else {
        auto q = decimalParam(QStringLiteral("quoteOrderQty"),
                              *params.value(QStringLiteral("quoteOrderQty")));
        if (!q)
            return q.error();
        notional = double(*q) / 1e8;
    }
    if (params.has(QStringLiteral("icebergQty"))) {
        auto q = decimalParam(QStringLiteral("icebergQty"), *params.value(QStringLiteral("icebergQty")));
        if (!q)
            return q.error();
    }
    if (notional + 1e-9 < s.minNotional)
        return filterFailure("NOTIONAL").value();
    if (!isMarket && notional > s.maxNotional + 1e-9)
        return filterFailure("NOTIONAL").value();

    if (params.value(QStringLiteral("computeCommissionRates")).value_or(QString()) == u"true") {
        return jsonBytes(QByteArrayLiteral(
            "{\"standardCommissionForOrder\":{\"maker\":\"0.00100000\",\"taker\":\"0.00100000\"},"
            "\"taxCommissionForOrder\":{\"maker\":\"0.00000000\",\"taker\":\"0.00000000\"},"
            "\"discount\":{\"enabledForAccount\":false,\"enabledForSymbol\":false,"
            "\"discountAsset\":\"BNB\",\"discount\":\"0.25000000\"}}"));
    }
    return jsonBytes(QByteArrayLiteral("{}")); // validated; nothing is ever executed
}

} // namespace opsdeck::market

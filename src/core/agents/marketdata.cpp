#include "core/agents/marketdata.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonParseError>

#include <cmath>

namespace opsdeck::agents {

namespace {

tl::unexpected<Error> badResponse(const QString &what)
{
    return fail(QStringLiteral("market_bad_response"),
                QStringLiteral("The market's answer is not as expected: %1.").arg(what));
}

Result<QJsonDocument> parseDocument(const QByteArray &json, const char *what)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError) {
        return badResponse(
            QStringLiteral("%1 is not JSON (%2)").arg(QLatin1String(what), error.errorString()));
    }
    return doc;
}

// The exchange sends decimals as strings; accept numbers too.
std::optional<double> decimal(const QJsonValue &value)
{
    if (value.isDouble())
        return value.toDouble();
    if (!value.isString())
        return std::nullopt;
    bool ok = false;
    const double d = value.toString().toDouble(&ok);
    if (!ok || !std::isfinite(d))
        return std::nullopt;
    return d;
}

std::optional<qint64> integer(const QJsonValue &value)
{
    if (value.isDouble())
        return qint64(value.toDouble());
    if (value.isString()) {
        bool ok = false;
        const qint64 v = value.toString().toLongLong(&ok);
        if (ok)
            return v;
    }
    return std::nullopt;
}

Result<QList<BookLevel>> levels(const QJsonValue &value, const char *side)
{
    if (!value.isArray())
        return badResponse(QStringLiteral("depth has no %1 array").arg(QLatin1String(side)));
    QList<BookLevel> out;
    const QJsonArray array = value.toArray();
    out.reserve(array.size());
    for (const QJsonValue &level : array) {
        const QJsonArray pair = level.toArray();
        BookLevel parsed;
        bool good = pair.size() >= 2;
        if (good) {
            const std::optional<double> price = decimal(pair.at(0));
            const std::optional<double> qty = decimal(pair.at(1));
            good = price.has_value() && qty.has_value();
            if (good) {
                parsed.price = price.value_or(0);
                parsed.quantity = qty.value_or(0);
            }
        }
        if (!good || parsed.price <= 0 || parsed.quantity < 0)
            return badResponse(
                QStringLiteral("a %1 level is not [price, quantity]").arg(QLatin1String(side)));
        out.append(parsed);
    }
    return out;
}

double roundToStep(double value, double step, bool up)
{
    if (step <= 0)
        return value;
    const double units = value / step;
    // A tolerance so 0.30000000000000004 / 0.1 does not round to the next step.
    const double n = up ? std::ceil(units - 1e-9) : std::floor(units + 1e-9);
    return n * step;
}

} // namespace

QString toString(Side side)
{
    return side == Side::Buy ? QStringLiteral("BUY") : QStringLiteral("SELL");
}

double OrderBook::spreadBps() const
{
    const double m = mid();
    return m > 0 ? (bestAsk() - bestBid()) / m * 10'000.0 : 0.0;
}

double OrderBook::depthNotional(double bps) const
{
    const double m = mid();
    if (m <= 0)
        return 0;
    const double lo = m * (1 - bps / 10'000.0);
    const double hi = m * (1 + bps / 10'000.0);
    double sum = 0;
    for (const BookLevel &l : bids) {
        if (l.price < lo)
            break;
        sum += l.price * l.quantity;
    }
    for (const BookLevel &l : asks) {
        if (l.price > hi)
            break;
        sum += l.price * l.quantity;
    }
    return sum;
}

int decimalsForStep(double step)
{
    if (step <= 0 || step >= 1)
        return 0;
    return std::min(8, int(std::ceil(-std::log10(step) - 1e-9)));
}

double SymbolRules::roundPrice(double price, Side side) const
{
    const double rounded = roundToStep(price, tickSize, side == Side::Sell);
    return std::max(rounded, tickSize > 0 ? tickSize : rounded);
}

double SymbolRules::roundQuantity(double quantity) const
{
    if (quantity < minQty || quantity <= 0)
        return 0;
    const double rounded = minQty + roundToStep(quantity - minQty, stepSize, false);
    if (maxQty > 0 && rounded > maxQty)
        return minQty + roundToStep(maxQty - minQty, stepSize, false);
    return rounded;
}

QString SymbolRules::formatPrice(double price) const
{
    return QString::number(price, 'f', decimalsForStep(tickSize));
}

QString SymbolRules::formatQuantity(double quantity) const
{
    return QString::number(quantity, 'f', decimalsForStep(stepSize));
}

Result<OrderBook> parseOrderBook(const QString &symbol, const QByteArray &json)
{
    auto doc = parseDocument(json, "depth");
    if (!doc)
        return tl::unexpected(doc.error());
    if (!doc->isObject())
        return badResponse(QStringLiteral("depth is not an object"));
    const QJsonObject o = doc->object();
    OrderBook book;
    book.symbol = symbol;
    book.lastUpdateId = integer(o.value(QStringLiteral("lastUpdateId"))).value_or(0);
    auto bids = levels(o.value(QStringLiteral("bids")), "bids");
    if (!bids)
        return tl::unexpected(bids.error());
    auto asks = levels(o.value(QStringLiteral("asks")), "asks");
    if (!asks)
        return tl::unexpected(asks.error());
    book.bids = std::move(*bids);
    book.asks = std::move(*asks);
    return book;
}

Result<QList<Trade>> parseTrades(const QByteArray &json)
{
    auto doc = parseDocument(json, "trades");
    if (!doc)
        return tl::unexpected(doc.error());
    if (!doc->isArray())
        return badResponse(QStringLiteral("trades is not an array"));
    QList<Trade> out;
    const QJsonArray array = doc->array();
    out.reserve(array.size());
    for (const QJsonValue &v : array) {
        const QJsonObject o = v.toObject();
        const auto id = integer(o.value(QStringLiteral("id")));
        const auto price = decimal(o.value(QStringLiteral("price")));
        const auto qty = decimal(o.value(QStringLiteral("qty")));
        const auto time = integer(o.value(QStringLiteral("time")));
        if (!id || !price || !qty || !time)
            return badResponse(QStringLiteral("a trade lacks id, price, qty or time"));
        out.append(
            Trade{*id, *price, *qty, *time, o.value(QStringLiteral("isBuyerMaker")).toBool()});
    }
    return out;
}

Result<QList<Kline>> parseKlines(const QByteArray &json)
{
    auto doc = parseDocument(json, "klines");
    if (!doc)
        return tl::unexpected(doc.error());
    if (!doc->isArray())
        return badResponse(QStringLiteral("klines is not an array"));
    QList<Kline> out;
    const QJsonArray array = doc->array();
    out.reserve(array.size());
    for (const QJsonValue &v : array) {
        const QJsonArray k = v.toArray();
        if (k.size() < 9)
            return badResponse(QStringLiteral("a kline has fewer than 9 fields"));
        const auto openTime = integer(k.at(0));
        const auto open = decimal(k.at(1));
        const auto high = decimal(k.at(2));
        const auto low = decimal(k.at(3));
        const auto close = decimal(k.at(4));
        const auto volume = decimal(k.at(5));
        const auto closeTime = integer(k.at(6));
        const auto quoteVolume = decimal(k.at(7));
        const auto trades = integer(k.at(8));
        if (!openTime || !open || !high || !low || !close || !volume || !closeTime || !quoteVolume
            || !trades)
            return badResponse(QStringLiteral("a kline field is not a number"));
        out.append(Kline{*openTime, *open, *high, *low, *close, *volume, *closeTime, *quoteVolume,
                         *trades});
    }
    return out;
}

Result<QList<TickerPrice>> parseTickerPrices(const QByteArray &json)
{
    auto doc = parseDocument(json, "ticker/price");
    if (!doc)
        return tl::unexpected(doc.error());
    QJsonArray array;
    if (doc->isObject())
        array.append(doc->object());
    else if (doc->isArray())
        array = doc->array();
    else
        return badResponse(QStringLiteral("ticker/price is neither an object nor an array"));
    QList<TickerPrice> out;
    for (const QJsonValue &v : std::as_const(array)) {
        const QJsonObject o = v.toObject();
        const auto price = decimal(o.value(QStringLiteral("price")));
        const QString symbol = o.value(QStringLiteral("symbol")).toString();
        if (!price || symbol.isEmpty())
            return badResponse(QStringLiteral("a ticker lacks symbol or price"));
        out.append(TickerPrice{symbol, *price});
    }
    return out;
}

Result<SymbolRules> parseSymbolRules(const QString &symbol, const QByteArray &json)
{
    auto doc = parseDocument(json, "exchangeInfo");
    if (!doc)
        return tl::unexpected(doc.error());
    const QJsonArray symbols = doc->object().value(QStringLiteral("symbols")).toArray();
    for (const QJsonValue &v : symbols) {
        const QJsonObject s = v.toObject();
        if (s.value(QStringLiteral("symbol")).toString() != symbol)
            continue;
        SymbolRules rules;
        rules.symbol = symbol;
        rules.status = s.value(QStringLiteral("status")).toString();
        const QJsonArray filters = s.value(QStringLiteral("filters")).toArray();
        for (const QJsonValue &fv : filters) {
            const QJsonObject f = fv.toObject();
            const QString type = f.value(QStringLiteral("filterType")).toString();
            auto read = [&f](const char *name, double &into) {
                if (const auto d = decimal(f.value(QLatin1String(name))))
                    into = *d;
            };
            if (type == u"PRICE_FILTER") {
                read("tickSize", rules.tickSize);
                read("minPrice", rules.minPrice);
                read("maxPrice", rules.maxPrice);
            } else if (type == u"LOT_SIZE") {
                read("stepSize", rules.stepSize);
                read("minQty", rules.minQty);
                read("maxQty", rules.maxQty);
            } else if (type == u"NOTIONAL" || type == u"MIN_NOTIONAL") {
                read("minNotional", rules.minNotional);
            }
        }
        return rules;
    }
    return fail(QStringLiteral("market_unknown_symbol"),
                QStringLiteral("The market does not list the symbol %1.").arg(symbol),
                QJsonObject{{QStringLiteral("symbol"), symbol}});
}

Result<qint64> parseServerTime(const QByteArray &json)
{
    auto doc = parseDocument(json, "time");
    if (!doc)
        return tl::unexpected(doc.error());
    const auto t = integer(doc->object().value(QStringLiteral("serverTime")));
    if (!t)
        return badResponse(QStringLiteral("time has no serverTime"));
    return *t;
}

} // namespace opsdeck::agents

// Market data types and parsers: the Binance spot v3 JSON shapes (string prices and quantities)
// turned into typed values. Pure functions over bytes; plain values that any thread may copy.
//
//     Result<OrderBook> book = parseOrderBook(symbol, bytes);   // /api/v3/depth
//     double mid = book->mid();
//
// Not a client: MarketDataClient fetches the bytes (through the cache and the HTTP pool).
#pragma once

#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>

#include <optional>

namespace opsdeck::agents {

enum class Side { Buy, Sell };

// "BUY", "SELL" (the exchange's spelling).
QString toString(Side side);
inline Side opposite(Side side)
{
    return side == Side::Buy ? Side::Sell : Side::Buy;
}

struct BookLevel
{
    double price = 0;
    double quantity = 0;
};

// /api/v3/depth: bids best (highest) first, asks best (lowest) first.
struct OrderBook
{
    QString symbol;
    qint64 lastUpdateId = 0;
    QList<BookLevel> bids;
    QList<BookLevel> asks;

    bool isValid() const { return !bids.isEmpty() && !asks.isEmpty(); }
    double bestBid() const { return bids.isEmpty() ? 0.0 : bids.first().price; }
    double bestAsk() const { return asks.isEmpty() ? 0.0 : asks.first().price; }
    double mid() const { return isValid() ? (bestBid() + bestAsk()) / 2.0 : 0.0; }
    double spreadBps() const; // (ask − bid) / mid × 10⁴; 0 when the book is one-sided
    // Quote-currency value of the levels within `bps` of the mid, both sides.
    double depthNotional(double bps) const;
};

// One element of /api/v3/trades.
struct Trade
{
    qint64 id = 0;
    double price = 0;
    double quantity = 0;
    qint64 timeMs = 0;
    bool buyerIsMaker = false; // true: the taker sold (the trade hit the bid)
};

// One element of /api/v3/klines (the 12-element array).
struct Kline
{
    qint64 openTimeMs = 0;
    double open = 0;
    double high = 0;
    double low = 0;
    double close = 0;
    double volume = 0; // base asset
    qint64 closeTimeMs = 0;
    double quoteVolume = 0;
    qint64 trades = 0;
};

struct TickerPrice
{
    QString symbol;
    double price = 0;
};

// The trading rules of one symbol from /api/v3/exchangeInfo (PRICE_FILTER, LOT_SIZE, NOTIONAL or
// MIN_NOTIONAL). Orders are rounded to them so that order/test accepts them.
struct SymbolRules
{
    QString symbol;
    QString status;
    double tickSize = 0.01;
    double minPrice = 0;
    double maxPrice = 0;
    double stepSize = 0.00001;
    double minQty = 0;
    double maxQty = 0;
    double minNotional = 0;

    // Rounded down (Buy) or up (Sell) to a multiple of tickSize, so a quote never crosses further
    // than asked. Never below one tick.
    double roundPrice(double price, Side side) const;
    // Rounded down to minQty + k·stepSize; 0 when below minQty.
    double roundQuantity(double quantity) const;
    // Decimal text without exponent, with as many decimals as the step needs ("0.00100").
    QString formatPrice(double price) const;
    QString formatQuantity(double quantity) const;
};

// Parsers: the exchange's JSON, or an Error "market_bad_response" naming what was wrong.
Result<OrderBook> parseOrderBook(const QString &symbol, const QByteArray &json);
Result<QList<Trade>> parseTrades(const QByteArray &json);
Result<QList<Kline>> parseKlines(const QByteArray &json);
// One object ({"symbol","price"}) or an array of them.
Result<QList<TickerPrice>> parseTickerPrices(const QByteArray &json);
// The rules of `symbol` from a whole exchangeInfo document ("market_unknown_symbol" if absent).
Result<SymbolRules> parseSymbolRules(const QString &symbol, const QByteArray &json);
// {"serverTime": ms}.
Result<qint64> parseServerTime(const QByteArray &json);

// Text → decimal with the number of decimals a step like "0.00100000" needs (here 3).
int decimalsForStep(double step);

} // namespace opsdeck::agents

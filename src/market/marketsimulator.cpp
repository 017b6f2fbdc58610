#include "market/marketsimulator.h"

#include "core/runtime/runtimeconfig.h"
#include "core/support/clock.h"
#include "market/counterrng.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

namespace opsdeck::market {

namespace {

using rng::Purpose;

constexpr double kMsPerYear = 365.25 * 86'400'000.0;
constexpr double kMsPerDay = 86'400'000.0;
constexpr qint64 kDayMs = 86'400'000;
constexpr int kMaxTradesPerBucket = 8; // trade ids are bucket * 8 + index

qint64 floorDiv(qint64 a, qint64 b)
{
    qint64 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        --q;
    return q;
}

// Poisson(mean): inversion for small means, a rounded normal for large ones.
qint64 poisson(double mean, quint64 key)
{
    if (mean <= 0)
        return 0;
    if (mean < 30) {
        const double u = rng::uniform(key);
        double p = std::exp(-mean);
        double cdf = p;
        qint64 k = 0;
        while (u > cdf && k < 200) {
            ++k;
            p *= mean / double(k);
            cdf += p;
        }
        return k;
    }
    return std::max<qint64>(0, std::llround(mean + std::sqrt(mean) * rng::normal(key)));
}

// Binomial(n, 1/2): exact popcount of n random bits up to 64, a rounded normal beyond.
qint64 binomialHalf(qint64 n, quint64 key)
{
    if (n <= 0)
        return 0;
    if (n <= 64) {
        const quint64 bits = rng::mix(key);
        const quint64 mask = n == 64 ? ~quint64(0) : ((quint64(1) << n) - 1);
        return std::popcount(bits & mask);
    }
    const qint64 k = std::llround(double(n) / 2 + std::sqrt(double(n)) / 2 * rng::normal(key));
    return std::clamp<qint64>(k, 0, n);
}

struct Preset
{
    const char *symbol;
    const char *base;
    double price, vol, tick, step, minQty, maxQty, tradesPerSecond, volumePerSecond;
};

constexpr std::array kPresets{
    Preset{"BTCUSDT", "BTC", 60000.0, 0.55, 0.01, 0.00001, 0.00001, 9000.0, 8.0, 0.4},
    Preset{"ETHUSDT", "ETH", 3000.0, 0.65, 0.01, 0.0001, 0.0001, 9000.0, 6.0, 4.0},
    Preset{"SOLUSDT", "SOL", 150.0, 0.85, 0.01, 0.001, 0.001, 90000.0, 4.0, 40.0},
    Preset{"BNBUSDT", "BNB", 600.0, 0.5, 0.01, 0.001, 0.001, 90000.0, 2.0, 5.0},
    Preset{"XRPUSDT", "XRP", 0.6, 0.7, 0.0001, 0.1, 0.1, 9'000'000.0, 3.0, 5000.0},
    Preset{"DOGEUSDT", "DOGE", 0.15, 0.9, 0.00001, 1.0, 1.0, 9'000'000.0, 3.0, 20000.0},
    Preset{"ADAUSDT", "ADA", 0.45, 0.8, 0.0001, 0.1, 0.1, 9'000'000.0, 2.0, 8000.0},
};

QString splitBase(const QString &symbol, QString *quote)
{
    static const QStringList quotes{QStringLiteral("USDT"), QStringLiteral("USDC"),
                                    QStringLiteral("FDUSD"), QStringLiteral("BUSD"),
                                    QStringLiteral("BTC"), QStringLiteral("ETH"),
                                    QStringLiteral("EUR")};
    for (const QString &q : quotes) {
        if (symbol.size() > q.size() && symbol.endsWith(q)) {
            *quote = q;
            return symbol.left(symbol.size() - q.size());
        }
    }
    *quote = QStringLiteral("USDT");
    return symbol;
}

double powerOfTenAtMost(double value)
{
    return std::pow(10.0, std::floor(std::log10(value)));
}

} // namespace

QString formatDecimal(double value)
{
    if (value == 0 || std::abs(value) < 5e-9)
        value = 0; // no "-0.00000000"
    return QString::number(value, 'f', 8);
}

double roundToStep(double value, double step)
{
    if (step <= 0)
        return value;
    return std::round(value / step) * step;
}

SymbolSpec SymbolSpec::forSymbol(const QString &symbol)
{
    SymbolSpec spec;
    spec.symbol = symbol;
    for (const Preset &p : kPresets) {
        if (symbol == QLatin1String(p.symbol)) {
            spec.baseAsset = QLatin1String(p.base);
            spec.quoteAsset = QStringLiteral("USDT");
            spec.initialPrice = p.price;
            spec.annualVolatility = p.vol;
            spec.tickSize = p.tick;
            spec.minPrice = p.tick;
            spec.stepSize = p.step;
            spec.minQty = p.minQty;
            spec.maxQty = p.maxQty;
            spec.tradesPerSecond = p.tradesPerSecond;
            spec.volumePerSecond = p.volumePerSecond;
            return spec;
        }
    }
    // Derived from the name: log-uniform price in 0.5..2000, tick about 1e-5 of the price.
    QString quote;
    spec.baseAsset = splitBase(symbol, &quote);
    spec.quoteAsset = quote;
    const quint64 h = rng::mix(rng::symbolHash(symbol));
    const double u = rng::uniform(h);
    spec.initialPrice = std::round(0.5 * std::pow(4000.0, u) * 1e4) / 1e4;
    spec.annualVolatility = 0.5 + 0.5 * rng::uniform(h ^ 1);
    spec.tickSize = std::max(1e-8, powerOfTenAtMost(spec.initialPrice * 1e-5));
    spec.minPrice = spec.tickSize;
    spec.stepSize = std::max(1e-8, powerOfTenAtMost(10.0 / spec.initialPrice) / 1000.0);
    spec.minQty = spec.stepSize;
    spec.maxQty = 9'000'000.0;
    spec.tradesPerSecond = 2.0;
    spec.volumePerSecond = 50.0 / spec.initialPrice * 20.0;
    return spec;
}

MarketSimulator::Settings MarketSimulator::Settings::fromConfig(const MarketConfig &config)
{
    Settings settings;
    settings.seed = quint64(config.seed);
    for (const QString &symbol : config.symbols)
        settings.symbols.append(SymbolSpec::forSymbol(symbol.trimmed().toUpper()));
    return settings;
}

MarketSimulator::MarketSimulator(Settings settings, const Clock &clock)
    : m_seed(settings.seed)
    , m_symbols(std::move(settings.symbols))
    , m_clock(clock)
{
    if (m_symbols.isEmpty()) {
        for (const char *name : {"BTCUSDT", "ETHUSDT", "SOLUSDT"})
            m_symbols.append(SymbolSpec::forSymbol(QLatin1String(name)));
    }
}

qint64 MarketSimulator::nowMs() const
{
    return m_clock.wallMsecs();
}

const SymbolSpec *MarketSimulator::spec(QStringView symbol) const
{
    for (const SymbolSpec &s : m_symbols) {
        if (s.symbol == symbol)
            return &s;
    }
    return nullptr;
}

qint64 MarketSimulator::bucketOf(qint64 timeMs)
{
    return floorDiv(timeMs - kAnchorMs, kBucketMs);
}

// Standard random walk W(n) with W(0) = 0 and unit-variance steps, by Brownian-bridge descent:
// W(±H) ~ N(0, H); the midpoint of [lo, hi] given both ends is their mean plus
// N(0, (hi - lo) / 4). 32 levels reach any bucket.
double MarketSimulator::bridge(quint64 symbolKey, qint64 n) const
{
    if (n == 0)
        return 0;
    const double rootSd = std::sqrt(double(kHorizonBuckets));
    qint64 lo = 0;
    qint64 hi = 0;
    double wlo = 0;
    double whi = 0;
    if (n > 0) {
        hi = kHorizonBuckets;
        whi = rootSd * rng::normal(rng::key(m_seed, symbolKey, 1, Purpose::BridgeRoot));
    } else {
        lo = -kHorizonBuckets;
        wlo = rootSd * rng::normal(rng::key(m_seed, symbolKey, -1, Purpose::BridgeRoot));
    }
    while (true) {
        if (n == lo)
            return wlo;
        if (n == hi)
            return whi;
        const qint64 mid = lo + (hi - lo) / 2;
        const double wmid = (wlo + whi) / 2
                            + std::sqrt(double(hi - lo) / 4.0)
                                  * rng::normal(rng::key(m_seed, symbolKey, lo, Purpose::Bridge,
                                                         quint64(hi)));
        if (n < mid) {
            hi = mid;
            whi = wmid;
        } else {
            lo = mid;
            wlo = wmid;
        }
    }
}

// The sum of the log jumps between the anchor and bucket n. A node of the tree over [lo, hi)
// holds its jump count k and sum s; a child's count is Binomial(k, 1/2) and, given the counts,
// its sum is N(s kL / k, sigmaJ^2 kL kR / k): exact for Gaussian jump sizes, and a node with no
// jump ends the descent.
double MarketSimulator::jumps(const SymbolSpec &spec, quint64 symbolKey, qint64 n) const
{
    if (n == 0 || spec.jumpsPerDay <= 0 || spec.jumpSigma <= 0)
        return 0;
    const double sigma = spec.jumpSigma;
    const double rootMean = spec.jumpsPerDay * double(kHorizonBuckets) * double(kBucketMs) / kMsPerDay;
    const qint64 side = n > 0 ? 1 : -1;
    qint64 lo = n > 0 ? 0 : -kHorizonBuckets;
    qint64 hi = n > 0 ? kHorizonBuckets : 0;
    qint64 k = poisson(rootMean, rng::key(m_seed, symbolKey, side, Purpose::JumpRoot));
    double s = std::sqrt(double(k)) * sigma
               * rng::normal(rng::key(m_seed, symbolKey, side, Purpose::JumpRoot, 1));
    const double total = s;
    double prefix = 0; // sum over [lo0, n)
    while (true) {
        if (k == 0 || n <= lo)
            break;
        if (n >= hi) {
            prefix += s;
            break;
        }
        const qint64 mid = lo + (hi - lo) / 2;
        const qint64 kl = binomialHalf(k, rng::key(m_seed, symbolKey, lo, Purpose::JumpCount,
                                                   quint64(hi)));
        double sl = 0;
        if (kl == k) {
            sl = s;
        } else if (kl > 0) {
            const double kd = double(k);
            sl = s * double(kl) / kd
                 + sigma * std::sqrt(double(kl) * double(k - kl) / kd)
                       * rng::normal(rng::key(m_seed, symbolKey, lo, Purpose::JumpSize,
                                              quint64(hi)));
        }
        if (n <= mid) {
            hi = mid;
            k = kl;
            s = sl;
        } else {
            prefix += sl;
            lo = mid;
            k -= kl;
            s -= sl;
        }
    }
    // n > 0: jumps in [0, n). n < 0: minus the jumps in [n, 0) = prefix - total.
    return n > 0 ? prefix : prefix - total;
}

double MarketSimulator::logPriceDeviation(const SymbolSpec &spec, quint64 symbolKey, qint64 n) const
{
    n = std::clamp(n, -kHorizonBuckets, kHorizonBuckets);
    const double sigmaStep = spec.annualVolatility * std::sqrt(double(kBucketMs) / kMsPerYear);
    const double years = double(n) * double(kBucketMs) / kMsPerYear;
    return spec.logDriftPerYear * years + sigmaStep * bridge(symbolKey, n)
           + jumps(spec, symbolKey, n);
}

double MarketSimulator::priceAt(const SymbolSpec &spec, qint64 timeMs) const
{
    const quint64 symbolKey = rng::symbolHash(spec.symbol);
    const double price = spec.initialPrice
                         * std::exp(logPriceDeviation(spec, symbolKey, bucketOf(timeMs)));
    return std::clamp(price, spec.minPrice, spec.maxPrice);
}

double MarketSimulator::tickerPrice(const SymbolSpec &spec, qint64 timeMs) const
{
    return std::max(spec.tickSize, roundToStep(priceAt(spec, timeMs), spec.tickSize));
}

std::pair<double, double> MarketSimulator::bestBidAsk(const SymbolSpec &spec, qint64 timeMs) const
{
    const double mid = priceAt(spec, timeMs);
    const double half = std::max(spec.tickSize / 2, mid * spec.spreadBps / 20'000.0);
    const double tick = spec.tickSize;
    double bid = std::floor((mid - half) / tick + 1e-9) * tick;
    double ask = std::ceil((mid + half) / tick - 1e-9) * tick;
    bid = std::max(bid, tick);
    if (ask <= bid + tick / 2)
        ask = bid + tick;
    return {bid, ask};
}

OrderBook MarketSimulator::orderBook(const SymbolSpec &spec, int limit, qint64 timeMs) const
{
    OrderBook book;
    const qint64 n = bucketOf(timeMs);
    book.lastUpdateId = n + kHorizonBuckets;
    const quint64 symbolKey = rng::symbolHash(spec.symbol);
    const qint64 second = floorDiv(n, 10); // level sizes refresh every second
    const auto [bestBid, bestAsk] = bestBidAsk(spec, timeMs);
    const double mid = (bestBid + bestAsk) / 2;
    const double tick = spec.tickSize;
    const qint64 baseGap = std::max<qint64>(1, qint64(std::floor(mid * 2e-6 / tick)));
    const double meanQty = std::max(spec.minQty, spec.volumePerSecond * 2);
    book.bids.reserve(limit);
    book.asks.reserve(limit);
    for (int side = 0; side < 2; ++side) {
        QList<BookLevel> &levels = side == 0 ? book.bids : book.asks;
        qint64 ticks = qint64(std::llround((side == 0 ? bestBid : bestAsk) / tick));
        for (int i = 0; i < limit; ++i) {
            const quint64 k = rng::key(m_seed, symbolKey, second, Purpose::Book,
                                       quint64(i) * 2 + quint64(side));
            if (i > 0) {
                const qint64 gap = baseGap * qint64(1 + (rng::mix(k) % 4 == 0 ? 1 : 0)); // 1.25 on average
                ticks += side == 0 ? -gap : gap;
            }
            const double price = double(ticks) * tick;
            if (price < spec.minPrice || price > spec.maxPrice)
                break; // a book that would reach zero is shorter than the limit
            const double qty = meanQty * (1.0 + i / 50.0)
                                * std::exp(0.7 * rng::normal(k) - 0.245);
            levels.append({price, std::max(spec.minQty, roundToStep(qty, spec.stepSize))});
        }
    }
    return book;
}

QList<Trade> MarketSimulator::recentTrades(const SymbolSpec &spec, int limit, qint64 timeMs) const
{
    QList<Trade> newestFirst;
    newestFirst.reserve(limit);
    const quint64 symbolKey = rng::symbolHash(spec.symbol);
    const double perBucket = spec.tradesPerSecond * double(kBucketMs) / 1000.0;
    const double meanQty = spec.volumePerSecond / std::max(0.01, spec.tradesPerSecond);
    const qint64 last = bucketOf(timeMs);
    // A quiet symbol still ends the walk: at most 200,000 buckets (5.6 h) back.
    for (qint64 n = last; n > last - 200'000 && newestFirst.size() < limit; --n) {
        const qint64 count = std::min<qint64>(
            kMaxTradesPerBucket, poisson(perBucket, rng::key(m_seed, symbolKey, n, Purpose::TradeCount)));
        if (count == 0)
            continue;
        const qint64 bucketStart = kAnchorMs + n * kBucketMs;
        std::array<int, kMaxTradesPerBucket> offsets{};
        for (qint64 j = 0; j < count; ++j)
            offsets[j] = int(rng::uniform(rng::key(m_seed, symbolKey, n, Purpose::Trade,
                                                   quint64(j) * 4))
                             * double(kBucketMs));
        for (qint64 a = 1; a < count; ++a) { // insertion sort of at most 8 offsets
            for (qint64 b = a; b > 0 && offsets[b - 1] > offsets[b]; --b)
                std::swap(offsets[b - 1], offsets[b]);
        }
        const auto [bid, ask] = bestBidAsk(spec, bucketStart);
        for (qint64 j = count - 1; j >= 0 && newestFirst.size() < limit; --j) {
            const qint64 t = bucketStart + offsets[j];
            if (t > timeMs)
                continue;
            const quint64 k = rng::key(m_seed, symbolKey, n, Purpose::Trade, quint64(j) * 4 + 1);
            Trade trade;
            trade.id = (n + kHorizonBuckets) * kMaxTradesPerBucket + j;
            trade.timeMs = t;
            trade.isBuyerMaker = rng::uniform(k) < 0.5;
            trade.price = trade.isBuyerMaker ? bid : ask; // a sell hits the bid, a buy lifts the ask
            trade.qty = std::max(spec.minQty,
                                 roundToStep(meanQty * std::exp(0.8 * rng::normal(k) - 0.32),
                                             spec.stepSize));
            newestFirst.append(trade);
        }
    }
    std::reverse(newestFirst.begin(), newestFirst.end());
    return newestFirst;
}

std::optional<qint64> MarketSimulator::intervalMs(QStringView name)
{
    static const struct
    {
        const char *name;
        qint64 ms;
    } table[] = {{"1s", 1000},           {"1m", 60'000},       {"3m", 180'000},
                 {"5m", 300'000},        {"15m", 900'000},     {"30m", 1'800'000},
                 {"1h", 3'600'000},      {"2h", 7'200'000},    {"4h", 14'400'000},
                 {"6h", 21'600'000},     {"8h", 28'800'000},   {"12h", 43'200'000},
                 {"1d", kDayMs},         {"3d", 3 * kDayMs},   {"1w", 7 * kDayMs}};
    for (const auto &row : table) {
        if (name == QLatin1String(row.name))
            return row.ms;
    }
    return std::nullopt;
}

QStringList MarketSimulator::intervalNames()
{
    return {QStringLiteral("1s"), QStringLiteral("1m"),  QStringLiteral("3m"),
            QStringLiteral("5m"), QStringLiteral("15m"), QStringLiteral("30m"),
            QStringLiteral("1h"), QStringLiteral("2h"),  QStringLiteral("4h"),
            QStringLiteral("6h"), QStringLiteral("8h"),  QStringLiteral("12h"),
            QStringLiteral("1d"), QStringLiteral("3d"),  QStringLiteral("1w")};
}

qint64 MarketSimulator::alignToInterval(qint64 timeMs, qint64 intervalMs)
{
    // The Unix epoch was a Thursday: weekly klines open on Monday 00:00 UTC.
    const qint64 offset = intervalMs == 7 * kDayMs ? 4 * kDayMs : 0;
    return floorDiv(timeMs - offset, intervalMs) * intervalMs + offset;
}

Kline MarketSimulator::kline(const SymbolSpec &spec, qint64 openTime, qint64 intervalMs, qint64 nowMs) const
{
    Kline k;
    k.openTime = openTime;
    k.closeTime = openTime + intervalMs - 1;
    const qint64 lastTime = std::min(k.closeTime, std::max(openTime, nowMs));
    // High and low from the open, the close and evenly spaced samples: exact for 1s klines
    // (every 100 ms bucket), 32 samples per kline from 1m up.
    const qint64 step = std::max(kBucketMs, (intervalMs / 32) / kBucketMs * kBucketMs);
    k.open = roundToStep(priceAt(spec, openTime), spec.tickSize);
    k.close = roundToStep(priceAt(spec, lastTime), spec.tickSize);
    k.high = std::max(k.open, k.close);
    k.low = std::min(k.open, k.close);
    for (qint64 t = openTime + step; t < lastTime; t += step) {
        const double p = roundToStep(priceAt(spec, t), spec.tickSize);
        k.high = std::max(k.high, p);
        k.low = std::min(k.low, p);
    }
    const quint64 key = rng::key(m_seed, rng::symbolHash(spec.symbol), openTime, Purpose::Kline,
                                 quint64(intervalMs));
    const double seconds = double(lastTime - openTime + 1) / 1000.0;
    k.volume = roundToStep(spec.volumePerSecond * seconds * std::exp(0.5 * rng::normal(key) - 0.125),
                           spec.stepSize);
    const double typical = (k.open + k.high + k.low + k.close) / 4;
    k.quoteVolume = k.volume * typical;
    k.trades = std::llround(spec.tradesPerSecond * seconds
                            * std::exp(0.3 * rng::normal(key ^ 0x1234) - 0.045));
    const double takerShare = 0.35 + 0.3 * rng::uniform(key ^ 0x5678);
    k.takerBuyBaseVolume = roundToStep(k.volume * takerShare, spec.stepSize);
    k.takerBuyQuoteVolume = k.takerBuyBaseVolume * typical;
    return k;
}

QList<Kline> MarketSimulator::klines(const SymbolSpec &spec,
                                     qint64 intervalMs,
                                     std::optional<qint64> startTime,
                                     std::optional<qint64> endTime,
                                     int limit,
                                     qint64 nowMs) const
{
    QList<Kline> out;
    const qint64 lastOpen = alignToInterval(std::min(endTime.value_or(nowMs), nowMs), intervalMs);
    qint64 first = 0;
    if (startTime) {
        first = alignToInterval(*startTime, intervalMs);
        if (first < *startTime)
            first += intervalMs;
    } else {
        first = lastOpen - qint64(limit - 1) * intervalMs;
    }
    for (qint64 t = first; t <= lastOpen && out.size() < limit; t += intervalMs)
        out.append(kline(spec, t, intervalMs, nowMs));
    return out;
}

} // namespace opsdeck::market

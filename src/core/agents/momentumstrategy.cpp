#include "core/agents/momentumstrategy.h"

namespace opsdeck::agents {

namespace {
constexpr double kQtyEpsilon = 1e-12;
}

QString toString(MomentumSignal signal)
{
    switch (signal) {
    case MomentumSignal::Bullish:
        return QStringLiteral("bullish");
    case MomentumSignal::Bearish:
        return QStringLiteral("bearish");
    case MomentumSignal::Neutral:
        break;
    }
    return QStringLiteral("neutral");
}

Result<MomentumSettings> MomentumSettings::fromOptions(const QString &agentId,
                                                       const AgentOptions &options)
{
    MomentumSettings s;
    OptionReader r(agentId, options);
    s.interval = r.choice(QStringLiteral("kline_interval"), s.interval,
                          {QStringLiteral("1s"), QStringLiteral("1m"), QStringLiteral("3m"),
                           QStringLiteral("5m"), QStringLiteral("15m"), QStringLiteral("30m"),
                           QStringLiteral("1h"), QStringLiteral("2h"), QStringLiteral("4h"),
                           QStringLiteral("6h"), QStringLiteral("8h"), QStringLiteral("12h"),
                           QStringLiteral("1d")});
    s.fastPeriod = r.integer(QStringLiteral("fast_period"), s.fastPeriod, 1, 500);
    s.slowPeriod = r.integer(QStringLiteral("slow_period"), s.slowPeriod, 2, 1000);
    s.thresholdBps = r.number(QStringLiteral("threshold_bps"), s.thresholdBps, 0, 10'000);
    s.tradeNotional = r.number(QStringLiteral("trade_notional"), s.tradeNotional, 0.000001, 1e9);
    s.allowShort = r.boolean(QStringLiteral("allow_short"), s.allowShort);
    s.depthLimit = r.integer(QStringLiteral("depth_limit"), s.depthLimit, 1, 5000);
    if (auto bad = r.finish())
        return tl::unexpected(*bad);
    if (s.fastPeriod >= s.slowPeriod) {
        return tl::unexpected(agentConfigError(
            agentId, QStringLiteral("fast_period"),
            QStringLiteral("%1 must be less than slow_period (%2).")
                .arg(s.fastPeriod)
                .arg(s.slowPeriod),
            {{QStringLiteral("value"), s.fastPeriod}, {QStringLiteral("max"), s.slowPeriod - 1}}));
    }
    return s;
}

QJsonObject MomentumSettings::toJson() const
{
    return {{QStringLiteral("kline_interval"), interval},
            {QStringLiteral("fast_period"), fastPeriod},
            {QStringLiteral("slow_period"), slowPeriod},
            {QStringLiteral("threshold_bps"), thresholdBps},
            {QStringLiteral("trade_notional"), tradeNotional},
            {QStringLiteral("allow_short"), allowShort},
            {QStringLiteral("depth_limit"), depthLimit}};
}

MomentumReading MomentumStrategy::read(const QList<Kline> &klines, const MomentumSettings &settings)
{
    MomentumReading r;
    if (klines.size() < settings.slowPeriod || settings.fastPeriod < 1)
        return r;
    auto sma = [&klines](int period) {
        double sum = 0;
        for (qsizetype i = klines.size() - period; i < klines.size(); ++i)
            sum += klines.at(i).close;
        return sum / period;
    };
    r.enough = true;
    r.fast = sma(settings.fastPeriod);
    r.slow = sma(settings.slowPeriod);
    r.gapBps = r.slow > 0 ? (r.fast / r.slow - 1) * 10'000.0 : 0.0;
    if (r.gapBps >= settings.thresholdBps && r.gapBps > 0)
        r.signal = MomentumSignal::Bullish;
    else if (r.gapBps <= -settings.thresholdBps && r.gapBps < 0)
        r.signal = MomentumSignal::Bearish;
    return r;
}

std::optional<MomentumOrder> MomentumStrategy::decide(const MomentumReading &reading,
                                                      double positionQuantity,
                                                      double price,
                                                      const MomentumSettings &settings)
{
    if (!reading.enough || !(price > 0))
        return std::nullopt;
    const double size = settings.tradeNotional / price;
    const bool isLong = positionQuantity > kQtyEpsilon;
    const bool isShort = positionQuantity < -kQtyEpsilon;
    switch (reading.signal) {
    case MomentumSignal::Bullish:
        if (isLong)
            return std::nullopt;
        return MomentumOrder{Side::Buy, size + (isShort ? -positionQuantity : 0.0),
                             isShort ? QStringLiteral("bullish: cover and go long")
                                     : QStringLiteral("bullish: go long")};
    case MomentumSignal::Bearish:
        if (isShort || (!isLong && !settings.allowShort))
            return std::nullopt;
        if (!settings.allowShort)
            return MomentumOrder{Side::Sell, positionQuantity,
                                 QStringLiteral("bearish: exit long")};
        return MomentumOrder{Side::Sell, size + (isLong ? positionQuantity : 0.0),
                             isLong ? QStringLiteral("bearish: exit long and go short")
                                    : QStringLiteral("bearish: go short")};
    case MomentumSignal::Neutral:
        break;
    }
    return std::nullopt;
}

} // namespace opsdeck::agents

#include "market/faultsettings.h"

#include <QtCore/QJsonArray>
#include <QtCore/QStringList>

#include <algorithm>
#include <cmath>

namespace opsdeck::market {

namespace {

const QString kLatency = QStringLiteral("latency_ms");
const QString kJitter = QStringLiteral("jitter_ms");
const QString kErrorRate = QStringLiteral("error_rate");
const QString kErrorStatus = QStringLiteral("error_status");
const QString kStall = QStringLiteral("stall_ms");
const QString kStallEvery = QStringLiteral("stall_every_s");
const QString kWeightLimit = QStringLiteral("weight_limit");
const QString kWeightWindow = QStringLiteral("weight_window_s");

tl::unexpected<Error> invalid(const QString &key, const QString &message)
{
    return fail(QStringLiteral("invalid_fault_settings"), message, {{QStringLiteral("key"), key}});
}

Status checkRange(const QString &key, double value, double min, double max)
{
    if (!std::isfinite(value) || value < min || value > max) {
        return invalid(key, QStringLiteral("%1 must be from %2 to %3, not %4.")
                                .arg(key)
                                .arg(min)
                                .arg(max)
                                .arg(value));
    }
    return ok();
}

} // namespace

QJsonObject FaultSettings::toJson() const
{
    return {{kLatency, latencyMs},
            {kJitter, jitterMs},
            {kErrorRate, errorRate},
            {kErrorStatus, errorStatus},
            {kStall, stallMs},
            {kStallEvery, stallEverySeconds},
            {kWeightLimit, weightLimit},
            {kWeightWindow, weightWindowMs / 1000.0}};
}

Status FaultSettings::validate() const
{
    if (auto s = checkRange(kLatency, latencyMs, 0, 60'000); !s)
        return s;
    if (auto s = checkRange(kJitter, jitterMs, 0, 60'000); !s)
        return s;
    if (auto s = checkRange(kErrorRate, errorRate, 0, 1); !s)
        return s;
    if (errorStatus != 0 && errorStatus != 500 && errorStatus != 503)
        return invalid(kErrorStatus, QStringLiteral("error_status must be 0 (either), 500 or 503."));
    if (auto s = checkRange(kStall, stallMs, 0, 60'000); !s)
        return s;
    if (auto s = checkRange(kStallEvery, stallEverySeconds, 0, 3600); !s)
        return s;
    if (stallMs > 0 && stallEverySeconds > 0 && stallMs >= stallEverySeconds * 1000) {
        return invalid(kStall, QStringLiteral("stall_ms must be shorter than stall_every_s."));
    }
    if (auto s = checkRange(kWeightLimit, weightLimit, 1, 1e9); !s)
        return s;
    if (auto s = checkRange(kWeightWindow, weightWindowMs / 1000.0, 1, 3600); !s)
        return s;
    return ok();
}

Result<FaultSettings> FaultSettings::fromJson(const QJsonObject &json, const FaultSettings &base)
{
    static const QStringList known{kLatency, kJitter, kErrorRate, kErrorStatus,
                                   kStall, kStallEvery, kWeightLimit, kWeightWindow};
    FaultSettings out = base;
    for (auto it = json.begin(); it != json.end(); ++it) {
        const QString key = it.key();
        if (!known.contains(key)) {
            return fail(QStringLiteral("invalid_fault_settings"),
                        QStringLiteral("Unknown key \"%1\"; allowed: %2.")
                            .arg(key, known.join(QStringLiteral(", "))),
                        {{QStringLiteral("key"), key},
                         {QStringLiteral("allowed"), QJsonArray::fromStringList(known)}});
        }
        if (!it.value().isDouble())
            return invalid(key, QStringLiteral("%1 must be a number.").arg(key));
        const double v = it.value().toDouble();
        const bool integral = key != kErrorRate && key != kStallEvery && key != kWeightWindow;
        if (integral && (v != std::floor(v) || std::abs(v) > 2e9))
            return invalid(key, QStringLiteral("%1 must be an integer.").arg(key));
        if (key == kLatency)
            out.latencyMs = int(v);
        else if (key == kJitter)
            out.jitterMs = int(v);
        else if (key == kErrorRate)
            out.errorRate = v;
        else if (key == kErrorStatus)
            out.errorStatus = int(v);
        else if (key == kStall)
            out.stallMs = int(v);
        else if (key == kStallEvery)
            out.stallEverySeconds = v;
        else if (key == kWeightLimit)
            out.weightLimit = int(v);
        else if (key == kWeightWindow) {
            if (!std::isfinite(v) || v < 1 || v > 3600)
                return invalid(key, QStringLiteral("weight_window_s must be from 1 to 3600."));
            out.weightWindowMs = int(std::llround(v * 1000));
        }
    }
    if (Status s = out.validate(); !s)
        return tl::unexpected<Error>(s.error());
    return out;
}

FaultSettings FaultSettings::fromConfig(const MarketConfig &config)
{
    const auto ms = [](double seconds) { return int(std::lround(seconds * 1000.0)); };
    FaultSettings faults;
    faults.latencyMs = ms(config.latency);
    faults.jitterMs = ms(config.jitter);
    faults.errorRate = config.errorRate;
    faults.errorStatus = config.errorStatus == u"any" ? 0 : config.errorStatus.toInt();
    faults.stallMs = ms(config.stall);
    faults.stallEverySeconds = config.stallEvery;
    faults.weightLimit = config.weightLimit;
    faults.weightWindowMs = std::max(1, ms(config.weightWindow));
    return faults;
}

} // namespace opsdeck::market

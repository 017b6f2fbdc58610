// FaultSettings: the faults the embedded exchange injects on demand, and its request-weight
// limit. A value type: set at construction (from [market] config) and replaced at run time via
// MarketService::setFaults() or the loopback-only PUT /control/faults. Any thread.
//
//     FaultSettings f;
//     f.latencyMs = 50; f.jitterMs = 10; f.errorRate = 0.1; f.weightLimit = 100;
//     service.setFaults(f);
#pragma once

#include "core/runtime/runtimeconfig.h"
#include "core/support/result.h"

#include <QtCore/QJsonObject>

namespace opsdeck::market {

struct FaultSettings
{
    int latencyMs = 0;              // fixed delay added to every answer
    int jitterMs = 0;               // plus a uniform 0..jitterMs (deterministic per request)
    double errorRate = 0.0;         // 0..1: fraction of requests answered with a 5xx instead
    int errorStatus = 0;            // 500, 503, or 0 = either (chosen per request)
    int stallMs = 0;                // the server answers nothing for stallMs ...
    double stallEverySeconds = 0.0; // ... at the end of every period of this length (0 = off)
    int weightLimit = 6000;         // request weight per window (the exchange: 6000 per minute)
    int weightWindowMs = 60'000;    // fixed window on the market clock (shorter for tests)

    bool operator==(const FaultSettings &) const = default;

    // The control endpoint's JSON (snake_case keys, units in the names).
    QJsonObject toJson() const;
    // Applies the keys present in `json` to `base` (PUT merges). Unknown keys, wrong types and
    // out-of-range values fail with code "invalid_fault_settings" and the key in details.
    static Result<FaultSettings> fromJson(const QJsonObject &json, const FaultSettings &base);
    // The [market] keys latency, jitter, error_rate, error_status, stall, stall_every,
    // weight_limit and weight_window (seconds there, milliseconds here).
    static FaultSettings fromConfig(const MarketConfig &config);
    // Range checks of the whole value; the same error codes as fromJson.
    Status validate() const;
};

} // namespace opsdeck::market

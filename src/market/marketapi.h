// MarketApi: the Binance spot v3 public REST endpoints over a MarketSimulator, as pure request →
// reply logic (no sockets, so it is testable directly): the exchange's paths, parameters, JSON
// shapes with string prices, request weights against a WeightWindow, and its error shape
// {"code": -1121, "msg": "Invalid symbol."}. Routing (404, 405 with Allow, HEAD, OPTIONS) is
// opsdeck_api's RouteTable. Called on the market thread only; the simulator and the window
// outlive it.
//
//     MarketApi api(simulator, weights);
//     HttpReply reply = api.handle(request, faults);   // faults: weight limit and window
#pragma once

#include "api/httpreply.h"
#include "api/routetable.h"
#include "market/faultsettings.h"

#include <QtCore/QStringList>

#include <optional>

namespace opsdeck::market {

class MarketSimulator;
class WeightWindow;
struct SymbolSpec;

// The exchange's error body with its HTTP status.
api::HttpReply exchangeError(int status, int code, const QString &message);

class MarketApi final
{
public:
    static constexpr const char *kUsedWeightHeader = "X-MBX-USED-WEIGHT-1M";

    MarketApi(const MarketSimulator &simulator, WeightWindow &weights);

    // Routing, weight admission (429 with Retry-After when the window is used up) and the
    // endpoint itself. Adds no fault and no weight header (MarketServer does both).
    api::HttpReply handle(const api::ApiRequest &request, const FaultSettings &faults) const;

    // The request weight of a call to a known endpoint (the exchange's table), or nullopt
    // for paths that are not endpoints (404/405 cost nothing).
    std::optional<int> weightOf(const api::ApiRequest &request) const;

private:
    void registerRoutes();
    api::HttpReply time(const api::ApiRequest &request) const;
    api::HttpReply exchangeInfo(const api::ApiRequest &request, const FaultSettings &faults) const;
    api::HttpReply tickerPrice(const api::ApiRequest &request) const;
    api::HttpReply depth(const api::ApiRequest &request) const;
    api::HttpReply trades(const api::ApiRequest &request) const;
    api::HttpReply klines(const api::ApiRequest &request) const;
    api::HttpReply orderTest(const api::ApiRequest &request) const;

    const MarketSimulator &m_simulator;
    WeightWindow &m_weights;
    api::RouteTable m_routes;
    mutable FaultSettings m_faults; // of the request being dispatched (market thread only)
};

} // namespace opsdeck::market

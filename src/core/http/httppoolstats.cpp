#include "core/http/httppoolstats.h"

#include <QtCore/QJsonArray>

#include <cmath>

namespace opsdeck::http {

namespace {

double roundTo(double value, int decimals)
{
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

QJsonObject countsJson(const QMap<QString, quint64> &counts)
{
    QJsonObject object;
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
        object.insert(it.key(), double(it.value()));
    return object;
}

QJsonObject latencyJson(const HistogramSnapshot &latency)
{
    const auto ms = [](qint64 ns) {
        return roundTo(double(ns) / 1e6, 3);
    };
    return QJsonObject{
        {QStringLiteral("count"), double(latency.count())},
        {QStringLiteral("mean_ms"), roundTo(latency.mean() / 1e6, 3)},
        {QStringLiteral("p50_ms"), ms(latency.valueAtPercentile(50))},
        {QStringLiteral("p90_ms"), ms(latency.valueAtPercentile(90))},
        {QStringLiteral("p99_ms"), ms(latency.valueAtPercentile(99))},
        {QStringLiteral("max_ms"), ms(latency.max())},
    };
}

} // namespace

QJsonObject HttpPoolStats::toJson() const
{
    QJsonObject apisJson;
    for (const HttpApiStats &api : apis) {
        apisJson.insert(api.name,
                        QJsonObject{
                            {QStringLiteral("requests"), double(api.requests)},
                            {QStringLiteral("errors"), double(api.errors)},
                            {QStringLiteral("attempts"), double(api.attempts)},
                            {QStringLiteral("retries"), double(api.retries)},
                            {QStringLiteral("in_flight"), api.inFlight},
                            {QStringLiteral("queued"), api.queued},
                            {QStringLiteral("breaker"), api.breakerState},
                            {QStringLiteral("rate_limited"), api.isRateLimited()},
                            {QStringLiteral("waiting_on_limiter"), api.waitingOnLimiter},
                            {QStringLiteral("paused_ms"), double(api.pausedForMs)},
                            {QStringLiteral("rate_limit_per_minute"), api.rateLimitPerMinute},
                            {QStringLiteral("latency"), latencyJson(api.latency)},
                        });
    }
    return QJsonObject{
        {QStringLiteral("http_clients"), clients},
        {QStringLiteral("http_workers"), workers},
        {QStringLiteral("http_pool_size"), poolSize},
        {QStringLiteral("http_requests"), double(requests)},
        {QStringLiteral("http_completed"), double(completed)},
        {QStringLiteral("http_attempts"), double(attempts)},
        {QStringLiteral("http_retries"), double(retries)},
        {QStringLiteral("http_retries_denied"), double(retriesDenied)},
        {QStringLiteral("http_errors"), double(errors)},
        {QStringLiteral("http_error_rate"), roundTo(errorRate, 4)},
        {QStringLiteral("http_status_classes"), countsJson(statusClasses)},
        {QStringLiteral("http_error_kinds"), countsJson(errorKinds)},
        {QStringLiteral("http_in_flight"), inFlight},
        {QStringLiteral("http_queued"), queued},
        {QStringLiteral("http_waiting_retry"), waitingRetry},
        {QStringLiteral("http_bytes_in"), double(bytesIn)},
        {QStringLiteral("http_bytes_out"), double(bytesOut)},
        {QStringLiteral("rate_limited_apis"), QJsonArray::fromStringList(rateLimitedApis)},
        {QStringLiteral("rate_limited_api_count"), int(rateLimitedApis.size())},
        {QStringLiteral("apis"), apisJson},
    };
}

} // namespace opsdeck::http

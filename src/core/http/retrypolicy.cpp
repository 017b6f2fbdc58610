#include "core/http/retrypolicy.h"

#include <QtCore/QRandomGenerator>

#include <algorithm>
#include <cmath>

namespace opsdeck::http {

RetryPolicy::RetryPolicy(Settings settings, Random random)
    : m_settings(settings)
    , m_random(std::move(random))
{
    if (!m_random)
        m_random = [] {
            return QRandomGenerator::global()->generateDouble();
        };
}

bool RetryPolicy::isRetryableStatus(int status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

bool RetryPolicy::isRetryable(HttpErrorKind kind, int status)
{
    switch (kind) {
    case HttpErrorKind::Connection:
    case HttpErrorKind::Timeout:
        return true;
    case HttpErrorKind::HttpStatus:
        return isRetryableStatus(status);
    default:
        return false;
    }
}

RetryPolicy::Duration RetryPolicy::backoff(int retry, std::optional<Duration> remaining) const
{
    using namespace std::chrono;
    const double base = double(duration_cast<nanoseconds>(m_settings.baseDelay).count());
    const double exponent = std::clamp(retry - 1, 0, 62);
    double ceiling = base * std::pow(2.0, exponent);
    ceiling = std::min(ceiling, double(duration_cast<nanoseconds>(m_settings.maxBackoff).count()));
    if (remaining)
        ceiling = std::min(ceiling, double(std::max<qint64>(0, remaining->count())));
    const double u = std::clamp(m_random(), 0.0, 1.0);
    return Duration(qint64(std::llround(std::max(0.0, ceiling) * u)));
}

RetryPolicy::Decision RetryPolicy::decide(const Attempt &attempt) const
{
    if (!isRetryable(attempt.kind, attempt.status) || !attempt.retryAllowedForMethod)
        return {};
    const int retryCount = std::max(0, attempt.retryCountOverride.value_or(m_settings.retryCount));
    if (attempt.attemptsSoFar > retryCount)
        return {};
    if (attempt.remaining && attempt.remaining->count() <= 0)
        return {Action::FailDeadline, Duration(0)};
    if (attempt.retryAfter && (attempt.status == 429 || attempt.status == 503)) {
        const Duration wait = *attempt.retryAfter;
        if ((attempt.remaining && wait > *attempt.remaining) || wait > m_settings.maxRetryAfter)
            return {Action::FailRateLimited, wait};
        return {Action::Retry, wait};
    }
    return {Action::Retry, backoff(attempt.attemptsSoFar, attempt.remaining)};
}

} // namespace opsdeck::http

// RetryPolicy: decides whether a finished attempt is retried and how long to wait first. Pure and
// immutable after construction (safe from any thread if its Random is); the pool's dispatcher
// asks it once per attempt. It does not count (RetryBudget) nor track api health (CircuitBreaker).
// - Retryable: connection errors, per-attempt timeouts, 429, 502, 503, 504; only for idempotent
//   methods unless the request opts in; at most retryCount retries.
// - Delay: Retry-After when the server sent one (a wait beyond the remaining deadline, or beyond
//   maxRetryAfter, fails at once as rate_limited); otherwise full-jitter exponential backoff,
//   uniform in [0, min(maxBackoff, remaining deadline, baseDelay * 2^(retry - 1))].
#pragma once

#include "core/http/httpresponse.h"

#include <chrono>
#include <functional>
#include <optional>

namespace opsdeck::http {

struct RetryPolicySettings
{
    int retryCount = 3;                         // http_retry_count
    std::chrono::milliseconds baseDelay{1'000}; // http_retry_delay
    std::chrono::milliseconds maxBackoff{30'000};
    // A Retry-After longer than this fails at once (rate_limited) even without a deadline.
    std::chrono::milliseconds maxRetryAfter{60'000};
};

class RetryPolicy final
{
public:
    using Duration = std::chrono::nanoseconds;
    // Uniform in [0, 1). Injected so tests can pin the jitter.
    using Random = std::function<double()>;

    using Settings = RetryPolicySettings;

    enum class Action {
        Finish,          // hand the outcome to the caller as it is
        Retry,           // wait `delay`, then send again
        FailRateLimited, // the server's Retry-After is beyond what we may wait
        FailDeadline,    // it would be retried, but the overall deadline has passed
    };

    struct Decision
    {
        Action action = Action::Finish;
        Duration delay{0};
    };

    // The facts about one finished attempt the decision needs.
    struct Attempt
    {
        int attemptsSoFar = 1; // including this one
        std::optional<int> retryCountOverride;
        bool retryAllowedForMethod = true; // idempotent, or opted in
        HttpErrorKind kind = HttpErrorKind::None;
        int status = 0;
        std::optional<std::chrono::milliseconds> retryAfter;
        std::optional<Duration> remaining; // until the overall deadline, if there is one
    };

    explicit RetryPolicy(Settings settings = {}, Random random = {});

    const Settings &settings() const { return m_settings; }

    Decision decide(const Attempt &attempt) const;
    // Full-jitter backoff before retry number `retry` (1 = the first retry).
    Duration backoff(int retry, std::optional<Duration> remaining = std::nullopt) const;

    // 429, 502, 503, 504.
    static bool isRetryableStatus(int status);
    // Connection errors, per-attempt timeouts and the retryable statuses.
    static bool isRetryable(HttpErrorKind kind, int status);

private:
    Settings m_settings;
    Random m_random;
};

} // namespace opsdeck::http

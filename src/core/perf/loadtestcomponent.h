// LoadComponent: one thing the load tester exercises (cache, http, execution, or a test's
// scripted stand-in). The runner calls prepare() once, then start() for every operation from its
// worker threads (at most `concurrency` operations outstanding), then finish(). An operation's
// mix and keys come from OpTicket::draw(): a function of (seed, component, operation index) only,
// so a seed repeats a run's operations whatever the thread interleaving.
//
//     void start(const OpTicket &t, Completion done) override { ...; done(OpOutcome{...}); }
//
// Synchronous components (isAsync() false) run the operation inside start() and call done before
// returning; asynchronous ones return at once and call done from any thread later. done must be
// called exactly once per start().
#pragma once

#include "core/perf/loadtestconfig.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QJsonObject>
#include <QtCore/QStringList>

#include <functional>

namespace opsdeck::perf {

// How a failed operation failed (REFERENCE.md: timeout, connect, HTTP status, rate-limited).
enum class LoadErrorKind { None = 0, Timeout, Connect, HttpStatus, RateLimited, Other };
inline constexpr int kLoadErrorKindCount = 6;
// "none", "timeout", "connect", "http_status", "rate_limited", "other".
QString toString(LoadErrorKind kind);
// The kind of an HTTP answer's status: 429 RateLimited, other >= 400 HttpStatus, else None; and
// its detail for the log ("HTTP 503"), empty when it is not an error.
LoadErrorKind loadErrorOfStatus(int status);
QString loadErrorDetailOfStatus(int status);

struct OpTicket
{
    qint64 index = 0;                // 0-based, in issue order (open model: schedule order)
    quint64 seed = 0;                // the run's seed mixed with the component
    Clock::MonoTime intendedStart{}; // open model: the scheduled start; closed: the actual start

    // A uniform draw in [0, 1) for purpose `purpose` (0 = the operation mix, 1 = the key, ...).
    double draw(int purpose) const;
    // A uniform integer in [0, n) for `purpose`.
    quint64 drawBelow(int purpose, quint64 n) const;
};

struct OpOutcome
{
    int operation = 0; // index into LoadComponent::operationNames()
    LoadErrorKind error = LoadErrorKind::None;
    int httpStatus = 0;  // the http component's answer, 0 when none arrived
    int cacheLookup = 0; // cache gets: 1 hit, -1 miss, 0 not a lookup
    QString detail;      // the error's message (the first few are logged)
};

class LoadComponent
{
public:
    using Completion = std::function<void(const OpOutcome &)>;

    virtual ~LoadComponent() = default;

    virtual LoadComponentKind kind() const = 0;
    virtual bool isAsync() const = 0;
    // The operation names, in OpOutcome::operation order ("get", "set", ... / "GET", "POST" /
    // "NORMAL", "HIGH", "LOW").
    virtual QStringList operationNames() const = 0;
    // Opens what it needs (cache files, engine threads, HTTP pool); an error ends the run (exit 3).
    virtual Status prepare() = 0;
    virtual void start(const OpTicket &ticket, Completion done) = 0;
    // Every started operation has completed; release resources. Idempotent.
    virtual void finish() = 0;
    // Component-specific figures for the result file (e.g. the cache's final stats).
    virtual QJsonObject extraResults() const { return {}; }
};

// SplitMix64: the counter-based mixer behind OpTicket::draw (also used to derive seeds).
quint64 splitMix64(quint64 x);

} // namespace opsdeck::perf

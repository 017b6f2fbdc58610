// CancellationToken: a shared, thread-safe "please stop" flag handed to every task body. Copies
// share one state; any copy may cancel(), every copy sees it. Task bodies poll isCancelled() or
// block in waitFor()/waitUntilCancelled() (real time: for bodies that would otherwise sleep).
//
//     if (token.waitFor(std::chrono::milliseconds(50))) return fail("cancelled", ...);
//
// It is not a timer: the engine fires it on timeout, cancel(id) and stop().
#pragma once

#include <QtCore/QString>

#include <chrono>
#include <memory>

namespace opsdeck::exec {

enum class CancelReason { None, Cancelled, TimedOut, EngineStopped };

// "none", "cancelled", "timed_out", "engine_stopped".
QString toString(CancelReason reason);

class CancellationToken
{
public:
    // A fresh, uncancelled token with its own state.
    CancellationToken();
    // A token that can never fire and allocates nothing (fire-and-forget work that has no use
    // for one): cancel() is a no-op returning false, waitFor() simply waits out the timeout.
    static CancellationToken never();

    bool isCancelled() const;
    CancelReason reason() const;
    // Fires the token (the first reason wins). Returns true if this call fired it.
    bool cancel(CancelReason reason = CancelReason::Cancelled) const;
    // Blocks up to `timeout` of real time; true as soon as the token is (or was) fired.
    bool waitFor(std::chrono::nanoseconds timeout) const;
    // Blocks until the token fires.
    void waitUntilCancelled() const;

    bool sharesStateWith(const CancellationToken &other) const { return m_state == other.m_state; }

private:
    struct State;
    struct NeverTag
    {
    };
    explicit CancellationToken(NeverTag) {}
    std::shared_ptr<State> m_state;
};

} // namespace opsdeck::exec

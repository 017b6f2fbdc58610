#include "core/exec/cancellationtoken.h"

#include "core/exec/blockpool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace opsdeck::exec {

struct CancellationToken::State
{
    std::atomic<int> reason{int(CancelReason::None)};
    mutable std::mutex mutex;
    mutable std::condition_variable fired;
};

QString toString(CancelReason reason)
{
    switch (reason) {
    case CancelReason::None:
        return QStringLiteral("none");
    case CancelReason::Cancelled:
        return QStringLiteral("cancelled");
    case CancelReason::TimedOut:
        return QStringLiteral("timed_out");
    case CancelReason::EngineStopped:
        return QStringLiteral("engine_stopped");
    }
    return QStringLiteral("none");
}

CancellationToken::CancellationToken()
    : m_state(std::allocate_shared<State>(detail::PoolAllocator<State>()))
{}

CancellationToken CancellationToken::never()
{
    return CancellationToken(NeverTag{});
}

bool CancellationToken::isCancelled() const
{
    if (!m_state)
        return false;
    return m_state->reason.load(std::memory_order_acquire) != int(CancelReason::None);
}

CancelReason CancellationToken::reason() const
{
    if (!m_state)
        return CancelReason::None;
    return CancelReason(m_state->reason.load(std::memory_order_acquire));
}

bool CancellationToken::cancel(CancelReason reason) const
{
    if (!m_state)
        return false;
    if (reason == CancelReason::None)
        reason = CancelReason::Cancelled;
    int expected = int(CancelReason::None);
    {
        std::lock_guard lock(m_state->mutex);
        if (!m_state->reason.compare_exchange_strong(expected, int(reason),
                                                     std::memory_order_acq_rel))
            return false;
    }
    m_state->fired.notify_all();
    return true;
}

bool CancellationToken::waitFor(std::chrono::nanoseconds timeout) const
{
    if (isCancelled())
        return true;
    if (!m_state) {
        std::this_thread::sleep_for(timeout);
        return false;
    }
    std::unique_lock lock(m_state->mutex);
    return m_state->fired.wait_for(lock, timeout, [this] { return isCancelled(); });
}

void CancellationToken::waitUntilCancelled() const
{
    if (!m_state) {
        std::mutex never;
        std::unique_lock lock(never);
        std::condition_variable().wait(lock, [] { return false; });
    }
    std::unique_lock lock(m_state->mutex);
    m_state->fired.wait(lock, [this] { return isCancelled(); });
}

} // namespace opsdeck::exec

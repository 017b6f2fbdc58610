// Gate: the controllable body of test tasks. A body calls pass(token): it returns true when the
// test gives it a permit (release) or opens the gate, false as soon as its token fires. No
// sleeps: it blocks on the token (waitFor) between checks. Thread-safe.
#pragma once

#include "core/exec/cancellationtoken.h"

#include <QtCore/QSemaphore>

#include <atomic>
#include <chrono>
#include <thread>

namespace opsdeck::exec::test {

class Gate
{
public:
    Gate() = default;
    Q_DISABLE_COPY_MOVE(Gate)
    // Lets every body out and waits until none is inside, so a test that fails early (or
    // declared its engine first) never leaves a body blocked on, or touching, a dead gate.
    ~Gate()
    {
        open();
        while (m_inside.load() > 0)
            std::this_thread::yield();
    }

    bool pass(const CancellationToken &token)
    {
        const int now = ++m_inside;
        int seen = m_maxInside.load();
        while (now > seen && !m_maxInside.compare_exchange_weak(seen, now)) {
        }
        ++m_started;
        bool allowed = false;
        for (;;) {
            if (m_open.load() || m_permits.tryAcquire()) {
                allowed = true;
                break;
            }
            if (token.waitFor(std::chrono::milliseconds(1)))
                break;
        }
        --m_inside;
        ++m_finished;
        return allowed;
    }
    // Ignores the token: only a permit or open() lets it go (an overrunning body).
    void passIgnoringToken()
    {
        ++m_inside;
        ++m_started;
        CancellationToken never;
        while (!m_open.load() && !m_permits.tryAcquire())
            never.waitFor(std::chrono::milliseconds(1));
        --m_inside;
        ++m_finished;
    }
    void release(int n = 1) { m_permits.release(n); }
    void open() { m_open.store(true); }

    int started() const { return m_started.load(); }
    int finished() const { return m_finished.load(); }
    int inside() const { return m_inside.load(); }
    int maxInside() const { return m_maxInside.load(); }

private:
    QSemaphore m_permits;
    std::atomic<bool> m_open{false};
    std::atomic<int> m_started{0};
    std::atomic<int> m_finished{0};
    std::atomic<int> m_inside{0};
    std::atomic<int> m_maxInside{0};
};

} // namespace opsdeck::exec::test

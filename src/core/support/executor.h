// Executor: where background work runs, by priority. The cache's preloader and loaders post to
// it; until the execution engine lands (issue 5) a ThreadPoolExecutor over its own QThreadPool
// serves. Implementations are thread-safe: post() may be called from any thread.
#pragma once

#include "core/support/taskpriority.h"

#include <QtCore/QThreadPool>

#include <functional>

namespace opsdeck {

class Executor
{
public:
    virtual ~Executor() = default;
    // Runs `work` once, soon, on one of the executor's threads; more urgent priorities first.
    virtual void post(TaskPriority priority, std::function<void()> work) = 0;
};

// An Executor over its own QThreadPool (never the global pool: it has 2 threads here). The
// priority only orders the queue; running work is never preempted.
class ThreadPoolExecutor final : public Executor
{
public:
    explicit ThreadPoolExecutor(int maxThreads = 4);
    ~ThreadPoolExecutor() override; // waits for running work

    void post(TaskPriority priority, std::function<void()> work) override;
    void setMaxThreads(int maxThreads) { m_pool.setMaxThreadCount(maxThreads); }
    // Blocks until every posted task has run (tests, shutdown).
    bool waitForDone(int timeoutMs = -1) { return m_pool.waitForDone(timeoutMs); }
    QThreadPool &pool() { return m_pool; }

private:
    QThreadPool m_pool;
};

} // namespace opsdeck

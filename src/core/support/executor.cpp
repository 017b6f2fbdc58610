#include "core/support/executor.h"

namespace opsdeck {

ThreadPoolExecutor::ThreadPoolExecutor(int maxThreads)
{
    m_pool.setMaxThreadCount(std::max(1, maxThreads));
    m_pool.setObjectName(QStringLiteral("executor"));
}

ThreadPoolExecutor::~ThreadPoolExecutor()
{
    m_pool.waitForDone();
}

void ThreadPoolExecutor::post(TaskPriority priority, std::function<void()> work)
{
    // QThreadPool runs higher numbers first; CRITICAL (0) must be the most urgent.
    m_pool.start(std::move(work), kTaskPriorityCount - toInt(priority));
}

} // namespace opsdeck

#include "core/exec/threadslice.h"

#include "core/support/logging.h"

#include <atomic>
#include <optional>

#ifdef Q_OS_LINUX
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace opsdeck::exec {

namespace {

#if defined(Q_OS_LINUX) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
// The kernel's struct sched_attr (include/uapi/linux/sched/types.h), declared here because
// <linux/sched/types.h> clashes with glibc's struct sched_param.
struct KernelSchedAttr
{
    quint32 size = sizeof(KernelSchedAttr);
    quint32 policy = 0;
    quint64 flags = 0;
    qint32 nice = 0;
    quint32 priority = 0;
    quint64 runtime = 0; // SCHED_OTHER/SCHED_BATCH since Linux 6.12: the requested slice
    quint64 deadline = 0;
    quint64 period = 0;
    quint32 utilMin = 0;
    quint32 utilMax = 0;
};

bool readAttr(KernelSchedAttr &attr)
{
    return syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) == 0;
}
constexpr bool kSupported = true;
#else
constexpr bool kSupported = false;
#endif

std::atomic<bool> g_refused{false};
// Unknown until the thread's first call: a thread inherits its creator's slice, so the first call
// always asks the kernel.
thread_local std::optional<SliceClass> t_class;

} // namespace

bool setThreadSliceClass(SliceClass sliceClass)
{
    if (sliceClass == t_class)
        return true;
    if (!kSupported || g_refused.load(std::memory_order_relaxed))
        return false;
#if defined(Q_OS_LINUX) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
    KernelSchedAttr attr;
    // Keep the policy and nice value the thread has (a niced process stays niced; a real-time
    // policy is left alone): only the fair policies have slices.
    if (!readAttr(attr) || (attr.policy != SCHED_OTHER && attr.policy != SCHED_BATCH)) {
        t_class = sliceClass;
        return false;
    }
    attr.size = sizeof(attr);
    attr.flags = 0;
    attr.runtime = sliceClass == SliceClass::Background
                       ? quint64(std::chrono::nanoseconds(kBackgroundSlice).count())
                       : 0; // 0: back to the kernel's base slice
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
        if (!g_refused.exchange(true))
            qCWarning(lcExec) << "sched_setattr refused a worker slice change (errno" << errno
                              << "); CRITICAL tasks may wait up to a scheduler tick on a busy CPU";
        return false;
    }
    t_class = sliceClass;
    return true;
#else
    return false;
#endif
}

long long currentThreadSliceNs()
{
#if defined(Q_OS_LINUX) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
    KernelSchedAttr attr;
    return readAttr(attr) ? static_cast<long long>(attr.runtime) : 0;
#else
    return 0;
#endif
}

} // namespace opsdeck::exec

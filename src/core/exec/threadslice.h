#pragma once

// Per-thread scheduler slice for the engine's workers: a worker running LOW or IDLE work asks the
// kernel for a long time slice, so that a woken worker with the default slice (a CRITICAL task's)
// has the earlier EEVDF deadline and takes the CPU at once instead of at the next tick.
// Unprivileged, reversible, and a no-op where the kernel ignores slices (Linux < 6.12, others).
// Each call acts on the calling thread only; not a class, so it has no thread of its own.

#include <chrono>

namespace opsdeck::exec {

enum class SliceClass { Default, Background };

// The slice a background worker asks for (the kernel clamps slices to 0.1..100 ms).
inline constexpr std::chrono::milliseconds kBackgroundSlice{20};

// Sets the calling thread's slice class. Remembers the class per thread, so a repeat is free (the
// first call in a thread always asks the kernel: threads inherit their creator's slice).
// Returns false when the kernel refused (the first refusal is logged; later calls are no-ops).
bool setThreadSliceClass(SliceClass sliceClass);

// The calling thread's slice in nanoseconds as the kernel reports it, 0 when it does not
// (a kernel without custom slices reports the default slice or 0). For tests and diagnostics.
long long currentThreadSliceNs();

} // namespace opsdeck::exec

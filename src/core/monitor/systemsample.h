// SystemSample: one typed sample of the "system" metrics category (process and host), as
// SystemProbe produces it and the monitor's ring keeps it. A plain value; copy freely.
// Field meanings follow psutil, as the old system's users know them.
#pragma once

#include <QtCore/QtGlobal>

namespace opsdeck {

struct ProcessStats
{
    double cpuPercent = 0;      // % of one core; may exceed 100 on several cores; 0 on the first sample
    double cpuSecondsTotal = 0; // user + system CPU time since the process started
    qint64 memoryRss = 0;       // bytes
    qint64 memoryVms = 0;       // bytes
    double memoryPercent = 0;   // RSS as % of total physical memory
    int threads = 0;
    int openFds = 0;
    qint64 startTimeMs = 0; // epoch milliseconds
};

struct HostStats
{
    double cpuPercent = 0; // all cores, normalised to 0..100; 0 on the first sample
    int cpuCount = 0;
    qint64 memoryTotal = 0;     // bytes
    qint64 memoryAvailable = 0; // bytes (MemAvailable)
    double memoryPercent = 0;   // (total - available) / total * 100
    qint64 diskTotal = 0;       // bytes, of the filesystem holding the data dir
    qint64 diskUsed = 0;        // bytes (blocks - free blocks, as df shows)
    qint64 diskFree = 0;        // bytes available to unprivileged users
    double diskPercent = 0;     // used / total * 100
};

struct SystemSample
{
    qint64 timestampMs = 0; // wall time, epoch milliseconds
    ProcessStats process;
    HostStats system;
};

} // namespace opsdeck

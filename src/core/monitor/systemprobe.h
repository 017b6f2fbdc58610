// SystemProbe: takes SystemSamples of this process and the host by reading /proc and statvfs(3)
// directly (no shelling out), with psutil's meanings. Owns the previous sample's CPU counters,
// from which it computes CPU percentages. Lives in the monitor thread; not thread-safe itself.
#pragma once

#include "core/monitor/systemsample.h"
#include "core/support/clock.h"
#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QString>

#include <functional>
#include <optional>
#include <vector>

namespace opsdeck {

class SystemProbe
{
public:
    // The raw statvfs(3) counts of one filesystem; the probe turns them into bytes.
    struct DiskUsage
    {
        quint64 blocks = 0;          // f_blocks
        quint64 blocksFree = 0;      // f_bfree (including the blocks reserved for root)
        quint64 blocksAvailable = 0; // f_bavail (available to unprivileged users)
        quint64 fragmentSize = 0;    // f_frsize
    };
    // Returns the counts of the filesystem holding the path, or nullopt (setting errno if it can).
    using StatvfsFunction = std::function<std::optional<DiskUsage>(const QString &path)>;

    static long systemClockTicksPerSecond(); // sysconf(_SC_CLK_TCK)
    static long systemPageSize();            // sysconf(_SC_PAGESIZE)
    static std::optional<DiskUsage> realStatvfs(const QString &path);

    struct Options
    {
        QString procRoot = QStringLiteral("/proc");
        QString selfDir;  // empty: procRoot + "/self"
        QString diskPath; // the data dir; empty: the disk fields stay 0
        long clockTicksPerSecond = SystemProbe::systemClockTicksPerSecond();
        long pageSize = SystemProbe::systemPageSize();
        StatvfsFunction statvfsFn; // empty: the real statvfs(3)
    };

    explicit SystemProbe(Options options, const Clock &clock = Clock::system());

    // Reads one sample. The first successful one has 0 % CPU; later ones measure CPU since the
    // previous successful one. A missing, unreadable or malformed file gives "probe_failed" and
    // leaves the previous counters as they were.
    Result<SystemSample> sample();

    const Options &options() const { return m_options; }

private:
    struct CpuCounters
    {
        quint64 processTicks = 0; // utime + stime of this process
        quint64 hostTotal = 0;    // all host CPU time, guest time excluded (counted in user)
        quint64 hostBusy = 0;     // hostTotal - idle - iowait
        Clock::MonoTime at{};
    };

    Status readFile(const QByteArray &path);
    Status readSelfStat(SystemSample &sample, CpuCounters &counters, quint64 &startTimeTicks);
    Status readHostStat(SystemSample &sample, CpuCounters &counters, qint64 &bootTimeSecs);
    Status readMeminfo(SystemSample &sample);
    Status countFds(SystemSample &sample);
    Status readDisk(SystemSample &sample);

    Options m_options;
    const Clock *m_clock;
    QByteArray m_selfStatPath;
    QByteArray m_selfFdPath;
    QByteArray m_hostStatPath;
    QByteArray m_meminfoPath;
    QByteArray m_diskPath;
    std::vector<char> m_buffer; // the last file read; grows to the largest one and stays
    std::size_t m_length = 0;   // bytes of m_buffer holding it
    std::optional<CpuCounters> m_previous;
};

} // namespace opsdeck

#include "core/monitor/systemprobe.h"

#include <QtCore/QFile>
#include <QtCore/QJsonObject>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>

#include <dirent.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace opsdeck {

namespace {

constexpr std::size_t InitialBufferSize = 16 * 1024; // /proc/stat of a small host fits

tl::unexpected<Error> probeFailed(const char *what, const QByteArray &path, const QString &why)
{
    const QString file = QFile::decodeName(path);
    return fail(QStringLiteral("probe_failed"),
                QLatin1StringView(what) + u' ' + file + QStringLiteral(": ") + why,
                QJsonObject{{QStringLiteral("path"), file}});
}

tl::unexpected<Error> readFailed(const QByteArray &path, int error)
{
    return probeFailed("Cannot read", path, qt_error_string(error));
}

tl::unexpected<Error> parseFailed(const QByteArray &path, const char *why)
{
    return probeFailed("Cannot parse", path, QLatin1StringView(why));
}

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The next whitespace-separated token of [pos, end), advancing pos past it; empty at the end.
std::string_view nextToken(const char *&pos, const char *end)
{
    while (pos < end && isSpace(*pos))
        ++pos;
    const char *start = pos;
    while (pos < end && !isSpace(*pos))
        ++pos;
    return {start, std::size_t(pos - start)};
}

template<typename T> bool toNumber(std::string_view token, T &out)
{
    if (token.empty())
        return false;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
    return ec == std::errc() && ptr == token.data() + token.size();
}

// Calls onLine(line) for each line of [begin, end), without the '\n'.
template<typename F> void forEachLine(const char *begin, const char *end, F &&onLine)
{
    while (begin < end) {
        const char *eol = std::find(begin, end, '\n');
        onLine(std::string_view(begin, std::size_t(eol - begin)));
        begin = eol < end ? eol + 1 : end;
    }
}

double percentOf(double part, double whole)
{
    return whole > 0 ? part / whole * 100.0 : 0.0;
}

} // namespace

long SystemProbe::systemClockTicksPerSecond()
{
    return ::sysconf(_SC_CLK_TCK);
}

long SystemProbe::systemPageSize()
{
    return ::sysconf(_SC_PAGESIZE);
}

std::optional<SystemProbe::DiskUsage> SystemProbe::realStatvfs(const QString &path)
{
    struct statvfs st = {};
    if (::statvfs(QFile::encodeName(path).constData(), &st) != 0)
        return std::nullopt;
    return DiskUsage{st.f_blocks, st.f_bfree, st.f_bavail, st.f_frsize};
}

SystemProbe::SystemProbe(Options options, const Clock &clock)
    : m_options(std::move(options))
    , m_clock(&clock)
    , m_buffer(InitialBufferSize)
{
    if (m_options.selfDir.isEmpty())
        m_options.selfDir = m_options.procRoot + QStringLiteral("/self");
    if (m_options.clockTicksPerSecond <= 0)
        m_options.clockTicksPerSecond = 100; // USER_HZ on every Linux ABI
    if (m_options.pageSize <= 0)
        m_options.pageSize = 4096;
    m_selfStatPath = QFile::encodeName(m_options.selfDir + QStringLiteral("/stat"));
    m_selfFdPath = QFile::encodeName(m_options.selfDir + QStringLiteral("/fd"));
    m_hostStatPath = QFile::encodeName(m_options.procRoot + QStringLiteral("/stat"));
    m_meminfoPath = QFile::encodeName(m_options.procRoot + QStringLiteral("/meminfo"));
    m_diskPath = QFile::encodeName(m_options.diskPath);
}

Result<SystemSample> SystemProbe::sample()
{
    SystemSample sample;
    CpuCounters counters;
    qint64 bootTimeSecs = 0;
    quint64 startTimeTicks = 0;

    counters.at = m_clock->monotonic();
    sample.timestampMs = m_clock->wallMsecs();

    if (Status s = readSelfStat(sample, counters, startTimeTicks); !s)
        return tl::unexpected(std::move(s.error()));
    if (Status s = readHostStat(sample, counters, bootTimeSecs); !s)
        return tl::unexpected(std::move(s.error()));
    if (Status s = readMeminfo(sample); !s)
        return tl::unexpected(std::move(s.error()));
    if (Status s = countFds(sample); !s)
        return tl::unexpected(std::move(s.error()));
    if (Status s = readDisk(sample); !s)
        return tl::unexpected(std::move(s.error()));

    const auto ticksPerSecond = double(m_options.clockTicksPerSecond);
    ProcessStats &process = sample.process;
    HostStats &host = sample.system;
    process.cpuSecondsTotal = double(counters.processTicks) / ticksPerSecond;
    process.startTimeMs = bootTimeSecs * 1000
                          + qint64(startTimeTicks * 1000 / quint64(m_options.clockTicksPerSecond));
    process.memoryPercent = percentOf(double(process.memoryRss), double(host.memoryTotal));
    host.memoryPercent
        = percentOf(double(host.memoryTotal - host.memoryAvailable), double(host.memoryTotal));

    if (m_previous) {
        const CpuCounters &prev = *m_previous;
        const qint64 elapsedNs = (counters.at - prev.at).count();
        if (elapsedNs > 0 && counters.processTicks > prev.processTicks) {
            const double cpuSecs
                = double(counters.processTicks - prev.processTicks) / ticksPerSecond;
            process.cpuPercent = cpuSecs / (double(elapsedNs) / 1e9) * 100.0;
        }
        // psutil: no busy time (or counters going back) is 0 %; the result stays in 0..100.
        if (counters.hostBusy > prev.hostBusy && counters.hostTotal > prev.hostTotal) {
            host.cpuPercent = std::clamp(percentOf(double(counters.hostBusy - prev.hostBusy),
                                                   double(counters.hostTotal - prev.hostTotal)),
                                         0.0, 100.0);
        }
    }
    m_previous = counters;
    return sample;
}

Status SystemProbe::readFile(const QByteArray &path)
{
    m_length = 0;
    const int fd = ::open(path.constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return readFailed(path, errno);
    for (;;) {
        if (m_length == m_buffer.size())
            m_buffer.resize(m_buffer.size() * 2);
        const ssize_t n = ::read(fd, m_buffer.data() + m_length, m_buffer.size() - m_length);
        if (n > 0) {
            m_length += std::size_t(n);
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            const int error = errno;
            ::close(fd);
            return readFailed(path, error);
        }
    }
    ::close(fd);
    return ok();
}

// <self>/stat: "pid (comm) state ppid ...". comm may hold spaces and ')', so the fields start
// after the LAST ')'. startTimeTicks: clock ticks from boot to the process's start.
Status
SystemProbe::readSelfStat(SystemSample &sample, CpuCounters &counters, quint64 &startTimeTicks)
{
    if (Status s = readFile(m_selfStatPath); !s)
        return s;
    const char *begin = m_buffer.data();
    const char *end = begin + m_length;
    const auto paren
        = std::find(std::make_reverse_iterator(end), std::make_reverse_iterator(begin), ')');
    if (paren == std::make_reverse_iterator(begin))
        return parseFailed(m_selfStatPath, "no ')' after the command name");
    const char *pos = paren.base(); // just past the ')'

    // Field numbers as in proc(5); the first after the ')' is 3 (state).
    quint64 utime = 0, stime = 0, startTime = 0, vsize = 0;
    qint64 threads = 0, rss = 0;
    int field = 3;
    int found = 0;
    for (std::string_view token = nextToken(pos, end); !token.empty() && field <= 24;
         token = nextToken(pos, end), ++field) {
        bool parsed = true;
        switch (field) {
        case 14:
            parsed = toNumber(token, utime);
            break;
        case 15:
            parsed = toNumber(token, stime);
            break;
        case 20:
            parsed = toNumber(token, threads);
            break;
        case 22:
            parsed = toNumber(token, startTime);
            break;
        case 23:
            parsed = toNumber(token, vsize);
            break;
        case 24:
            parsed = toNumber(token, rss);
            break;
        default:
            continue;
        }
        if (!parsed)
            return parseFailed(m_selfStatPath, "a field is not a number");
        ++found;
    }
    if (found != 6)
        return parseFailed(m_selfStatPath, "too few fields");

    counters.processTicks = utime + stime;
    ProcessStats &process = sample.process;
    process.threads = int(threads);
    process.memoryVms = qint64(vsize);
    process.memoryRss = std::max<qint64>(rss, 0) * m_options.pageSize;
    startTimeTicks = startTime;
    return ok();
}

// <procRoot>/stat: the aggregate "cpu" line, one "cpuN" line per online CPU, "btime".
Status SystemProbe::readHostStat(SystemSample &sample, CpuCounters &counters, qint64 &bootTimeSecs)
{
    if (Status s = readFile(m_hostStatPath); !s)
        return s;
    // user nice system idle iowait irq softirq steal guest guest_nice (older kernels: fewer)
    quint64 t[10] = {};
    int cpuFields = -1; // -1: no "cpu" line yet
    int cpuCount = 0;
    bool haveBootTime = false;
    bool malformed = false;
    forEachLine(m_buffer.data(), m_buffer.data() + m_length, [&](std::string_view line) {
        const char *pos = line.data();
        const char *end = pos + line.size();
        const std::string_view key = nextToken(pos, end);
        if (key == "cpu") {
            if (cpuFields >= 0)
                return;
            cpuFields = 0;
            for (std::string_view token = nextToken(pos, end); !token.empty() && cpuFields < 10;
                 token = nextToken(pos, end)) {
                if (!toNumber(token, t[cpuFields++]))
                    malformed = true;
            }
        } else if (key.size() > 3 && key.starts_with("cpu") && key[3] >= '0' && key[3] <= '9') {
            ++cpuCount;
        } else if (key == "btime") {
            haveBootTime = toNumber(nextToken(pos, end), bootTimeSecs);
        }
    });
    if (malformed || cpuFields < 4)
        return parseFailed(m_hostStatPath, "no valid \"cpu\" line");
    if (!haveBootTime)
        return parseFailed(m_hostStatPath, "no valid \"btime\" line");

    // psutil: guest and guest_nice are already counted in user and nice, so they are left out;
    // busy is everything but idle and iowait.
    const quint64 idle = t[3] + t[4];
    const quint64 busy = t[0] + t[1] + t[2] + t[5] + t[6] + t[7];
    counters.hostBusy = busy;
    counters.hostTotal = busy + idle;
    sample.system.cpuCount = std::max(cpuCount, 1);
    return ok();
}

// <procRoot>/meminfo: "Key:   value kB" lines.
Status SystemProbe::readMeminfo(SystemSample &sample)
{
    if (Status s = readFile(m_meminfoPath); !s)
        return s;
    qint64 total = -1, available = -1, memFree = 0, buffers = 0, cached = 0;
    forEachLine(m_buffer.data(), m_buffer.data() + m_length, [&](std::string_view line) {
        const char *pos = line.data();
        const char *end = pos + line.size();
        const std::string_view key = nextToken(pos, end);
        qint64 *target = nullptr;
        if (key == "MemTotal:")
            target = &total;
        else if (key == "MemAvailable:")
            target = &available;
        else if (key == "MemFree:")
            target = &memFree;
        else if (key == "Buffers:")
            target = &buffers;
        else if (key == "Cached:")
            target = &cached;
        if (target && !toNumber(nextToken(pos, end), *target))
            *target = -1;
    });
    if (total <= 0)
        return parseFailed(m_meminfoPath, "no valid \"MemTotal\" line");
    if (available < 0) // kernels before 3.14
        available = std::max<qint64>(memFree, 0) + std::max<qint64>(buffers, 0)
                    + std::max<qint64>(cached, 0);
    sample.system.memoryTotal = total * 1024;
    sample.system.memoryAvailable = std::min(available, total) * 1024;
    return ok();
}

// Entries of <self>/fd. Like psutil, a live count includes the descriptor doing the listing.
// Names starting with '.' (".keep" in fixtures) are not descriptors.
Status SystemProbe::countFds(SystemSample &sample)
{
    DIR *dir = ::opendir(m_selfFdPath.constData());
    if (!dir)
        return readFailed(m_selfFdPath, errno);
    int count = 0;
    errno = 0;
    while (const dirent *entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.')
            ++count;
    }
    const int error = errno;
    ::closedir(dir);
    if (error != 0)
        return readFailed(m_selfFdPath, error);
    sample.process.openFds = count;
    return ok();
}

// statvfs(diskPath), with psutil's disk_usage() meanings for total, used and free.
Status SystemProbe::readDisk(SystemSample &sample)
{
    if (m_diskPath.isEmpty())
        return ok();
    std::optional<DiskUsage> usage;
    errno = 0;
    if (m_options.statvfsFn) {
        usage = m_options.statvfsFn(m_options.diskPath);
    } else {
        struct statvfs st = {};
        if (::statvfs(m_diskPath.constData(), &st) == 0)
            usage = DiskUsage{st.f_blocks, st.f_bfree, st.f_bavail, st.f_frsize};
    }
    if (!usage) {
        const int error = errno;
        return probeFailed("Cannot statvfs", m_diskPath,
                           error ? qt_error_string(error) : QStringLiteral("no data"));
    }
    const quint64 frsize = usage->fragmentSize;
    const quint64 usedBlocks
        = usage->blocks > usage->blocksFree ? usage->blocks - usage->blocksFree : 0;
    HostStats &host = sample.system;
    host.diskTotal = qint64(usage->blocks * frsize);
    host.diskFree = qint64(usage->blocksAvailable * frsize);
    host.diskUsed = qint64(usedBlocks * frsize);
    host.diskPercent = percentOf(double(host.diskUsed), double(host.diskTotal));
    return ok();
}

} // namespace opsdeck

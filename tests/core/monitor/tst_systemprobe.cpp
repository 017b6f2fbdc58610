// Tests SystemProbe on recorded /proc fixtures (data/, see data/README.md) and on the live /proc.
#include "core/monitor/systemprobe.h"

#include <QtCore/QDir>
#include <QtCore/QDirIterator>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <chrono>
#include <thread>

#include <time.h>

using namespace opsdeck;
using namespace std::chrono_literals;

namespace {

// The recorded fixtures' host: USER_HZ 100, 4 KiB pages, MemTotal 24684092 kB.
constexpr long Ticks = 100;
constexpr long PageSize = 4096;
constexpr double MemTotalKb = 24684092;
constexpr qint64 BootTimeMs = 1796115380LL * 1000; // "btime" in every fixture's stat
// Monotonic intervals between the recorded snapshots of each pair (see data/README.md).
constexpr qint64 IdleIntervalNs = 1008739398;
constexpr qint64 BusyIntervalNs = 1024171703;
// statvfs(/tmp) of the recording host: f_blocks, f_bfree, f_bavail, f_frsize.
constexpr SystemProbe::DiskUsage RecordedDisk{66053021, 61838710, 20869986, 4096};

QString fixtureDir(const QString &name)
{
    const QString relative = QStringLiteral("data/") + name;
    if (const QString dir = QFINDTESTDATA(relative); !dir.isEmpty())
        return dir;
    const QString root = qEnvironmentVariable("OPSDECK_TEST_DATA");
    if (root.isEmpty())
        return {};
    const QStringList candidates{root + QStringLiteral("/monitor/") + relative,
                                 root + u'/' + relative};
    for (const QString &candidate : candidates) {
        if (QFileInfo(candidate).isDir())
            return candidate;
    }
    return {};
}

SystemProbe::Options fixtureOptions(const QString &dir)
{
    SystemProbe::Options options;
    options.procRoot = dir;
    options.diskPath = QStringLiteral("/data");
    options.clockTicksPerSecond = Ticks;
    options.pageSize = PageSize;
    options.statvfsFn = [](const QString &) {
        return std::optional(RecordedDisk);
    };
    return options;
}

bool copyTree(const QString &from, const QString &to)
{
    QDirIterator it(from, QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QFileInfo info(it.next());
        const QString target = to + u'/' + QDir(from).relativeFilePath(info.filePath());
        if (info.isDir() ? !QDir().mkpath(target) : !QFile::copy(info.filePath(), target))
            return false;
    }
    return true;
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate)
           && file.write(content) == content.size();
}

std::chrono::nanoseconds threadCpuTime()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The real clock, remembering the last monotonic time it gave (the probe reads it once a sample).
class RecordingClock final : public Clock
{
public:
    MonoTime monotonic() const override { return m_last = Clock::system().monotonic(); }
    qint64 wallMsecs() const override { return Clock::system().wallMsecs(); }
    MonoTime lastMonotonic() const { return m_last; }

private:
    mutable MonoTime m_last{};
};

} // namespace

class tst_SystemProbe : public QObject
{
    Q_OBJECT

private slots:
    void fixturesFound();
    void pairs_data();
    void pairs();
    void disk();
    void noDiskPath();
    void commWithParenthesesAndSpaces();
    void memAvailableFallback();
    void errors_data();
    void errors();
    void errorKeepsPreviousCounters();
    void liveValuesSane();
    void liveBusyThreadRaisesProcessCpu();
    void liveCost();
};

void tst_SystemProbe::fixturesFound()
{
    for (const char *name :
         {"proc_idle_a", "proc_idle_b", "proc_busy_a", "proc_busy_b", "proc_iowait_guest_a",
          "proc_iowait_guest_b", "proc_comm_tricky", "proc_no_memavailable"}) {
        QVERIFY2(!fixtureDir(QLatin1StringView(name)).isEmpty(), name);
    }
}

void tst_SystemProbe::pairs_data()
{
    QTest::addColumn<QString>("first");
    QTest::addColumn<QString>("second");
    QTest::addColumn<qint64>("intervalNs");
    QTest::addColumn<double>("processCpu");
    QTest::addColumn<double>("systemCpu");
    QTest::addColumn<double>("cpuSecondsTotal");
    QTest::addColumn<qint64>("rssPages");
    QTest::addColumn<qint64>("vms");
    QTest::addColumn<int>("threads");
    QTest::addColumn<qint64>("startTicks");
    QTest::addColumn<double>("memAvailableKb");

    // Expected numbers from the fixture files (second snapshot's values):
    // self/stat fields utime(14) stime(15) num_threads(20) starttime(22) vsize(23) rss(24);
    // stat "cpu" busy = user+nice+system+irq+softirq+steal, total = busy+idle+iowait.

    // idle: a sleeping process. utime+stime 0 -> 0. Host busy 3133 -> 3135, total 88598 -> 88801.
    QTest::newRow("idle a->b") << QStringLiteral("proc_idle_a") << QStringLiteral("proc_idle_b")
                               << IdleIntervalNs << 0.0 << 2.0 / 203.0 * 100 << 0.0 << qint64(416)
                               << qint64(2990080) << 1 << qint64(44303) << 24334792.0;
    // busy: a process spinning on 2 threads. utime 404 -> 605 ticks in 1.024 s: ~196 % (two
    // cores). Host busy 3539 -> 3744, idle+iowait unchanged: 100 %.
    QTest::newRow("busy a->b") << QStringLiteral("proc_busy_a") << QStringLiteral("proc_busy_b")
                               << BusyIntervalNs << (201.0 / Ticks) / (BusyIntervalNs / 1e9) * 100
                               << 100.0 << 6.05 << qint64(681) << qint64(22581248) << 3
                               << qint64(44454) << 24341648.0;
    // Hand-edited "cpu" lines (else the idle pair): iowait and guest time moved. Deltas: user 100
    // nice 10 system 30 idle 100 iowait 50 irq 2 softirq 4 steal 1 guest 50 guest_nice 5. Busy
    // 147 (iowait is not busy), total 297 (guest time is already in user and nice).
    QTest::newRow("iowait+guest a->b")
        << QStringLiteral("proc_iowait_guest_a") << QStringLiteral("proc_iowait_guest_b")
        << IdleIntervalNs << 0.0 << 147.0 / 297.0 * 100 << 0.0 << qint64(416) << qint64(2990080)
        << 1 << qint64(44303) << 24334792.0;
    // Counters going backwards (the pairs reversed) give 0 %, never negative.
    QTest::newRow("busy b->a reversed")
        << QStringLiteral("proc_busy_b") << QStringLiteral("proc_busy_a") << BusyIntervalNs << 0.0
        << 0.0 << 4.04 << qint64(681) << qint64(22581248) << 3 << qint64(44454) << 24340444.0;
    QTest::newRow("idle b->a reversed")
        << QStringLiteral("proc_idle_b") << QStringLiteral("proc_idle_a") << IdleIntervalNs << 0.0
        << 0.0 << 0.0 << qint64(416) << qint64(2990080) << 1 << qint64(44303) << 24331668.0;
    // No time passed: process CPU stays 0 % (no division by zero); host CPU needs no time.
    QTest::newRow("busy a->b, no time")
        << QStringLiteral("proc_busy_a") << QStringLiteral("proc_busy_b") << qint64(0) << 0.0
        << 100.0 << 6.05 << qint64(681) << qint64(22581248) << 3 << qint64(44454) << 24341648.0;
    // No time passed and no counter moved: 0 %, no division by zero.
    QTest::newRow("busy a->a, no time")
        << QStringLiteral("proc_busy_a") << QStringLiteral("proc_busy_a") << qint64(0) << 0.0 << 0.0
        << 4.04 << qint64(681) << qint64(22581248) << 3 << qint64(44454) << 24340444.0;
}

void tst_SystemProbe::pairs()
{
    QFETCH(QString, first);
    QFETCH(QString, second);
    QFETCH(qint64, intervalNs);
    QFETCH(double, processCpu);
    QFETCH(double, systemCpu);
    QFETCH(double, cpuSecondsTotal);
    QFETCH(qint64, rssPages);
    QFETCH(qint64, vms);
    QFETCH(int, threads);
    QFETCH(qint64, startTicks);
    QFETCH(double, memAvailableKb);

    // The probe reads one procRoot; copy each snapshot in turn into it.
    QTemporaryDir root;
    QVERIFY(root.isValid());
    const QString firstDir = fixtureDir(first);
    const QString secondDir = fixtureDir(second);
    QVERIFY(!firstDir.isEmpty() && !secondDir.isEmpty());
    QVERIFY(copyTree(firstDir, root.path()));

    ManualClock clock;
    SystemProbe probe(fixtureOptions(root.path()), clock);
    const auto a = probe.sample();
    QVERIFY2(a, qPrintable(a ? QString() : a.error().message));
    QCOMPARE(a->process.cpuPercent, 0.0); // the first sample
    QCOMPARE(a->system.cpuPercent, 0.0);

    QVERIFY(QDir(root.path()).removeRecursively());
    QVERIFY(copyTree(secondDir, root.path()));
    clock.advance(std::chrono::nanoseconds(intervalNs));
    const auto b = probe.sample();
    QVERIFY2(b, qPrintable(b ? QString() : b.error().message));

    const ProcessStats &p = b->process;
    const HostStats &h = b->system;
    QCOMPARE(b->timestampMs, clock.wallMsecs());
    QVERIFY2(qAbs(p.cpuPercent - processCpu) < 1e-6, qPrintable(QString::number(p.cpuPercent)));
    QVERIFY2(qAbs(h.cpuPercent - systemCpu) < 1e-6, qPrintable(QString::number(h.cpuPercent)));
    QVERIFY(qAbs(p.cpuSecondsTotal - cpuSecondsTotal) < 1e-9);
    QCOMPARE(p.memoryRss, rssPages * PageSize);
    QCOMPARE(p.memoryVms, vms);
    QCOMPARE(p.threads, threads);
    QCOMPARE(p.openFds, 5); // self/fd holds 0 1 2 10 251
    QCOMPARE(p.startTimeMs, BootTimeMs + startTicks * 1000 / Ticks);
    QVERIFY(qAbs(p.memoryPercent - double(rssPages * PageSize) / (MemTotalKb * 1024) * 100) < 1e-9);
    QCOMPARE(h.cpuCount, 2);
    QCOMPARE(h.memoryTotal, qint64(MemTotalKb) * 1024);
    QCOMPARE(h.memoryAvailable, qint64(memAvailableKb) * 1024);
    QVERIFY(qAbs(h.memoryPercent - (MemTotalKb - memAvailableKb) / MemTotalKb * 100) < 1e-9);
}

void tst_SystemProbe::disk()
{
    ManualClock clock;
    SystemProbe probe(fixtureOptions(fixtureDir(QStringLiteral("proc_idle_a"))), clock);
    const auto s = probe.sample();
    QVERIFY(s);
    const qint64 frsize = 4096;
    QCOMPARE(s->system.diskTotal, 66053021LL * frsize);
    QCOMPARE(s->system.diskFree, 20869986LL * frsize);                // f_bavail
    QCOMPARE(s->system.diskUsed, (66053021LL - 61838710LL) * frsize); // f_blocks - f_bfree
    QVERIFY(qAbs(s->system.diskPercent - 4214311.0 / 66053021.0 * 100) < 1e-9);

    SystemProbe::Options options = fixtureOptions(fixtureDir(QStringLiteral("proc_idle_a")));
    options.statvfsFn = [](const QString &) {
        return std::optional<SystemProbe::DiskUsage>();
    };
    SystemProbe failing(options, clock);
    const auto f = failing.sample();
    QVERIFY(!f);
    QCOMPARE(f.error().code, QStringLiteral("probe_failed"));
    QVERIFY2(f.error().message.contains(QStringLiteral("/data")), qPrintable(f.error().message));
}

void tst_SystemProbe::noDiskPath()
{
    SystemProbe::Options options = fixtureOptions(fixtureDir(QStringLiteral("proc_idle_a")));
    options.diskPath.clear();
    options.statvfsFn = [](const QString &) -> std::optional<SystemProbe::DiskUsage> {
        qFatal("statvfs called without a disk path");
    };
    ManualClock clock;
    SystemProbe probe(options, clock);
    const auto s = probe.sample();
    QVERIFY(s);
    QCOMPARE(s->system.diskTotal, 0);
    QCOMPARE(s->system.diskPercent, 0.0);
}

void tst_SystemProbe::commWithParenthesesAndSpaces()
{
    // self/stat begins "4725 (my (weird) proc) S 4721 ...": fields count from the last ')'.
    ManualClock clock;
    SystemProbe probe(fixtureOptions(fixtureDir(QStringLiteral("proc_comm_tricky"))), clock);
    const auto s = probe.sample();
    QVERIFY2(s, qPrintable(s ? QString() : s.error().message));
    QCOMPARE(s->process.threads, 1);
    QCOMPARE(s->process.memoryRss, 416 * PageSize);
    QCOMPARE(s->process.memoryVms, 2990080);
    QCOMPARE(s->process.startTimeMs, BootTimeMs + 443030);
    QCOMPARE(s->process.cpuSecondsTotal, 0.0);
}

void tst_SystemProbe::memAvailableFallback()
{
    // meminfo without MemAvailable (kernels before 3.14): MemFree + Buffers + Cached.
    ManualClock clock;
    SystemProbe probe(fixtureOptions(fixtureDir(QStringLiteral("proc_no_memavailable"))), clock);
    const auto s = probe.sample();
    QVERIFY(s);
    QCOMPARE(s->system.memoryAvailable, (23098976LL + 43828 + 1370348) * 1024);
    QCOMPARE(s->system.memoryTotal, qint64(MemTotalKb) * 1024);
}

void tst_SystemProbe::errors_data()
{
    QTest::addColumn<QString>("file"); // relative to the procRoot copy
    QTest::addColumn<bool>("remove");  // remove it, or else write content into it
    QTest::addColumn<QByteArray>("content");

    QTest::newRow("no self/stat") << "self/stat" << true << QByteArray();
    QTest::newRow("no self/fd") << "self/fd" << true << QByteArray();
    QTest::newRow("no stat") << "stat" << true << QByteArray();
    QTest::newRow("no meminfo") << "meminfo" << true << QByteArray();
    QTest::newRow("self/stat empty") << "self/stat" << false << QByteArray();
    QTest::newRow("self/stat no paren") << "self/stat" << false << QByteArray("4725 sleep S 1 2\n");
    QTest::newRow("self/stat short") << "self/stat" << false << QByteArray("4725 (a) S 1 2 3\n");
    QTest::newRow("self/stat not numbers")
        << "self/stat" << false
        << QByteArray("1 (a) S 1 1 1 0 -1 0 0 0 0 0 x y 0 0 20 0 1 0 5 6 7 0\n");
    QTest::newRow("stat no cpu line") << "stat" << false << QByteArray("cpu0 1 2 3 4\nbtime 5\n");
    QTest::newRow("stat no btime") << "stat" << false << QByteArray("cpu  1 2 3 4 5 6 7 8 0 0\n");
    QTest::newRow("meminfo no total") << "meminfo" << false << QByteArray("MemFree: 5 kB\n");
}

void tst_SystemProbe::errors()
{
    QFETCH(QString, file);
    QFETCH(bool, remove);
    QFETCH(QByteArray, content);

    QTemporaryDir root;
    QVERIFY(root.isValid());
    QVERIFY(copyTree(fixtureDir(QStringLiteral("proc_idle_a")), root.path()));
    const QString path = root.path() + u'/' + file;
    if (remove)
        QVERIFY(QFileInfo(path).isDir() ? QDir(path).removeRecursively() : QFile::remove(path));
    else
        QVERIFY(writeFile(path, content));

    ManualClock clock;
    SystemProbe probe(fixtureOptions(root.path()), clock);
    const auto s = probe.sample();
    QVERIFY(!s);
    QCOMPARE(s.error().code, QStringLiteral("probe_failed"));
    QVERIFY2(s.error().message.contains(path), qPrintable(s.error().message));
    QCOMPARE(s.error().details.value(QStringLiteral("path")).toString(), path);
}

void tst_SystemProbe::errorKeepsPreviousCounters()
{
    QTemporaryDir root;
    QVERIFY(root.isValid());
    QVERIFY(copyTree(fixtureDir(QStringLiteral("proc_busy_a")), root.path()));
    ManualClock clock;
    SystemProbe probe(fixtureOptions(root.path()), clock);
    QVERIFY(probe.sample());

    QVERIFY(QFile::remove(root.path() + QStringLiteral("/meminfo")));
    clock.advance(std::chrono::nanoseconds(BusyIntervalNs / 2));
    QVERIFY(!probe.sample());

    QVERIFY(QDir(root.path()).removeRecursively());
    QVERIFY(copyTree(fixtureDir(QStringLiteral("proc_busy_b")), root.path()));
    clock.advance(std::chrono::nanoseconds(BusyIntervalNs - BusyIntervalNs / 2));
    const auto s = probe.sample();
    QVERIFY(s);
    // Measured against the last good sample (busy_a), over the whole interval.
    QVERIFY(qAbs(s->process.cpuPercent - 2.01 / (BusyIntervalNs / 1e9) * 100) < 1e-6);
    QCOMPARE(s->system.cpuPercent, 100.0);
}

void tst_SystemProbe::liveValuesSane()
{
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    SystemProbe probe(options);
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    const auto s = probe.sample();
    QVERIFY2(s, qPrintable(s ? QString() : s.error().message));
    const ProcessStats &p = s->process;
    const HostStats &h = s->system;

    QVERIFY(s->timestampMs >= before && s->timestampMs <= before + 60'000);
    QCOMPARE(p.cpuPercent, 0.0);
    QCOMPARE(h.cpuPercent, 0.0);
    QVERIFY(p.cpuSecondsTotal >= 0);
    QVERIFY(p.memoryRss > 0);
    QVERIFY(p.memoryVms >= p.memoryRss);
    QVERIFY(p.memoryPercent > 0 && p.memoryPercent < 100);
    QVERIFY(p.threads >= 1);
    QVERIFY(p.openFds >= 3); // stdin, stdout, stderr (and the listing's own)
    // btime has whole seconds; the test started at most an hour ago.
    QVERIFY2(p.startTimeMs > before - 3'600'000 && p.startTimeMs <= before + 2'000,
             qPrintable(QString::number(before - p.startTimeMs)));
    QVERIFY(h.cpuCount >= 1);
    QVERIFY(h.memoryTotal > 0);
    QVERIFY(h.memoryAvailable > 0 && h.memoryAvailable <= h.memoryTotal);
    QVERIFY(h.memoryPercent >= 0 && h.memoryPercent <= 100);
    QVERIFY(h.diskTotal > 0);
    QVERIFY(h.diskUsed > 0 && h.diskUsed <= h.diskTotal);
    QVERIFY(h.diskFree >= 0 && h.diskFree + h.diskUsed <= h.diskTotal);
    QVERIFY(h.diskPercent > 0 && h.diskPercent <= 100);

    const auto again = probe.sample();
    QVERIFY(again);
    QVERIFY(again->process.cpuPercent >= 0);
    QVERIFY(again->system.cpuPercent >= 0 && again->system.cpuPercent <= 100);
}

void tst_SystemProbe::liveBusyThreadRaisesProcessCpu()
{
    RecordingClock clock;
    SystemProbe probe(SystemProbe::Options{}, clock);
    const auto before = probe.sample();
    QVERIFY(before);
    const Clock::MonoTime start = clock.lastMonotonic();

    // Spin until this thread itself has used 300 ms of CPU, however loaded the machine is.
    std::thread busy([] {
        const auto begin = threadCpuTime();
        volatile unsigned long spins = 0;
        while (threadCpuTime() - begin < 300ms)
            spins = spins + 1;
    });
    busy.join();

    const auto after = probe.sample();
    QVERIFY(after);
    const double intervalSecs = double((clock.lastMonotonic() - start).count()) / 1e9;
    const double usedSecs = after->process.cpuSecondsTotal - before->process.cpuSecondsTotal;
    const double percent = after->process.cpuPercent;
    qInfo("busy thread: %.3f s CPU in %.3f s: %.1f %%", usedSecs, intervalSecs, percent);
    QVERIFY2(usedSecs >= 0.25, qPrintable(QString::number(usedSecs)));
    QVERIFY(qAbs(percent - usedSecs / intervalSecs * 100) < 1e-6 * percent);
    // At least the busy thread's 0.25 s over the interval, whatever the load: ~80..100 % on an
    // idle box. (A fixed "> 30 %" fails when other processes keep both cores busy.)
    QVERIFY2(percent >= 0.25 / intervalSecs * 100, qPrintable(QString::number(percent)));
    QVERIFY(after->system.cpuPercent > 0 && after->system.cpuPercent <= 100);
}

void tst_SystemProbe::liveCost()
{
    // Not asserted (shared machines): -benchmark shows the cost of one sample.
    SystemProbe::Options options;
    options.diskPath = QDir::tempPath();
    SystemProbe probe(options);
    QVERIFY(probe.sample());
    QBENCHMARK
    {
        QVERIFY(probe.sample());
    }
}

QTEST_GUILESS_MAIN(tst_SystemProbe)
#include "tst_systemprobe.moc"

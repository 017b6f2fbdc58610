// soak_monitor: the whole per-tick path of the monitor (four categories over real parts, the
// ring, history.db and the alert rules: connectMonitorPipeline, exactly as the Runtime wires it)
// for an hour of 1 s ticks on a ManualClock, as fast as the machine goes. Between ticks it
// makes cache traffic and runs a few engine tasks, so every category has interval figures.
//
// Figures: RSS growth between minute 10 and the end (goal <= 5 MB over minutes 10..60), beside
// the same run with a 10-minute memory ring (baseline: the ring stops growing at minute 10, so
// the difference is what the 1 h ring costs), and the thread CPU per tick.
#include "benchsupport.h"

#include "core/cache/cachemanager.h"
#include "core/exec/executionengine.h"
#include "core/http/httppool.h"
#include "core/monitor/alertengine.h"
#include "core/monitor/eventlog.h"
#include "core/monitor/historystore.h"
#include "core/monitor/monitorpipeline.h"
#include "core/monitor/performancemonitor.h"
#include "core/runtime/runtimeconfig.h"
#include "core/support/clock.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>

#include <ctime>

using namespace opsdeck;

namespace {

qint64 rssBytes()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    }
    return 0;
}

double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

struct SoakResult
{
    qint64 rssAtMinute10 = 0;
    qint64 rssAtEnd = 0;
    double cpuMsPerTick = 0; // sampleNow + history + alerts, this thread
    double growthMiB() const { return double(rssAtEnd - rssAtMinute10) / (1024.0 * 1024.0); }
};

SoakResult soak(int minutes, double memoryRetentionSeconds)
{
    QTemporaryDir dir;
    ManualClock clock;
    clock.setWallMsecs(1'796'000'000'000);

    cache::CacheSettings cacheSettings;
    cacheSettings.diskEnabled = false;
    cache::CacheManager cacheManager(cacheSettings, clock);
    (void)cacheManager.open();
    http::HttpPool pool(http::HttpPoolSettings{}, clock);
    exec::ExecutionEngine engine(ExecConfig{}, clock);
    (void)engine.start();

    PerformanceMonitor::Settings settings;
    settings.collectionIntervalSeconds = 1.0;
    settings.memoryRetentionSeconds = memoryRetentionSeconds;
    SystemProbe::Options probe;
    probe.diskPath = dir.path();
    PerformanceMonitor monitor(probe, settings, clock);
    MetricsSources sources;
    sources.cache = [&] { return cacheManager.stats(); };
    sources.http = [&] { return pool.stats(); };
    sources.httpLatencyDeltas = [&] { return pool.latencyDeltas(); };
    sources.execution = [&] { return engine.takeIntervalStats(); };
    monitor.setSources(sources);

    const MonitorConfig monitorConfig;
    HistoryStore history(dir.filePath(QStringLiteral("history.db")),
                         HistoryStore::settingsFrom(monitorConfig), clock);
    (void)history.open();
    AlertEngine alerts(clock);
    alerts.setBaseRules(AlertEngine::defaultRules(monitorConfig));
    (void)alerts.attachStore(&history);
    EventLog events(1000, clock);
    connectMonitorPipeline(monitor, history, alerts, &events);

    SoakResult result;
    double cpu = 0;
    const int ticks = minutes * 60;
    for (int tick = 1; tick <= ticks; ++tick) {
        for (int i = 0; i < 20; ++i) {
            const QByteArray key = "soak:" + QByteArray::number((tick * 7 + i) % 500);
            if (!cacheManager.get(key))
                (void)cacheManager.set(key, QByteArray(64, 'v'));
        }
        for (int i = 0; i < 3; ++i) {
            (void)engine.scheduleTask(QStringLiteral("soak"), QStringLiteral("tick"),
                                      [](const exec::TaskContext &) -> Result<QJsonValue> {
                                          return QJsonValue(1);
                                      });
        }
        (void)engine.waitForIdle(std::chrono::seconds(5));
        clock.advance(std::chrono::seconds(1));
        const double before = threadCpuMs();
        monitor.sampleNow();
        cpu += threadCpuMs() - before;
        if (tick == 600)
            result.rssAtMinute10 = rssBytes();
        if (tick % 600 == 0)
            bench::print(QStringLiteral("  minute %1: RSS %2 MiB")
                             .arg(tick / 60)
                             .arg(double(rssBytes()) / (1024.0 * 1024.0), 0, 'f', 2));
    }
    result.rssAtEnd = rssBytes();
    result.cpuMsPerTick = cpu / ticks;
    engine.stop();
    cacheManager.stop();
    return result;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOption({QStringLiteral("minutes"), QStringLiteral("Simulated minutes (default 60)."),
                      QStringLiteral("N"), QStringLiteral("60")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Write the figures here."),
                      QStringLiteral("FILE")});
    parser.process(app);
    const int minutes = qMax(11, parser.value(QStringLiteral("minutes")).toInt());
    QJsonObject doc = bench::startRun(QStringLiteral("soak_monitor"), minutes < 60, 1);

    bench::print(QStringLiteral("Baseline: the same soak with a 10-minute memory ring"));
    const SoakResult baseline = soak(minutes, 600.0);
    bench::print(QStringLiteral("The 1 h ring (the default)"));
    const SoakResult full = soak(minutes, 3600.0);

    const double budget = 5.0 * double(minutes - 10) / 50.0;
    const bench::Goal growth{QStringLiteral("rss_growth_minute10_to_end_mib"),
                             QStringLiteral("<= %1 MiB").arg(budget), full.growthMiB(),
                             full.growthMiB() <= budget};
    const bench::Goal cpu{QStringLiteral("monitor_cpu_ms_per_tick"), QStringLiteral("<= 5 ms (0.5 % at 1 Hz)"),
                          full.cpuMsPerTick, full.cpuMsPerTick <= 5.0};
    bench::print(QString());
    bench::print(QStringLiteral("RSS growth, minute 10 to %1: %2 MiB (baseline 10-min ring: %3 MiB)  %4")
                     .arg(minutes)
                     .arg(full.growthMiB(), 0, 'f', 2)
                     .arg(baseline.growthMiB(), 0, 'f', 2)
                     .arg(bench::passMiss(growth.pass)));
    bench::print(QStringLiteral("Monitor CPU per tick (sample + history + alerts): %1 ms (baseline run: %2 ms)  %3")
                     .arg(full.cpuMsPerTick, 0, 'f', 3)
                     .arg(baseline.cpuMsPerTick, 0, 'f', 3)
                     .arg(bench::passMiss(cpu.pass)));
    bench::print(QStringLiteral("Load: %1").arg(bench::loadText()));
    doc.insert(QStringLiteral("goals"), QJsonArray{growth.toJson(), cpu.toJson()});
    if (parser.isSet(QStringLiteral("json")) && !bench::writeJsonFile(parser.value(QStringLiteral("json")), doc))
        return 3;
    return 0;
}

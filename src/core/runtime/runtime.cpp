#include "core/runtime/runtime.h"

#include "core/runtime/datadir.h"
#include "core/support/logging.h"

#include <QtCore/QMetaObject>

namespace opsdeck {

Runtime::Runtime(RuntimeConfig config, const DataDir &dataDir, const Clock &clock)
    : m_config(std::move(config))
    , m_clock(clock)
{
    SystemProbe::Options probe;
    probe.diskPath = dataDir.path();
    m_monitor = std::make_unique<PerformanceMonitor>(probe, monitorSettings(m_config), m_clock);
    m_monitorThread.setObjectName(QStringLiteral("monitor"));
    m_cacheFile = dataDir.filePath(QStringLiteral("cache.db"));
    m_cache = std::make_unique<cache::CacheManager>(
        cache::CacheSettings::fromConfig(m_config.cache, m_cacheFile), m_clock);
    m_http = std::make_unique<http::HttpPool>(http::HttpPoolSettings::fromConfig(m_config.http),
                                              m_clock);
    m_preloadTarget = std::make_unique<cache::CachePreloadTarget>(*m_cache);
    m_preloader = std::make_unique<cache::Preloader>(*m_preloadTarget, m_executor,
                                                     cache::PreloaderSettings{}, m_clock);
}

Runtime::~Runtime()
{
    stop();
}

PerformanceMonitor::Settings Runtime::monitorSettings(const RuntimeConfig &config)
{
    PerformanceMonitor::Settings settings;
    settings.collectionIntervalSeconds = config.monitor.collectionInterval;
    settings.memoryRetentionSeconds = config.monitor.memoryRetention;
    return settings;
}

void Runtime::start()
{
    if (m_running)
        return;
    m_running = true;
    if (Status opened = m_cache->open(); !opened)
        qCWarning(lcRuntime, "Cache: %s", qUtf8Printable(opened.error().message));
    m_preloader->start();
    m_monitor->moveToThread(&m_monitorThread);
    m_monitorThread.start();
    QMetaObject::invokeMethod(m_monitor.get(), &PerformanceMonitor::start, Qt::QueuedConnection);
    qCInfo(lcRuntime, "Runtime started");
}

void Runtime::stop()
{
    if (!m_running)
        return;
    m_running = false;
    QThread *owner = QThread::currentThread();
    PerformanceMonitor *monitor = m_monitor.get();
    QMetaObject::invokeMethod(
        monitor,
        [monitor, owner] {
            monitor->stop();
            monitor->moveToThread(owner); // destroyed on the owning thread
        },
        Qt::BlockingQueuedConnection);
    m_monitorThread.quit();
    m_monitorThread.wait();
    m_preloader->stop();
    m_cache->stop();
    m_http.reset(); // fails what is still pending with "shutdown", joins its threads
    m_executor.waitForDone();
    qCInfo(lcRuntime, "Runtime stopped");
}

QStringList Runtime::applyConfig(const RuntimeConfig &next)
{
    QStringList needsRestart;
    const QStringList changed = m_config.changedKeys(next);
    const QStringList restartKeys = RuntimeConfig::restartRequiredKeys();
    for (const QString &name : changed) {
        const QString key = name.section(u'/', 1);
        if (name.startsWith(u"agent.") || restartKeys.contains(key))
            needsRestart.append(name);
    }
    const PerformanceMonitor::Settings settings = monitorSettings(next);
    if (m_running) {
        QMetaObject::invokeMethod(
            m_monitor.get(),
            [monitor = m_monitor.get(), settings] { monitor->applySettings(settings); },
            Qt::QueuedConnection);
    } else {
        m_monitor->applySettings(settings);
    }
    m_cache->applySettings(cache::CacheSettings::fromConfig(next.cache, m_cacheFile));
    if (m_http)
        m_http->applyConfig(next.http);
    m_config = next;
    qCInfo(lcRuntime, "Configuration applied: %lld changed, %lld need a restart",
           qlonglong(changed.size()), qlonglong(needsRestart.size()));
    return needsRestart;
}

} // namespace opsdeck

#include "core/cache/cachemanager.h"

#include "core/runtime/runtimeconfig.h"
#include "core/support/logging.h"

#include <QtConcurrent/QtConcurrentRun>
#include <QtCore/QJsonDocument>
#include <QtCore/QPromise>
#include <QtCore/QRegularExpression>
#include <QtCore/QThreadPool>
#include <QtCore/QTimer>

#include <cmath>
#include <limits>

namespace opsdeck::cache {

namespace {

constexpr int kMaxKnownLoaders = 10000;
constexpr int kPatternChunk = 1024;

QFuture<Result<QByteArray>> readyFuture(Result<QByteArray> value)
{
    QPromise<Result<QByteArray>> promise;
    promise.start();
    promise.addResult(std::move(value));
    promise.finish();
    return promise.future();
}

QFuture<Result<int>> readyIntFuture(Result<int> value)
{
    QPromise<Result<int>> promise;
    promise.start();
    promise.addResult(std::move(value));
    promise.finish();
    return promise.future();
}

// Keys are bytes; patterns are text. A key is matched as its UTF-8 reading, so ASCII keys and
// patterns behave as in the old system.
bool matchesAnchored(const QRegularExpression &re, const QByteArray &key)
{
    return re
        .match(QString::fromUtf8(key), 0, QRegularExpression::NormalMatch,
               QRegularExpression::AnchorAtOffsetMatchOption)
        .hasMatch();
}

} // namespace

struct CacheManager::Flight
{
    QPromise<Result<QByteArray>> promise;
    QFuture<Result<QByteArray>> future;
    std::atomic<bool> done{false};
};

CacheSettings CacheSettings::fromConfig(const CacheConfig &config, const QString &cacheFilePath)
{
    CacheSettings settings;
    settings.memory.maxEntries = config.memoryMaxSize;
    settings.memory.maxBytes = config.memoryMaxBytes;
    const Policy policy = policyFromString(config.invalidationStrategy).value_or(Policy::Adaptive);
    settings.memory.policy = policy;
    settings.diskEnabled = config.diskCacheEnabled;
    settings.disk.path = cacheFilePath;
    settings.disk.maxBytes = config.diskMaxSize;
    settings.disk.policy = policy;
    settings.defaultTtlSeconds = config.defaultTtl;
    return settings;
}

QJsonObject CacheStats::toJson() const
{
    auto usage = [](double size, double max) {
        return max > 0 ? size / max : 0.0;
    };
    return QJsonObject{
        {QStringLiteral("memory_size"), memory.entries},
        {QStringLiteral("memory_max_size"), memory.maxEntries},
        {QStringLiteral("memory_usage"), usage(double(memory.entries), double(memory.maxEntries))},
        {QStringLiteral("memory_bytes"), memory.bytes},
        {QStringLiteral("memory_max_bytes"), memory.maxBytes},
        {QStringLiteral("memory_hit_count"), qint64(memory.hits)},
        {QStringLiteral("memory_miss_count"), qint64(memory.misses)},
        {QStringLiteral("memory_hit_rate"), memory.hitRate()},
        {QStringLiteral("memory_rejected"), qint64(memory.rejected)},
        {QStringLiteral("disk_enabled"), disk.enabled},
        {QStringLiteral("disk_entries"), disk.entries},
        {QStringLiteral("disk_size"), disk.bytes},
        {QStringLiteral("disk_max_size"), disk.maxBytes},
        {QStringLiteral("disk_usage"), usage(double(disk.bytes), double(disk.maxBytes))},
        {QStringLiteral("disk_file_bytes"), disk.fileBytes},
        {QStringLiteral("disk_hit_count"), qint64(disk.hits)},
        {QStringLiteral("disk_miss_count"), qint64(disk.misses)},
        {QStringLiteral("disk_hit_rate"), disk.hitRate()},
        {QStringLiteral("disk_errors"), qint64(disk.errors)},
        {QStringLiteral("distributed_enabled"), false},
        {QStringLiteral("eviction_count"), qint64(memory.evictions() + disk.evictions())},
        {QStringLiteral("evictions"),
         QJsonObject{
             {QStringLiteral("size"), qint64(memory.evictedSize + disk.evictedSize)},
             {QStringLiteral("expired"), qint64(memory.evictedExpired + disk.evictedExpired)},
             {QStringLiteral("invalidated"),
              qint64(memory.evictedInvalidated + disk.evictedInvalidated)},
             {QStringLiteral("replaced"), qint64(memory.evictedReplaced + disk.evictedReplaced)}}},
        {QStringLiteral("invalidation_strategy"), toString(policy)},
        {QStringLiteral("lookups"), qint64(lookups)},
        {QStringLiteral("hit_count"), qint64(hits)},
        {QStringLiteral("miss_count"), qint64(misses)},
        {QStringLiteral("hit_rate"), hitRate()},
        {QStringLiteral("loads"), qint64(loads)},
        {QStringLiteral("load_errors"), qint64(loadErrors)},
        {QStringLiteral("load_joins"), qint64(loadJoins)},
        {QStringLiteral("invalidated"), qint64(invalidated)},
        {QStringLiteral("promotions"), qint64(promotions)},
    };
}

CacheManager::CacheManager(CacheSettings settings, const Clock &clock, QObject *parent)
    : QObject(parent)
    , m_clock(clock)
    , m_settings(std::move(settings))
    , m_memory(std::make_unique<MemoryTier>(m_settings.memory, clock))
{
    m_maintenanceThread.setObjectName(QStringLiteral("cache-maint"));
    m_background.setMaxThreadCount(1);
    m_background.setObjectName(QStringLiteral("cache-scan"));
}

CacheManager::~CacheManager()
{
    stop();
}

Status CacheManager::open()
{
    if (m_open.exchange(true))
        return ok();
    if (m_settings.diskEnabled && !m_settings.disk.path.isEmpty()) {
        m_disk = std::make_unique<DiskTier>(m_settings.disk, m_clock);
        if (Status opened = m_disk->open(); !opened) {
            qCWarning(lcCache, "Disk tier unavailable, running memory-only: %s",
                      qUtf8Printable(opened.error().message));
        }
        // The dependency graph is kept in memory: rebuild it from the disk tier, so removing a
        // parent after a restart still removes its dependents from every tier.
        const auto edges = m_disk->dependencyEdges();
        for (const auto &[child, parents] : edges)
            linkDependencies(child, parents);
        if (!edges.isEmpty())
            qCInfo(lcCache, "Dependency graph restored: %lld keys with parents", qlonglong(edges.size()));
    }
    auto *timer = new QTimer;
    timer->setTimerType(Qt::PreciseTimer);
    timer->setInterval(std::max(10, m_settings.maintenanceIntervalMs));
    timer->moveToThread(&m_maintenanceThread);
    connect(timer, &QTimer::timeout, timer, [this] { runMaintenance(); });
    connect(&m_maintenanceThread, &QThread::started, timer, qOverload<>(&QTimer::start));
    connect(&m_maintenanceThread, &QThread::finished, timer, &QObject::deleteLater);
    m_maintenanceThread.start();
    qCInfo(lcCache, "Cache open: memory %lld entries (%s), disk %s",
           qlonglong(m_settings.memory.maxEntries),
           qUtf8Printable(toString(m_settings.memory.policy)),
           diskUsable() ? qUtf8Printable(m_settings.disk.path) : "off");
    return ok();
}

void CacheManager::stop()
{
    if (!m_open.exchange(false))
        return;
    QHash<QByteArray, std::shared_ptr<Flight>> flights;
    {
        QMutexLocker lock(&m_flightMutex);
        flights.swap(m_flights);
    }
    for (const std::shared_ptr<Flight> &flight : std::as_const(flights)) {
        if (!flight->done.exchange(true)) {
            flight->promise.addResult(
                fail(QStringLiteral("cache_stopped"),
                     QStringLiteral("The cache stopped before the load finished.")));
            flight->promise.finish();
        }
    }
    m_maintenanceThread.quit();
    m_maintenanceThread.wait();
    m_background.waitForDone();
    if (m_disk)
        m_disk->close();
    qCInfo(lcCache, "Cache stopped");
}

bool CacheManager::diskUsable() const
{
    return m_disk && m_disk->available();
}

Result<double> CacheManager::resolveTtl(Ttl ttl) const
{
    if (!ttl) {
        QMutexLocker lock(&m_settingsMutex);
        return m_settings.defaultTtlSeconds;
    }
    if (!std::isfinite(*ttl) || *ttl < 0) {
        return fail(QStringLiteral("invalid_ttl"),
                    QStringLiteral("A TTL must be 0 (no expiry) or a positive number of seconds, "
                                   "not %1.")
                        .arg(*ttl));
    }
    return *ttl;
}

Clock::MonoTime CacheManager::monoExpiry(double ttlSeconds) const
{
    if (ttlSeconds <= 0)
        return Clock::MonoTime(0);
    return m_clock.monotonic()
           + std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(ttlSeconds));
}

qint64 CacheManager::wallExpiry(double ttlSeconds) const
{
    if (ttlSeconds <= 0)
        return 0;
    return m_clock.wallMsecs() + qint64(std::ceil(ttlSeconds * 1000.0));
}

void CacheManager::notifyAccess(const QByteArray &key, bool hit)
{
    AccessObserver observer;
    {
        QMutexLocker lock(&m_observerMutex);
        observer = m_observer;
    }
    if (observer)
        observer(key, hit);
}

std::optional<QByteArray> CacheManager::get(const QByteArray &key, Level level)
{
    ++m_lookups;
    if (level != Level::Disk) {
        if (std::optional<MemoryTier::Item> item = m_memory->get(key)) {
            ++m_hits;
            notifyAccess(key, true);
            return item->value;
        }
    }
    if (level != Level::Memory && diskUsable()) {
        if (std::optional<DiskTier::Entry> entry = m_disk->get(key)) {
            ++m_hits;
            if (level == Level::All && m_memory->enabled()) {
                // Promote with the remaining TTL and the tags.
                MemoryTier::Item item;
                item.value = entry->value;
                item.tags = entry->tags;
                item.dependsOn = entry->dependsOn;
                if (entry->expiresAtWallMs > 0) {
                    const qint64 remainingMs
                        = std::max<qint64>(1, entry->expiresAtWallMs - m_clock.wallMsecs());
                    item.expiresAt = m_clock.monotonic() + std::chrono::milliseconds(remainingMs);
                }
                m_memory->set(key, std::move(item));
                ++m_promotions;
                linkDependencies(key, entry->dependsOn);
            }
            notifyAccess(key, true);
            return entry->value;
        }
    }
    ++m_misses;
    notifyAccess(key, false);
    return std::nullopt;
}

void CacheManager::store(const QByteArray &key,
                         const QByteArray &value,
                         double ttlSeconds,
                         const QList<QByteArray> &tags,
                         const QList<QByteArray> &dependsOn,
                         Level level)
{
    if (level != Level::Disk && m_memory->enabled()) {
        MemoryTier::Item item;
        item.value = value;
        item.expiresAt = monoExpiry(ttlSeconds);
        item.tags = tags;
        item.dependsOn = dependsOn;
        m_memory->set(key, std::move(item));
    }
    if (level != Level::Memory && diskUsable()) {
        DiskTier::Entry entry;
        entry.value = value;
        entry.expiresAtWallMs = wallExpiry(ttlSeconds);
        entry.tags = tags;
        entry.dependsOn = dependsOn;
        m_disk->set(key, std::move(entry));
    }
    linkDependencies(key, dependsOn);
}

Status CacheManager::set(const QByteArray &key, const QByteArray &value, const SetOptions &options)
{
    Result<double> ttl = resolveTtl(options.ttl);
    if (!ttl)
        return tl::unexpected(ttl.error());
    if (options.dependsOn.contains(key)) {
        return fail(QStringLiteral("invalid_dependency"),
                    QStringLiteral("A key cannot depend on itself."));
    }
    store(key, value, *ttl, options.tags, options.dependsOn, options.level);
    return ok();
}

Status CacheManager::setMany(const QList<QPair<QByteArray, QByteArray>> &items,
                             const SetOptions &options)
{
    Result<double> ttl = resolveTtl(options.ttl);
    if (!ttl)
        return tl::unexpected(ttl.error());
    for (const auto &[key, value] : items)
        store(key, value, *ttl, options.tags, options.dependsOn, options.level);
    return ok();
}

void CacheManager::unlinkFromParentsLocked(const QByteArray &key)
{
    const auto parents = m_dependencies.find(key);
    if (parents == m_dependencies.end())
        return;
    for (const QByteArray &parent : std::as_const(*parents)) {
        auto siblings = m_dependents.find(parent);
        if (siblings != m_dependents.end()) {
            siblings->remove(key);
            if (siblings->isEmpty())
                m_dependents.erase(siblings);
        }
    }
    m_dependencies.erase(parents);
}

void CacheManager::linkDependencies(const QByteArray &key, const QList<QByteArray> &parents)
{
    QMutexLocker lock(&m_graphMutex);
    unlinkFromParentsLocked(key); // a new value replaces the key's old edges
    if (parents.isEmpty())
        return;
    QSet<QByteArray> &mine = m_dependencies[key];
    for (const QByteArray &parent : parents) {
        if (parent == key)
            continue;
        mine.insert(parent);
        m_dependents[parent].insert(key);
    }
}

int CacheManager::removeCascade(const QList<QByteArray> &roots, Level level)
{
    // Breadth-first over the dependents graph; `seen` makes cycles terminate.
    QSet<QByteArray> seen;
    QList<QByteArray> queue;
    {
        QMutexLocker lock(&m_graphMutex);
        for (const QByteArray &root : roots) {
            if (!seen.contains(root)) {
                seen.insert(root);
                queue.append(root);
            }
        }
        for (qsizetype i = 0; i < queue.size(); ++i) {
            const auto children = m_dependents.constFind(queue[i]);
            if (children == m_dependents.constEnd())
                continue;
            for (const QByteArray &child : *children) {
                if (!seen.contains(child)) {
                    seen.insert(child);
                    queue.append(child);
                }
            }
        }
    }
    int removed = 0;
    const bool disk = level != Level::Memory && diskUsable();
    for (const QByteArray &key : std::as_const(queue)) {
        bool present = false;
        if (level != Level::Disk)
            present = m_memory->remove(key) || present;
        if (disk)
            present = m_disk->get(key).has_value() || present;
        if (present)
            ++removed;
    }
    if (disk)
        m_disk->removeMany(queue);
    if (level == Level::All) {
        QMutexLocker lock(&m_graphMutex);
        for (const QByteArray &key : std::as_const(queue)) {
            m_dependents.remove(key);
            unlinkFromParentsLocked(key);
        }
    }
    {
        // A removed key must not come back through refresh-ahead: forget how to load it.
        QMutexLocker lock(&m_loaderMutex);
        for (const QByteArray &key : std::as_const(queue))
            m_loaders.remove(key);
    }
    m_invalidated += quint64(removed);
    return removed;
}

int CacheManager::remove(const QByteArray &key, Level level)
{
    return removeCascade({key}, level);
}

void CacheManager::clear(Level level)
{
    if (level != Level::Disk)
        m_memory->clear();
    if (level != Level::Memory && m_disk)
        m_disk->clear();
    if (level == Level::All) {
        {
            QMutexLocker lock(&m_graphMutex);
            m_dependents.clear();
            m_dependencies.clear();
        }
        QMutexLocker lock(&m_loaderMutex);
        m_loaders.clear();
    }
}

QString CacheManager::literalPrefix(const QString &pattern)
{
    static const QString meta = QStringLiteral(".^$*+?()[]{}|\\");
    QString prefix;
    for (qsizetype i = 0; i < pattern.size(); ++i) {
        const QChar c = pattern[i];
        if (c == u'\\') {
            // An escaped punctuation character is a literal; \d, \w, \b ... are not.
            if (i + 1 < pattern.size() && !pattern[i + 1].isLetterOrNumber()) {
                const QChar next = pattern[i + 1];
                const QChar after = i + 2 < pattern.size() ? pattern[i + 2] : QChar();
                if (after == u'*' || after == u'?' || after == u'{')
                    break;
                prefix += next;
                ++i;
                continue;
            }
            break;
        }
        if (c == u'|')
            return {}; // an alternation at the top level: no common prefix
        if (meta.contains(c)) {
            // A quantifier applies to the character before it: that one is optional.
            if ((c == u'*' || c == u'?' || c == u'{') && !prefix.isEmpty())
                prefix.chop(1);
            break;
        }
        prefix += c;
    }
    if (pattern.contains(u'|'))
        return {}; // an alternation anywhere may not share the prefix
    return prefix;
}

QFuture<Result<int>> CacheManager::invalidatePattern(const QString &pattern)
{
    QRegularExpression re(pattern);
    if (!re.isValid()) {
        return readyIntFuture(fail(QStringLiteral("invalid_pattern"),
                                   QStringLiteral("The pattern \"%1\" is not a valid regular "
                                                  "expression: %2.")
                                       .arg(pattern, re.errorString()),
                                   {{QStringLiteral("pattern"), pattern}}));
    }
    re.optimize();
    const QByteArray prefix = literalPrefix(pattern).toUtf8();
    auto collect = [this, re, prefix]() -> Result<int> {
        QList<QByteArray> matches;
        if (!prefix.isEmpty()) {
            for (const QByteArray &key : m_memory->keysWithPrefix(prefix))
                if (matchesAnchored(re, key))
                    matches.append(key);
            if (diskUsable()) {
                for (const QByteArray &key : m_disk->keysWithPrefix(prefix))
                    if (matchesAnchored(re, key) && !matches.contains(key))
                        matches.append(key);
            }
        } else {
            // No literal prefix: page through the ordered index in chunks, never holding a
            // tier lock for the whole scan.
            QByteArray after;
            for (;;) {
                const QList<QByteArray> page = m_memory->keysAfter(after, kPatternChunk);
                for (const QByteArray &key : page)
                    if (matchesAnchored(re, key))
                        matches.append(key);
                if (page.size() < kPatternChunk)
                    break;
                after = page.last();
            }
            if (diskUsable()) {
                QSet<QByteArray> known(matches.cbegin(), matches.cend());
                for (const QByteArray &key : m_disk->keysMatching(re))
                    if (!known.contains(key))
                        matches.append(key);
            }
        }
        return removeCascade(matches, Level::All);
    };
    if (!prefix.isEmpty())
        return readyIntFuture(collect()); // O(matches): answered at once
    return QtConcurrent::run(&m_background, collect);
}

int CacheManager::invalidateTag(const QByteArray &tag)
{
    QList<QByteArray> keys = m_memory->keysWithTag(tag);
    if (diskUsable()) {
        QSet<QByteArray> known(keys.cbegin(), keys.cend());
        for (const QByteArray &key : m_disk->keysWithTag(tag))
            if (!known.contains(key))
                keys.append(key);
    }
    return removeCascade(keys, Level::All);
}

Result<bool> CacheManager::touch(const QByteArray &key, Ttl ttl)
{
    Result<double> seconds = resolveTtl(ttl);
    if (!seconds)
        return tl::unexpected(seconds.error());
    bool found = m_memory->touch(key, monoExpiry(*seconds));
    if (diskUsable()) {
        if (!found)
            found = m_disk->get(key).has_value();
        if (found)
            m_disk->touch(key, wallExpiry(*seconds));
    }
    return found;
}

QHash<QByteArray, QByteArray> CacheManager::prefetch(const QList<QByteArray> &keys, Level level)
{
    QHash<QByteArray, QByteArray> out;
    for (const QByteArray &key : keys) {
        if (std::optional<QByteArray> value = get(key, level))
            out.insert(key, *value);
    }
    return out;
}

QList<QByteArray> CacheManager::dependencies(const QByteArray &key) const
{
    QMutexLocker lock(&m_graphMutex);
    const QSet<QByteArray> set = m_dependencies.value(key);
    QList<QByteArray> out(set.cbegin(), set.cend());
    std::sort(out.begin(), out.end());
    return out;
}

QList<QByteArray> CacheManager::dependents(const QByteArray &key) const
{
    QMutexLocker lock(&m_graphMutex);
    const QSet<QByteArray> set = m_dependents.value(key);
    QList<QByteArray> out(set.cbegin(), set.cend());
    std::sort(out.begin(), out.end());
    return out;
}

QList<QByteArray> CacheManager::keys(const QByteArray &prefix, int limit, Level level) const
{
    QList<QByteArray> out;
    if (level != Level::Disk)
        out = m_memory->keysWithPrefix(prefix, limit);
    if (level != Level::Memory && diskUsable()) {
        const QList<QByteArray> disk = m_disk->keysWithPrefix(prefix, limit);
        out.append(disk);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    if (limit >= 0 && out.size() > limit)
        out.resize(limit);
    return out;
}

std::optional<QJsonValue> CacheManager::getJson(const QByteArray &key, Level level)
{
    const std::optional<QByteArray> bytes = get(key, level);
    if (!bytes)
        return std::nullopt;
    // Values are stored as a one-element array so scalars round-trip too.
    const QJsonDocument doc = QJsonDocument::fromJson(*bytes);
    if (!doc.isArray() || doc.array().size() != 1)
        return std::nullopt;
    return doc.array().first();
}

Status
CacheManager::setJson(const QByteArray &key, const QJsonValue &value, const SetOptions &options)
{
    return set(key, QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact), options);
}

QFuture<Result<QByteArray>> CacheManager::getOrLoad(const QByteArray &key, Ttl ttl, Loader loader)
{
    Result<double> seconds = resolveTtl(ttl);
    if (!seconds)
        return readyFuture(tl::unexpected(seconds.error()));
    if (!m_open.load()) {
        return readyFuture(
            fail(QStringLiteral("cache_stopped"), QStringLiteral("The cache is not open.")));
    }
    {
        QMutexLocker lock(&m_loaderMutex);
        KnownLoader &known = m_loaders[key];
        known.loader = loader;
        known.ttlSeconds = *seconds;
        known.order = ++m_loaderOrder;
        if (m_loaders.size() > kMaxKnownLoaders) {
            // Forget the least recently used tenth in one pass (amortised O(1) per call).
            QList<QPair<quint64, QByteArray>> byAge;
            byAge.reserve(m_loaders.size());
            for (auto it = m_loaders.cbegin(); it != m_loaders.cend(); ++it)
                byAge.append({it->order, it.key()});
            std::sort(byAge.begin(), byAge.end());
            for (qsizetype i = 0; i < byAge.size() / 10; ++i)
                m_loaders.remove(byAge[i].second);
        }
    }

    ++m_lookups;
    if (std::optional<MemoryTier::Item> item = m_memory->get(key)) {
        ++m_hits;
        notifyAccess(key, true);
        return readyFuture(item->value);
    }

    std::shared_ptr<Flight> flight;
    {
        QMutexLocker lock(&m_flightMutex);
        if (auto it = m_flights.constFind(key); it != m_flights.constEnd()) {
            ++m_loadJoins;
            ++m_misses; // not cached: the caller waits for the load already running
            return (*it)->future;
        }
        flight = std::make_shared<Flight>();
        flight->promise.start();
        flight->future = flight->promise.future();
        m_flights.insert(key, flight);
    }

    if (diskUsable()) {
        // The tier's callback, not a Sync .then(): see DiskTier::getAsync.
        m_disk->getAsync(key, [this, key, flight, loader,
                               ttlSeconds = *seconds](std::optional<DiskTier::Entry> entry) {
            if (entry) {
                // The promotion path of get() keeps TTL and tags; reuse it.
                std::optional<QByteArray> value = get(key, Level::All);
                --m_lookups; // get() counted this lookup again
                if (value) {
                    finishFlight(key, flight, *value, -1);
                    return;
                }
                --m_misses;
            }
            startLoad(key, flight, loader, ttlSeconds);
        });
    } else {
        startLoad(key, flight, loader, *seconds);
    }
    return flight->future;
}

void CacheManager::startLoad(const QByteArray &key,
                             const std::shared_ptr<Flight> &flight,
                             Loader loader,
                             double ttlSeconds)
{
    ++m_misses;
    notifyAccess(key, false);
    runLoader(key, flight, std::move(loader), ttlSeconds);
}

// Calls the loader once and finishes the flight with whatever it gives: a value, an error, an
// exception, a cancellation or no future at all.
void CacheManager::runLoader(const QByteArray &key,
                             const std::shared_ptr<Flight> &flight,
                             Loader loader,
                             double ttlSeconds)
{
    ++m_loads;
    QFuture<Result<QByteArray>> loading;
    try {
        loading = loader();
    } catch (const std::exception &e) {
        finishFlight(key, flight,
                     fail(QStringLiteral("load_failed"),
                          QStringLiteral("The loader threw: %1").arg(QString::fromUtf8(e.what()))),
                     ttlSeconds);
        return;
    }
    if (!loading.isValid()) {
        finishFlight(
            key, flight,
            fail(QStringLiteral("load_failed"), QStringLiteral("The loader returned no future.")),
            ttlSeconds);
        return;
    }
    loading
        .then(QtFuture::Launch::Sync,
              [this, key, flight, ttlSeconds](QFuture<Result<QByteArray>> done) {
                  Result<QByteArray> result = fail(QStringLiteral("load_failed"),
                                                   QStringLiteral("The loader gave no result."));
                  try {
                      if (done.resultCount() > 0)
                          result = done.result();
                  } catch (const std::exception &e) {
                      result = fail(
                          QStringLiteral("load_failed"),
                          QStringLiteral("The loader failed: %1").arg(QString::fromUtf8(e.what())));
                  }
                  finishFlight(key, flight, std::move(result), ttlSeconds);
              })
        .onCanceled([this, key, flight, ttlSeconds] {
            finishFlight(
                key, flight,
                fail(QStringLiteral("load_cancelled"), QStringLiteral("The load was cancelled.")),
                ttlSeconds);
        });
}

void CacheManager::finishFlight(const QByteArray &key,
                                const std::shared_ptr<Flight> &flight,
                                Result<QByteArray> result,
                                double ttlSeconds)
{
    {
        QMutexLocker lock(&m_flightMutex);
        auto it = m_flights.find(key);
        const bool current = it != m_flights.end() && *it == flight;
        if (!current) {
            // stop() or clear() answered the waiters already: drop the late result.
            return;
        }
        m_flights.erase(it);
    }
    if (result && ttlSeconds >= 0)
        store(key, *result, ttlSeconds, {}, {}, Level::All);
    if (!result)
        ++m_loadErrors;
    if (!flight->done.exchange(true)) {
        flight->promise.addResult(std::move(result));
        flight->promise.finish();
    }
}

bool CacheManager::hasLoader(const QByteArray &key) const
{
    QMutexLocker lock(&m_loaderMutex);
    return m_loaders.contains(key);
}

QFuture<Result<QByteArray>> CacheManager::refresh(const QByteArray &key)
{
    KnownLoader known;
    {
        QMutexLocker lock(&m_loaderMutex);
        auto it = m_loaders.constFind(key);
        if (it == m_loaders.constEnd()) {
            return readyFuture(fail(QStringLiteral("no_loader"),
                                    QStringLiteral("No loader is known for this key.")));
        }
        known = *it;
    }
    std::shared_ptr<Flight> flight;
    {
        QMutexLocker lock(&m_flightMutex);
        if (auto it = m_flights.constFind(key); it != m_flights.constEnd())
            return (*it)->future;
        flight = std::make_shared<Flight>();
        flight->promise.start();
        flight->future = flight->promise.future();
        m_flights.insert(key, flight);
    }
    runLoader(key, flight, known.loader, known.ttlSeconds);
    return flight->future;
}

std::optional<Clock::Duration> CacheManager::timeToLive(const QByteArray &key) const
{
    if (std::optional<MemoryTier::Item> item = m_memory->peek(key)) {
        if (item->expiresAt.count() == 0)
            return Clock::Duration::max();
        return std::max(Clock::Duration(0), item->expiresAt - m_clock.monotonic());
    }
    return std::nullopt;
}

CacheStats CacheManager::stats() const
{
    CacheStats s;
    s.memory = m_memory->stats();
    if (m_disk)
        s.disk = m_disk->stats();
    s.disk.enabled = diskUsable();
    {
        QMutexLocker lock(&m_settingsMutex);
        s.policy = m_settings.memory.policy;
        s.disk.maxBytes = m_settings.disk.maxBytes;
    }
    s.lookups = m_lookups.load();
    s.hits = m_hits.load();
    s.misses = m_misses.load();
    s.loads = m_loads.load();
    s.loadErrors = m_loadErrors.load();
    s.loadJoins = m_loadJoins.load();
    s.invalidated = m_invalidated.load();
    s.promotions = m_promotions.load();
    return s;
}

CacheSettings CacheManager::settings() const
{
    QMutexLocker lock(&m_settingsMutex);
    return m_settings;
}

void CacheManager::applySettings(const CacheSettings &settings)
{
    {
        QMutexLocker lock(&m_settingsMutex);
        m_settings.memory = settings.memory;
        m_settings.defaultTtlSeconds = settings.defaultTtlSeconds;
        m_settings.disk.maxBytes = settings.disk.maxBytes;
        m_settings.disk.policy = settings.disk.policy;
    }
    m_memory->applySettings(settings.memory);
    if (m_disk)
        m_disk->applySettings(this->settings().disk);
}

void CacheManager::setAccessObserver(AccessObserver observer)
{
    QMutexLocker lock(&m_observerMutex);
    m_observer = std::move(observer);
}

void CacheManager::runMaintenance()
{
    m_memory->expireDue();
    if (diskUsable())
        m_disk->expireDue();
}

} // namespace opsdeck::cache

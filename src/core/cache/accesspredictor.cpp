#include "core/cache/accesspredictor.h"

#include <algorithm>
#include <cmath>

namespace opsdeck::cache {

namespace {

qint64 ns(Clock::MonoTime time)
{
    return time.count();
}

Clock::Duration fromNs(double value)
{
    return Clock::Duration(qint64(std::llround(value)));
}

} // namespace

AccessPredictor::AccessPredictor(Settings settings)
    : m_settings(settings)
{
    m_settings.maxTrackedKeys = std::max(1, m_settings.maxTrackedKeys);
    m_settings.minAccesses = std::max(2, m_settings.minAccesses);
    m_settings.smoothing = std::clamp(m_settings.smoothing, 0.01, 1.0);
    m_settings.staleFactor = std::max(1.0, m_settings.staleFactor);
}

void AccessPredictor::recordAccess(const QByteArray &key, MonoTime now)
{
    auto it = m_entries.find(key);
    if (it == m_entries.end()) {
        while (m_entries.size() >= m_settings.maxTrackedKeys && !m_lru.empty()) {
            erase(m_entries.find(m_lru.back()));
            ++m_stats.droppedKeys;
        }
        m_lru.push_front(key);
        it = m_entries.insert(key, Entry{});
        it->lru = m_lru.begin();
    } else {
        m_lru.splice(m_lru.begin(), m_lru, it->lru);
    }
    Entry &entry = *it;
    if (entry.refreshStarted) {
        // A refresh that never reported back must not blind the key for ever.
        const Duration stuckAfter = std::max<Duration>(entry.ttlEstimate, std::chrono::seconds(30));
        if (now - *entry.refreshStarted <= stuckAfter)
            return;
        entry.refreshStarted.reset();
        ++m_stats.refreshErrors;
    }
    if (entry.windowEnd) {
        if (now <= *entry.windowEnd)
            ++m_stats.predictionHits;
        else
            ++m_stats.predictionMisses;
        m_windows.erase({ns(*entry.windowEnd), key});
        entry.windowEnd.reset();
    }
    if (entry.accesses > 0 && now - entry.lastAccess < m_settings.mergeWindow)
        return;
    if (entry.accesses > 0) {
        const double gap = double(ns(now - entry.lastAccess));
        if (entry.accesses == 1) {
            entry.gapNs = gap;
            entry.deviationNs = 0;
        } else {
            const double a = m_settings.smoothing;
            entry.deviationNs = (1 - a) * entry.deviationNs + a * std::abs(gap - entry.gapNs);
            entry.gapNs = (1 - a) * entry.gapNs + a * gap;
        }
    }
    entry.lastAccess = now;
    entry.accesses = std::min(entry.accesses + 1, 1 << 20);
    if (entry.accesses >= m_settings.minAccesses && !entry.candidate) {
        m_candidates.push_back(key);
        entry.candidate = std::prev(m_candidates.end());
    }
}

QList<QByteArray> AccessPredictor::takeCandidates(int limit)
{
    QList<QByteArray> keys;
    while (!m_candidates.empty() && keys.size() < limit) {
        QByteArray key = std::move(m_candidates.front());
        m_candidates.pop_front();
        auto it = m_entries.find(key);
        if (it != m_entries.end())
            it->candidate.reset();
        keys.append(std::move(key));
    }
    return keys;
}

std::optional<Clock::MonoTime> AccessPredictor::plan(const QByteArray &key,
                                                     std::optional<Duration> timeToLive,
                                                     MonoTime now,
                                                     std::optional<Duration> lifetimeHint)
{
    auto it = m_entries.find(key);
    if (it == m_entries.end())
        return std::nullopt;
    Entry &entry = *it;
    unschedule(key, entry);
    if (timeToLive && *timeToLive == Duration::max())
        return std::nullopt; // never expires
    const bool cached = timeToLive && timeToLive->count() > 0;
    if (cached)
        entry.ttlEstimate = std::max(entry.ttlEstimate, *timeToLive);
    if (lifetimeHint && lifetimeHint->count() > 0 && *lifetimeHint != Duration::max())
        entry.ttlEstimate = std::max(entry.ttlEstimate, *lifetimeHint);
    if (entry.refreshStarted || !hot(entry, now) || entry.ttlEstimate.count() <= 0)
        return std::nullopt;

    const MonoTime nextRead = std::max(entry.lastAccess + fromNs(entry.gapNs), now);
    const Duration lead = leadFor(entry);
    const Duration margin = lead + fromNs(2 * entry.deviationNs);
    std::optional<MonoTime> expiry;
    if (cached)
        expiry = now + *timeToLive;
    // The cached value still serves the next read: plan again after it.
    if (expiry && nextRead + margin < *expiry)
        return std::nullopt;
    MonoTime at;
    if (expiry && *expiry - lead + entry.ttlEstimate >= nextRead + margin)
        at = *expiry - lead; // refresh ahead of expiry: the key never goes cold
    else
        at = nextRead - margin - lead; // expired, or read rarer than its TTL: just before the read
    at = std::max(at, now);
    // Even then the fresh value would expire before the read: refreshing is wasted.
    if (at + entry.ttlEstimate < nextRead)
        return std::nullopt;
    entry.refreshAt = at;
    m_schedule.insert({ns(at), key});
    return at;
}

QList<QByteArray> AccessPredictor::takeDue(MonoTime now)
{
    QList<QByteArray> keys;
    while (!m_schedule.empty() && m_schedule.begin()->first <= ns(now)) {
        QByteArray key = m_schedule.begin()->second;
        m_schedule.erase(m_schedule.begin());
        auto it = m_entries.find(key);
        if (it == m_entries.end())
            continue;
        it->refreshAt.reset();
        if (hot(*it, now) && !it->refreshStarted)
            keys.append(std::move(key));
    }
    return keys;
}

void AccessPredictor::refreshIssued(const QByteArray &key, MonoTime now)
{
    ++m_stats.predictions;
    auto it = m_entries.find(key);
    if (it == m_entries.end())
        return;
    if (it->windowEnd) {
        ++m_stats.predictionMisses; // superseded before it was read
        closeWindow(key, *it);
    }
    unschedule(key, *it);
    it->refreshStarted = now;
}

void AccessPredictor::refreshFinished(const QByteArray &key,
                                      MonoTime now,
                                      bool succeeded,
                                      std::optional<Duration> timeToLive)
{
    if (!succeeded)
        ++m_stats.refreshErrors;
    auto it = m_entries.find(key);
    if (it == m_entries.end())
        return;
    Entry &entry = *it;
    if (entry.refreshStarted) {
        const double took = double(ns(now - *entry.refreshStarted));
        entry.latencyNs = entry.latencyNs == 0 ? took
                                               : (1 - m_settings.smoothing) * entry.latencyNs
                                                     + m_settings.smoothing * took;
        entry.refreshStarted.reset();
    }
    if (!succeeded)
        return;
    Duration lifetime = entry.ttlEstimate;
    if (timeToLive && timeToLive->count() > 0 && *timeToLive != Duration::max()) {
        entry.ttlEstimate = std::max(entry.ttlEstimate, *timeToLive);
        lifetime = *timeToLive;
    }
    if (lifetime.count() > 0) {
        entry.windowEnd = now + lifetime;
        m_windows.insert({ns(*entry.windowEnd), key});
    }
}

bool AccessPredictor::isRefreshing(const QByteArray &key) const
{
    const auto it = m_entries.constFind(key);
    return it != m_entries.cend() && it->refreshStarted.has_value();
}

void AccessPredictor::expirePredictions(MonoTime now)
{
    while (!m_windows.empty() && m_windows.begin()->first < ns(now)) {
        const QByteArray key = m_windows.begin()->second;
        m_windows.erase(m_windows.begin());
        ++m_stats.predictionMisses;
        auto it = m_entries.find(key);
        if (it != m_entries.end())
            it->windowEnd.reset();
    }
}

std::optional<Clock::MonoTime> AccessPredictor::nextEvent() const
{
    std::optional<qint64> next;
    if (!m_schedule.empty())
        next = m_schedule.begin()->first;
    if (!m_windows.empty()) {
        // A window closes just after its end.
        const qint64 end = m_windows.begin()->first + 1;
        next = next ? std::min(*next, end) : end;
    }
    if (!next)
        return std::nullopt;
    return MonoTime(*next);
}

bool AccessPredictor::isHot(const QByteArray &key, MonoTime now) const
{
    const auto it = m_entries.constFind(key);
    return it != m_entries.cend() && hot(*it, now);
}

std::optional<Clock::Duration> AccessPredictor::estimatedInterval(const QByteArray &key) const
{
    const auto it = m_entries.constFind(key);
    if (it == m_entries.cend() || it->accesses < m_settings.minAccesses)
        return std::nullopt;
    return fromNs(it->gapNs);
}

std::optional<Clock::MonoTime> AccessPredictor::plannedRefresh(const QByteArray &key) const
{
    const auto it = m_entries.constFind(key);
    return it == m_entries.cend() ? std::nullopt : it->refreshAt;
}

void AccessPredictor::forget(const QByteArray &key)
{
    erase(m_entries.find(key));
}

void AccessPredictor::clear()
{
    m_entries.clear();
    m_lru.clear();
    m_candidates.clear();
    m_schedule.clear();
    m_windows.clear();
}

AccessPredictor::Stats AccessPredictor::stats() const
{
    Stats stats = m_stats;
    stats.trackedKeys = m_entries.size();
    stats.scheduledRefreshes = qint64(m_schedule.size());
    return stats;
}

bool AccessPredictor::hot(const Entry &entry, MonoTime now) const
{
    if (entry.accesses < m_settings.minAccesses)
        return false;
    const Duration gap = fromNs(entry.gapNs);
    if (gap > m_settings.maxInterval)
        return false;
    const Duration idle = now - entry.lastAccess;
    return double(idle.count())
           <= m_settings.staleFactor * entry.gapNs + double(m_settings.mergeWindow.count());
}

Clock::Duration AccessPredictor::leadFor(const Entry &entry) const
{
    // Early enough for the refresh to land: the learned refresh latency twice over, at least
    // minLead, and never more than half the TTL (that would refresh more often than it expires).
    Duration lead = std::max(m_settings.minLead, fromNs(2 * entry.latencyNs));
    if (entry.ttlEstimate.count() > 0)
        lead = std::min(lead, entry.ttlEstimate / 2);
    return lead;
}

void AccessPredictor::unschedule(const QByteArray &key, Entry &entry)
{
    if (entry.refreshAt) {
        m_schedule.erase({ns(*entry.refreshAt), key});
        entry.refreshAt.reset();
    }
}

void AccessPredictor::closeWindow(const QByteArray &key, Entry &entry)
{
    if (entry.windowEnd) {
        m_windows.erase({ns(*entry.windowEnd), key});
        entry.windowEnd.reset();
    }
}

void AccessPredictor::erase(QHash<QByteArray, Entry>::iterator it)
{
    if (it == m_entries.end())
        return;
    const QByteArray key = it.key();
    unschedule(key, *it);
    closeWindow(key, *it);
    if (it->candidate)
        m_candidates.erase(*it->candidate);
    m_lru.erase(it->lru);
    m_entries.erase(it);
}

} // namespace opsdeck::cache

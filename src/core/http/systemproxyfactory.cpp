#include "core/http/systemproxyfactory.h"

#include <QtNetwork/QHostAddress>

namespace opsdeck::http {

namespace {

constexpr qint64 kCacheMs = 60'000;
constexpr qsizetype kMaxEntries = 256;

} // namespace

bool SystemProxyFactory::isLoopbackHost(const QString &host)
{
    if (host.compare(u"localhost", Qt::CaseInsensitive) == 0
        || host.endsWith(u".localhost", Qt::CaseInsensitive))
        return true;
    const QHostAddress address(host);
    return !address.isNull() && address.isLoopback();
}

QList<QNetworkProxy> SystemProxyFactory::queryProxy(const QNetworkProxyQuery &query)
{
    const QUrl url = query.url();
    if (isLoopbackHost(url.host()))
        return {QNetworkProxy(QNetworkProxy::NoProxy)};
    const QString key = url.scheme() + u"://" + url.host() + u':' + QString::number(url.port(-1));
    auto it = m_cache.find(key);
    if (it != m_cache.end() && it->age.isValid() && it->age.elapsed() < kCacheMs)
        return it->proxies;
    if (m_cache.size() >= kMaxEntries)
        m_cache.clear();
    Entry entry;
    entry.proxies = QNetworkProxyFactory::systemProxyForQuery(query);
    if (entry.proxies.isEmpty())
        entry.proxies.append(QNetworkProxy(QNetworkProxy::NoProxy));
    entry.age.start();
    m_cache.insert(key, entry);
    return entry.proxies;
}

} // namespace opsdeck::http

// SystemProxyFactory: the proxy choice of one worker's QNetworkAccessManager. It honours the
// system settings (http_proxy / https_proxy / no_proxy, or the desktop's, through
// QNetworkProxyFactory::systemProxyForQuery), never proxies loopback hosts, and caches each
// answer per scheme, host and port for a minute (the system lookup is slow and the QNAM asks on
// every request). Owned by its QNAM and used only in that QNAM's worker thread.
#pragma once

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QString>
#include <QtNetwork/QNetworkProxyFactory>

namespace opsdeck::http {

class SystemProxyFactory final : public QNetworkProxyFactory
{
public:
    QList<QNetworkProxy> queryProxy(const QNetworkProxyQuery &query) override;

    static bool isLoopbackHost(const QString &host);

private:
    struct Entry
    {
        QList<QNetworkProxy> proxies;
        QElapsedTimer age;
    };
    QHash<QString, Entry> m_cache;
};

} // namespace opsdeck::http

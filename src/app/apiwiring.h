// apiwiring: connects the REST API's control structs (api/apicontrols.h) to the runtime's parts:
// alerts, rules and history (monitor), the running configuration, the cache, the engine's
// tasks and the event log. Every function it installs runs in the api thread and only calls
// thread-safe part methods; a configuration change is validated there and applied on the main
// thread (queued), where the runtime lives.
#pragma once

#include "api/apiserver.h"
#include "core/runtime/runtimeconfig.h"

#include <QtCore/QMutex>

#include <functional>

namespace opsdeck {

class Runtime;

// The configuration the API reads and changes: guarded, because GET/PUT /config run in the api
// thread while SIGHUP reloads run on the main thread.
class SharedConfig
{
public:
    explicit SharedConfig(RuntimeConfig config)
        : m_config(std::move(config))
    {}
    RuntimeConfig get() const
    {
        QMutexLocker lock(&m_mutex);
        return m_config;
    }
    void set(const RuntimeConfig &config)
    {
        QMutexLocker lock(&m_mutex);
        m_config = config;
    }

private:
    mutable QMutex m_mutex;
    RuntimeConfig m_config;
};

// `crossCheck` gives the findings beyond RuntimeConfig's own (the same the INI file gets; any
// thread); `applyLive` runs on the main thread with a validated configuration
// (Runtime::applyConfig and the market faults); `exportsDir` is the data dir's exports/.
void wireApiControls(api::ApiServer::Settings &settings,
                     Runtime &runtime,
                     SharedConfig &config,
                     const QString &exportsDir,
                     std::function<QList<ConfigFinding>(const RuntimeConfig &)> crossCheck,
                     std::function<void(const RuntimeConfig &)> applyLive);

} // namespace opsdeck

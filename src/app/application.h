// Application: the composition root. Turns parsed options into a configured Runtime, the API
// service and, unless headless, the console window; prints the OPSDECK_* start-up lines; maps
// failures to the exit codes of CONTRACTS.md. Main thread.
#pragma once

#include "app/commandline.h"
#include "core/runtime/runtimeconfig.h"

#include <QtCore/QString>

#include <memory>

namespace opsdeck {

namespace exitcode {
inline constexpr int kOk = 0;
inline constexpr int kCheckFailed = 1;
inline constexpr int kUsage = 2;
inline constexpr int kRuntimeFailure = 3;
inline constexpr int kLocked = 4;
} // namespace exitcode

class Application final
{
public:
    explicit Application(CommandLineOptions options);
    ~Application();

    // Runs to completion and returns the process exit code. A QCoreApplication (headless) or a
    // QApplication must exist.
    int run();

    // --check-config and --dump-config: no event loop, no data dir.
    static int checkConfig(const CommandLineOptions &options);
    static int dumpConfig(const CommandLineOptions &options);

private:
    struct LoadedConfig
    {
        QString path;
        RuntimeConfig config;
        QList<ConfigFinding> findings;
        QString ioError;
    };
    static LoadedConfig loadConfig(const CommandLineOptions &options);
    void reportConfigProblems(const LoadedConfig &loaded) const;
    void reloadConfig();
    void applyLiveConfig(const RuntimeConfig &next);
    int runMarketOnly();
    void armQuitAfter();

    CommandLineOptions m_options;
    struct Parts;
    std::unique_ptr<Parts> m_parts;
};

} // namespace opsdeck

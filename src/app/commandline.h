// CommandLine: parses opsdeck's arguments before any QCoreApplication exists, so --help,
// --version, --check-config and --dump-config need no display. Pure; main thread.
#pragma once

#include "core/support/result.h"

#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

namespace opsdeck {

struct CommandLineOptions
{
    bool help = false;
    bool version = false;
    bool headless = false;
    bool checkConfig = false;
    bool dumpConfig = false;
    bool showApiKey = false; // print the data dir's API key and exit
    QString configPath; // empty: the platform default (it may not exist: then all defaults)
    QString dataDir;    // empty: the platform default
    std::optional<quint16> apiPort;
    bool marketOnly = false;           // run only the embedded market simulator
    std::optional<quint16> marketPort; // the simulator's port (0: any free port)
    std::optional<double> quitAfterSeconds;
    QString logLevel = QStringLiteral("INFO");

    // True when the run needs no GUI at all (QCoreApplication suffices).
    bool needsNoDisplay() const
    {
        return headless || checkConfig || dumpConfig || marketOnly || showApiKey;
    }
};

// Parses argv (without the program name). Errors carry code "usage" and an English message.
Result<CommandLineOptions> parseCommandLine(const QStringList &arguments);

QString helpText();
QString versionText();

} // namespace opsdeck

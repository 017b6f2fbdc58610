#include "app/commandline.h"

#include "core/support/logging.h"

#include <QtCore/QCommandLineParser>

namespace opsdeck {

namespace {

struct OptionSet
{
    QCommandLineOption help{{QStringLiteral("h"), QStringLiteral("help")}};
    QCommandLineOption version{{QStringLiteral("v"), QStringLiteral("version")}};
    QCommandLineOption headless{QStringLiteral("headless")};
    QCommandLineOption checkConfig{QStringLiteral("check-config")};
    QCommandLineOption dumpConfig{QStringLiteral("dump-config")};
    QCommandLineOption showApiKey{QStringLiteral("show-api-key")};
    QCommandLineOption config{QStringLiteral("config"), {}, QStringLiteral("FILE")};
    QCommandLineOption dataDir{QStringLiteral("data-dir"), {}, QStringLiteral("DIR")};
    QCommandLineOption apiPort{QStringLiteral("api-port"), {}, QStringLiteral("PORT")};
    QCommandLineOption marketOnly{QStringLiteral("market-only")};
    QCommandLineOption marketPort{QStringLiteral("market-port"), {}, QStringLiteral("PORT")};
    QCommandLineOption quitAfter{QStringLiteral("quit-after"), {}, QStringLiteral("SECONDS")};
    QCommandLineOption logLevel{QStringLiteral("log-level"), {}, QStringLiteral("LEVEL")};

    QList<QCommandLineOption> all() const
    {
        return {help,    version,    headless,   checkConfig, dumpConfig, showApiKey, config,
                dataDir, apiPort,    marketOnly, marketPort,  quitAfter,  logLevel};
    }
};

tl::unexpected<Error> usage(const QString &message)
{
    return fail(QStringLiteral("usage"), message);
}

// "--api-port" and "--market-port": 0..65535.
Result<quint16> parsePort(const QString &flag, const QString &value)
{
    bool ok = false;
    const uint port = value.toUInt(&ok);
    if (!ok || port > 65535) {
        return usage(QStringLiteral("%1 must be a port number from 0 to 65535 (0 picks a free "
                                    "port), not \"%2\".")
                         .arg(flag, value));
    }
    return quint16(port);
}

} // namespace

Result<CommandLineOptions> parseCommandLine(const QStringList &arguments)
{
    OptionSet set;
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    parser.addOptions(set.all());
    // QCommandLineParser expects the program name first.
    if (!parser.parse(QStringList{QStringLiteral("opsdeck")} + arguments))
        return usage(parser.errorText());
    if (!parser.positionalArguments().isEmpty()) {
        return usage(QStringLiteral("Unexpected argument \"%1\".")
                         .arg(parser.positionalArguments().first()));
    }

    CommandLineOptions options;
    options.help = parser.isSet(set.help);
    options.version = parser.isSet(set.version);
    options.headless = parser.isSet(set.headless);
    options.checkConfig = parser.isSet(set.checkConfig);
    options.dumpConfig = parser.isSet(set.dumpConfig);
    options.showApiKey = parser.isSet(set.showApiKey);
    options.configPath = parser.value(set.config);
    options.dataDir = parser.value(set.dataDir);
    if (parser.isSet(set.config) && options.configPath.isEmpty())
        return usage(QStringLiteral("--config needs a file name."));
    if (parser.isSet(set.dataDir) && options.dataDir.isEmpty())
        return usage(QStringLiteral("--data-dir needs a directory."));
    if (parser.isSet(set.apiPort)) {
        const Result<quint16> port = parsePort(QStringLiteral("--api-port"), parser.value(set.apiPort));
        if (!port)
            return tl::unexpected(port.error());
        options.apiPort = *port;
    }
    options.marketOnly = parser.isSet(set.marketOnly);
    if (parser.isSet(set.marketPort)) {
        const Result<quint16> port
            = parsePort(QStringLiteral("--market-port"), parser.value(set.marketPort));
        if (!port)
            return tl::unexpected(port.error());
        options.marketPort = *port;
    }
    if (parser.isSet(set.quitAfter)) {
        bool ok = false;
        const double seconds = parser.value(set.quitAfter).toDouble(&ok);
        if (!ok || !(seconds > 0) || seconds > 31'536'000) {
            return usage(QStringLiteral("--quit-after must be a number of seconds greater than "
                                        "0, not \"%1\".")
                             .arg(parser.value(set.quitAfter)));
        }
        options.quitAfterSeconds = seconds;
    }
    if (parser.isSet(set.logLevel)) {
        options.logLevel = parser.value(set.logLevel).trimmed().toUpper();
        if (!logLevelNames().contains(options.logLevel)) {
            return usage(QStringLiteral("--log-level must be one of %1, not \"%2\".")
                             .arg(logLevelNames().join(QStringLiteral(", ")),
                                  parser.value(set.logLevel)));
        }
    }
    if (options.checkConfig && options.dumpConfig)
        return usage(QStringLiteral("--check-config and --dump-config cannot be combined."));
    if (options.showApiKey
        && (options.headless || options.checkConfig || options.dumpConfig || options.marketOnly
            || options.apiPort || options.quitAfterSeconds)) {
        return usage(QStringLiteral("--show-api-key only prints the key (with --data-dir DIR for "
                                    "another data directory): it cannot be combined with other "
                                    "modes."));
    }
    if (options.marketOnly && (options.checkConfig || options.dumpConfig || options.apiPort)) {
        return usage(QStringLiteral("--market-only runs only the market simulator: it cannot be "
                                    "combined with --check-config, --dump-config or --api-port."));
    }
    return options;
}

QString helpText()
{
    return QStringLiteral(
        "Usage: opsdeck [options]\n"
        "OpsDeck: operations console and runtime for trading agents.\n"
        "\n"
        "Options:\n"
        "  --config FILE        Read the configuration from FILE (default: the platform's\n"
        "                       config dir, ~/.config/opsdeck/opsdeck.ini; a missing default\n"
        "                       file means all defaults).\n"
        "  --data-dir DIR       Keep cache.db, history.db, exports/, api-key and the lock in DIR\n"
        "                       (default: ~/.local/share/opsdeck).\n"
        "  --headless           Run the runtime and the REST API without a window.\n"
        "  --api-port PORT      Listen on PORT instead of [api] api_port (0: any free port; the\n"
        "                       OPSDECK_API line on stdout tells which).\n"
        "  --market-only        Run only the embedded market simulator (no runtime, API or\n"
        "                       window); the OPSDECK_MARKET line on stdout gives its URL.\n"
        "  --market-port PORT   Serve the embedded market simulator on PORT (default: any free\n"
        "                       port; 0 likewise). Ignored when [market] market_base_url is set.\n"
        "  --quit-after SECONDS Exit with status 0 after SECONDS (smoke tests).\n"
        "  --check-config       Validate the configuration, print every finding, and exit\n"
        "                       (0 valid, 1 findings, 2 unreadable).\n"
        "  --dump-config        Print the effective configuration, every key with its value,\n"
        "                       as an INI file, and exit.\n"
        "  --show-api-key       Print the REST API key (DIR/api-key, made on the first run) and\n"
        "                       exit (3 if there is none yet, 2 if the file is unsafe or not a\n"
        "                       key). API clients send it as \"X-API-Key: KEY\" or\n"
        "                       \"Authorization: Bearer KEY\".\n"
        "  --log-level LEVEL    DEBUG, INFO (default), WARNING, ERROR or CRITICAL (stderr).\n"
        "  -h, --help           Show this help and exit.\n"
        "  -v, --version        Show the version and exit.\n"
        "\n"
        "Exit codes: 0 ok, 1 check failed, 2 usage or configuration error, 3 runtime failure,\n"
        "4 another instance holds the data directory or the port is taken.\n"
        "Signals: SIGINT and SIGTERM stop cleanly; SIGHUP reloads the configuration.\n");
}

QString versionText()
{
    return QStringLiteral("opsdeck %1\n").arg(QStringLiteral(OPSDECK_VERSION_STRING));
}

} // namespace opsdeck

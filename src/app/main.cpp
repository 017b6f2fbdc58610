// opsdeck: parses the command line before choosing QCoreApplication (headless, config tools)
// or QApplication (the console), then hands over to Application.
#include "app/application.h"
#include "app/commandline.h"
#include "core/support/logging.h"

#include <QtCore/QCoreApplication>
#include <QtWidgets/QApplication>

#include <cstdio>
#include <memory>

int main(int argc, char *argv[])
{
    using namespace opsdeck;
    QStringList arguments;
    for (int i = 1; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));

    const Result<CommandLineOptions> parsed = parseCommandLine(arguments);
    if (!parsed) {
        std::fprintf(stderr, "opsdeck: %s\nTry 'opsdeck --help'.\n",
                     qUtf8Printable(parsed.error().message));
        return exitcode::kUsage;
    }
    const CommandLineOptions &options = *parsed;
    if (options.help) {
        std::fputs(qUtf8Printable(helpText()), stdout);
        return exitcode::kOk;
    }
    if (options.version) {
        std::fputs(qUtf8Printable(versionText()), stdout);
        return exitcode::kOk;
    }

    QCoreApplication::setApplicationName(QStringLiteral("opsdeck"));
    QCoreApplication::setApplicationVersion(QStringLiteral(OPSDECK_VERSION_STRING));
    installLogFormat();
    if (!applyLogLevel(options.logLevel))
        return exitcode::kUsage;

    if (options.checkConfig) {
        QCoreApplication app(argc, argv);
        return Application::checkConfig(options);
    }
    if (options.dumpConfig) {
        QCoreApplication app(argc, argv);
        return Application::dumpConfig(options);
    }

    std::unique_ptr<QCoreApplication> app;
    if (options.needsNoDisplay())
        app = std::make_unique<QCoreApplication>(argc, argv);
    else
        app = std::make_unique<QApplication>(argc, argv);
    int code = exitcode::kRuntimeFailure;
    {
        Application application(options);
        code = application.run();
    }
    return code;
}

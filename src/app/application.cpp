#include "app/application.h"

#include "api/apikey.h"
#include "api/apiservice.h"
#include "api/guardedsslserver.h"
#include "app/apiwiring.h"
#include "app/signalwatcher.h"
#include "core/agents/agentregistry.h"
#include "core/runtime/datadir.h"
#include "core/runtime/runtime.h"
#include "core/support/logging.h"
#include "market/marketservice.h"
#include "ui/eventlooplagprobe.h"
#include "ui/mainwindow.h"
#include "ui/uistate.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QTimer>
#include <QtCore/QUrl>
#include <QtNetwork/QHostAddress>
#include <QtWidgets/QApplication>
#include <QtWidgets/QMessageBox>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace opsdeck {

namespace {

void printLine(FILE *stream, const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stream);
    if (!text.endsWith(u'\n'))
        std::fputc('\n', stream);
    std::fflush(stream);
}

api::ApiServer::Settings apiSettings(const RuntimeConfig &config, std::optional<quint16> port)
{
    api::ApiServer::Settings settings;
    settings.bindAddress = QHostAddress(config.api.bind);
    settings.port = port ? *port : quint16(config.api.port);
    settings.limits.maxHeaderBytes = config.api.maxHeaderBytes;
    settings.limits.maxBodyBytes = config.api.maxBodyBytes;
    settings.limits.idleTimeoutMs = int(config.api.idleTimeout * 1000.0);
    settings.limits.maxConnections = config.api.maxConnections;
    settings.allowedHosts = config.api.allowedHosts;
    settings.security.requireKey = config.api.authEnabled();
    settings.security.allowPlainHttp = config.api.allowPlainHttp;
    settings.security.corsOrigins = config.api.corsOrigins;
    return settings;
}

// [api] tls_cert / tls_key: relative names are relative to the config file's directory.
QString configRelative(const QString &configPath, const QString &file)
{
    return file.isEmpty() ? file : QFileInfo(configPath).absoluteDir().absoluteFilePath(file);
}

Result<QSslConfiguration> loadApiTls(const RuntimeConfig &config, const QString &configPath)
{
    return api::loadTlsConfiguration(configRelative(configPath, config.api.tlsCert),
                                     configRelative(configPath, config.api.tlsKey));
}

// Key file problems the user must fix (permissions, contents) are exit 2; I/O is exit 3.
int apiKeyFailure(const Error &error)
{
    return error.code == u"api_key_insecure" || error.code == u"api_key_invalid"
               ? exitcode::kUsage
               : exitcode::kRuntimeFailure;
}

// opsdeck --show-api-key [--data-dir DIR]: reads only; works while an instance runs.
int showApiKey(const CommandLineOptions &options)
{
    const QString dir = options.dataDir.isEmpty() ? DataDir::defaultPath() : options.dataDir;
    const QString path = QDir(dir).filePath(api::ApiKeyFile::kFileName);
    const Result<QByteArray> key = api::ApiKeyFile::load(path);
    if (!key) {
        printLine(stderr, key.error().message);
        return key.error().code == u"api_key_missing" ? exitcode::kRuntimeFailure
                                                       : apiKeyFailure(key.error());
    }
    printLine(stdout, QString::fromLatin1(*key));
    return exitcode::kOk;
}

// The checks beyond RuntimeConfig's own (agent types and options, the TLS pair, the fault keys'
// rules), for the file, SIGHUP and PUT /config alike.
QList<ConfigFinding> crossCheck(const RuntimeConfig &config, const QString &configPath)
{
    QList<ConfigFinding> findings;
    // Agent types and their own keys are the registry's to judge (RuntimeConfig only collects
    // them), so an unknown type or a bad spread_bps is a finding naming the agent and the key.
    for (const AgentConfig &agent : config.agents) {
        if (agent.type.trimmed().isEmpty())
            continue; // already a finding
        const Status valid = agents::AgentRegistry::validate(agent, agent.options);
        if (valid)
            continue;
        ConfigFinding finding;
        finding.section = u"agent."_s + agent.id;
        finding.key = valid.error().details.value(u"key"_s).toString();
        finding.value = finding.key == u"type" ? agent.type : agent.options.value(finding.key);
        finding.code = u"invalid_value"_s;
        finding.message = valid.error().message;
        findings.append(finding);
    }
    // The TLS files must be a usable pair ([api] tls_cert / tls_key).
    if (config.api.tlsEnabled()) {
        if (const Result<QSslConfiguration> tls = loadApiTls(config, configPath); !tls) {
            ConfigFinding finding;
            finding.section = u"api"_s;
            finding.key = tls.error().details.value(u"key"_s).toString();
            finding.value = finding.key == u"tls_key" ? config.api.tlsKey
                                                       : config.api.tlsCert;
            finding.code = u"invalid_value"_s;
            finding.message = tls.error().message;
            findings.append(finding);
        }
    }
    // Rules between the simulator's fault keys (e.g. a stall shorter than its period).
    if (const Status faults = market::FaultSettings::fromConfig(config.market).validate();
        !faults) {
        ConfigFinding finding;
        finding.section = u"market"_s;
        finding.key = faults.error().details.value(u"key"_s).toString();
        finding.code = u"invalid_value"_s;
        finding.message = u"[market] "_s + faults.error().message;
        findings.append(finding);
    }
    return findings;
}

market::MarketServer::Settings marketSettings(const RuntimeConfig &config,
                                              std::optional<quint16> port)
{
    market::MarketServer::Settings settings;
    settings.port = port.value_or(0);
    settings.market = market::MarketSimulator::Settings::fromConfig(config.market);
    settings.faults = market::FaultSettings::fromConfig(config.market);
    return settings;
}

// Exit code for a part that failed to start: 4 when its port is taken.
int startFailure(const Error &error)
{
    if (error.code == u"insecure_bind") // the config checks catch it first; the server re-checks
        return exitcode::kUsage;
    return error.code == u"port_in_use" ? exitcode::kLocked : exitcode::kRuntimeFailure;
}

} // namespace

struct Application::Parts
{
    QString configPath;
    std::unique_ptr<market::MarketService> market; // the embedded exchange, when used
    std::unique_ptr<DataDir> dataDir;
    std::unique_ptr<Runtime> runtime;
    std::unique_ptr<SharedConfig> config; // what GET/PUT /config read and change
    std::unique_ptr<api::ApiService> api;
    std::unique_ptr<SignalWatcher> signalWatcher;
    std::unique_ptr<ui::UiState> uiState;
    std::unique_ptr<ui::MainWindow> window;
};

Application::Application(CommandLineOptions options)
    : m_options(std::move(options))
    , m_parts(std::make_unique<Parts>())
{}

Application::~Application()
{
    if (m_parts->window)
        m_parts->window.reset();
    if (m_parts->api)
        m_parts->api->stop();
    if (m_parts->runtime)
        m_parts->runtime->stop();
    if (m_parts->market)
        m_parts->market->stop();
}

Application::LoadedConfig Application::loadConfig(const CommandLineOptions &options)
{
    LoadedConfig loaded;
    const bool explicitPath = !options.configPath.isEmpty();
    loaded.path = explicitPath ? options.configPath : DataDir::defaultConfigPath();
    Result<ConfigLoad> result = RuntimeConfig::load(loaded.path, explicitPath);
    if (!result) {
        loaded.ioError = result.error().message;
        return loaded;
    }
    loaded.config = result->config;
    loaded.findings = result->findings;
    loaded.findings.append(crossCheck(loaded.config, loaded.path));
    return loaded;
}

void Application::reportConfigProblems(const LoadedConfig &loaded) const
{
    QStringList lines;
    if (!loaded.ioError.isEmpty())
        lines.append(loaded.ioError);
    const QString fileName = QFileInfo(loaded.path).fileName();
    for (const ConfigFinding &finding : loaded.findings)
        lines.append(formatFinding(finding, loaded.path));
    for (const QString &line : lines)
        printLine(stderr, line);
    if (!m_options.needsNoDisplay() && qobject_cast<QApplication *>(QCoreApplication::instance())) {
        QMessageBox box(QMessageBox::Critical, QCoreApplication::translate("Application", "OpsDeck"),
                        QCoreApplication::translate("Application",
                                                    "The configuration %1 has %n problem(s). "
                                                    "Fix them and start OpsDeck again.",
                                                    nullptr, int(lines.size()))
                            .arg(fileName));
        box.setDetailedText(lines.join(u'\n'));
        box.setInformativeText(lines.mid(0, 10).join(u'\n'));
        box.exec();
    }
}

int Application::checkConfig(const CommandLineOptions &options)
{
    const LoadedConfig loaded = loadConfig(options);
    if (!loaded.ioError.isEmpty()) {
        printLine(stderr, loaded.ioError);
        return exitcode::kUsage;
    }
    for (const ConfigFinding &finding : loaded.findings)
        printLine(stdout, formatFinding(finding, loaded.path));
    if (!loaded.findings.isEmpty()) {
        printLine(stderr, QStringLiteral("%1: %2 finding(s)").arg(loaded.path).arg(loaded.findings.size()));
        return exitcode::kCheckFailed;
    }
    printLine(stdout, QStringLiteral("%1: configuration is valid").arg(loaded.path));
    return exitcode::kOk;
}

int Application::dumpConfig(const CommandLineOptions &options)
{
    const LoadedConfig loaded = loadConfig(options);
    if (!loaded.ioError.isEmpty()) {
        printLine(stderr, loaded.ioError);
        return exitcode::kUsage;
    }
    if (!loaded.findings.isEmpty()) {
        for (const ConfigFinding &finding : loaded.findings)
            printLine(stderr, formatFinding(finding, loaded.path));
        return exitcode::kUsage;
    }
    const QByteArray ini = loaded.config.toIni();
    std::fwrite(ini.constData(), 1, size_t(ini.size()), stdout);
    std::fflush(stdout);
    return exitcode::kOk;
}

int Application::run()
{
    if (m_options.showApiKey)
        return showApiKey(m_options);
    // Signals are watched before anything is started or announced: a SIGTERM or SIGHUP that
    // arrives right after the OPSDECK_API line must find the handler in place.
    m_parts->signalWatcher = std::make_unique<SignalWatcher>();
    // The pipe is read by the event loop, so a signal that came early is handled once exec() runs.
    QObject::connect(m_parts->signalWatcher.get(), &SignalWatcher::stopRequested,
                     QCoreApplication::instance(), [] { QCoreApplication::exit(exitcode::kOk); });
    QObject::connect(m_parts->signalWatcher.get(), &SignalWatcher::reloadRequested,
                     m_parts->signalWatcher.get(), [this] { reloadConfig(); });

    const LoadedConfig loaded = loadConfig(m_options);
    if (!loaded.ioError.isEmpty() || !loaded.findings.isEmpty()) {
        reportConfigProblems(loaded);
        return exitcode::kUsage;
    }
    m_parts->configPath = loaded.path;

    // The embedded exchange comes first: everything else may talk to it. --market-only stops
    // here (no data dir, runtime, API or window).
    if (m_options.marketOnly || loaded.config.market.baseUrl.isEmpty()) {
        m_parts->market = std::make_unique<market::MarketService>(
            marketSettings(loaded.config, m_options.marketPort));
        const Result<quint16> marketPort = m_parts->market->start();
        if (!marketPort) {
            printLine(stderr, QStringLiteral("Market simulator: %1").arg(marketPort.error().message));
            return startFailure(marketPort.error());
        }
        printLine(stdout, QStringLiteral("OPSDECK_MARKET %1").arg(m_parts->market->baseUrl()));
    }
    if (m_options.marketOnly)
        return runMarketOnly();

    const QString dataPath = m_options.dataDir.isEmpty() ? DataDir::defaultPath() : m_options.dataDir;
    Result<std::unique_ptr<DataDir>> dataDir = DataDir::open(dataPath);
    if (!dataDir) {
        printLine(stderr, dataDir.error().message);
        return dataDir.error().code == u"data_dir_locked" ? exitcode::kLocked
                                                           : exitcode::kRuntimeFailure;
    }
    m_parts->dataDir = std::move(*dataDir);
    qCInfo(lcApp, "Configuration %s, data directory %s", qUtf8Printable(loaded.path),
           qUtf8Printable(m_parts->dataDir->path()));

    // The API key: made on the first run (0600), reused afterwards.
    const QString apiKeyPath = m_parts->dataDir->filePath(api::ApiKeyFile::kFileName);
    const Result<QByteArray> apiKey = api::ApiKeyFile::loadOrCreate(apiKeyPath);
    if (!apiKey) {
        printLine(stderr, apiKey.error().message);
        return apiKeyFailure(apiKey.error());
    }

    m_parts->runtime = std::make_unique<Runtime>(loaded.config, *m_parts->dataDir);
    api::ApiServer::Settings api = apiSettings(loaded.config, m_options.apiPort);
    api.security.apiKey = *apiKey;
    if (loaded.config.api.tlsEnabled()) {
        const Result<QSslConfiguration> tls = loadApiTls(loaded.config, loaded.path);
        if (!tls) { // checked with the config; the files changed since
            printLine(stderr, tls.error().message);
            return exitcode::kUsage;
        }
        api.security.tls = *tls;
    }
    Runtime *runtime = m_parts->runtime.get(); // outlives the API (stopped after it)
    api.agents.list = [runtime] { return runtime->agentsJson(); };
    api.agents.find = [runtime](const QString &id) { return runtime->agentJson(id); };
    api.agents.start = [runtime](const QString &id) { return runtime->startAgent(id); };
    api.agents.stop = [runtime](const QString &id) { return runtime->stopAgent(id); };
    m_parts->config = std::make_unique<SharedConfig>(loaded.config);
    wireApiControls(
        api, *runtime, *m_parts->config, m_parts->dataDir->exportsPath(),
        [path = loaded.path](const RuntimeConfig &next) { return crossCheck(next, path); },
        [this](const RuntimeConfig &next) { applyLiveConfig(next); });
    m_parts->api = std::make_unique<api::ApiService>(api, m_parts->runtime->monitor());
    Result<quint16> port = m_parts->api->start();
    if (!port) {
        printLine(stderr, port.error().message);
        return startFailure(port.error());
    }
    if (m_parts->market)
        m_parts->runtime->setSimulatorUrl(QUrl(m_parts->market->baseUrl()));
    if (Status started = m_parts->runtime->start(); !started) {
        printLine(stderr, started.error().message);
        return started.error().code == u"invalid_agent_config" ? exitcode::kUsage
                                                                : exitcode::kRuntimeFailure;
    }
    // OPSDECK_API comes last: a client waiting for it knows the key file too.
    printLine(stdout, QStringLiteral("OPSDECK_API_KEY_FILE %1").arg(apiKeyPath));
    printLine(stdout, QStringLiteral("OPSDECK_API %1").arg(m_parts->api->baseUrl()));

    armQuitAfter();

    if (!m_options.headless) {
        const QString statePath =
            QFileInfo(loaded.path).absoluteDir().filePath(QStringLiteral("state.ini"));
        m_parts->uiState = std::make_unique<ui::UiState>(statePath);
        m_parts->window = std::make_unique<ui::MainWindow>(m_parts->api->baseUrl(), *m_parts->uiState);
        QObject::connect(&m_parts->runtime->monitor(), &PerformanceMonitor::snapshotPublished,
                         m_parts->window.get(), &ui::MainWindow::showSnapshot, Qt::QueuedConnection);
        m_parts->window->showSnapshot(m_parts->runtime->monitor().latestSnapshot());
        m_parts->window->show();
    }

    const int code = QCoreApplication::exec();
    if (m_parts->window) {
        const ui::EventLoopLagProbe *lag = m_parts->window->lagProbe();
        qCInfo(lcApp, "GUI event loop lag: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %lld ticks",
               lag->lagMsAtPercentile(50), lag->lagMsAtPercentile(99), lag->lagMsAtPercentile(100),
               qlonglong(lag->samples()));
        m_parts->window->close(); // saves geometry
        m_parts->window.reset();
    }
    m_parts->api->stop();
    m_parts->runtime->stop();
    if (m_parts->market)
        m_parts->market->stop();
    qCInfo(lcApp, "Stopped cleanly");
    return code;
}

int Application::runMarketOnly()
{
    qCInfo(lcApp, "Market simulator only, at %s", qUtf8Printable(m_parts->market->baseUrl()));
    armQuitAfter();
    const int code = QCoreApplication::exec();
    m_parts->market->stop();
    qCInfo(lcApp, "Stopped cleanly");
    return code;
}

void Application::armQuitAfter()
{
    if (!m_options.quitAfterSeconds)
        return;
    QTimer::singleShot(int(*m_options.quitAfterSeconds * 1000.0), Qt::PreciseTimer,
                       QCoreApplication::instance(), [] {
                           qCInfo(lcApp, "--quit-after elapsed: exiting");
                           QCoreApplication::exit(exitcode::kOk);
                       });
}

void Application::reloadConfig()
{
    const LoadedConfig loaded = loadConfig(m_options);
    if (!loaded.ioError.isEmpty() || !loaded.findings.isEmpty()) {
        qCWarning(lcApp, "Configuration not reloaded: %lld problem(s)",
                  qlonglong(loaded.findings.size() + (loaded.ioError.isEmpty() ? 0 : 1)));
        if (!loaded.ioError.isEmpty())
            qCWarning(lcApp, "%s", qUtf8Printable(loaded.ioError));
        for (const ConfigFinding &finding : loaded.findings)
            qCWarning(lcApp, "%s", qUtf8Printable(formatFinding(finding, loaded.path)));
        return;
    }
    if (m_parts->config)
        m_parts->config->set(loaded.config);
    applyLiveConfig(loaded.config);
}

// A validated configuration from SIGHUP or PUT /config, on the main thread.
void Application::applyLiveConfig(const RuntimeConfig &next)
{
    if (m_parts->market) {
        const market::FaultSettings faults = market::FaultSettings::fromConfig(next.market);
        if (const Status applied = m_parts->market->setFaults(faults); !applied) {
            qCWarning(lcApp, "Configuration not reloaded: [market] %s",
                      qUtf8Printable(applied.error().message));
            return;
        }
    }
    if (!m_parts->runtime) { // --market-only
        qCInfo(lcApp, "Configuration reloaded: market faults applied");
        return;
    }
    const QStringList restart = m_parts->runtime->applyConfig(next);
    if (!restart.isEmpty()) {
        qCWarning(lcApp, "Reloaded; these changes take effect after a restart: %s",
                  qUtf8Printable(restart.join(QStringLiteral(", "))));
    } else {
        qCInfo(lcApp, "Configuration reloaded");
    }
}

} // namespace opsdeck

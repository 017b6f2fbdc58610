#include "core/perf/runinfo.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonParseError>
#include <QtCore/QSaveFile>
#include <QtCore/QSysInfo>
#include <QtCore/QTemporaryFile>
#include <QtCore/QThread>

#include <cmath>
#include <limits>

// Set on runinfo.cpp alone (src/core/perf/cachebench.cmake), so a new commit recompiles one file.
#ifndef OPSDECK_GIT_COMMIT
#define OPSDECK_GIT_COMMIT "unknown"
#endif
#ifndef OPSDECK_BUILD_TYPE
#define OPSDECK_BUILD_TYPE ""
#endif

namespace opsdeck::perf {

QString opsdeckVersion()
{
    return QStringLiteral(OPSDECK_VERSION_STRING);
}

QString buildType()
{
    const QString type = QStringLiteral(OPSDECK_BUILD_TYPE);
    return type.isEmpty() ? QStringLiteral("unknown") : type;
}

QString gitCommit()
{
    const QString commit = QStringLiteral(OPSDECK_GIT_COMMIT);
    return commit.isEmpty() ? QStringLiteral("unknown") : commit;
}

QJsonObject MachineInfo::toJson() const
{
    return {{QStringLiteral("cpu_model"), cpuModel},
            {QStringLiteral("cores"), cores},
            {QStringLiteral("memory_total_bytes"), memoryTotalBytes},
            {QStringLiteral("os"), os},
            {QStringLiteral("kernel"), kernel},
            {QStringLiteral("hostname"), hostname}};
}

MachineInfo MachineInfo::fromJson(const QJsonObject &object)
{
    MachineInfo m;
    m.cpuModel = object.value(QStringLiteral("cpu_model")).toString();
    m.cores = object.value(QStringLiteral("cores")).toInt();
    m.memoryTotalBytes = qint64(object.value(QStringLiteral("memory_total_bytes")).toDouble());
    m.os = object.value(QStringLiteral("os")).toString();
    m.kernel = object.value(QStringLiteral("kernel")).toString();
    m.hostname = object.value(QStringLiteral("hostname")).toString();
    return m;
}

namespace {

// "key<spaces/tabs>: value" -> value, for /proc/cpuinfo lines.
std::optional<QString> cpuinfoValue(const QByteArray &line, const QByteArray &key)
{
    if (!line.startsWith(key))
        return std::nullopt;
    const qsizetype colon = line.indexOf(':');
    if (colon < 0 || line.left(colon).trimmed() != key)
        return std::nullopt;
    return QString::fromUtf8(line.mid(colon + 1).trimmed());
}

} // namespace

MachineInfo readMachineInfo(const QString &cpuinfoPath, const QString &meminfoPath)
{
    MachineInfo m;
    m.os = QSysInfo::prettyProductName();
    m.kernel = QSysInfo::kernelVersion();
    m.hostname = QSysInfo::machineHostName();

    int processors = 0;
    QString model;
    QString fallbackModel; // ARM kernels name the SoC in "Hardware" or the core in "Processor"
    QFile cpuinfo(cpuinfoPath);
    if (cpuinfo.open(QIODevice::ReadOnly)) {
        // /proc files report size 0, so atEnd() is true at once: readAll() reads to EOF.
        const QList<QByteArray> lines = cpuinfo.readAll().split('\n');
        for (const QByteArray &line : lines) {
            if (cpuinfoValue(line, "processor"))
                ++processors;
            else if (auto v = cpuinfoValue(line, "model name"); v && model.isEmpty())
                model = *v;
            else if (auto h = cpuinfoValue(line, "Hardware"); h && fallbackModel.isEmpty())
                fallbackModel = *h;
            else if (auto p = cpuinfoValue(line, "Processor"); p && fallbackModel.isEmpty())
                fallbackModel = *p;
        }
    }
    m.cpuModel = !model.isEmpty()           ? model
                 : !fallbackModel.isEmpty() ? fallbackModel
                                            : QStringLiteral("unknown");
    m.cores = processors > 0 ? processors : QThread::idealThreadCount();

    QFile meminfo(meminfoPath);
    if (meminfo.open(QIODevice::ReadOnly)) {
        const QList<QByteArray> lines = meminfo.readAll().split('\n');
        for (const QByteArray &raw : lines) {
            const QByteArray line = raw.simplified();
            if (!line.startsWith("MemTotal:"))
                continue;
            const QList<QByteArray> parts = line.split(' ');
            bool ok = false;
            const qint64 value = parts.size() >= 2 ? parts.at(1).toLongLong(&ok) : 0;
            if (ok && value > 0) {
                const bool inKb = parts.size() >= 3 && parts.at(2).toLower() == "kb";
                m.memoryTotalBytes = inKb ? value * 1024 : value;
            }
            break;
        }
    }
    return m;
}

QString isoTimestampUtc(qint64 epochMs)
{
    return QDateTime::fromMSecsSinceEpoch(epochMs, Qt::UTC)
               .toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss.zzz"))
           + QLatin1Char('Z');
}

RunInfo RunInfo::begin(const Clock &clock)
{
    RunInfo run;
    run.opsdeckVersion = perf::opsdeckVersion();
    run.buildType = perf::buildType();
    run.gitCommit = perf::gitCommit();
    run.qtVersion = QString::fromLatin1(qVersion());
#if defined(__clang__)
    run.compiler = QStringLiteral("clang ") + QStringLiteral(__clang_version__);
#elif defined(__GNUC__)
    run.compiler = QStringLiteral("gcc ") + QStringLiteral(__VERSION__);
#else
    run.compiler = QStringLiteral("unknown");
#endif
    run.machine = readMachineInfo();
    run.startMs = clock.wallMsecs();
    return run;
}

void RunInfo::finish(const Clock &clock)
{
    endMs = clock.wallMsecs();
}

QJsonObject RunInfo::toJson() const
{
    const qint64 end = endMs > 0 ? endMs : startMs;
    return {{QStringLiteral("opsdeck_version"), opsdeckVersion},
            {QStringLiteral("build_type"), buildType},
            {QStringLiteral("git_commit"), gitCommit},
            {QStringLiteral("qt_version"), qtVersion},
            {QStringLiteral("compiler"), compiler},
            {QStringLiteral("machine"), machine.toJson()},
            {QStringLiteral("start_time"), isoTimestampUtc(startMs)},
            {QStringLiteral("start_time_ms"), startMs},
            {QStringLiteral("end_time"), isoTimestampUtc(end)},
            {QStringLiteral("end_time_ms"), end},
            {QStringLiteral("duration_ms"), end - startMs}};
}

void RunInfo::writeInto(QJsonObject &result) const
{
    const qint64 end = endMs > 0 ? endMs : startMs;
    result.insert(QStringLiteral("start_time"), isoTimestampUtc(startMs));
    result.insert(QStringLiteral("end_time"), isoTimestampUtc(end));
    result.insert(QStringLiteral("start_time_ms"), startMs);
    result.insert(QStringLiteral("end_time_ms"), end);
    result.insert(QStringLiteral("opsdeck_version"), opsdeckVersion);
    result.insert(QStringLiteral("run"), toJson());
}

QString defaultResultFileName(const QString &prefix, const QDateTime &when, const QString &extension)
{
    return prefix + QLatin1Char('_') + when.toString(QStringLiteral("yyyyMMdd_HHmmss"))
           + QLatin1Char('.') + extension;
}

Status checkOutputWritable(const QString &path)
{
    const auto refuse = [&](const QString &reason) {
        return fail(QStringLiteral("output_not_writable"),
                    QStringLiteral("Cannot write the output file \"%1\": %2.").arg(path, reason),
                    {{QStringLiteral("path"), path}});
    };
    if (path.trimmed().isEmpty())
        return refuse(QStringLiteral("the name is empty"));
    const QFileInfo info(path);
    if (info.isDir())
        return refuse(QStringLiteral("it is a directory"));
    if (info.exists() && !info.isWritable())
        return refuse(QStringLiteral("the file is read-only"));
    const QFileInfo parent(info.absolutePath());
    if (!parent.exists())
        return refuse(QStringLiteral("the directory \"%1\" does not exist").arg(parent.filePath()));
    if (!parent.isDir())
        return refuse(QStringLiteral("\"%1\" is not a directory").arg(parent.filePath()));
    // Permission bits lie (root, ACLs, read-only mounts): really create a file next to it.
    QTemporaryFile probe(parent.absoluteFilePath() + QStringLiteral("/.opsdeck-write-check-XXXXXX"));
    if (!probe.open()) {
        return refuse(QStringLiteral("cannot create a file in \"%1\" (%2)")
                          .arg(parent.filePath(), probe.errorString()));
    }
    probe.close();
    if (!probe.remove()) {
        return refuse(QStringLiteral("cannot remove a test file in \"%1\" (%2)")
                          .arg(parent.filePath(), probe.errorString()));
    }
    return ok();
}

Status writeFileAtomically(const QString &path, const QByteArray &bytes)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        return fail(QStringLiteral("output_write_failed"),
                    QStringLiteral("Cannot write \"%1\": %2.").arg(path, file.errorString()),
                    {{QStringLiteral("path"), path}});
    }
    return ok();
}

Result<QJsonObject> loadResultFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return fail(QStringLiteral("baseline_unreadable"),
                    QStringLiteral("Cannot read the baseline file \"%1\": %2.")
                        .arg(path, file.errorString()),
                    {{QStringLiteral("path"), path}});
    }
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        const QString reason = error.error != QJsonParseError::NoError
                                   ? QStringLiteral("%1 at byte %2")
                                         .arg(error.errorString())
                                         .arg(error.offset)
                                   : QStringLiteral("the document is not a JSON object");
        return fail(QStringLiteral("baseline_invalid"),
                    QStringLiteral("The baseline file \"%1\" is not a result file: %2.")
                        .arg(path, reason),
                    {{QStringLiteral("path"), path}});
    }
    return document.object();
}

std::optional<double> numberAt(const QJsonObject &root, const QStringList &path)
{
    if (path.isEmpty())
        return std::nullopt;
    QJsonValue value = root;
    for (const QString &key : path) {
        if (!value.isObject())
            return std::nullopt;
        value = value.toObject().value(key);
    }
    if (!value.isDouble())
        return std::nullopt;
    return value.toDouble();
}

BaselineFigure BaselineFigure::lower(QStringList path)
{
    BaselineFigure f;
    f.name = path.join(QLatin1Char('.'));
    f.path = std::move(path);
    f.better = Better::Lower;
    return f;
}

BaselineFigure BaselineFigure::higher(QStringList path)
{
    BaselineFigure f = lower(std::move(path));
    f.better = Better::Higher;
    return f;
}

QString toString(FigureComparison::Verdict verdict)
{
    switch (verdict) {
    case FigureComparison::Verdict::Better:
        return QStringLiteral("better");
    case FigureComparison::Verdict::Same:
        return QStringLiteral("same");
    case FigureComparison::Verdict::Worse:
        return QStringLiteral("worse");
    case FigureComparison::Verdict::Missing:
        break;
    }
    return QStringLiteral("missing");
}

bool BaselineReport::hasRegression() const
{
    return count(FigureComparison::Verdict::Worse) > 0;
}

int BaselineReport::count(FigureComparison::Verdict verdict) const
{
    int n = 0;
    for (const FigureComparison &f : figures)
        n += f.verdict == verdict ? 1 : 0;
    return n;
}

namespace {

QString formatFigure(const std::optional<double> &value)
{
    return value ? QString::number(*value, 'g', 6) : QStringLiteral("-");
}

QString formatChange(double change)
{
    if (std::isinf(change))
        return change > 0 ? QStringLiteral("+inf") : QStringLiteral("-inf");
    return QStringLiteral("%1%2 %")
        .arg(change >= 0 ? QStringLiteral("+") : QString())
        .arg(change * 100.0, 0, 'f', 1);
}

QJsonValue jsonNumber(const std::optional<double> &value)
{
    return value && std::isfinite(*value) ? QJsonValue(*value) : QJsonValue(QJsonValue::Null);
}

} // namespace

QString BaselineReport::toText() const
{
    QString text = QStringLiteral("Baseline %1 (tolerance %2 %):\n")
                       .arg(baselinePath)
                       .arg(tolerance * 100.0, 0, 'g', 4);
    int width = 0;
    for (const FigureComparison &f : figures)
        width = std::max(width, int(f.name.size()));
    for (const FigureComparison &f : figures) {
        text += QStringLiteral("  %1 %2 %3 -> %4")
                    .arg(toString(f.verdict), -7)
                    .arg(f.name, -width)
                    .arg(formatFigure(f.baseline), formatFigure(f.current));
        if (f.verdict != FigureComparison::Verdict::Missing)
            text += QStringLiteral(" (%1, %2 is better)")
                        .arg(formatChange(f.relativeChange),
                             f.better == BaselineFigure::Better::Lower ? QStringLiteral("lower")
                                                                       : QStringLiteral("higher"));
        text += QLatin1Char('\n');
    }
    const int worse = count(FigureComparison::Verdict::Worse);
    text += QStringLiteral("  %1 of %2 figures worse than the baseline by more than %3 %, %4 "
                           "better, %5 missing: %6\n")
                .arg(worse)
                .arg(figures.size())
                .arg(tolerance * 100.0, 0, 'g', 4)
                .arg(count(FigureComparison::Verdict::Better))
                .arg(count(FigureComparison::Verdict::Missing))
                .arg(worse > 0 ? QStringLiteral("REGRESSION") : QStringLiteral("ok"));
    return text;
}

QJsonObject BaselineReport::toJson() const
{
    QJsonArray rows;
    for (const FigureComparison &f : figures) {
        QJsonValue change = std::isfinite(f.relativeChange) ? QJsonValue(f.relativeChange)
                                                            : QJsonValue(QJsonValue::Null);
        if (f.verdict == FigureComparison::Verdict::Missing)
            change = QJsonValue(QJsonValue::Null);
        rows.append(QJsonObject{
            {QStringLiteral("name"), f.name},
            {QStringLiteral("better"),
             f.better == BaselineFigure::Better::Lower ? QStringLiteral("lower")
                                                       : QStringLiteral("higher")},
            {QStringLiteral("baseline"), jsonNumber(f.baseline)},
            {QStringLiteral("current"), jsonNumber(f.current)},
            {QStringLiteral("relative_change"), change},
            {QStringLiteral("verdict"), toString(f.verdict)}});
    }
    return {{QStringLiteral("baseline_file"), baselinePath},
            {QStringLiteral("tolerance"), tolerance},
            {QStringLiteral("regression"), hasRegression()},
            {QStringLiteral("figures"), rows}};
}

BaselineReport compareWithBaseline(const QJsonObject &baseline,
                                   const QJsonObject &current,
                                   const QList<BaselineFigure> &figures,
                                   double tolerance)
{
    BaselineReport report;
    report.tolerance = tolerance;
    for (const BaselineFigure &figure : figures) {
        FigureComparison c;
        c.name = figure.name.isEmpty() ? figure.path.join(QLatin1Char('.')) : figure.name;
        c.better = figure.better;
        c.baseline = numberAt(baseline, figure.path);
        c.current = numberAt(current, figure.path);
        if (!c.baseline || !c.current) {
            c.verdict = FigureComparison::Verdict::Missing;
            report.figures.append(c);
            continue;
        }
        const double b = *c.baseline;
        const double now = *c.current;
        if (b == 0.0) {
            c.relativeChange = now == 0.0 ? 0.0
                                          : (now > 0 ? std::numeric_limits<double>::infinity()
                                                     : -std::numeric_limits<double>::infinity());
        } else {
            c.relativeChange = (now - b) / std::abs(b);
        }
        // Positive "badness" means the figure moved the wrong way.
        const double badness = figure.better == BaselineFigure::Better::Lower ? c.relativeChange
                                                                              : -c.relativeChange;
        if (badness > tolerance)
            c.verdict = FigureComparison::Verdict::Worse;
        else if (badness < -tolerance)
            c.verdict = FigureComparison::Verdict::Better;
        else
            c.verdict = FigureComparison::Verdict::Same;
        report.figures.append(c);
    }
    return report;
}

ProgressThrottle::ProgressThrottle(const Clock &clock, double hz)
    : m_clock(clock)
    , m_interval(std::chrono::nanoseconds(qint64(1e9 / (hz > 0 ? hz : 10.0))))
{
}

bool ProgressThrottle::ready()
{
    const Clock::MonoTime now = m_clock.monotonic();
    if (m_last && now - *m_last < m_interval)
        return false;
    m_last = now;
    return true;
}

double estimateEtaSeconds(double elapsedSeconds, qint64 done, qint64 total)
{
    if (done <= 0 || total <= 0 || elapsedSeconds <= 0)
        return -1.0;
    if (done >= total)
        return 0.0;
    return elapsedSeconds * double(total - done) / double(done);
}

} // namespace opsdeck::perf

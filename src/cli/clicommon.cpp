#include "cli/clicommon.h"

#include "core/support/logging.h"

#include <QtCore/QFileInfo>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>

#include <cmath>

#include <unistd.h>

namespace opsdeck::cli {

namespace {

tl::unexpected<Error> usage(const QString &message, const QString &flag = {})
{
    QJsonObject details;
    if (!flag.isEmpty())
        details.insert(QStringLiteral("flag"), flag);
    return fail(QStringLiteral("usage"), message, details);
}

void writeTo(FILE *stream, const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stream);
    std::fflush(stream);
}

} // namespace

int usageError(const QString &tool, const QString &message)
{
    printErr(QStringLiteral("%1: %2\nTry '%1 --help'.\n").arg(tool, message));
    return ExitUsage;
}

int runtimeError(const QString &tool, const QString &message)
{
    printErr(QStringLiteral("%1: %2\n").arg(tool, message));
    return ExitRuntime;
}

void printOut(const QString &text)
{
    writeTo(stdout, text);
}

void printErr(const QString &text)
{
    writeTo(stderr, text);
}

Status applyLogLevelOption(const QString &value)
{
    if (!logLevelNames().contains(value.trimmed().toUpper())) {
        return usage(QStringLiteral("--log-level must be one of %1 (any case), not \"%2\".")
                         .arg(logLevelNames().join(QStringLiteral(", ")), value),
                     QStringLiteral("--log-level"));
    }
    return applyLogLevel(value);
}

void addSelectorOptions(QCommandLineParser &parser, const QList<SelectorSpec> &specs)
{
    for (const SelectorSpec &spec : specs) {
        parser.addOption(QCommandLineOption(
            spec.name,
            QStringLiteral("Run %1. Default: all run; any positive selector runs exactly those.")
                .arg(spec.description)));
        parser.addOption(QCommandLineOption(QStringLiteral("no-") + spec.name,
                                            QStringLiteral("Skip %1.").arg(spec.description)));
    }
}

Result<QStringList> resolveSelectors(const QStringList &all,
                                     const QStringList &positive,
                                     const QStringList &negative)
{
    for (const QString &name : positive + negative) {
        if (!all.contains(name))
            return usage(QStringLiteral("Unknown selector \"%1\"; known: %2.")
                             .arg(name, all.join(QStringLiteral(", "))));
    }
    for (const QString &name : positive) {
        if (negative.contains(name)) {
            return usage(QStringLiteral("--%1 and --no-%1 contradict each other.").arg(name),
                         QStringLiteral("--") + name);
        }
    }
    QStringList selected;
    for (const QString &name : all) {
        if (!positive.isEmpty() && !positive.contains(name))
            continue;
        if (negative.contains(name))
            continue;
        selected.append(name);
    }
    if (selected.isEmpty()) {
        QStringList flags;
        for (const QString &name : negative)
            flags.append(QStringLiteral("--no-") + name);
        return usage(QStringLiteral("Nothing left to run (%1 excluded everything).")
                         .arg(flags.join(QStringLiteral(" "))));
    }
    return selected;
}

Result<QStringList> resolveSelectors(const QCommandLineParser &parser, const QStringList &all)
{
    QStringList positive, negative;
    for (const QString &name : all) {
        if (parser.isSet(name))
            positive.append(name);
        if (parser.isSet(QStringLiteral("no-") + name))
            negative.append(name);
    }
    return resolveSelectors(all, positive, negative);
}

namespace {

Result<qint64> parseWhole(const QString &flag, const QString &text, qint64 min, qint64 max,
                          const QString &what)
{
    bool ok = false;
    const qint64 value = text.trimmed().toLongLong(&ok);
    if (!ok || value < min || value > max) {
        return usage(QStringLiteral("%1 must be %2 (at most %3), not \"%4\".")
                         .arg(flag, what)
                         .arg(max)
                         .arg(text),
                     flag);
    }
    return value;
}

Result<double> parseReal(const QString &flag, const QString &text, bool allowZero)
{
    bool ok = false;
    const double value = text.trimmed().toDouble(&ok);
    if (!ok || !std::isfinite(value) || value < 0 || (!allowZero && value == 0)) {
        return usage(QStringLiteral("%1 must be a %2 number, not \"%3\".")
                         .arg(flag,
                              allowZero ? QStringLiteral("non-negative")
                                        : QStringLiteral("positive"),
                              text),
                     flag);
    }
    return value;
}

} // namespace

Result<qint64> parsePositiveInt(const QString &flag, const QString &text, qint64 max)
{
    return parseWhole(flag, text, 1, max, QStringLiteral("a positive whole number"));
}

Result<qint64> parseNonNegativeInt(const QString &flag, const QString &text, qint64 max)
{
    return parseWhole(flag, text, 0, max, QStringLiteral("a whole number >= 0"));
}

Result<double> parsePositiveNumber(const QString &flag, const QString &text)
{
    return parseReal(flag, text, false);
}

Result<double> parseNonNegativeNumber(const QString &flag, const QString &text)
{
    return parseReal(flag, text, true);
}

Result<double> parseDurationSeconds(const QString &flag, const QString &text, bool allowZero)
{
    static const QRegularExpression re(
        QStringLiteral("^\\s*([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*(ms|s|m|h)?\\s*$"),
        QRegularExpression::CaseInsensitiveOption);
    const QRegularExpressionMatch m = re.match(text);
    const auto bad = [&] {
        return usage(QStringLiteral("%1 must be a %2 duration in seconds (\"60\", \"1.5\", "
                                    "\"250ms\", \"30s\", \"2m\", \"1h\"), not \"%3\".")
                         .arg(flag,
                              allowZero ? QStringLiteral("non-negative")
                                        : QStringLiteral("positive"),
                              text),
                     flag);
    };
    if (!m.hasMatch())
        return bad();
    bool ok = false;
    double value = m.captured(1).toDouble(&ok);
    const QString unit = m.captured(2).toLower();
    if (unit == u"ms")
        value /= 1000.0;
    else if (unit == u"m")
        value *= 60.0;
    else if (unit == u"h")
        value *= 3600.0;
    if (!ok || !std::isfinite(value) || value < 0 || (!allowZero && value == 0))
        return bad();
    return value;
}

Result<double> parsePercent(const QString &flag, const QString &text, double maxPercent)
{
    QString t = text.trimmed();
    if (t.endsWith(QLatin1Char('%')))
        t.chop(1);
    bool ok = false;
    const double value = t.trimmed().toDouble(&ok);
    if (!ok || !std::isfinite(value) || value < 0 || value > maxPercent) {
        return usage(QStringLiteral("%1 must be a percentage from 0 to %2 (\"10\" or \"10%\"), "
                                    "not \"%3\".")
                         .arg(flag)
                         .arg(maxPercent)
                         .arg(text),
                     flag);
    }
    return value / 100.0;
}

Result<quint64> parseSeed(const QString &flag, const QString &text)
{
    bool ok = false;
    const QString t = text.trimmed();
    const quint64 value = t.startsWith(QStringLiteral("0x"), Qt::CaseInsensitive)
                              ? t.mid(2).toULongLong(&ok, 16)
                              : (t.startsWith(QLatin1Char('-')) ? 0 : t.toULongLong(&ok, 10));
    if (!ok) {
        return usage(QStringLiteral("%1 must be a whole number from 0 to 18446744073709551615 "
                                    "(or 0x hex), not \"%2\".")
                         .arg(flag, text),
                     flag);
    }
    return value;
}

Result<QString> parseChoice(const QString &flag, const QString &text, const QStringList &allowed)
{
    const QString lower = text.trimmed().toLower();
    for (const QString &choice : allowed) {
        if (choice.toLower() == lower)
            return choice.toLower();
    }
    return usage(QStringLiteral("%1 must be one of %2, not \"%3\".")
                     .arg(flag, allowed.join(QStringLiteral(", ")), text),
                 flag);
}

Result<OutputFormat> parseOutputFormat(const QString &text)
{
    const auto choice = parseChoice(QStringLiteral("--format"), text,
                                    {QStringLiteral("json"), QStringLiteral("csv")});
    if (!choice)
        return tl::unexpected(choice.error());
    return *choice == u"csv" ? OutputFormat::Csv : OutputFormat::Json;
}

CsvWriter::CsvWriter(QStringList header)
    : m_header(std::move(header))
{
}

void CsvWriter::addRow(const QStringList &fields)
{
    m_rows.append(fields);
}

QString CsvWriter::escape(const QString &field)
{
    if (!field.contains(QLatin1Char(',')) && !field.contains(QLatin1Char('"'))
        && !field.contains(QLatin1Char('\n')) && !field.contains(QLatin1Char('\r')))
        return field;
    QString quoted = field;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

QString CsvWriter::number(double value)
{
    if (!std::isfinite(value))
        return QString();
    return QString::number(value, 'g', 12);
}

QByteArray CsvWriter::toBytes() const
{
    const auto line = [](const QStringList &fields) -> QString {
        QStringList escaped;
        escaped.reserve(fields.size());
        for (const QString &f : fields)
            escaped.append(escape(f));
        return escaped.join(QLatin1Char(',')) + QLatin1Char('\n');
    };
    QString text = line(m_header);
    for (const QStringList &row : m_rows)
        text += line(row);
    return text.toUtf8();
}

Status CsvWriter::writeTo(const QString &path) const
{
    return perf::writeFileAtomically(path, toBytes());
}

QString siblingPath(const QString &path, const QString &suffix)
{
    const QFileInfo info(path);
    const QString dir = info.path();
    const QString base = info.completeBaseName();
    const QString ext = info.suffix();
    QString name = base + QLatin1Char('_') + suffix;
    if (!ext.isEmpty())
        name += QLatin1Char('.') + ext;
    return dir == u"." && !path.startsWith(QStringLiteral("./")) ? name
                                                                 : dir + QLatin1Char('/') + name;
}

bool ProgressPrinter::enabledFor(bool quiet)
{
    return !quiet && ::isatty(STDERR_FILENO) == 1;
}

ProgressPrinter::ProgressPrinter(bool enabled, const Clock &clock, FILE *stream)
    : m_enabled(enabled)
    , m_stream(stream)
    , m_throttle(clock, 10.0)
{
}

ProgressPrinter::~ProgressPrinter()
{
    finish();
}

namespace {

QString formatSeconds(double seconds)
{
    if (seconds < 0)
        return QStringLiteral("?");
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(qint64(std::ceil(seconds)));
    const qint64 total = qint64(std::ceil(seconds));
    if (total < 3600)
        return QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60);
    return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60);
}

} // namespace

QString ProgressPrinter::format(const perf::Progress &p)
{
    QString line;
    if (!p.phase.isEmpty())
        line += p.phase + QStringLiteral("  ");
    if (p.total > 0) {
        line += QStringLiteral("%1 % %2/%3")
                    .arg(int(std::floor(p.fraction() * 100.0)), 3)
                    .arg(p.done)
                    .arg(p.total);
    } else {
        line += QString::number(p.done);
    }
    line += QStringLiteral("  ETA %1").arg(formatSeconds(p.etaSeconds));
    for (const auto &figure : p.figures)
        line += QStringLiteral("  %1 %2").arg(figure.first, figure.second);
    return line;
}

void ProgressPrinter::print(const perf::Progress &progress)
{
    if (!m_enabled)
        return;
    const bool final = progress.total > 0 && progress.done >= progress.total;
    if (!final && !m_throttle.ready())
        return;
    const QString line = format(progress);
    QString text = QLatin1Char('\r') + line;
    if (line.size() < m_lastWidth)
        text += QString(m_lastWidth - int(line.size()), QLatin1Char(' '));
    m_lastWidth = int(line.size());
    writeTo(m_stream, text);
}

void ProgressPrinter::finish()
{
    if (!m_enabled || m_lastWidth == 0)
        return;
    writeTo(m_stream, QLatin1Char('\r') + QString(m_lastWidth, QLatin1Char(' ')) + QLatin1Char('\r'));
    m_lastWidth = 0;
}

} // namespace opsdeck::cli

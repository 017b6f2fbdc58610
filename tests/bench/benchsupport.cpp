#include "benchsupport.h"

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QStringList>

#include <thread>

namespace opsdeck::bench {

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

void print(const QString &line)
{
    out() << line << '\n';
    out().flush();
}

QString passMiss(bool pass)
{
    return pass ? QStringLiteral("PASS") : QStringLiteral("MISS");
}

QJsonArray loadAverage()
{
    QFile file(QStringLiteral("/proc/loadavg"));
    QJsonArray values;
    if (!file.open(QIODevice::ReadOnly))
        return values;
    const QList<QByteArray> fields = file.readAll().split(' ');
    for (int i = 0; i < 3 && i < fields.size(); ++i)
        values.append(fields.at(i).toDouble());
    return values;
}

QString loadText()
{
    QStringList parts;
    for (const QJsonValue &v : loadAverage())
        parts.append(QString::number(v.toDouble(), 'f', 2));
    return QStringLiteral("load average ") + parts.join(QLatin1Char(' '));
}

QJsonObject startRun(const QString &benchName, bool quick, int schemaVersion)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const int threads = int(std::thread::hardware_concurrency());
    print(QStringLiteral("%1 %2%3, %4, %5 hardware threads; %6")
              .arg(benchName, QStringLiteral(OPSDECK_VERSION_STRING),
                   quick ? QStringLiteral(" --quick") : QString(), now.toString(Qt::ISODateWithMs))
              .arg(threads)
              .arg(loadText()));
    print(QString());
    return {{QStringLiteral("schema_version"), schemaVersion},
            {QStringLiteral("opsdeck_version"), QStringLiteral(OPSDECK_VERSION_STRING)},
            {QStringLiteral("timestamp"), now.toString(Qt::ISODateWithMs)},
            {QStringLiteral("timestamp_ms"), now.toMSecsSinceEpoch()},
            {QStringLiteral("quick"), quick},
            {QStringLiteral("hardware_threads"), threads},
            {QStringLiteral("load_average_start"), loadAverage()}};
}

bool writeJsonFile(const QString &path, const QJsonObject &document)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)
        || file.write(QJsonDocument(document).toJson()) < 0) {
        QTextStream(stderr) << "cannot write " << file.fileName() << ": " << file.errorString()
                            << '\n';
        return false;
    }
    return true;
}

} // namespace opsdeck::bench

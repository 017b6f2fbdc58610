// Shared helpers of the benchmark executables (bench_cache, bench_http, bench_exec): console output, the
// machine's load average printed beside every figure, PASS/MISS goals and the --json file.
// Main thread only.
#pragma once

#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QString>
#include <QtCore/QTextStream>

namespace opsdeck::bench {

QTextStream &out();
// One line on stdout, flushed at once (a benchmark's progress is read as it runs).
void print(const QString &line);
QString passMiss(bool pass);
// /proc/loadavg's three figures, and the same as "load average 0.41 0.52 0.60".
QJsonArray loadAverage();
QString loadText();
// Prints the run's banner ("bench_x 0.1.0 --quick, <time>, 2 hardware threads; load ...") and a
// blank line, and returns the result document's common header: schema_version, opsdeck_version,
// timestamp (+ _ms), quick, hardware_threads, load_average_start.
QJsonObject startRun(const QString &benchName, bool quick, int schemaVersion);
// Writes the document indented; on failure says why on stderr and returns false.
bool writeJsonFile(const QString &path, const QJsonObject &document);

// One goal, printed beside its figure and collected for the JSON summary.
struct Goal
{
    QString name;
    QString target;
    double value = 0.0;
    bool pass = false;

    QJsonObject toJson() const
    {
        return {{QStringLiteral("name"), name},
                {QStringLiteral("target"), target},
                {QStringLiteral("value"), value},
                {QStringLiteral("pass"), pass}};
    }
};

} // namespace opsdeck::bench

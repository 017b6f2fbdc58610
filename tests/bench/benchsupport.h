// Shared helpers of the benchmark executables (bench_cache, bench_http): console output, the
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

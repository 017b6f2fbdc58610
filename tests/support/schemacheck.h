// Validates a JSON file against one of docs/schemas/*.json (draft 2020-12) with Debian's
// /usr/bin/python3 and python3-jsonschema (scripts/deps.sh installs it). Header-only, shared by
// every test that checks real output against its schema. Returns an empty string when valid,
// else the validator's findings.
#pragma once

#include <QtCore/QProcess>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace opsdeck::test {

inline QString validateAgainstSchema(const QString &schemaPath, const QString &jsonPath)
{
    static const QString script
        = QStringLiteral("import json, sys\n"
                         "import jsonschema\n"
                         "schema = json.load(open(sys.argv[1]))\n"
                         "jsonschema.Draft202012Validator.check_schema(schema)\n"
                         "v = jsonschema.Draft202012Validator(schema)\n"
                         "errors = ['/'.join(map(str, e.path)) + ': ' + e.message[:300] for e in "
                         "v.iter_errors(json.load(open(sys.argv[2])))]\n"
                         "print('\\n'.join(errors))\n"
                         "sys.exit(1 if errors else 0)\n");
    QProcess p;
    p.start(QStringLiteral("/usr/bin/python3"),
            {QStringLiteral("-c"), script, schemaPath, jsonPath});
    if (!p.waitForFinished(60'000))
        return QStringLiteral("/usr/bin/python3 did not run: %1").arg(p.errorString());
    if (p.exitCode() == 0)
        return {};
    const QString err = QString::fromUtf8(p.readAllStandardError());
    if (err.contains(u"No module named"))
        return QStringLiteral("python3-jsonschema is missing (scripts/deps.sh installs it): ")
               + err;
    return QString::fromUtf8(p.readAllStandardOutput()) + err;
}

} // namespace opsdeck::test

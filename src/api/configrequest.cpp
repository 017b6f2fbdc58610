#include "api/configrequest.h"

#include "core/runtime/inifile.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>

namespace opsdeck::api::configrequest {

namespace {

bool isLive(const QString &sectionSlashKey)
{
    const QString section = sectionSlashKey.section(u'/', 0, 0);
    const QString key = sectionSlashKey.section(u'/', 1);
    if (key.isEmpty())
        return false; // a whole agent added or removed: the agent set is built at start-up
    const QString kind
        = section.startsWith(QStringLiteral("agent.")) ? QStringLiteral("agent") : section;
    const ConfigKeySpec *spec = RuntimeConfig::keySpec(kind, key);
    return spec && spec->live;
}

Result<IniFile> jsonToIni(const QByteArray &body)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
    const auto refuse = [](const QString &message) {
        return fail(QStringLiteral("invalid_json"), message);
    };
    if (parseError.error != QJsonParseError::NoError)
        return refuse(QStringLiteral("The body is not valid JSON (%1 at offset %2).")
                          .arg(parseError.errorString())
                          .arg(parseError.offset));
    if (!document.isObject())
        return refuse(QStringLiteral("The body must be a JSON object {section: {key: value}}."));
    IniFile ini;
    const QJsonObject sections = document.object();
    for (auto s = sections.begin(); s != sections.end(); ++s) {
        if (!s.value().isObject() || !IniFile::isValidName(s.key()))
            return refuse(QStringLiteral("\"%1\" must name a section and hold an object of keys.")
                              .arg(s.key().left(64)));
        const QJsonObject keys = s.value().toObject();
        for (auto k = keys.begin(); k != keys.end(); ++k) {
            const QJsonValue v = k.value();
            QString text;
            if (v.isString())
                text = v.toString();
            else if (v.isBool())
                text = v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
            else if (v.isDouble())
                text = QString::number(v.toDouble(), 'g', 17);
            else
                return refuse(QStringLiteral("[%1] %2 must be a string, number or boolean.")
                                  .arg(s.key(), k.key().left(64)));
            if (!IniFile::isValidName(k.key()))
                return refuse(
                    QStringLiteral("\"%1\" is not a valid key name.").arg(k.key().left(64)));
            ini.addSection(s.key()).set(k.key(), text);
        }
    }
    return ini;
}

} // namespace

Result<ConfigChange>
parseChange(const RuntimeConfig &current, const QByteArray &body, const QByteArray &contentType)
{
    IniFile change;
    if (contentType == "application/json") {
        Result<IniFile> parsed = jsonToIni(body);
        if (!parsed)
            return tl::unexpected(parsed.error());
        change = *parsed;
    } else if (contentType.isEmpty() || contentType == "text/plain") {
        change = IniFile::parse(body);
    } else {
        return fail(QStringLiteral("unsupported_media_type"),
                    QStringLiteral("Send INI text as text/plain or JSON as application/json."));
    }

    QJsonArray findings;
    // Syntax problems of the body itself keep their line numbers (lines of the body).
    for (const IniFile::Finding &f : change.findings()) {
        findings.append(QJsonObject{{QStringLiteral("section"), f.section},
                                    {QStringLiteral("key"), f.key},
                                    {QStringLiteral("value"), f.value},
                                    {QStringLiteral("code"), f.code},
                                    {QStringLiteral("message"), f.message},
                                    {QStringLiteral("line"), f.line}});
    }
    // Lay the change over the running configuration, then validate the whole like a file.
    IniFile merged = current.toIniFile();
    for (const IniFile::Section &section : change.sections()) {
        for (const IniFile::Entry &entry : section.entries)
            merged.addSection(section.name).set(entry.key, entry.value);
        if (section.entries.isEmpty())
            merged.addSection(section.name);
    }
    const ConfigLoad load = RuntimeConfig::fromIni(merged);
    for (const ConfigFinding &finding : load.findings) {
        QJsonObject o = finding.toJson();
        o.remove(QStringLiteral("line")); // lines of the merged text mean nothing to the client
        findings.append(o);
    }
    if (!findings.isEmpty()) {
        return fail(
            QStringLiteral("invalid_config"),
            QStringLiteral("The configuration change has %1 finding(s); nothing was changed.")
                .arg(findings.size()),
            {{QStringLiteral("findings"), findings}});
    }
    ConfigChange out;
    out.config = load.config;
    for (const QString &key : current.changedKeys(out.config)) {
        if (isLive(key))
            out.applied.append(key);
        else
            out.restartRequired.append(key);
    }
    return out;
}

QJsonObject changeAnswer(const ConfigChange &change)
{
    return {
        {QStringLiteral("message"), change.applied.isEmpty() && change.restartRequired.isEmpty()
                                        ? QStringLiteral("Nothing changed")
                                        : QStringLiteral("%1 key(s) applied, %2 need a restart")
                                              .arg(change.applied.size())
                                              .arg(change.restartRequired.size())},
        {QStringLiteral("applied"), QJsonArray::fromStringList(change.applied)},
        {QStringLiteral("restart_required"), QJsonArray::fromStringList(change.restartRequired)}};
}

QJsonObject configDocument(const RuntimeConfig &config)
{
    QJsonObject sections;
    QStringList live;
    QStringList restart;
    const IniFile ini = config.toIniFile();
    for (const IniFile::Section &section : ini.sections()) {
        QJsonObject keys;
        for (const IniFile::Entry &entry : section.entries) {
            keys.insert(entry.key, entry.value);
            (isLive(section.name + u'/' + entry.key) ? live : restart)
                .append(section.name + u'/' + entry.key);
        }
        sections.insert(section.name, keys);
    }
    return {{QStringLiteral("sections"), sections},
            {QStringLiteral("live_keys"), QJsonArray::fromStringList(live)},
            {QStringLiteral("restart_keys"), QJsonArray::fromStringList(restart)}};
}

} // namespace opsdeck::api::configrequest

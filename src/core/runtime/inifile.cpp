#include "core/runtime/inifile.h"

#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QStringDecoder>

namespace opsdeck {

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 kMaxFileBytes = 4 * 1024 * 1024;

bool isNameChar(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9')
           || c == u'_' || c == u'.' || c == u'-';
}

bool isBlank(QChar c)
{
    return c == u' ' || c == u'\t';
}

// The text of a comment line without its prefix and one following space.
QString commentText(const QString &trimmedLine)
{
    QString text = trimmedLine.mid(1);
    if (text.startsWith(u' '))
        text.remove(0, 1);
    return text;
}

// "key = value" where key contains spaces etc.: shown in messages with quotes.
QString shown(const QString &text)
{
    return u'\'' + text + u'\'';
}

struct ValueParse
{
    QString value;
    QString error; // empty when fine
};

ValueParse parseValue(const QString &raw)
{
    const QString v = raw.trimmed();
    if (v.startsWith(u'"')) {
        QString out;
        qsizetype i = 1;
        for (; i < v.size(); ++i) {
            const QChar c = v.at(i);
            if (c == u'"')
                break;
            if (c != u'\\') {
                out += c;
                continue;
            }
            if (i + 1 >= v.size())
                break;
            const QChar e = v.at(++i);
            if (e == u'"' || e == u'\\')
                out += e;
            else if (e == u'n')
                out += u'\n';
            else if (e == u'r')
                out += u'\r';
            else if (e == u't')
                out += u'\t';
            else
                return {
                    {},
                    u"unknown escape sequence '\\%1' in a quoted value (use \\\" or \\\\)"_s.arg(
                        e)};
        }
        if (i >= v.size())
            return {{}, u"unterminated quoted value (missing closing '\"')"_s};
        if (i + 1 < v.size())
            return {{}, u"unexpected text %1 after the closing quote"_s.arg(shown(v.mid(i + 1)))};
        return {out, {}};
    }
    for (qsizetype i = 0; i < v.size(); ++i) {
        const QChar c = v.at(i);
        if ((c == u';' || c == u'#') && (i == 0 || isBlank(v.at(i - 1)))) {
            return {{},
                    u"'%1' in an unquoted value: inline comments are not supported; put the "
                    "comment on its own line, or quote the value (key = \"a %1 b\")"_s.arg(c)};
        }
    }
    return {v, {}};
}

bool needsQuotes(const QString &value)
{
    if (value.isEmpty())
        return false;
    if (isBlank(value.front()) || isBlank(value.back()) || value.front() == u'"')
        return true;
    for (const QChar c : value) {
        if (c == u';' || c == u'#' || c.unicode() < 0x20 || c.unicode() == 0x7f)
            return true;
    }
    return false;
}

void writeComment(QString &out, const QStringList &lines)
{
    for (const QString &block : lines) {
        const QStringList parts = block.split(u'\n');
        for (const QString &line : parts) {
            if (line.isEmpty())
                out += u";\n"_s;
            else
                out += u"; "_s + line + u'\n';
        }
    }
}

} // namespace

const IniFile::Entry *IniFile::Section::find(QStringView key) const
{
    for (const Entry &e : entries) {
        if (e.key == key)
            return &e;
    }
    return nullptr;
}

IniFile::Entry &
IniFile::Section::set(const QString &key, const QString &value, const QStringList &entryComment)
{
    Q_ASSERT(isValidName(key));
    for (Entry &e : entries) {
        if (e.key == key) {
            e.value = value;
            e.comment = entryComment;
            return e;
        }
    }
    entries.append(Entry{key, value, 0, entryComment});
    return entries.last();
}

const IniFile::Section *IniFile::section(QStringView name) const
{
    for (const Section &s : m_sections) {
        if (s.name == name)
            return &s;
    }
    return nullptr;
}

const IniFile::Entry *IniFile::find(QStringView sectionName, QStringView key) const
{
    const Section *s = section(sectionName);
    return s ? s->find(key) : nullptr;
}

IniFile::Section &IniFile::addSection(const QString &name, const QStringList &comment)
{
    Q_ASSERT(isValidName(name));
    for (Section &s : m_sections) {
        if (s.name == name)
            return s;
    }
    m_sections.append(Section{name, 0, comment, {}});
    return m_sections.last();
}

bool IniFile::isValidName(QStringView name)
{
    if (name.isEmpty())
        return false;
    for (const QChar c : name) {
        if (!isNameChar(c))
            return false;
    }
    return true;
}

QString IniFile::quoteIfNeeded(const QString &value)
{
    if (!needsQuotes(value))
        return value;
    QString out = u"\""_s;
    for (const QChar c : value) {
        if (c == u'"' || c == u'\\')
            out += u'\\' + QString(c);
        else if (c == u'\n')
            out += u"\\n"_s;
        else if (c == u'\r')
            out += u"\\r"_s;
        else if (c == u'\t')
            out += u"\\t"_s;
        else
            out += c;
    }
    out += u'"';
    return out;
}

IniFile IniFile::parse(const QByteArray &text)
{
    IniFile ini;
    QByteArray data = text;
    if (data.startsWith("\xEF\xBB\xBF"))
        data.remove(0, 3);

    const QList<QByteArray> rawLines = data.split('\n');
    Section *current = nullptr; // points into ini.m_sections; re-taken after each append
    qsizetype currentIndex = -1;
    QStringList pending; // comment lines waiting for the next section or entry
    bool seenItem = false;
    bool brokenSection = false; // after a malformed header: skip its keys without more findings

    auto addFinding = [&ini](int line, const QString &code, const QString &message,
                             const QString &section, const QString &key, const QString &value) {
        ini.m_findings.append(Finding{line, code, message, section, key, value});
    };

    for (qsizetype i = 0; i < rawLines.size(); ++i) {
        const int lineNo = int(i + 1);
        QByteArray raw = rawLines.at(i);
        if (raw.endsWith('\r'))
            raw.chop(1);
        // The last element after a final '\n' is empty: nothing to do.
        QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        const QString line = decoder.decode(raw);
        if (decoder.hasError()) {
            addFinding(lineNo, u"syntax"_s, u"line %1 is not valid UTF-8"_s.arg(lineNo),
                       current ? current->name : QString(), {}, {});
            continue;
        }
        const QString t = line.trimmed();
        if (t.isEmpty()) {
            if (!seenItem && !pending.isEmpty() && ini.m_headerComment.isEmpty()) {
                ini.m_headerComment = pending;
                pending.clear();
            }
            continue;
        }
        if (t.startsWith(u';') || t.startsWith(u'#')) {
            pending.append(commentText(t));
            continue;
        }
        seenItem = true;
        if (t.startsWith(u'[')) {
            if (!t.endsWith(u']')) {
                addFinding(lineNo, u"syntax"_s,
                           u"malformed section header %1: expected '[name]'"_s.arg(shown(t)), {},
                           {}, {});
                current = nullptr;
                currentIndex = -1;
                brokenSection = true;
                pending.clear();
                continue;
            }
            const QString name = t.mid(1, t.size() - 2).trimmed();
            if (!isValidName(name)) {
                addFinding(lineNo, u"syntax"_s,
                           u"invalid section name %1: use letters, digits, '_', '.' and '-'"_s.arg(
                               shown(name)),
                           name, {}, {});
                current = nullptr;
                currentIndex = -1;
                brokenSection = true;
                pending.clear();
                continue;
            }
            brokenSection = false;
            currentIndex = -1;
            for (qsizetype s = 0; s < ini.m_sections.size(); ++s) {
                if (ini.m_sections.at(s).name == name)
                    currentIndex = s;
            }
            if (currentIndex < 0) {
                ini.m_sections.append(Section{name, lineNo, pending, {}});
                currentIndex = ini.m_sections.size() - 1;
            }
            current = &ini.m_sections[currentIndex];
            pending.clear();
            continue;
        }
        const qsizetype eq = t.indexOf(u'=');
        if (eq < 0) {
            addFinding(lineNo, u"syntax"_s,
                       u"malformed line %1: expected 'key = value', '[section]' or a comment "
                       "starting with ';' or '#'"_s.arg(shown(t)),
                       current ? current->name : QString(), {}, {});
            pending.clear();
            continue;
        }
        const QString key = t.left(eq).trimmed();
        const QString rawValue = t.mid(eq + 1);
        if (!isValidName(key)) {
            addFinding(
                lineNo, u"syntax"_s,
                key.isEmpty()
                    ? u"missing key before '='"_s
                    : u"invalid key %1: use letters, digits, '_', '.' and '-'"_s.arg(shown(key)),
                current ? current->name : QString(), key, rawValue.trimmed());
            pending.clear();
            continue;
        }
        if (!current && brokenSection) {
            pending.clear();
            continue;
        }
        if (!current) {
            addFinding(lineNo, u"syntax"_s,
                       u"key %1 appears before any [section] header"_s.arg(shown(key)), {}, key,
                       rawValue.trimmed());
            pending.clear();
            continue;
        }
        const ValueParse v = parseValue(rawValue);
        if (!v.error.isEmpty()) {
            addFinding(lineNo, u"syntax"_s, u"[%1] %2: %3"_s.arg(current->name, key, v.error),
                       current->name, key, rawValue.trimmed());
            pending.clear();
            continue;
        }
        if (const Entry *first = current->find(key)) {
            addFinding(lineNo, u"duplicate_key"_s,
                       u"[%1] %2 is set twice (first on line %3); only the first value is used"_s
                           .arg(current->name, key)
                           .arg(first->line),
                       current->name, key, v.value);
            pending.clear();
            continue;
        }
        current->entries.append(Entry{key, v.value, lineNo, pending});
        pending.clear();
    }
    if (!pending.isEmpty()) {
        if (!seenItem && ini.m_headerComment.isEmpty())
            ini.m_headerComment = pending;
        else
            ini.m_trailingComment = pending;
    }
    return ini;
}

Result<IniFile> IniFile::read(const QString &path, Missing missing)
{
    const QFileInfo info(path);
    QJsonObject details{{u"path"_s, path}};
    if (!info.exists()) {
        if (missing == Missing::Allowed)
            return IniFile();
        return fail(u"config_not_found"_s, u"Configuration file %1 does not exist."_s.arg(path),
                    details);
    }
    if (!info.isFile()) {
        return fail(u"config_unreadable"_s,
                    u"Configuration file %1 is not a regular file."_s.arg(path), details);
    }
    if (info.size() > kMaxFileBytes) {
        return fail(
            u"config_too_large"_s,
            u"Configuration file %1 is larger than %2 bytes."_s.arg(path).arg(kMaxFileBytes),
            details);
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        details.insert(u"reason"_s, file.errorString());
        return fail(u"config_unreadable"_s,
                    u"Cannot read configuration file %1: %2."_s.arg(path, file.errorString()),
                    details);
    }
    const QByteArray data = file.read(kMaxFileBytes + 1);
    if (data.size() > kMaxFileBytes) {
        return fail(
            u"config_too_large"_s,
            u"Configuration file %1 is larger than %2 bytes."_s.arg(path).arg(kMaxFileBytes),
            details);
    }
    return parse(data);
}

QByteArray IniFile::serialize() const
{
    QString out;
    if (!m_headerComment.isEmpty()) {
        writeComment(out, m_headerComment);
        out += u'\n';
    }
    bool first = true;
    for (const Section &s : m_sections) {
        if (!first)
            out += u'\n';
        first = false;
        writeComment(out, s.comment);
        out += u'[' + s.name + u"]\n"_s;
        for (const Entry &e : s.entries) {
            writeComment(out, e.comment);
            const QString v = quoteIfNeeded(e.value);
            out += e.key + (v.isEmpty() ? u" ="_s : u" = "_s + v) + u'\n';
        }
    }
    if (!m_trailingComment.isEmpty()) {
        out += u'\n';
        writeComment(out, m_trailingComment);
    }
    return out.toUtf8();
}

} // namespace opsdeck

// IniFile: a small, strict INI reader and writer for opsdeck.ini (not QSettings, which turns
// unquoted commas into lists and rewrites whole files). Plain value type, no thread affinity.
// It only knows syntax; what the keys mean is RuntimeConfig's business.
//
// Syntax accepted (UTF-8, optional BOM, LF or CRLF):
//   ; comment            full-line comments start with ';' or '#' (no inline comments)
//   [section]            letters, digits, '_', '.', '-' (e.g. [agent.mm1], [x-notes])
//   key = value          whitespace around key and value trimmed; key chars as for sections
//   key = "a ; b"        double quotes keep ';', '#', '"' and outer spaces; escapes \" \\ \n \r \t
// Findings (the file still parses, the offending line is skipped): a key before any section, a
// malformed line, an unquoted value holding what looks like an inline comment (" ;" or " #"),
// a duplicate key in a section ("duplicate_key"; the first value is kept). A section named twice
// is merged into the first occurrence. Every entry remembers its 1-based line number.
#pragma once

#include "core/support/result.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace opsdeck {

class IniFile
{
public:
    struct Entry
    {
        QString key;
        QString value;       // unquoted and unescaped
        int line = 0;        // 1-based; 0 for entries built in code
        QStringList comment; // comment lines directly above the entry (without the ';')
    };

    struct Section
    {
        QString name;
        int line = 0;
        QStringList comment;
        QList<Entry> entries; // file order

        const Entry *find(QStringView key) const;
        // Adds the entry, or replaces value and comment of an existing one.
        Entry &set(const QString &key, const QString &value, const QStringList &entryComment = {});
    };

    struct Finding
    {
        int line = 0;
        QString code;    // "syntax" or "duplicate_key"
        QString message; // English, names the line's problem (without the "file:line:" prefix)
        QString section; // where known
        QString key;
        QString value;
    };

    enum class Missing { Allowed, Error };

    // Parses UTF-8 text; never fails, problems become findings().
    static IniFile parse(const QByteArray &text);
    // Reads and parses a file. A missing file yields an empty IniFile unless `missing` is
    // Missing::Error ("config_not_found"); unreadable files and directories are always errors
    // ("config_unreadable"), as are files over 4 MiB ("config_too_large").
    static Result<IniFile> read(const QString &path, Missing missing = Missing::Allowed);

    const QList<Section> &sections() const { return m_sections; }
    const Section *section(QStringView name) const;
    const Entry *find(QStringView section, QStringView key) const;
    const QList<Finding> &findings() const { return m_findings; }

    // Writer side: builds a file in code. addSection returns the existing section of that name
    // if there is one; the reference is valid until the next addSection(). Names must satisfy
    // isValidName() (asserted).
    Section &addSection(const QString &name, const QStringList &comment = {});
    void setHeaderComment(const QStringList &lines) { m_headerComment = lines; }
    QStringList headerComment() const { return m_headerComment; }
    void setTrailingComment(const QStringList &lines) { m_trailingComment = lines; }
    QStringList trailingComment() const { return m_trailingComment; }

    // UTF-8 text: header comment, then each section (its comment, header, entries with their
    // comments), a blank line between sections. Values are quoted only when they need it.
    // parse(serialize()) gives back the same sections, entries and comments.
    QByteArray serialize() const;

    // Section and key names: non-empty, letters, digits, '_', '.', '-'.
    static bool isValidName(QStringView name);
    // A value as it would be written: bare when possible, else quoted and escaped.
    static QString quoteIfNeeded(const QString &value);

private:
    QList<Section> m_sections;
    QList<Finding> m_findings;
    QStringList m_headerComment;
    QStringList m_trailingComment;
};

} // namespace opsdeck

// IniFile: syntax, findings with line numbers, file reading rules, and the writer.
#include "core/runtime/inifile.h"

#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

using namespace opsdeck;
using namespace Qt::StringLiterals;

class TestIniFile : public QObject
{
    Q_OBJECT

private slots:
    void emptyText();
    void sectionsEntriesAndLines();
    void commentsAreWholeLinesAndAttach();
    void bareValuesKeepInnerCharacters_data();
    void bareValuesKeepInnerCharacters();
    void quotedValues_data();
    void quotedValues();
    void syntaxFindings_data();
    void syntaxFindings();
    void keysAfterBrokenHeaderAreSkippedQuietly();
    void duplicateKey();
    void repeatedSectionIsMerged();
    void crlfAndBom();
    void utf8();
    void readMissingFile();
    void readDirectoryAndLargeFile();
    void readFileWithLines();
    void quoteIfNeeded_data();
    void quoteIfNeeded();
    void serializeExact();
    void serializeRoundTrip();
};

void TestIniFile::emptyText()
{
    const IniFile ini = IniFile::parse(QByteArray());
    QVERIFY(ini.sections().isEmpty());
    QVERIFY(ini.findings().isEmpty());
    const IniFile blank = IniFile::parse("\n\n   \n\t\n");
    QVERIFY(blank.sections().isEmpty());
    QVERIFY(blank.findings().isEmpty());
}

void TestIniFile::sectionsEntriesAndLines()
{
    const IniFile ini = IniFile::parse("[cache]\n"
                                       "memory_max_size = 100\n"
                                       "   disk_max_size=200 MiB   \n"
                                       "\n"
                                       "[agent.mm1]\n"
                                       "type = market_maker\n"
                                       "[x-notes]\n"
                                       "free_text = anything at all\n"
                                       "[ spaced ]\n"
                                       "empty =\n");
    QVERIFY2(ini.findings().isEmpty(), qPrintable(ini.findings().value(0).message));
    QCOMPARE(ini.sections().size(), 4);
    QCOMPARE(ini.sections().at(0).name, u"cache"_s);
    QCOMPARE(ini.sections().at(0).line, 1);
    QCOMPARE(ini.sections().at(1).name, u"agent.mm1"_s);
    QCOMPARE(ini.sections().at(1).line, 5);
    QCOMPARE(ini.sections().at(2).name, u"x-notes"_s);
    QCOMPARE(ini.sections().at(3).name, u"spaced"_s);

    const IniFile::Entry *a = ini.find(u"cache", u"memory_max_size");
    QVERIFY(a);
    QCOMPARE(a->value, u"100"_s);
    QCOMPARE(a->line, 2);
    const IniFile::Entry *b = ini.find(u"cache", u"disk_max_size");
    QVERIFY(b);
    QCOMPARE(b->value, u"200 MiB"_s);
    QCOMPARE(b->line, 3);
    QCOMPARE(ini.find(u"agent.mm1", u"type")->value, u"market_maker"_s);
    QCOMPARE(ini.find(u"x-notes", u"free_text")->value, u"anything at all"_s);
    QCOMPARE(ini.find(u"spaced", u"empty")->value, QString());
    QCOMPARE(ini.find(u"spaced", u"empty")->line, 10);
    QVERIFY(!ini.find(u"cache", u"nope"));
    QVERIFY(!ini.find(u"nope", u"memory_max_size"));
    QVERIFY(!ini.section(u"nope"));
}

void TestIniFile::commentsAreWholeLinesAndAttach()
{
    const IniFile ini = IniFile::parse("; file header\n"
                                       "# second header line\n"
                                       "\n"
                                       "; about cache\n"
                                       "[cache]\n"
                                       "   ; indented comment\n"
                                       "# about the key\n"
                                       "key = value\n"
                                       "; trailing\n");
    QVERIFY(ini.findings().isEmpty());
    QCOMPARE(ini.headerComment(), QStringList({u"file header"_s, u"second header line"_s}));
    QCOMPARE(ini.sections().size(), 1);
    QCOMPARE(ini.sections().at(0).comment, QStringList{u"about cache"_s});
    QCOMPARE(ini.sections().at(0).entries.size(), 1);
    QCOMPARE(ini.sections().at(0).entries.at(0).comment,
             QStringList({u"indented comment"_s, u"about the key"_s}));
    QCOMPARE(ini.trailingComment(), QStringList{u"trailing"_s});
}

void TestIniFile::bareValuesKeepInnerCharacters_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QString>("value");
    QTest::newRow("comma list") << QByteArray("k = a,b, c") << u"a,b, c"_s;
    QTest::newRow("url with = and #")
        << QByteArray("k = http://h/p?a=b#frag") << u"http://h/p?a=b#frag"_s;
    QTest::newRow("semicolon inside word") << QByteArray("k = a;b") << u"a;b"_s;
    QTest::newRow("inner quote") << QByteArray("k = say \"hi\"") << u"say \"hi\""_s;
    QTest::newRow("backslash literal") << QByteArray("k = C:\\tmp") << u"C:\\tmp"_s;
    QTest::newRow("tabs trimmed") << QByteArray("k\t=\tv\t") << u"v"_s;
}

void TestIniFile::bareValuesKeepInnerCharacters()
{
    QFETCH(QByteArray, line);
    QFETCH(QString, value);
    const IniFile ini = IniFile::parse("[s]\n" + line + '\n');
    QVERIFY2(ini.findings().isEmpty(), qPrintable(ini.findings().value(0).message));
    QCOMPARE(ini.find(u"s", u"k")->value, value);
}

void TestIniFile::quotedValues_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QString>("value");
    QTest::newRow("semicolon") << QByteArray("k = \"a ; b\"") << u"a ; b"_s;
    QTest::newRow("hash first") << QByteArray("k = \"#fff\"") << u"#fff"_s;
    QTest::newRow("leading spaces") << QByteArray("k = \"   lead\"") << u"   lead"_s;
    QTest::newRow("trailing spaces") << QByteArray("k = \"trail  \"   ") << u"trail  "_s;
    QTest::newRow("escaped quote") << QByteArray("k = \"say \\\"hi\\\"\"") << u"say \"hi\""_s;
    QTest::newRow("escaped backslash") << QByteArray("k = \"C:\\\\tmp\"") << u"C:\\tmp"_s;
    QTest::newRow("newline and tab") << QByteArray("k = \"a\\nb\\tc\"") << u"a\nb\tc"_s;
    QTest::newRow("empty") << QByteArray("k = \"\"") << QString();
    QTest::newRow("equals") << QByteArray("k = \"a = b\"") << u"a = b"_s;
}

void TestIniFile::quotedValues()
{
    QFETCH(QByteArray, line);
    QFETCH(QString, value);
    const IniFile ini = IniFile::parse("[s]\n" + line + '\n');
    QVERIFY2(ini.findings().isEmpty(), qPrintable(ini.findings().value(0).message));
    QCOMPARE(ini.find(u"s", u"k")->value, value);
}

void TestIniFile::syntaxFindings_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("messagePart");

    QTest::newRow("key before section") << QByteArray("; c\nkey = 1\n[s]\n") << 2 << u"syntax"_s
                                        << u"'key' appears before any [section] header"_s;
    QTest::newRow("no equals") << QByteArray("[s]\n\njust words\n") << 3 << u"syntax"_s
                               << u"malformed line 'just words'"_s;
    QTest::newRow("colon separator")
        << QByteArray("[s]\nkey: value\n") << 2 << u"syntax"_s << u"expected 'key = value'"_s;
    QTest::newRow("unclosed header") << QByteArray("[s]\n[cache\n") << 2 << u"syntax"_s
                                     << u"malformed section header '[cache'"_s;
    QTest::newRow("text after header")
        << QByteArray("[cache] x\n") << 1 << u"syntax"_s << u"malformed section header"_s;
    QTest::newRow("bad section name")
        << QByteArray("[a b]\n") << 1 << u"syntax"_s << u"invalid section name 'a b'"_s;
    QTest::newRow("empty section name")
        << QByteArray("[]\n") << 1 << u"syntax"_s << u"invalid section name ''"_s;
    QTest::newRow("bad key") << QByteArray("[s]\nhttp timeout = 5\n") << 2 << u"syntax"_s
                             << u"invalid key 'http timeout'"_s;
    QTest::newRow("empty key") << QByteArray("[s]\n= 5\n") << 2 << u"syntax"_s
                               << u"missing key before '='"_s;
    QTest::newRow("unterminated quote")
        << QByteArray("[s]\nk = \"abc\n") << 2 << u"syntax"_s << u"unterminated quoted value"_s;
    QTest::newRow("text after quote") << QByteArray("[s]\nk = \"a\" b\n") << 2 << u"syntax"_s
                                      << u"unexpected text ' b' after the closing quote"_s;
    QTest::newRow("comment after quote")
        << QByteArray("[s]\nk = \"a\" ; c\n") << 2 << u"syntax"_s << u"after the closing quote"_s;
    QTest::newRow("unknown escape") << QByteArray("[s]\nk = \"a\\qb\"\n") << 2 << u"syntax"_s
                                    << u"unknown escape sequence '\\q'"_s;
    QTest::newRow("inline semicolon comment")
        << QByteArray("[s]\n\n\nk = 30 ; seconds\n") << 4 << u"syntax"_s
        << u"[s] k: ';' in an unquoted value: inline comments are not supported"_s;
    QTest::newRow("inline hash comment") << QByteArray("[s]\nk = 30 # seconds\n") << 2
                                         << u"syntax"_s << u"'#' in an unquoted value"_s;
    QTest::newRow("value starting with hash")
        << QByteArray("[s]\nk = #fff\n") << 2 << u"syntax"_s << u"quote the value"_s;
    QTest::newRow("invalid utf-8")
        << QByteArray("[s]\nk = \xff\xfe\n") << 2 << u"syntax"_s << u"line 2 is not valid UTF-8"_s;
}

void TestIniFile::syntaxFindings()
{
    QFETCH(QByteArray, text);
    QFETCH(int, line);
    QFETCH(QString, code);
    QFETCH(QString, messagePart);
    const IniFile ini = IniFile::parse(text);
    QCOMPARE(ini.findings().size(), 1);
    const IniFile::Finding &f = ini.findings().at(0);
    QCOMPARE(f.line, line);
    QCOMPARE(f.code, code);
    QVERIFY2(f.message.contains(messagePart), qPrintable(f.message));
    // The offending line is skipped, nothing else is lost.
    for (const IniFile::Section &s : ini.sections()) {
        for (const IniFile::Entry &e : s.entries)
            QVERIFY(e.line != line);
    }
}

void TestIniFile::keysAfterBrokenHeaderAreSkippedQuietly()
{
    const IniFile ini = IniFile::parse("[bad name]\na = 1\nb = 2\n[good]\nc = 3\n");
    QCOMPARE(ini.findings().size(), 1);
    QCOMPARE(ini.findings().at(0).line, 1);
    QCOMPARE(ini.sections().size(), 1);
    QCOMPARE(ini.find(u"good", u"c")->value, u"3"_s);
}

void TestIniFile::duplicateKey()
{
    const IniFile ini = IniFile::parse("[http]\nhttp_timeout = 5\nother = 1\nhttp_timeout = 9\n");
    QCOMPARE(ini.findings().size(), 1);
    const IniFile::Finding &f = ini.findings().at(0);
    QCOMPARE(f.code, u"duplicate_key"_s);
    QCOMPARE(f.line, 4);
    QCOMPARE(f.section, u"http"_s);
    QCOMPARE(f.key, u"http_timeout"_s);
    QCOMPARE(f.value, u"9"_s);
    QVERIFY2(f.message.contains(u"[http] http_timeout is set twice (first on line 2)"_s),
             qPrintable(f.message));
    QCOMPARE(ini.find(u"http", u"http_timeout")->value, u"5"_s);
}

void TestIniFile::repeatedSectionIsMerged()
{
    const IniFile ini = IniFile::parse("[a]\nx = 1\n[b]\ny = 2\n[a]\nz = 3\nx = 4\n");
    QCOMPARE(ini.sections().size(), 2);
    QCOMPARE(ini.sections().at(0).name, u"a"_s);
    QCOMPARE(ini.sections().at(0).entries.size(), 2);
    QCOMPARE(ini.find(u"a", u"z")->line, 6);
    QCOMPARE(ini.findings().size(), 1);
    QCOMPARE(ini.findings().at(0).code, u"duplicate_key"_s);
    QCOMPARE(ini.findings().at(0).line, 7);
}

void TestIniFile::crlfAndBom()
{
    const IniFile ini = IniFile::parse("\xEF\xBB\xBF[s]\r\nk = v\r\n; c\r\nq = \"x\"\r\n");
    QVERIFY(ini.findings().isEmpty());
    QCOMPARE(ini.sections().at(0).name, u"s"_s);
    QCOMPARE(ini.find(u"s", u"k")->value, u"v"_s);
    QCOMPARE(ini.find(u"s", u"q")->value, u"x"_s);
    QCOMPARE(ini.find(u"s", u"q")->line, 4);
}

void TestIniFile::utf8()
{
    const QString value = u"Gr\u00f6\u00dfe \u20ac \u043a\u043b\u044e\u0447"_s;
    const IniFile ini = IniFile::parse("[s]\nk = " + value.toUtf8() + "\n");
    QVERIFY(ini.findings().isEmpty());
    QCOMPARE(ini.find(u"s", u"k")->value, value);

    IniFile out;
    out.addSection(u"s"_s).set(u"k"_s, value, {u"\u00fcber"_s});
    const QByteArray bytes = out.serialize();
    QVERIFY(bytes.contains(value.toUtf8()));
    QCOMPARE(IniFile::parse(bytes).find(u"s", u"k")->value, value);
}

void TestIniFile::readMissingFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(u"absent.ini"_s);

    const Result<IniFile> allowed = IniFile::read(path);
    QVERIFY(allowed.has_value());
    QVERIFY(allowed->sections().isEmpty());
    QVERIFY(allowed->findings().isEmpty());

    const Result<IniFile> required = IniFile::read(path, IniFile::Missing::Error);
    QVERIFY(!required.has_value());
    QCOMPARE(required.error().code, u"config_not_found"_s);
    QVERIFY(required.error().message.contains(path));
    QCOMPARE(required.error().details.value(u"path"_s).toString(), path);
}

void TestIniFile::readDirectoryAndLargeFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Result<IniFile> asDir = IniFile::read(dir.path());
    QVERIFY(!asDir.has_value());
    QCOMPARE(asDir.error().code, u"config_unreadable"_s);

    const QString big = dir.filePath(u"big.ini"_s);
    QFile f(big);
    QVERIFY(f.open(QIODevice::WriteOnly));
    const QByteArray chunk(1024 * 1024, ';');
    for (int i = 0; i < 5; ++i)
        f.write(chunk);
    f.close();
    const Result<IniFile> large = IniFile::read(big, IniFile::Missing::Error);
    QVERIFY(!large.has_value());
    QCOMPARE(large.error().code, u"config_too_large"_s);
}

void TestIniFile::readFileWithLines()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(u"opsdeck.ini"_s);
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("; c\n[http]\nhttp_timeout = 5\nbroken line\n");
    f.close();
    const Result<IniFile> ini = IniFile::read(path, IniFile::Missing::Error);
    QVERIFY(ini.has_value());
    QCOMPARE(ini->find(u"http", u"http_timeout")->line, 3);
    QCOMPARE(ini->findings().size(), 1);
    QCOMPARE(ini->findings().at(0).line, 4);
}

void TestIniFile::quoteIfNeeded_data()
{
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("written");
    QTest::newRow("plain") << u"abc"_s << u"abc"_s;
    QTest::newRow("empty") << QString() << QString();
    QTest::newRow("inner spaces") << u"a b"_s << u"a b"_s;
    QTest::newRow("comma") << u"a,b"_s << u"a,b"_s;
    QTest::newRow("semicolon") << u"a;b"_s << u"\"a;b\""_s;
    QTest::newRow("hash") << u"#x"_s << u"\"#x\""_s;
    QTest::newRow("leading space") << u" x"_s << u"\" x\""_s;
    QTest::newRow("leading quote") << u"\"x"_s << u"\"\\\"x\""_s;
    QTest::newRow("backslash in quoted") << u"a;\\"_s << u"\"a;\\\\\""_s;
    QTest::newRow("newline") << u"a\nb"_s << u"\"a\\nb\""_s;
}

void TestIniFile::quoteIfNeeded()
{
    QFETCH(QString, value);
    QFETCH(QString, written);
    QCOMPARE(IniFile::quoteIfNeeded(value), written);
    // Whatever is written reads back as the same value.
    const IniFile ini = IniFile::parse("[s]\nk = " + written.toUtf8() + "\n");
    QVERIFY(ini.findings().isEmpty());
    QCOMPARE(ini.find(u"s", u"k")->value, value);
}

void TestIniFile::serializeExact()
{
    IniFile ini;
    ini.setHeaderComment({u"Header"_s});
    IniFile::Section &cache = ini.addSection(u"cache"_s, {u"Cache section"_s});
    cache.set(u"memory_max_size"_s, u"10000"_s, {u"Entries."_s, QString()});
    cache.set(u"note"_s, u"a ; b"_s);
    cache.set(u"empty"_s, QString());
    ini.addSection(u"agent.mm1"_s).set(u"type"_s, u"mm"_s);
    QVERIFY(&ini.addSection(u"cache"_s) == &ini.sections().at(0)); // the existing one
    QCOMPARE(ini.sections().size(), 2);
    ini.setTrailingComment({u"end"_s});
    const QByteArray expected = "; Header\n"
                                "\n"
                                "; Cache section\n"
                                "[cache]\n"
                                "; Entries.\n"
                                ";\n"
                                "memory_max_size = 10000\n"
                                "note = \"a ; b\"\n"
                                "empty =\n"
                                "\n"
                                "[agent.mm1]\n"
                                "type = mm\n"
                                "\n"
                                "; end\n";
    QCOMPARE(ini.serialize(), expected);

    // set() on an existing key replaces it in place (re-take the reference: addSection() of
    // another section may have moved it).
    IniFile::Section &again = ini.addSection(u"cache"_s);
    again.set(u"memory_max_size"_s, u"5"_s);
    QCOMPARE(again.entries.size(), 3);
    QCOMPARE(again.find(u"memory_max_size")->value, u"5"_s);
}

void TestIniFile::serializeRoundTrip()
{
    IniFile ini;
    ini.setHeaderComment({u"one"_s, u"two"_s});
    IniFile::Section &s = ini.addSection(u"x-odd.name-1"_s, {u"section comment"_s});
    s.set(u"plain"_s, u"value"_s, {u"c1"_s});
    s.set(u"quoted"_s, u"  a ; b # c \"d\" \\e\t"_s);
    s.set(u"empty"_s, QString());
    ini.addSection(u"second"_s).set(u"k.e-y_1"_s, u"x"_s);

    const IniFile back = IniFile::parse(ini.serialize());
    QVERIFY(back.findings().isEmpty());
    QCOMPARE(back.headerComment(), ini.headerComment());
    QCOMPARE(back.sections().size(), ini.sections().size());
    for (qsizetype i = 0; i < ini.sections().size(); ++i) {
        const IniFile::Section &a = ini.sections().at(i);
        const IniFile::Section &b = back.sections().at(i);
        QCOMPARE(b.name, a.name);
        QCOMPARE(b.comment, a.comment);
        QCOMPARE(b.entries.size(), a.entries.size());
        for (qsizetype j = 0; j < a.entries.size(); ++j) {
            QCOMPARE(b.entries.at(j).key, a.entries.at(j).key);
            QCOMPARE(b.entries.at(j).value, a.entries.at(j).value);
            QCOMPARE(b.entries.at(j).comment, a.entries.at(j).comment);
            QVERIFY(b.entries.at(j).line > 0);
        }
    }
    // Serializing what was parsed gives the same bytes again.
    QCOMPARE(back.serialize(), ini.serialize());
}

QTEST_GUILESS_MAIN(TestIniFile)
#include "tst_inifile.moc"

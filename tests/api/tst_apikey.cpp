// ApiKeyFile: created 0600 on first use and reused; unsafe or garbage files are refused with a
// message naming the file; constantTimeEquals.
#include "api/apikey.h"

#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <sys/stat.h>

using namespace opsdeck;
using namespace opsdeck::api;

namespace {

void writeFile(const QString &path, const QByteArray &content, QFile::Permissions permissions)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(content);
    file.close();
    QVERIFY(QFile::setPermissions(path, permissions));
}

constexpr QFile::Permissions kOwnerOnly = QFile::ReadOwner | QFile::WriteOwner;

} // namespace

class TstApiKey : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void generatedKeysAreHexAndDistinct()
    {
        const QByteArray a = ApiKeyFile::generate();
        const QByteArray b = ApiKeyFile::generate();
        QCOMPARE(a.size(), 64);
        QVERIFY(a != b);
        QVERIFY(QByteArray::fromHex(a).toHex() == a); // lower-case hex only
        QVERIFY(ApiKeyFile::isWellFormed(a));
    }

    void createdWithMode0600AndReused()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(ApiKeyFile::kFileName);
        const Result<QByteArray> first = ApiKeyFile::loadOrCreate(path);
        QVERIFY2(first, first ? "" : qPrintable(first.error().message));
        struct stat st {};
        QCOMPARE(::stat(QFile::encodeName(path).constData(), &st), 0);
        QCOMPARE(int(st.st_mode & 0777), 0600);
        QVERIFY(!QFile::exists(path + QStringLiteral(".new")));
        const Result<QByteArray> second = ApiKeyFile::loadOrCreate(path);
        QVERIFY(second);
        QCOMPARE(*second, *first);
        const Result<QByteArray> readOnly = ApiKeyFile::load(path);
        QVERIFY(readOnly);
        QCOMPARE(*readOnly, *first);
    }

    void missingFileForLoadOnly()
    {
        QTemporaryDir dir;
        const Result<QByteArray> key = ApiKeyFile::load(dir.filePath(ApiKeyFile::kFileName));
        QVERIFY(!key);
        QCOMPARE(key.error().code, QStringLiteral("api_key_missing"));
        QVERIFY(!QFile::exists(dir.filePath(ApiKeyFile::kFileName))); // load() never creates
    }

    void badFilesAreRefused_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<int>("permissions");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("mentions");
        const int ownerOnly = int(kOwnerOnly);
        const QByteArray good = ApiKeyFile::generate();
        QTest::newRow("group readable") << good << int(kOwnerOnly | QFile::ReadGroup)
                                        << QStringLiteral("api_key_insecure") << QStringLiteral("chmod 600");
        QTest::newRow("world readable") << good << int(kOwnerOnly | QFile::ReadOther)
                                        << QStringLiteral("api_key_insecure") << QStringLiteral("0604");
        QTest::newRow("empty") << QByteArray() << ownerOnly << QStringLiteral("api_key_invalid")
                               << QStringLiteral("does not hold a key");
        QTest::newRow("too short") << QByteArray("abc123") << ownerOnly
                                   << QStringLiteral("api_key_invalid") << QStringLiteral("32 to 256");
        QTest::newRow("binary garbage") << QByteArray("\x01\x02\xff garbage that is long enough to pass")
                                        << ownerOnly << QStringLiteral("api_key_invalid")
                                        << QStringLiteral("Delete it");
        QTest::newRow("two lines") << good + "\n" + good << ownerOnly
                                   << QStringLiteral("api_key_invalid") << QStringLiteral("one line");
        QTest::newRow("too long") << QByteArray(300, 'a') << ownerOnly
                                  << QStringLiteral("api_key_invalid") << QStringLiteral("256");
    }
    void badFilesAreRefused()
    {
        QFETCH(QByteArray, content);
        QFETCH(int, permissions);
        QFETCH(QString, code);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        const QString path = dir.filePath(ApiKeyFile::kFileName);
        writeFile(path, content, QFile::Permissions(permissions));
        for (const Result<QByteArray> &key : {ApiKeyFile::loadOrCreate(path), ApiKeyFile::load(path)}) {
            QVERIFY(!key);
            QCOMPARE(key.error().code, code);
            QVERIFY2(key.error().message.contains(path), qPrintable(key.error().message));
            QVERIFY2(key.error().message.contains(mentions), qPrintable(key.error().message));
        }
        // Never silently replaced.
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.readAll(), content);
    }

    void trailingNewlineAndUserKeysAccepted()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(ApiKeyFile::kFileName);
        const QByteArray mine = "my-own_key-of-sufficient-length-0123456789";
        writeFile(path, mine + "\r\n", kOwnerOnly);
        const Result<QByteArray> key = ApiKeyFile::loadOrCreate(path);
        QVERIFY(key);
        QCOMPARE(*key, mine);
    }

    void directoryOrDanglingLinkIsReported()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(ApiKeyFile::kFileName);
        QVERIFY(QDir(dir.path()).mkdir(ApiKeyFile::kFileName));
        Result<QByteArray> key = ApiKeyFile::loadOrCreate(path);
        QVERIFY(!key);
        QCOMPARE(key.error().code, QStringLiteral("api_key_unreadable"));
        QVERIFY(QDir(dir.path()).rmdir(ApiKeyFile::kFileName));
        QVERIFY(QFile::link(dir.filePath(QStringLiteral("nowhere")), path));
        key = ApiKeyFile::loadOrCreate(path);
        QVERIFY(!key);
        QCOMPARE(key.error().code, QStringLiteral("api_key_unreadable"));
    }

    void constantTimeEqualsCompares_data()
    {
        QTest::addColumn<QByteArray>("a");
        QTest::addColumn<QByteArray>("b");
        QTest::addColumn<bool>("equal");
        QTest::newRow("same") << QByteArray("abcdef") << QByteArray("abcdef") << true;
        QTest::newRow("last differs") << QByteArray("abcdef") << QByteArray("abcdeg") << false;
        QTest::newRow("prefix") << QByteArray("abc") << QByteArray("abcdef") << false;
        QTest::newRow("empty vs key") << QByteArray() << QByteArray("abcdef") << false;
        QTest::newRow("both empty") << QByteArray() << QByteArray() << true;
    }
    void constantTimeEqualsCompares()
    {
        QFETCH(QByteArray, a);
        QFETCH(QByteArray, b);
        QFETCH(bool, equal);
        QCOMPARE(constantTimeEquals(a, b), equal);
        QCOMPARE(constantTimeEquals(b, a), equal);
    }
};

QTEST_GUILESS_MAIN(TstApiKey)
#include "tst_apikey.moc"

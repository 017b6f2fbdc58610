#include "core/runtime/datadir.h"

#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace opsdeck;

class TstDataDir : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void createsDirectoryAndExports()
    {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("nested/data"));
        auto dir = DataDir::open(path);
        QVERIFY2(dir.has_value(), qPrintable(dir ? QString() : dir.error().message));
        QVERIFY(QFileInfo((*dir)->exportsPath()).isDir());
        QVERIFY(QFileInfo::exists((*dir)->filePath(QStringLiteral("opsdeck.lock"))));
        QCOMPARE((*dir)->path(), QFileInfo(path).absoluteFilePath());
    }

    void secondOpenInSameProcessIsRefused()
    {
        QTemporaryDir tmp;
        auto first = DataDir::open(tmp.path());
        QVERIFY(first.has_value());
        auto second = DataDir::open(tmp.path());
        QVERIFY(!second.has_value());
        QCOMPARE(second.error().code, QStringLiteral("data_dir_locked"));
        QVERIFY(second.error().message.contains(tmp.path()));
    }

    void lockIsReleasedOnDestruction()
    {
        QTemporaryDir tmp;
        {
            auto first = DataDir::open(tmp.path());
            QVERIFY(first.has_value());
        }
        auto again = DataDir::open(tmp.path());
        QVERIFY(again.has_value());
    }

    void staleLockOfDeadProcessIsTakenOver()
    {
        QTemporaryDir tmp;
        // A lock file left by a process that no longer exists (a crash) must not block a start.
        QProcess shell;
        shell.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), QStringLiteral("exit 0")});
        QVERIFY(shell.waitForFinished());
        const qint64 deadPid = shell.processId() > 0 ? shell.processId() : 999999;
        QFile lock(tmp.filePath(QStringLiteral("opsdeck.lock")));
        QVERIFY(lock.open(QIODevice::WriteOnly));
        lock.write(QByteArray::number(qMax<qint64>(deadPid, 999999)) + "\nopsdeck\n"
                   + QSysInfo::machineHostName().toUtf8() + "\n");
        lock.close();
        auto dir = DataDir::open(tmp.path());
        QVERIFY2(dir.has_value(), qPrintable(dir ? QString() : dir.error().message));
    }

    void unusablePathIsAnError()
    {
        auto dir = DataDir::open(QStringLiteral("/proc/opsdeck-cannot-exist"));
        QVERIFY(!dir.has_value());
        QCOMPARE(dir.error().code, QStringLiteral("data_dir_unusable"));
    }
};

QTEST_GUILESS_MAIN(TstDataDir)
#include "tst_datadir.moc"

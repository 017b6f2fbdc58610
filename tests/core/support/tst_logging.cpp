#include "core/support/logging.h"

#include <QtTest/QtTest>

using namespace opsdeck;

class TstLogging : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void levels_data()
    {
        QTest::addColumn<QString>("level");
        QTest::addColumn<bool>("debug");
        QTest::addColumn<bool>("info");
        QTest::addColumn<bool>("warning");
        QTest::newRow("debug") << QStringLiteral("DEBUG") << true << true << true;
        QTest::newRow("info") << QStringLiteral("info") << false << true << true;
        QTest::newRow("warning") << QStringLiteral("Warning") << false << false << true;
        QTest::newRow("error") << QStringLiteral("ERROR") << false << false << false;
        QTest::newRow("critical") << QStringLiteral("CRITICAL") << false << false << false;
    }
    void levels()
    {
        QFETCH(QString, level);
        QFETCH(bool, debug);
        QFETCH(bool, info);
        QFETCH(bool, warning);
        QVERIFY(applyLogLevel(level).has_value());
        for (const QLoggingCategory *category : {&lcCache(), &lcApi(), &lcMonitor(), &lcHttp()}) {
            QCOMPARE(category->isDebugEnabled(), debug);
            QCOMPARE(category->isInfoEnabled(), info);
            QCOMPARE(category->isWarningEnabled(), warning);
            QVERIFY(category->isCriticalEnabled());
        }
    }

    void categoriesAreNamedPerModule()
    {
        QCOMPARE(QString::fromLatin1(lcCache().categoryName()), QStringLiteral("opsdeck.cache"));
        QCOMPARE(QString::fromLatin1(lcApi().categoryName()), QStringLiteral("opsdeck.api"));
        QCOMPARE(QString::fromLatin1(lcMonitor().categoryName()), QStringLiteral("opsdeck.monitor"));
    }

    void rejectsUnknownLevel()
    {
        const Status status = applyLogLevel(QStringLiteral("chatty"));
        QVERIFY(!status);
        QCOMPARE(status.error().code, QStringLiteral("invalid_log_level"));
        QVERIFY(status.error().message.contains(QStringLiteral("DEBUG, INFO, WARNING, ERROR, CRITICAL")));
    }
};

QTEST_GUILESS_MAIN(TstLogging)
#include "tst_logging.moc"

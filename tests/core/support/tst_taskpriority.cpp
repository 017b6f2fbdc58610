#include "core/support/taskpriority.h"

#include <QtTest/QtTest>

using namespace opsdeck;

class TstTaskPriority : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void names_data()
    {
        QTest::addColumn<int>("priority");
        QTest::addColumn<QString>("name");
        QTest::newRow("critical") << 0 << QStringLiteral("CRITICAL");
        QTest::newRow("high") << 1 << QStringLiteral("HIGH");
        QTest::newRow("normal") << 2 << QStringLiteral("NORMAL");
        QTest::newRow("low") << 3 << QStringLiteral("LOW");
        QTest::newRow("idle") << 4 << QStringLiteral("IDLE");
    }
    void names()
    {
        QFETCH(int, priority);
        QFETCH(QString, name);
        const auto p = static_cast<TaskPriority>(priority);
        QCOMPARE(toString(p), name);
        QVERIFY(taskPriorityFromString(name) == p);
        QVERIFY(taskPriorityFromString(name.toLower()) == p);
        QVERIFY(taskPriorityFromString(QString::number(priority)) == p);
        QCOMPARE(toInt(p), priority);
    }

    void rejectsUnknown_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("empty") << QString();
        QTest::newRow("word") << QStringLiteral("urgent");
        QTest::newRow("negative") << QStringLiteral("-1");
        QTest::newRow("too large") << QStringLiteral("5");
    }
    void rejectsUnknown()
    {
        QFETCH(QString, text);
        QVERIFY(!taskPriorityFromString(text).has_value());
    }

    void raisedMovesOneLevelUp()
    {
        QVERIFY(raised(TaskPriority::Idle) == TaskPriority::Low);
        QVERIFY(raised(TaskPriority::High) == TaskPriority::Critical);
        QVERIFY(raised(TaskPriority::Critical) == TaskPriority::Critical);
    }
};

QTEST_GUILESS_MAIN(TstTaskPriority)
#include "tst_taskpriority.moc"

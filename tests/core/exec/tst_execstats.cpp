#include "core/exec/execstats.h"

#include <QtTest/QtTest>

using namespace opsdeck;
using namespace opsdeck::exec;

class TestExecStats : public QObject
{
    Q_OBJECT
private slots:
    void jsonUsesTheIssueNames()
    {
        ExecStats s;
        s.running = true;
        s.queuedTasks = 3;
        s.queuedByPriority[0] = 1;
        s.queuedByPriority[4] = 2;
        s.runningTasks = 2;
        s.agentsTracked = 4;
        s.agentsSeenTotal = 7;
        s.tasksCompleted = 10;
        s.tasksFailed = 1;
        s.tasksTimedOut = 2;
        s.tasksExpired = 3;
        s.tasksOverrunning = 1;
        s.cyclesSkipped = 5;
        s.averageExecutionTime = 0.25;
        LatencyHistogram h;
        h.record(2'000'000);
        s.queueWait[0] = h.snapshot();
        AgentCycleStats a;
        a.agentId = QStringLiteral("mm1");
        s.agents.append(a);
        s.schedulerStats = QJsonObject{{QStringLiteral("tracked_keys"), 1}};
        const QJsonObject j = s.toJson();
        QCOMPARE(j.value(QStringLiteral("running")).toBool(), true);
        QCOMPARE(j.value(QStringLiteral("queued_tasks")).toInt(), 3);
        const QJsonObject byPriority = j.value(QStringLiteral("queued_by_priority")).toObject();
        QCOMPARE(byPriority.value(QStringLiteral("CRITICAL")).toInt(), 1);
        QCOMPARE(byPriority.value(QStringLiteral("IDLE")).toInt(), 2);
        QCOMPARE(j.value(QStringLiteral("running_tasks")).toInt(), 2);
        QCOMPARE(j.value(QStringLiteral("agents_tracked")).toInt(), 4);
        QCOMPARE(j.value(QStringLiteral("agents_seen_total")).toInt(), 7);
        QCOMPARE(j.value(QStringLiteral("tasks_completed")).toInt(), 10);
        QCOMPARE(j.value(QStringLiteral("tasks_failed")).toInt(), 1);
        QCOMPARE(j.value(QStringLiteral("tasks_timed_out")).toInt(), 2);
        QCOMPARE(j.value(QStringLiteral("tasks_expired")).toInt(), 3);
        QCOMPARE(j.value(QStringLiteral("tasks_overrunning")).toInt(), 1);
        QCOMPARE(j.value(QStringLiteral("cycles_skipped")).toInt(), 5);
        QCOMPARE(j.value(QStringLiteral("average_execution_time")).toDouble(), 0.25);
        const QJsonObject wait = j.value(QStringLiteral("queue_wait_ms")).toObject();
        QCOMPARE(wait.value(QStringLiteral("CRITICAL"))
                     .toObject()
                     .value(QStringLiteral("count"))
                     .toInt(),
                 1);
        QVERIFY(qAbs(wait.value(QStringLiteral("CRITICAL"))
                         .toObject()
                         .value(QStringLiteral("p99"))
                         .toDouble()
                     - 2.0)
                < 0.01);
        QVERIFY(j.value(QStringLiteral("run_time_ms")).toObject().contains(QStringLiteral("LOW")));
        QCOMPARE(j.value(QStringLiteral("agents"))
                     .toArray()
                     .first()
                     .toObject()
                     .value(QStringLiteral("agent_id"))
                     .toString(),
                 QStringLiteral("mm1"));
        QCOMPARE(j.value(QStringLiteral("scheduler_stats"))
                     .toObject()
                     .value(QStringLiteral("tracked_keys"))
                     .toInt(),
                 1);
    }

    void taskInfoJson()
    {
        TaskInfo info;
        info.id = 42;
        info.agentId = QStringLiteral("a");
        info.taskType = QStringLiteral("stop_loss");
        info.priority = TaskPriority::Critical;
        info.state = TaskState::TimedOut;
        const QJsonObject j = info.toJson();
        QCOMPARE(j.value(QStringLiteral("id")).toInt(), 42);
        QCOMPARE(j.value(QStringLiteral("priority")).toString(), QStringLiteral("CRITICAL"));
        QCOMPARE(j.value(QStringLiteral("state")).toString(), QStringLiteral("timed_out"));
        QCOMPARE(j.value(QStringLiteral("task_type")).toString(), QStringLiteral("stop_loss"));
    }
};

QTEST_GUILESS_MAIN(TestExecStats)
#include "tst_execstats.moc"

#include "core/monitor/monitorpipeline.h"

#include "core/monitor/alertengine.h"
#include "core/monitor/eventlog.h"
#include "core/monitor/historystore.h"
#include "core/monitor/metricsjson.h"
#include "core/monitor/performancemonitor.h"
#include "core/support/logging.h"

#include <QtCore/QJsonDocument>

namespace opsdeck {

void connectMonitorPipeline(PerformanceMonitor &monitor,
                            HistoryStore &history,
                            AlertEngine &alerts,
                            EventLog *events)
{
    if (events) {
        const auto log = [events](const char *type) {
            return [events, type](const Alert &alert) {
                events->append(QString::fromLatin1(type), alert.toJson());
            };
        };
        QObject::connect(&alerts, &AlertEngine::alertRaised, &alerts, log("alert_raised"),
                         Qt::DirectConnection);
        QObject::connect(&alerts, &AlertEngine::alertResolved, &alerts, log("alert_resolved"),
                         Qt::DirectConnection);
        QObject::connect(&alerts, &AlertEngine::alertChanged, &alerts, log("alert_acknowledged"),
                         Qt::DirectConnection);
        QObject::connect(
            &alerts, &AlertEngine::alertsCleared, &alerts,
            [events](int removed) {
                events->append(QStringLiteral("alerts_cleared"), {{QStringLiteral("removed"), removed}});
            },
            Qt::DirectConnection);
    }
    QObject::connect(
        &monitor, &PerformanceMonitor::snapshotPublished, &monitor,
        [history = &history, alerts = &alerts](const SnapshotPtr &snapshot) {
            if (!snapshot)
                return;
            if (history->isOpen()) {
                QList<QPair<QString, QByteArray>> rows;
                for (const QString &category : metricsjson::categories()) {
                    rows.append({category,
                                 QJsonDocument(metricsjson::currentSampleJson(*snapshot, category))
                                     .toJson(QJsonDocument::Compact)});
                }
                if (Status written = history->appendTick(snapshot->timestampMs, rows,
                                                         snapshot->latestValues);
                    !written) {
                    qCWarning(lcMonitor, "History: %s", qUtf8Printable(written.error().message));
                }
            }
            alerts->evaluate(snapshot->latestValues, snapshot->timestampMs);
        },
        Qt::DirectConnection);
}

} // namespace opsdeck

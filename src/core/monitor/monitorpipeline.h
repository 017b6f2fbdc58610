// The monitor's per-tick pipeline: every published snapshot is written to history.db and
// evaluated by the alert rules in the monitor thread (a direct connection, so a tick is stored
// and judged before the next one is taken), and alert changes become events for GET /events.
// Used by the Runtime and by the monitor soak benchmark, so both run exactly this path.
#pragma once

namespace opsdeck {

class AlertEngine;
class EventLog;
class HistoryStore;
class PerformanceMonitor;

// The objects must outlive the connections (the Runtime disconnects in stop()). `events` may be
// null. A closed HistoryStore is skipped; alerts are evaluated regardless.
void connectMonitorPipeline(PerformanceMonitor &monitor,
                            HistoryStore &history,
                            AlertEngine &alerts,
                            EventLog *events);

} // namespace opsdeck

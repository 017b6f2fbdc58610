# alerts sources of opsdeck_core (target_sources(opsdeck_core PRIVATE ...)).
# AlertRule/Alert (data), AlertEngine (episodes, rules), HistoryStore (history.db), and the
# per-tick pipeline that feeds both.
target_sources(opsdeck_core PRIVATE
    monitor/alertrule.h monitor/alertrule.cpp
    monitor/alertengine.h monitor/alertengine.cpp
    monitor/historystore.h monitor/historystore.cpp
    monitor/monitorpipeline.h monitor/monitorpipeline.cpp)

# alerts sources of opsdeck_core (target_sources(opsdeck_core PRIVATE ...)).
# AlertRule/Alert (data), AlertEngine (episodes, rules), HistoryStore (history.db).
target_sources(opsdeck_core PRIVATE
    monitor/alertrule.h monitor/alertrule.cpp
    monitor/alertengine.h monitor/alertengine.cpp
    monitor/historystore.h monitor/historystore.cpp)

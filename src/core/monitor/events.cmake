# events sources of opsdeck_core (target_sources(opsdeck_core PRIVATE ...)).
target_sources(opsdeck_core PRIVATE
    monitor/eventlog.h monitor/eventlog.cpp
)

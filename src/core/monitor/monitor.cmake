# monitor sources of opsdeck_core (target_sources(opsdeck_core PRIVATE ...)).
target_sources(opsdeck_core PRIVATE
    monitor/metricvalues.h
)

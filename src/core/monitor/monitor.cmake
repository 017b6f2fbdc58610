# monitor sources of opsdeck_core (target_sources(opsdeck_core PRIVATE ...)).
target_sources(opsdeck_core PRIVATE
    monitor/metricvalues.h
    monitor/sampleseries.h
    monitor/cachesample.h
    monitor/httpsample.h
    monitor/executionsample.h
    monitor/metricssources.h
    monitor/metricssampling.h monitor/metricssampling.cpp
)

# Execution engine (issue 5): priority queues over the engine's own QThreadPool, one deadline heap
# on one precise timer, periodic agent cycles, the adaptive scheduler, stats.
target_sources(opsdeck_core PRIVATE
    exec/blockpool.h
    exec/cancellationtoken.h exec/cancellationtoken.cpp
    exec/tasktypes.h
    exec/execstats.h exec/execstats.cpp
    exec/agent.h exec/agent.cpp
    exec/adaptivescheduler.h exec/adaptivescheduler.cpp
    exec/threadslice.h exec/threadslice.cpp
    exec/executionengine.h exec/executionengine.cpp
)

# Trace generators, hit-ratio replay and the offline optimum (shared by bench_cache and the CLIs).
target_sources(opsdeck_core PRIVATE
    perf/tracegenerator.h perf/tracegenerator.cpp
    perf/hitratiosimulator.h perf/hitratiosimulator.cpp)

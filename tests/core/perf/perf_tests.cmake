# tst_tracegenerator, tst_hitratiosimulator (src/core/perf).
opsdeck_add_test(tst_tracegenerator SOURCES perf/tst_tracegenerator.cpp)
opsdeck_add_test(tst_hitratiosimulator SOURCES perf/tst_hitratiosimulator.cpp)

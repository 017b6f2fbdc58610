# cache benchmark library tests: tst_runinfo (run info, baselines, progress throttle shared by both
# performance tools) and tst_cachebenchmark (the benchmark on real SQLite files, trace mode).
opsdeck_add_test(tst_runinfo SOURCES perf/tst_runinfo.cpp)
opsdeck_add_test(tst_cachebenchmark SOURCES perf/tst_cachebenchmark.cpp TIMEOUT 300)

# Load tester library tests (src/core/perf/loadtest*: opsdeck_perf_load).
opsdeck_add_test(tst_loadtestschedule SOURCES perf/tst_loadtestschedule.cpp LIBS opsdeck_perf_load)
opsdeck_add_test(tst_loadtestrunner SOURCES perf/tst_loadtestrunner.cpp perf/loadtestscripted.h LIBS opsdeck_perf_load)
opsdeck_add_test(tst_loadtestresult SOURCES perf/tst_loadtestresult.cpp perf/loadtestscripted.h
    perf/loadtestschemacheck.h LIBS opsdeck_perf_load)
target_compile_definitions(tst_loadtestresult PRIVATE OPSDECK_SCHEMA_DIR="${PROJECT_SOURCE_DIR}/docs/schemas")
# Real sockets and real time: the components against the fault server, the asynchronous drivers,
# the open model's rate on the real clock.
opsdeck_add_test(tst_loadtestcomponents SOURCES perf/tst_loadtestcomponents.cpp
    LIBS opsdeck_perf_load opsdeck_testsupport TIMING)
# The load tester's own HTTP client: its parser, and real sockets against the fault server.
opsdeck_add_test(tst_loadhttpclient SOURCES perf/tst_loadhttpclient.cpp
    LIBS opsdeck_perf_load opsdeck_testsupport)

# opsdeck-loadtest tests: the built binary in a subprocess (its path compiled in).
opsdeck_add_test(tst_loadtestcli SOURCES tst_loadtestcli.cpp ../core/perf/loadtestschemacheck.h TIMEOUT 600)
target_compile_definitions(tst_loadtestcli PRIVATE
    OPSDECK_LOADTEST_BIN="$<TARGET_FILE:opsdeck-loadtest>"
    OPSDECK_SCHEMA_DIR="${PROJECT_SOURCE_DIR}/docs/schemas")
add_dependencies(tst_loadtestcli opsdeck-loadtest)
# The self-check runs about 10 s of real time against the embedded simulator with a stall.
opsdeck_add_test(tst_loadtestselfcheck SOURCES tst_loadtestselfcheck.cpp TIMING TIMEOUT 300)
target_compile_definitions(tst_loadtestselfcheck PRIVATE OPSDECK_LOADTEST_BIN="$<TARGET_FILE:opsdeck-loadtest>")
add_dependencies(tst_loadtestselfcheck opsdeck-loadtest)

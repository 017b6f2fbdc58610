# opsdeck-cachebench tests: tst_clicommon (the shared CLI pieces) and tst_cachebench_cli
# (subprocess runs of the built binary; validates real output with /usr/bin/python3 jsonschema).
opsdeck_add_test(tst_clicommon SOURCES tst_clicommon.cpp LIBS opsdeck_clicommon)
opsdeck_add_test(tst_cachebench_cli SOURCES tst_cachebench_cli.cpp TIMEOUT 600)
add_dependencies(tst_cachebench_cli opsdeck-cachebench)
target_compile_definitions(tst_cachebench_cli PRIVATE
    OPSDECK_CACHEBENCH="$<TARGET_FILE:opsdeck-cachebench>"
    OPSDECK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

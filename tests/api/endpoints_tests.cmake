# Endpoint tests: opsdeck_add_test(...) lines.
opsdeck_add_test(tst_endpoints SOURCES tst_endpoints.cpp LIBS opsdeck_api opsdeck_testsupport TIMING)
target_compile_definitions(tst_endpoints PRIVATE OPSDECK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

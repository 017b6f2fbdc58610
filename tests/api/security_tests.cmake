# Security tests: opsdeck_add_test(...) lines.
opsdeck_add_test(tst_apikey SOURCES tst_apikey.cpp LIBS opsdeck_api)
opsdeck_add_test(tst_apiauth SOURCES tst_apiauth.cpp LIBS opsdeck_api)
opsdeck_add_test(tst_apisecurity SOURCES tst_apisecurity.cpp LIBS opsdeck_api opsdeck_testsupport TIMING)
target_compile_definitions(tst_apisecurity PRIVATE OPSDECK_TLS_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")

# opsdeck-loadtest (issue 8): the load tester's CLI over opsdeck_perf_load (core + market; never
# Gui or Widgets). The library is defined in src/core/perf/loadtest.cmake, included here because
# it needs opsdeck_market, which exists only once src/market has been processed.
include(${PROJECT_SOURCE_DIR}/src/core/perf/loadtest.cmake)

add_executable(opsdeck-loadtest opsdeck_loadtest.cpp)
target_link_libraries(opsdeck-loadtest PRIVATE opsdeck_perf_load opsdeck_clicommon opsdeck_flags)
install(TARGETS opsdeck-loadtest RUNTIME DESTINATION bin)

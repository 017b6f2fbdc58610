# Load tester library (issue 8): opsdeck_perf_load = core + market (its http component starts the
# embedded simulator in-process), never Gui or Widgets. opsdeck_core cannot link opsdeck_market,
# so this is its own library; src/cli/loadtest.cmake includes this file after src/market exists.
# Paths are relative to this file (it is included from another directory).
set(_lt ${CMAKE_CURRENT_LIST_DIR})
add_library(opsdeck_perf_load STATIC
    ${_lt}/loadtestconfig.h ${_lt}/loadtestconfig.cpp
    ${_lt}/loadtestschedule.h ${_lt}/loadtestschedule.cpp
    ${_lt}/loadtestcomponent.h ${_lt}/loadtestcomponent.cpp
    ${_lt}/loadhttpclient.h ${_lt}/loadhttpclient.cpp
    ${_lt}/loadtestcomponents.h ${_lt}/loadtestcomponents.cpp
    ${_lt}/loadtestrecorder.h ${_lt}/loadtestrecorder.cpp
    ${_lt}/loadtestrunner.h ${_lt}/loadtestrunner.cpp
    ${_lt}/loadtestresult.h ${_lt}/loadtestresult.cpp
    ${_lt}/loadtestselfcheck.h ${_lt}/loadtestselfcheck.cpp
)
add_library(OpsDeck::PerfLoad ALIAS opsdeck_perf_load)
target_link_libraries(opsdeck_perf_load PUBLIC opsdeck_core opsdeck_market opsdeck_flags)
unset(_lt)

# monitor_tests: opsdeck_add_test(...) lines.
opsdeck_add_test(tst_sampleseries SOURCES monitor/tst_sampleseries.cpp)
opsdeck_add_test(tst_monitorwiring SOURCES monitor/tst_monitorwiring.cpp)

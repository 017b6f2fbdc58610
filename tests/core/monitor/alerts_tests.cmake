# alerts_tests: opsdeck_add_test(...) lines.
opsdeck_add_test(tst_alertrule SOURCES monitor/tst_alertrule.cpp)
opsdeck_add_test(tst_alertengine SOURCES monitor/tst_alertengine.cpp)
opsdeck_add_test(tst_historystore SOURCES monitor/tst_historystore.cpp LIBS SQLite::SQLite3)

opsdeck_add_test(tst_memorytier SOURCES cache/tst_memorytier.cpp)

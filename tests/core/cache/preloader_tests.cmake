# tst_accesspredictor (pure learning logic), tst_preloader (scheduling, retries, stop, learning
# through a fake target; TIMING for its two real-time bounds: stop and destruction within 100 ms).
opsdeck_add_test(tst_accesspredictor SOURCES cache/tst_accesspredictor.cpp)
opsdeck_add_test(tst_preloader SOURCES cache/tst_preloader.cpp LIBS opsdeck_testsupport TIMING)

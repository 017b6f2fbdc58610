# HTTP pool tests: one executable per class. Pure logic runs on a ManualClock; tst_httppool uses
# the FaultServer and real time (TIMING: serial, tolerances scaled by OPSDECK_TIME_FACTOR).
opsdeck_add_test(tst_httpdate SOURCES http/tst_httpdate.cpp)
opsdeck_add_test(tst_httprequest SOURCES http/tst_httprequest.cpp)
opsdeck_add_test(tst_httpresponse SOURCES http/tst_httpresponse.cpp)
opsdeck_add_test(tst_ratelimiter SOURCES http/tst_ratelimiter.cpp)
opsdeck_add_test(tst_retrypolicy SOURCES http/tst_retrypolicy.cpp)
opsdeck_add_test(tst_retrybudget SOURCES http/tst_retrybudget.cpp)
opsdeck_add_test(tst_circuitbreaker SOURCES http/tst_circuitbreaker.cpp)
opsdeck_add_test(tst_httpstatsrecorder SOURCES http/tst_httpstatsrecorder.cpp)
opsdeck_add_test(tst_httppool SOURCES http/tst_httppool.cpp LIBS opsdeck_testsupport TIMING)

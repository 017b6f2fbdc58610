# Execution engine tests (issue 5): one executable per class. Time-dependent logic runs on a
# ManualClock driven through ExecutionEngine::processDueWork(); tst_executionengine also checks
# stop()'s real-time 1 s bound and the real precise timer, so it is TIMING (serial, scaled).
opsdeck_add_test(tst_cancellationtoken SOURCES exec/tst_cancellationtoken.cpp)
opsdeck_add_test(tst_adaptivescheduler SOURCES exec/tst_adaptivescheduler.cpp)
opsdeck_add_test(tst_agent SOURCES exec/tst_agent.cpp)
opsdeck_add_test(tst_execstats SOURCES exec/tst_execstats.cpp)
opsdeck_add_test(tst_executionengine SOURCES exec/tst_executionengine.cpp exec/gate.h
    LIBS opsdeck_testsupport TIMING)

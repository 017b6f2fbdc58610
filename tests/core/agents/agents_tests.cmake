# Trading agent tests (issue 6): one executable per class (the three pure strategies share one).
# Recorded market data in the Binance shapes lives in agents/data/ (OPSDECK_AGENTS_TEST_DATA).
# Tests that talk to the FaultServer on loopback use real time: TIMING (serial, scaled).
set(_agents_data "${CMAKE_CURRENT_SOURCE_DIR}/agents/data")
opsdeck_add_test(tst_marketdata SOURCES agents/tst_marketdata.cpp agents/agenttestdata.h)
opsdeck_add_test(tst_marketdataclient SOURCES agents/tst_marketdataclient.cpp agents/agenttestdata.h
    LIBS opsdeck_testsupport TIMING)
opsdeck_add_test(tst_paperportfolio SOURCES agents/tst_paperportfolio.cpp agents/agenttestdata.h)
opsdeck_add_test(tst_marketconditiontracker SOURCES agents/tst_marketconditiontracker.cpp
    agents/agenttestdata.h)
opsdeck_add_test(tst_agentstrategies SOURCES agents/tst_agentstrategies.cpp agents/agenttestdata.h)
opsdeck_add_test(tst_tradingagents SOURCES agents/tst_tradingagents.cpp agents/agenttestdata.h
    LIBS opsdeck_testsupport TIMING)
opsdeck_add_test(tst_agentregistry SOURCES agents/tst_agentregistry.cpp)
foreach(_t tst_marketdata tst_marketdataclient tst_paperportfolio tst_marketconditiontracker
        tst_agentstrategies tst_tradingagents tst_agentregistry)
    target_compile_definitions(${_t} PRIVATE OPSDECK_AGENTS_TEST_DATA="${_agents_data}")
endforeach()

# The agents against the real embedded simulator (opsdeck_market), when it is part of the build.
if(TARGET opsdeck_market)
    opsdeck_add_test(tst_agentsonsimulator SOURCES agents/tst_agentsonsimulator.cpp
        LIBS opsdeck_market opsdeck_testsupport TIMING)
endif()

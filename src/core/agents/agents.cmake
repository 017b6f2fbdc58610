# Trading agents (issue 6): market data through the cache and the HTTP pool, the shared paper
# portfolio (portfolio.db), the built-in agents on exec::Agent, the registry, the market-condition
# source of the adaptive scheduler.
target_sources(opsdeck_core PRIVATE
    agents/marketdata.h agents/marketdata.cpp
    agents/marketdataclient.h agents/marketdataclient.cpp
    agents/paperportfolio.h agents/paperportfolio.cpp
    agents/marketconditiontracker.h agents/marketconditiontracker.cpp
    agents/agentoptions.h agents/agentoptions.cpp
    agents/marketmakerstrategy.h agents/marketmakerstrategy.cpp
    agents/momentumstrategy.h agents/momentumstrategy.cpp
    agents/stoplossrule.h agents/stoplossrule.cpp
    agents/tradingagent.h agents/tradingagent.cpp
    agents/marketmakeragent.h agents/marketmakeragent.cpp
    agents/momentumagent.h agents/momentumagent.cpp
    agents/stoplossguardianagent.h agents/stoplossguardianagent.cpp
    agents/agentregistry.h agents/agentregistry.cpp
)

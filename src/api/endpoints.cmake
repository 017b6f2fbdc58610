# REST endpoints beyond the foundation (target_sources(opsdeck_api PRIVATE ...)).
target_sources(opsdeck_api PRIVATE
    apicontrols.h apicontrols.cpp
    endpoint.h endpoint.cpp
    routehelpers.h
    longpoll.h longpoll.cpp
    monitoringroutes.cpp
    opsroutes.cpp
    prometheus.h prometheus.cpp
    openapi.cpp
    configrequest.h configrequest.cpp
)

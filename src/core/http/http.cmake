# The HTTP pool (issue 4): QNAM worker threads behind an exact in-flight limit, priority lanes,
# per-api rate limiters, retries, circuit breakers and stats.
target_sources(opsdeck_core PRIVATE
    http/httprequest.h http/httprequest.cpp
    http/httpresponse.h http/httpresponse.cpp
    http/httpdate.h http/httpdate.cpp
    http/ratelimiter.h http/ratelimiter.cpp
    http/retrypolicy.h http/retrypolicy.cpp
    http/retrybudget.h http/retrybudget.cpp
    http/circuitbreaker.h http/circuitbreaker.cpp
    http/httppoolsettings.h http/httppoolsettings.cpp
    http/httppoolstats.h http/httppoolstats.cpp
    http/httpstatsrecorder.h http/httpstatsrecorder.cpp
    http/httpattempt.h
    http/systemproxyfactory.h http/systemproxyfactory.cpp
    http/httpworker.h http/httpworker.cpp
    http/httpdispatcher.h http/httpdispatcher.cpp
    http/httppool.h http/httppool.cpp
)

# API security: key, auth, TLS (target_sources(opsdeck_api PRIVATE ...)).
target_sources(opsdeck_api PRIVATE
    connectionguard.h connectionguard.cpp
    guardedsslserver.h guardedsslserver.cpp
    apikey.h apikey.cpp
    apiauth.h apiauth.cpp
    replysender.h replysender.cpp
)

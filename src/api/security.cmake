# API security: key, auth, TLS (target_sources(opsdeck_api PRIVATE ...)).

target_sources(opsdeck_core PRIVATE cache/cachemanager.h cache/cachemanager.cpp)

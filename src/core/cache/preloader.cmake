# Preloader: periodic and startup preload tasks plus the access predictor that refreshes hot keys
# before they expire; PreloadTarget is its view of the cache, CachePreloadTarget the CacheManager
# adaptor.
target_sources(opsdeck_core PRIVATE
    cache/preloadtarget.h
    cache/cachepreloadtarget.h cache/cachepreloadtarget.cpp
    cache/accesspredictor.h cache/accesspredictor.cpp
    cache/preloader.h cache/preloader.cpp)

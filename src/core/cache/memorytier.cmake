# The memory tier and its internals (see memorytier.h).
target_sources(opsdeck_core PRIVATE
    cache/memorytier.h cache/memorytier.cpp
    cache/memoryentry.h
    cache/memoryshard.h cache/memoryshard.cpp
    cache/shardlock.h
    cache/entrytable.h cache/entrytable.cpp
    cache/orderedkeys.h cache/orderedkeys.cpp
    cache/evictionpolicy.h cache/evictionpolicy.cpp
    cache/frequencysketch.h cache/frequencysketch.cpp
    cache/timerwheel.h cache/timerwheel.cpp)

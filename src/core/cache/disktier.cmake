# DiskTier: the SQLite disk tier of the cache, and its small libsqlite3 wrapper.
target_sources(opsdeck_core PRIVATE
    cache/disktier.h cache/disktier.cpp
    cache/sqlitedb.h cache/sqlitedb.cpp)

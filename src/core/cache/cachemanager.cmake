# CacheManager, Preloader and the executor interface (added with them).

# Cache benchmark library sources (target_sources(opsdeck_core PRIVATE ...)), and the run info
# both performance tools record (runinfo: version, build type, commit, machine, baselines).
target_sources(opsdeck_core PRIVATE
    perf/runinfo.h perf/runinfo.cpp
    perf/cachebenchmark.h perf/cachebenchmark.cpp)
# The commit and build type only on runinfo.cpp, so a new commit recompiles one file.
set_source_files_properties(perf/runinfo.cpp PROPERTIES COMPILE_DEFINITIONS
    "OPSDECK_GIT_COMMIT=\"${OPSDECK_GIT_COMMIT}\";OPSDECK_BUILD_TYPE=\"$<CONFIG>\"")

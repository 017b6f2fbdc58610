# tst_disktier, and the child process it kills with SIGKILL in the middle of a write stream.
add_executable(disktier_crashwriter cache/disktier_crashwriter.cpp)
target_link_libraries(disktier_crashwriter PRIVATE opsdeck_core)
opsdeck_add_test(tst_disktier SOURCES cache/tst_disktier.cpp LIBS SQLite::SQLite3 TIMEOUT 300)
add_dependencies(tst_disktier disktier_crashwriter)
target_compile_definitions(tst_disktier PRIVATE
    OPSDECK_DISKTIER_CRASHWRITER="$<TARGET_FILE:disktier_crashwriter>")

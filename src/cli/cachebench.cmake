# opsdeck_clicommon: the flag parsing, selectors, exit codes, progress line and CSV writer that
# opsdeck-cachebench and opsdeck-loadtest share (Qt Core only, never Gui or Widgets).
add_library(opsdeck_clicommon STATIC clicommon.h clicommon.cpp)
target_link_libraries(opsdeck_clicommon PUBLIC opsdeck_core opsdeck_flags)

# opsdeck-cachebench
# opsdeck-cachebench: QCoreApplication only; links core and clicommon, never Gui or Widgets.
add_executable(opsdeck-cachebench opsdeck_cachebench.cpp)
target_link_libraries(opsdeck-cachebench PRIVATE opsdeck_core opsdeck_clicommon opsdeck_flags)
install(TARGETS opsdeck-cachebench RUNTIME DESTINATION bin)

# monitor_tests: opsdeck_add_test(...) lines.

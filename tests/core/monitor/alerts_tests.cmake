# alerts_tests: opsdeck_add_test(...) lines.

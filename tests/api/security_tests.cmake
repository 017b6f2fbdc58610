# Security tests: opsdeck_add_test(...) lines.

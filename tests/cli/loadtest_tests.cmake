# opsdeck-loadtest tests

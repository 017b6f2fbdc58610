# opsdeck-cachebench tests

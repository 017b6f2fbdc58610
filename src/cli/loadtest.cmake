# opsdeck-loadtest

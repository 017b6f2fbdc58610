# opsdeck-cachebench

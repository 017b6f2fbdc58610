# Load tester library sources. It needs the market simulator, so it is its own library
# (opsdeck_perf_load: core + market) defined here when it exists.

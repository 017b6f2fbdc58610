# The memory tier (in progress) lists its sources here.

# The disk tier (in progress) lists its sources here.

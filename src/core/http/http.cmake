# The HTTP pool (issue 4) lists its sources here.

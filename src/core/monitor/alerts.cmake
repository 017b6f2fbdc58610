# alerts sources of opsdeck_core (target_sources(opsdeck_core PRIVATE ...)).

# REST endpoints beyond the foundation (target_sources(opsdeck_api PRIVATE ...)).

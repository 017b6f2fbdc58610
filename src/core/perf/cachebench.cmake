# Cache benchmark library sources (target_sources(opsdeck_core PRIVATE ...)).

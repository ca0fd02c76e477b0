"""Real telemetry sources that produce landing datasets (DESIGN.md, "Landing datasets")."""

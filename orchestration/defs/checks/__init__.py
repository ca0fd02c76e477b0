"""Data-quality gates: Great Expectations suites on the marts, source health on landing, the quality report.

Modules: `outcome` (one check's result), `gx_runner` (GX 1.x validation of a DataFrame, imported lazily),
`mart_suites` (the suites as data), `mart_checks` and `source_checks` (the Dagster asset checks),
`source_health` (pure functions over the landing files), `report` (writes the `quality.check_results` table;
the deck reads it with `deck_assets.quality.quality_summary`).
"""

"""The Dagster code location: `dagster dev` and `dagster asset materialize` load `defs` from here
(through `[tool.dagster]` in pyproject.toml, or `workspace.yaml`)."""

import dagster as dg

from orchestration.defs import resources, schedules
from orchestration.defs.assets import deck, ingestion, warehouse
from orchestration.defs.checks import mart_checks, source_checks

defs = dg.Definitions(
    assets=[
        ingestion.landing,
        ingestion.landing_config,
        ingestion.landing_experiments,
        warehouse.warehouse_inputs,
        warehouse.warehouse_daily,
        warehouse.warehouse_models,
        deck.deck,
        deck.deck_preview,
    ],
    asset_checks=[deck.deck_checks, mart_checks.mart_expectations, source_checks.source_health_checks],
    jobs=[schedules.daily_refresh_job, schedules.warehouse_rebuild_job],
    schedules=[schedules.daily_refresh_schedule],
    resources=resources.build(),
    # One process per run: the DuckDB warehouse has one writer, and dbt/Dagster imports are paid once.
    executor=dg.in_process_executor,
)

"""The Dagster code location: `dagster dev` and `dagster asset materialize` load `defs` from here
(through `[tool.dagster]` in pyproject.toml, or `workspace.yaml`)."""

from orchestration.environment import configure

configure()

import dagster as dg  # noqa: E402

from orchestration.defs import resources, schedules  # noqa: E402
from orchestration.defs.assets import deck, ingestion, warehouse  # noqa: E402

defs = dg.Definitions(
    assets=[
        ingestion.landing,
        ingestion.landing_config,
        warehouse.warehouse_inputs,
        warehouse.warehouse_daily,
        warehouse.warehouse_models,
        deck.deck,
    ],
    jobs=[schedules.daily_refresh_job],
    schedules=[schedules.daily_refresh_schedule],
    resources=resources.build(),
    # One process per run: the DuckDB warehouse has one writer, and dbt/Dagster imports are paid once.
    executor=dg.in_process_executor,
)

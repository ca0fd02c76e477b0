"""Daily partitions (UTC days) from the first day the configured source has data."""

from __future__ import annotations

import os

import dagster as dg

from ingestion.simulator.scenario import load_scenario


def scenario_ref() -> str:
    """The simulated-cluster scenario that feeds the pipeline (a bundled name or a YAML path), read per run."""
    return os.environ.get("GPU_EFF_SCENARIO", "demo")


# Partitions start on the first day of the scenario configured when the code location loads.
daily = dg.DailyPartitionsDefinition(start_date=load_scenario(scenario_ref()).start_date.isoformat(), timezone="UTC")

# Tag of every daily-partitioned asset, so that `--select 'tag:partitioning=daily'` finds them.
DAILY_TAG = {"partitioning": "daily"}

# Steps that open the DuckDB warehouse share this pool; the instance allows one step at a time in it.
WAREHOUSE_POOL = "duckdb_warehouse"

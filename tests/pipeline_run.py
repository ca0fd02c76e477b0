"""Run the whole pipeline (landing → dbt → deck) in-process through Dagster, for one scenario."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from ingestion.simulator.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def environment(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_pipeline(scenario: str, data_dir: Path) -> dg.ExecuteInProcessResult:
    """One run of the daily_refresh job over every day of the scenario (a single-run backfill)."""
    return run_job("daily_refresh", scenario, data_dir)


def run_rebuild(scenario: str, data_dir: Path) -> dg.ExecuteInProcessResult:
    """One run of the warehouse_rebuild job over every day of the scenario, from the landing Parquet."""
    return run_job("warehouse_rebuild", scenario, data_dir)


def run_job(name: str, scenario: str, data_dir: Path) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    days = load_scenario(scenario).dates()
    with environment(GPU_EFF_SCENARIO=scenario, GPU_EFF_DATA_DIR=str(data_dir)), dg.instance_for_test() as instance:
        return defs.resolve_job_def(name).execute_in_process(
            instance=instance,
            tags={"dagster/asset_partition_range_start": days[0].isoformat(),
                  "dagster/asset_partition_range_end": days[-1].isoformat()},
        )


def run_config(config: Path, data_dir: Path, days: list) -> dg.ExecuteInProcessResult:
    """One run of the daily_refresh job over `days` with the configuration file `config` (GPU_EFF_CONFIG)."""
    from orchestration.definitions import defs

    with environment(GPU_EFF_CONFIG=str(config), GPU_EFF_DATA_DIR=str(data_dir)), \
            dg.instance_for_test() as instance:
        return defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=instance,
            tags={"dagster/asset_partition_range_start": days[0].isoformat(),
                  "dagster/asset_partition_range_end": days[-1].isoformat()},
        )


def mart(data_dir: Path, name: str, order_by: str) -> pd.DataFrame:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"select * from marts.{name} order by {order_by}").df()

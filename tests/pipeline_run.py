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


def ephemeral_instance() -> dg.DagsterInstance:
    """The Dagster instance of a test run: in memory. Its runs' events are not written to SQLite one transaction at
    a time, which took ~11 s of a tiny run's 58 s; a run's result still holds every event."""
    return dg.DagsterInstance.ephemeral()


# What a test that reads only the marts (or the deck's numbers) leaves out of its run: the deck's LibreOffice
# preview (~7 s of a run), which the tiny pipeline's tests and tests/test_deck_preview.py cover.
WITHOUT_PREVIEW = ("deck_preview",)
# ... and a test of the dbt warehouse alone: the expectations and the deck too.
WAREHOUSE_ONLY = ("mart_expectations", "deck", "deck_preview")


def run_pipeline(scenario: str, data_dir: Path, without: tuple[str, ...] = ()) -> dg.ExecuteInProcessResult:
    """One run of the daily_refresh job over every day of the scenario (a single-run backfill), every asset but
    `without`."""
    return run_job("daily_refresh", scenario, data_dir, without)


def run_rebuild(scenario: str, data_dir: Path, without: tuple[str, ...] = ()) -> dg.ExecuteInProcessResult:
    """One run of the warehouse_rebuild job over every day of the scenario, from the landing Parquet."""
    return run_job("warehouse_rebuild", scenario, data_dir, without)


def run_job(name: str, scenario: str, data_dir: Path, without: tuple[str, ...] = ()) -> dg.ExecuteInProcessResult:
    with environment(GPU_EFF_SCENARIO=scenario, GPU_EFF_DATA_DIR=str(data_dir)):
        return _execute(name, load_scenario(scenario).dates(), without)


def run_config(config: Path, data_dir: Path, days: list, without: tuple[str, ...] = ()) -> dg.ExecuteInProcessResult:
    """One run of the daily_refresh job over `days` with the configuration file `config` (GPU_EFF_CONFIG)."""
    with environment(GPU_EFF_CONFIG=str(config), GPU_EFF_DATA_DIR=str(data_dir)):
        return _execute("daily_refresh", days, without)


def _execute(name: str, days: list, without: tuple[str, ...]) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    job = defs.resolve_job_def(name)
    left_out = {dg.AssetKey(key) for key in without}
    selection = [key for key in job.asset_layer.executable_asset_keys if key not in left_out] if without else None
    with ephemeral_instance() as instance:
        return job.execute_in_process(
            instance=instance, asset_selection=selection,
            tags={"dagster/asset_partition_range_start": days[0].isoformat(),
                  "dagster/asset_partition_range_end": days[-1].isoformat()},
        )


def mart(data_dir: Path, name: str, order_by: str) -> pd.DataFrame:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"select * from marts.{name} order by {order_by}").df()

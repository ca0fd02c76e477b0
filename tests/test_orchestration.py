"""Dagster definitions: they load, wire landing → dbt → deck, and schedule the daily refresh."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa
import pytest

from orchestration.defs.assets.warehouse import run_window
from orchestration.defs.schedules import last_complete_utc_day


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


def test_definitions_load_with_the_three_groups(defs):
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"ingestion", "warehouse", "deck"}


def test_dbt_sources_are_the_landing_assets(defs):
    graph = defs.resolve_asset_graph()
    staging = graph.get(dg.AssetKey("stg_landing__gpu_samples"))
    assert dg.AssetKey(["landing", "gpu_samples"]) in staging.parent_keys
    assert graph.get(dg.AssetKey(["landing", "gpu_samples"])).partitions_def is not None


def test_deck_reads_the_marts(defs):
    deck = defs.resolve_asset_graph().get(dg.AssetKey("deck"))
    assert {dg.AssetKey("mart_stage_metrics"), dg.AssetKey("mart_stage_comparison")} <= deck.parent_keys


def test_dbt_tests_surface_as_asset_checks(defs):
    checks = defs.resolve_asset_graph().asset_check_keys
    assert any(c.asset_key == dg.AssetKey("mart_stage_metrics") for c in checks)


def test_incremental_models_are_partitioned_daily(defs):
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("int_gpu_minutes")).partitions_def is not None
    assert graph.get(dg.AssetKey("mart_stage_metrics")).partitions_def is None


def test_schedule_runs_at_six_in_shanghai_for_the_last_complete_utc_day(defs):
    schedule = defs.resolve_schedule_def("daily_refresh_0600_shanghai")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    tick = dt.datetime(2026, 11, 27, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=defs.get_repository_def()) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2026-11-25"  # 22:00 UTC on the 26th: the 25th is the last whole UTC day
    assert last_complete_utc_day(dt.datetime(2026, 11, 27, 1, tzinfo=dt.UTC)) == dt.date(2026, 11, 26)


def test_the_runs_days_become_dbt_vars():
    backfill = {"dagster/asset_partition_range_start": "2026-10-05", "dagster/asset_partition_range_end": "2026-10-07"}
    assert run_window(backfill) == {"start_date": "2026-10-05", "end_date": "2026-10-08"}
    assert run_window({"dagster/partition": "2026-10-25"}) == {"start_date": "2026-10-25", "end_date": "2026-10-26"}
    assert run_window({}) == {}


def test_a_long_window_is_built_in_chunks_of_bounded_readings(tmp_path, monkeypatch):
    from ingestion import landing
    from orchestration.defs.assets import warehouse

    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))
    days = [dt.date(2026, 10, 5) + dt.timedelta(days=i) for i in range(5)]
    for day, rows in zip(days, (3, 3, 5, 1, 2), strict=True):
        table = landing.empty_table("gpu_samples")
        sample = {name: [None] * rows for name in table.column_names}
        sample.update(ts=[dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)] * rows, pool=["p"] * rows,
                      gpu_uuid=["GPU-1"] * rows, metric=["DCGM_FI_DEV_POWER_USAGE"] * rows, value=[1.0] * rows,
                      source=["sim"] * rows, hostname=["h"] * rows, gpu_index=[0] * rows)
        landing.write_day("gpu_samples", day, pa.Table.from_pydict(sample, schema=table.schema), source="sim",
                          pool="p")
    monkeypatch.setattr(warehouse, "BUILD_READINGS", 6)
    assert warehouse.build_chunks(warehouse.landed_readings(days)) == [days[0:2], days[2:4], days[4:5]]
    monkeypatch.setattr(warehouse, "BUILD_READINGS", 100)
    assert warehouse.build_chunks(warehouse.landed_readings(days)) == [days]
    monkeypatch.delenv("GPU_EFF_BUILD_START", raising=False)
    with warehouse.build_window(days[2:4]):
        assert (os.environ["GPU_EFF_BUILD_START"], os.environ["GPU_EFF_BUILD_END"]) == ("2026-10-07", "2026-10-09")
    assert "GPU_EFF_BUILD_START" not in os.environ

"""End to end on the tiny scenario: one Dagster run builds the warehouse and a deck python-pptx reads back;
a second run lands the same files and gives the same marts."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from pipeline_run import REPO, WAREHOUSE_ONLY, mart, run_pipeline, run_rebuild
from pptx import Presentation

from ingestion.simulator.scenario import load_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_result(tiny_pipeline):
    return tiny_pipeline


@pytest.fixture(scope="module")
def tiny_run(tiny_result):
    return tiny_result[0]


def test_every_asset_reports_useful_metadata(tiny_result):
    _, result = tiny_result
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    assert metadata["mart_stage_metrics"]["dagster/row_count"].value == 7
    assert metadata["int_gpu_minutes"]["dagster/row_count"].value == 12 * 7 * 1440
    assert metadata["int_gpu_minutes"]["first_day"].value == "2026-10-05"
    assert metadata["landing/gpu_samples"]["dagster/row_count"].value > 0
    assert metadata["landing/gpu_samples"]["last_day"].value == "2026-10-11"
    assert metadata["deck"]["slides"].value >= 3


def test_deck_is_written_and_reads_back(tiny_run):
    latest = tiny_run / "deck" / "latest.pptx"
    dated = sorted((tiny_run / "deck").glob("gpu_efficiency_*.pptx"))
    assert latest.exists() and len(dated) == 1
    deck = Presentation(str(latest))
    texts = " ".join(shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame)
    assert "GPU算力效率提升的技术演进之路" in texts
    assert "模拟集群" in texts
    charts = [shape for slide in deck.slides for shape in slide.shapes if shape.has_chart]
    assert charts, "the deck has a native chart"


def test_stage_metrics_cover_the_seven_stages(tiny_run):
    metrics = mart(tiny_run, "mart_stage_metrics", "pool, stage_id")
    assert list(metrics.stage_id) == list(range(7))
    assert set(metrics.pool) == {"tiny"}


def test_a_second_run_skips_what_is_unchanged_and_rebuilds_only_the_day_that_changed(tiny_result):
    """A second run lands every day again with the same bytes: landed files keep their times, every dbt step is
    skipped, every check is still reported (a skipped step's, and source health's and the expectations' on the
    same inputs, as their last evaluation's outcome). Then one day's landed file is altered: the next run restores
    it, rebuilds that day alone, evaluates the checks again and gives the same marts."""
    import duckdb
    import pyarrow.parquet as pq

    tiny_run, first = tiny_result
    files = sorted((tiny_run / "landing").rglob("*.parquet"))
    times_before = {f: f.stat().st_mtime_ns for f in files}
    marts_before = {name: mart(tiny_run, name, "all") for name in ("mart_stage_metrics", "mart_stage_comparison")}
    minutes_before = _gpu_minute_rows(tiny_run)

    again = run_pipeline("tiny", tiny_run)
    assert again.success
    assert {f: f.stat().st_mtime_ns for f in files} == times_before
    skipped = {e.asset_key.to_user_string() for e in again.get_asset_materialization_events()
               if "skipped" in e.materialization.metadata}
    assert {"stg_landing__gpu_samples", "int_gpu_minutes", "mart_stage_metrics"} <= skipped
    assert "deck" not in skipped
    first_checks = {(e.asset_key, e.check_name): e.passed for e in first.get_asset_check_evaluations()}
    assert {(e.asset_key, e.check_name): e.passed for e in again.get_asset_check_evaluations()} == first_checks
    earlier = {e.check_name for e in again.get_asset_check_evaluations()
               if "outcome_of_run" in e.metadata and e.metadata["outcome_of_run"].value == first.run_id}
    # source health (same landed files) and the marts' expectations (same marts) report the first evaluation
    assert {"fresh_partition", "no_duplicate_rows", "gx_seven_stages_per_pool"} <= earlier

    day = load_scenario("tiny").dates()[2].isoformat()
    altered = next((tiny_run / "landing" / "gpu_samples" / f"date={day}").glob("simulator-*.parquet"))
    table = pq.read_table(altered)
    pq.write_table(table.slice(0, table.num_rows // 2), altered)
    result = run_pipeline("tiny", tiny_run)
    assert result.success
    assert sorted((tiny_run / "landing").rglob("*.parquet")) == files
    assert pq.read_table(altered).equals(table)
    assert [f for f in files if f.stat().st_mtime_ns != times_before[f]] == [altered]
    with duckdb.connect(str(tiny_run / "warehouse.duckdb"), read_only=True) as con:
        built = dict(con.execute("select step, list(day order by day) from pipeline.build_state "
                                 "where run_id = ? group by step", [result.run_id]).fetchall())
    assert built == {"warehouse_daily": [day], "warehouse_inputs": [""], "warehouse_models": [""],
                     "source_health": [""], "mart_expectations": [""]}  # the checks evaluated again
    assert _gpu_minute_rows(tiny_run) == minutes_before, "a re-run duplicated or lost per-GPU-minute rows"
    for name, before in marts_before.items():  # the rebuilt day's rows now come last: sums may differ in the last bit
        pd.testing.assert_frame_equal(mart(tiny_run, name, "all"), before, check_exact=False, rtol=1e-12)


def _gpu_minute_rows(data_dir):
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*), count(distinct (gpu_uuid, minute_ts)) from intermediate.int_gpu_minutes"
                           ).fetchone()


def test_deck_alone_materialises_from_the_repo_root_into_the_uis_instance(tiny_run, monkeypatch):
    """What a user runs after `make demo`: `dagster asset materialize --select deck` in the repository, with no
    DAGSTER_HOME set; the run lands in the instance that `make ui` shows (DAGSTER_HOME from `make install`'s .env)."""
    import dagster as dg
    from dotenv import dotenv_values

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    env = dict(os.environ, GPU_EFF_DATA_DIR=str(tiny_run), GPU_EFF_SCENARIO="tiny")
    dagster_home = dotenv_values(REPO / ".env").get("DAGSTER_HOME") if (REPO / ".env").exists() else None
    assert dagster_home == str(REPO / ".dagster_home"), "make install writes .env with the instance's DAGSTER_HOME"
    started = dt.datetime.now(dt.UTC)
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    done = subprocess.run([dagster, "asset", "materialize", "--select", "deck"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(dagster_home) as instance:
        record = instance.get_run_records(limit=1)[0]
    latest = record.dagster_run
    assert record.create_timestamp >= started - dt.timedelta(seconds=1)
    assert latest.asset_selection == {dg.AssetKey("deck")}
    assert latest.status == dg.DagsterRunStatus.SUCCESS


def test_a_rebuild_in_chunks_gives_the_rows_of_one_build(tiny_run, tmp_path, monkeypatch):
    """A long window is built a few days per dbt command (one process for them all, the chunk's bounds in its
    environment): the same rows as one build."""
    from orchestration.defs.assets import warehouse
    from orchestration.defs.checks.source_health import rows_on

    shutil.copytree(tiny_run / "landing", tmp_path / "landing")
    dates = load_scenario("tiny").dates()
    readings = [rows_on("gpu_samples", day, base=tmp_path) for day in dates]
    pairs = [a + b for a, b in zip(readings[:-1], readings[1:], strict=True)]
    monkeypatch.setattr(warehouse, "BUILD_READINGS", max(pairs))  # two or three days per chunk
    for name in (*warehouse.BUILD_WINDOW_ENV, *warehouse.RUN_WINDOW_ENV):
        monkeypatch.delenv(name, raising=False)
    asked, built, run_windows = [], [], []

    def build_apart(chunks, args, report):
        asked.extend(chunks)
        run_windows.append(tuple(os.environ.get(name) for name in warehouse.RUN_WINDOW_ENV))
        real_build_apart(chunks, args, lambda chunk: (built.append(chunk), report(chunk)))

    real_build_apart = warehouse.build_apart
    monkeypatch.setattr(warehouse, "build_apart", build_apart)
    assert run_rebuild("tiny", tmp_path, without=WAREHOUSE_ONLY).success
    run_end = dates[-1] + dt.timedelta(days=1)
    # every chunk but the last (built by the step's `dbt build`), in order, each within the bound, with the run's days
    assert run_windows == [(dates[0].isoformat(), run_end.isoformat())]
    assert built == asked and len(asked) >= 2 and asked[0][0] == dates[0] and asked[-1][-1] < dates[-1]
    assert all(b[0] == a[-1] + dt.timedelta(days=1) for a, b in zip(asked[:-1], asked[1:], strict=True))
    for chunk in asked:
        assert len(chunk) >= 2 and sum(readings[dates.index(day)] for day in chunk) <= warehouse.BUILD_READINGS
    assert not {*warehouse.BUILD_WINDOW_ENV, *warehouse.RUN_WINDOW_ENV} & set(os.environ)
    for name, order in (("mart_stage_metrics", "pool, stage_id"),
                        ("mart_hourly_profile", "pool, stage_id, hour_of_day, workload_type")):
        pd.testing.assert_frame_equal(mart(tmp_path, name, order), mart(tiny_run, name, order), rtol=1e-9)
    assert _gpu_minute_rows(tmp_path) == _gpu_minute_rows(tiny_run)

"""Incremental models: re-running a day gives the same rows; re-landing a day replaces only that day."""

from __future__ import annotations

import dbt_landing_fixture as landing_fixture
import pandas as pd
import pytest
from dbt_warehouse import DbtWarehouse

from ingestion import landing

pytestmark = pytest.mark.slow

DAY2 = {"start_date": "2024-03-02", "end_date": "2024-03-03"}
DAY1 = {"start_date": "2024-03-01", "end_date": "2024-03-02"}
GPU_MINUTES = "select * from intermediate.int_gpu_minutes order by gpu_uuid, minute_ts"
REQUESTS = "select * from intermediate.int_inference_requests order by request_id"

POD_GPUS = "select date, pod, gpu_uuid, first_ts, last_ts from intermediate.int_pod_gpus order by date, pod, gpu_uuid"


def _without_pods(rows: list[dict]) -> list[dict]:
    return [{**row, "namespace": None, "pod": None, "container": None} for row in rows]


def _with_pod(rows: list[dict], pod: str) -> list[dict]:
    return [{**row, "namespace": "ml", "pod": pod, "container": "main"} for row in rows]


def test_rerun_of_a_day_gives_the_same_rows(built_warehouse):
    before = {q: built_warehouse.query(q) for q in (GPU_MINUTES, REQUESTS)}
    metrics_before = built_warehouse.query("select * from marts.mart_stage_metrics order by stage_id")
    built_warehouse.dbt("run", "--select", "tag:daily", vars=DAY2)
    built_warehouse.dbt("run", "--select", "marts")
    for q, frame in before.items():
        pd.testing.assert_frame_equal(built_warehouse.query(q), frame)
    pd.testing.assert_frame_equal(
        built_warehouse.query("select * from marts.mart_stage_metrics order by stage_id"), metrics_before
    )


def test_relanded_day_replaces_only_that_day(tmp_path):
    warehouse = DbtWarehouse(tmp_path)
    landing_fixture.write_all(tmp_path)  # day 1's readings carry pods train-j1 (GPU-a) and chat-j2 (GPU-b)
    landing_fixture._write_samples(tmp_path, landing_fixture.DAY2,
                                   _with_pod(landing_fixture.gpu_samples_day2(), "eval-j9"))
    warehouse.dbt("build", "--exclude-resource-type", "test", "unit_test")   # seeds and models
    before, pods_before = warehouse.query(GPU_MINUTES), warehouse.query(POD_GPUS)
    requests_before = warehouse.query(REQUESTS)
    assert set(pods_before[pods_before.date.astype(str) == "2024-03-01"].pod) == {"train-j1", "chat-j2"}
    assert (requests_before.date.astype(str) == "2024-03-01").any()

    # GPU-a's day 1 telemetry is re-landed, and no reading of the day carries a pod label any more (the pool
    # keeps a job log, so its jobs and GPU-minutes do not depend on them); the day's request log is re-landed empty
    landing_fixture._write_samples(tmp_path, landing_fixture.DAY1,
                                   _without_pods(landing_fixture.gpu_samples_day1(gr_a=0.7)))
    landing.write_day("inference_requests", landing_fixture.DAY1, landing_fixture._table("inference_requests", []),
                      source=landing_fixture.SOURCE, pool=landing_fixture.POOL, base=tmp_path)
    warehouse.dbt("run", "--select", "tag:daily", "int_pod_gpus", vars=DAY1)  # as warehouse_daily and _inputs do
    after, pods_after = warehouse.query(GPU_MINUTES), warehouse.query(POD_GPUS)

    assert len(after) == len(before) == 24
    day1_a = after[(after.gpu_uuid == "GPU-a") & (after.date.astype(str) == "2024-03-01")]
    assert day1_a.activity_pct.tolist() == pytest.approx([70.0] * 4)
    untouched = before[~((before.gpu_uuid == "GPU-a") & (before.date.astype(str) == "2024-03-01"))]
    rest = after[~((after.gpu_uuid == "GPU-a") & (after.date.astype(str) == "2024-03-01"))]
    pd.testing.assert_frame_equal(rest.reset_index(drop=True), untouched.reset_index(drop=True))
    # a day left without rows keeps none (delete+insert on `date` would have kept them: it deletes the days it inserts)
    pods_day2 = pods_before[pods_before.date.astype(str) == "2024-03-02"].reset_index(drop=True)
    assert set(pods_day2.pod) == {"eval-j9"}
    pd.testing.assert_frame_equal(pods_after.reset_index(drop=True), pods_day2)
    requests_day2 = requests_before[requests_before.date.astype(str) == "2024-03-02"].reset_index(drop=True)
    assert len(requests_day2)
    pd.testing.assert_frame_equal(warehouse.query(REQUESTS).reset_index(drop=True), requests_day2, check_dtype=False)

    warehouse.dbt("run", "--select", "marts")
    util = warehouse.row("select gpu_utilization_percent from marts.mart_stage_metrics where stage_id = 0")
    assert util["gpu_utilization_percent"] == pytest.approx((70 * 4 + 20 * 4 + 0) / 12)

"""Incremental models: re-running a day gives the same rows; re-landing a day replaces only that day."""

from __future__ import annotations

import dbt_landing_fixture as landing_fixture
import pandas as pd
import pytest
from dbt_warehouse import DbtWarehouse

pytestmark = pytest.mark.slow

DAY2 = {"start_date": "2024-03-02", "end_date": "2024-03-03"}
DAY1 = {"start_date": "2024-03-01", "end_date": "2024-03-02"}
GPU_MINUTES = "select * from intermediate.int_gpu_minutes order by gpu_uuid, minute_ts"
REQUESTS = "select * from intermediate.int_inference_requests order by request_id"


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
    landing_fixture.write_all(tmp_path)
    warehouse.dbt("build", "--exclude-resource-type", "test", "unit_test")   # seeds and models
    before = warehouse.query(GPU_MINUTES)

    landing_fixture.write_day1(tmp_path, gr_a=0.7)          # GPU-a's day 1 telemetry is re-landed
    warehouse.dbt("run", "--select", "tag:daily", vars=DAY1)  # as warehouse_daily does
    after = warehouse.query(GPU_MINUTES)

    assert len(after) == len(before) == 24
    day1_a = after[(after.gpu_uuid == "GPU-a") & (after.date.astype(str) == "2024-03-01")]
    assert day1_a.activity_pct.tolist() == pytest.approx([70.0] * 4)
    untouched = before[~((before.gpu_uuid == "GPU-a") & (before.date.astype(str) == "2024-03-01"))]
    rest = after[~((after.gpu_uuid == "GPU-a") & (after.date.astype(str) == "2024-03-01"))]
    pd.testing.assert_frame_equal(rest.reset_index(drop=True), untouched.reset_index(drop=True))

    warehouse.dbt("run", "--select", "marts")
    util = warehouse.row("select gpu_utilization_percent from marts.mart_stage_metrics where stage_id = 0")
    assert util["gpu_utilization_percent"] == pytest.approx((70 * 4 + 20 * 4 + 0) / 12)


POD_GPUS = "select date, pod, gpu_uuid, first_ts, last_ts from intermediate.int_pod_gpus order by date, pod, gpu_uuid"


def _without_pods(rows: list[dict]) -> list[dict]:
    return [{**row, "namespace": None, "pod": None, "container": None} for row in rows]


def _with_pod(rows: list[dict], pod: str) -> list[dict]:
    return [{**row, "namespace": "ml", "pod": pod, "container": "main"} for row in rows]


def test_a_day_relanded_without_pod_labels_keeps_no_pods_and_the_other_day_keeps_its_own(tmp_path):
    warehouse = DbtWarehouse(tmp_path)
    landing_fixture.write_all(tmp_path)  # day 1: pods train-j1 on GPU-a, chat-j2 on GPU-b
    landing_fixture._write_samples(tmp_path, landing_fixture.DAY2,
                                   _with_pod(landing_fixture.gpu_samples_day2(), "eval-j9"))
    warehouse.dbt("build", "--select", "+int_pod_gpus", "--exclude-resource-type", "test", "unit_test")
    before = warehouse.query(POD_GPUS)
    assert set(before[before.date.astype(str) == "2024-03-01"].pod) == {"train-j1", "chat-j2"}
    assert set(before[before.date.astype(str) == "2024-03-02"].pod) == {"eval-j9"}

    # day 1's readings re-landed without any pod label (the pods' labels were dropped by the scrape config)
    landing_fixture._write_samples(tmp_path, landing_fixture.DAY1, _without_pods(landing_fixture.gpu_samples_day1()))
    warehouse.dbt("run", "--select", "int_pod_gpus", vars=DAY1)

    after = warehouse.query(POD_GPUS)
    assert not (after.date.astype(str) == "2024-03-01").any()
    day2 = before[before.date.astype(str) == "2024-03-02"].reset_index(drop=True)
    pd.testing.assert_frame_equal(after.reset_index(drop=True), day2)

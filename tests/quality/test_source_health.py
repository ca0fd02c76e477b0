"""Source health on copies of the clean tiny landing data: each fault trips its check and says where."""

from __future__ import annotations

import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import LAST_DAY

from ingestion import landing
from orchestration.defs.checks import source_health as health
from orchestration.defs.partitions import run_days

pytestmark = pytest.mark.slow

DAY = dt.date.fromisoformat(LAST_DAY)
WEEK = [DAY - dt.timedelta(days=i) for i in range(6, -1, -1)]


@pytest.fixture
def base(clean_run, tmp_path):
    shutil.copytree(clean_run[0] / "landing", tmp_path / "landing")
    return tmp_path


def test_clean_landing_is_healthy(base):
    for dataset in health.DUPLICATE_KEYS:
        for outcome in (health.freshness(dataset, DAY, ("lab-h200",), base), health.duplicates(dataset, WEEK, base),
                        health.quarantine(dataset, WEEK, base)):
            assert outcome.passed, outcome.message
    for dataset in health.VOLUME_DATASETS:
        outcome = health.volume(dataset, WEEK, ("lab-h200",), base)
        assert outcome.passed and outcome.metadata["days_judged"] == 4, outcome.message


def test_a_day_that_did_not_arrive_is_stale(base):
    shutil.rmtree(base / "landing" / "jobs" / f"date={LAST_DAY}")
    outcome = health.freshness("jobs", DAY, (), base)
    assert not outcome.passed and outcome.severity == "ERROR" and not outcome.blocking
    assert f"landing/jobs/date={LAST_DAY}/" in outcome.message
    assert health.freshness("jobs", None, (), base).passed  # a run without a partition does not judge freshness


def test_a_pool_that_stopped_reporting_is_stale(base):
    path = base / "landing" / "gpu_samples" / f"date={LAST_DAY}" / "simulator-tiny.parquet"
    pq.write_table(pq.read_table(path).slice(0, 0), path)  # the partition arrived, with no rows
    outcome = health.freshness("gpu_samples", DAY, ("lab-h200",), base)
    assert not outcome.passed and outcome.metadata["silent_pools"] == ["tiny"]


def test_a_day_that_arrived_empty_while_a_stage_is_in_force_is_stale(base):
    path = base / "landing" / "jobs" / f"date={LAST_DAY}" / "simulator-tiny.parquet"
    pq.write_table(pq.read_table(path).slice(0, 0), path)  # a file, no rows: what a day without data lands
    outcome = health.freshness("jobs", DAY, (), base)
    assert not outcome.passed and outcome.severity == "ERROR" and not outcome.blocking
    assert f"jobs: partition date={LAST_DAY} arrived with no rows" in outcome.message
    assert outcome.metadata["stages_in_force"] == ["tiny stage 6"]


def test_a_day_after_the_calendar_ends_may_be_empty(base):
    after = DAY + dt.timedelta(days=1)
    landing.write_day("jobs", after, landing.empty_table("jobs"), source="simulator", pool="tiny", base=base)
    assert health.stages_in_force(after, base) == []
    outcome = health.freshness("jobs", after, (), base)
    assert outcome.passed and "no stage of the calendar is in force" in outcome.message


def test_a_replayed_file_is_a_duplicate(base):
    folder = base / "landing" / "job_events" / "date=2026-10-08"
    shutil.copy(folder / "simulator-tiny.parquet", folder / "replay-tiny.parquet")
    outcome = health.duplicates("job_events", WEEK, base)
    assert not outcome.passed and outcome.blocking
    assert outcome.failing_count == pq.read_metadata(folder / "simulator-tiny.parquet").num_rows
    sample = outcome.metadata["sample_rows"][0]
    assert sample["copies"] == 2 and sample["job_id"]
    assert sample["files"] == ["job_events/date=2026-10-08/replay-tiny.parquet",
                               "job_events/date=2026-10-08/simulator-tiny.parquet"]


def test_a_halved_day_is_a_volume_anomaly(base):
    path = base / "landing" / "inference_requests" / f"date={LAST_DAY}" / "simulator-tiny.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(0, table.num_rows // 3), path)
    outcome = health.volume("inference_requests", [DAY], (), base)
    assert not outcome.passed and outcome.severity == "WARN"
    [anomaly] = outcome.metadata["anomalies"]
    assert anomaly["day"] == LAST_DAY and anomaly["ratio"] == pytest.approx(1 / 3, abs=0.01)


@pytest.mark.parametrize(("bad", "passed"), [(5, True), (1000, False)])
def test_quarantine_volume_warns_above_its_share(base, bad, passed):
    records = [{"record": i + 1, "reason": "field 'status': 'exploded' is not one of [...]", "row": {}}
               for i in range(bad)]
    landing.write_quarantine("inference_requests", records, source="gateway", pool="tiny", origin="gateway.jsonl",
                             day=DAY, base=base)
    outcome = health.quarantine("inference_requests", [DAY], base)
    assert outcome.passed is passed and outcome.failing_count == bad
    assert f"quarantine/inference_requests/date={LAST_DAY}/gateway-tiny.jsonl record 1" in outcome.message
    assert "'exploded'" in outcome.message


@pytest.mark.parametrize(("failed", "passed"), [(2, True), (10, False)])
def test_scrape_health_warns_above_its_threshold(tmp_path, failed, passed):
    start = dt.datetime(2026, 10, 11, tzinfo=dt.UTC)
    scrapes = pa.table({
        "ts": [start + dt.timedelta(minutes=i) for i in range(100)],
        "pool": ["prod"] * 100,
        "source": ["dcgm-exporter"] * 100,
        "target": ["http://node-3:9400/metrics" if i < failed else "http://node-1:9400/metrics" for i in range(100)],
        "ok": [i >= failed for i in range(100)],
        "http_status": [None if i < failed else 200 for i in range(100)],
        "duration_s": [0.1] * 100,
        "samples": [0 if i < failed else 500 for i in range(100)],
        "error": ["connection refused" if i < failed else None for i in range(100)],
    })
    landing.write_day("scrape_health", DAY, scrapes, source="dcgm-exporter", pool="prod", base=tmp_path)
    outcome = health.scrape_health([DAY], tmp_path)
    assert outcome.passed is passed and outcome.failing_count == failed
    assert "node-3:9400" in outcome.message and "connection refused" in outcome.message


def test_run_days_from_the_partition_tags():
    assert run_days({"dagster/partition": "2026-10-11"}) == [DAY]
    assert run_days({"dagster/asset_partition_range_start": "2026-10-09",
                     "dagster/asset_partition_range_end": "2026-10-11"}) == WEEK[-3:]
    assert run_days({}) is None

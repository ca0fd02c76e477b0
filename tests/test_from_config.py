"""A configured cluster (no simulator): a real Prometheus server, a job log and an inventory file land
through `ingestion.from_config`, and the unchanged dbt project builds its stage marts from them."""

from __future__ import annotations

import datetime as dt
import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion import from_config, landing
from ingestion.config import DEFAULT_LAB, Config, load_config
from tests.dbt.dbt_warehouse import DbtWarehouse
from tests.sources import prometheus_server as ps

UTC = dt.UTC
DAY = dt.date(2026, 10, 10)
POOL = "pool-a"


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if ps.binaries() is None:
        message = "prometheus/promtool not installed (Debian package `prometheus`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must install it")
        pytest.skip(message)
    history = ps.PromHistory(dt.datetime(2026, 10, 9, tzinfo=UTC), dt.datetime(2026, 10, 11, tzinfo=UTC))
    with ps.start_prometheus(history, tmp_path_factory.mktemp("prometheus")) as url:
        yield url


def _job(job_id: str, submit: str, uuid: str) -> str:
    return json.dumps({"job_id": job_id, "tenant": "t1", "workload_type": "training", "gpu_count": 1,
                       "gpu_uuids": [uuid], "submit_ts": submit, "start_ts": submit,
                       "end_ts": submit.replace("T0", "T1"), "status": "succeeded"})


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, prometheus_url: str) -> Path:
    folder = tmp_path_factory.mktemp("config")
    uuids = [gpu["UUID"] for gpu in ps.GPUS]
    (folder / "inventory.csv").write_text("hostname,gpu_index,gpu_uuid,model_name,memory_gb\n" + "".join(
        f"{gpu.get('Hostname') or gpu['hostname']},{gpu['gpu']},{gpu['UUID']},{gpu['modelName']},80\n"
        for gpu in ps.GPUS))  # the MIG instance's UUID is its parent GPU's
    (folder / "jobs.jsonl").write_text("\n".join([
        _job("j-before", "2026-10-09T03:00:00Z", uuids[0]),
        _job("j-day-1", "2026-10-10T02:00:00Z", uuids[0]),
        _job("j-day-2", "2026-10-10T05:00:00Z", uuids[1]),
    ]) + "\n")
    path = folder / "gpu-eff.yaml"
    path.write_text(textwrap.dedent(f"""
        pools:
          - name: {POOL}
            inventory: inventory.csv
            stages:
              - {{stage: baseline, start: "2026-10-10T00:00:00Z", end: "2026-10-10T12:00:00Z"}}
              - {{stage: sharing, start: "2026-10-10T12:00:00Z", end: "2026-10-11T00:00:00Z"}}
        sources:
          prometheus:
            url: {prometheus_url}
            metrics: {list(ps.METRICS)}
          logs:
            - {{kind: jobs, path: jobs.jsonl, pool: {POOL}}}
        prices:
          energy_per_kwh: 0.5
          gpu_hourly: {{"NVIDIA H200": 10.0}}
    """))
    return path


@pytest.fixture(scope="module")
def landed(config_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    data = tmp_path_factory.mktemp("data")
    config = load_config(config_path)
    files = from_config.land_pool_tables(config, data, now=dt.datetime(2026, 10, 11, tzinfo=UTC))
    files += from_config.land_days(config, [DAY], data, progress=lambda _: None)
    return data, files


def test_the_partitions_start_with_the_first_stage(config_path: Path) -> None:
    assert from_config.first_day(load_config(config_path)) == DAY


def test_one_day_lands_from_prometheus_and_the_job_log(landed) -> None:
    data, files = landed
    by_name = {(f.dataset, f.path.name): f for f in files}
    samples = pq.read_table(data / f"landing/gpu_samples/date={DAY}/prometheus-{POOL}.parquet")
    assert by_name[("gpu_samples", f"prometheus-{POOL}.parquet")].rows == samples.num_rows
    # every metric of every GPU with a UUID, once per minute of the day
    uuid_series = sum(1 for m, g in ((m, g) for m in ps.METRICS for g in ps.GPUS)
                      if not (m == "DCGM_FI_DEV_GPU_UTIL" and "GPU_I_ID" in g))
    assert samples.num_rows == uuid_series * 1440
    [jobs_file] = (data / f"landing/jobs/date={DAY}").glob(f"jobs-log-{POOL}@jobs.jsonl-*.parquet")  # its input
    jobs = pq.read_table(jobs_file)
    assert sorted(jobs["job_id"].to_pylist()) == ["j-day-1", "j-day-2"]  # the partition's day only
    assert not (data / "landing/jobs/date=2026-10-09").exists()
    # no request log is configured: an empty placeholder keeps the dataset readable by the warehouse
    assert pq.read_table(data / "landing/inference_requests/date=1970-01-01/none-none.parquet").num_rows == 0


def test_a_day_the_log_no_longer_has_is_emptied(landed, config_path: Path, tmp_path: Path) -> None:
    data, _ = landed
    config = load_config(config_path)
    log = config.logs[0].path
    stem = f"jobs-log-{POOL}@{landing.input_key(log)}"
    original = log.read_text()
    try:
        log.write_text("\n".join(line for line in original.splitlines() if "j-day-2" not in line
                                 and "j-day-1" not in line) + "\n{broken\n")
        from_config.land_days(config, [DAY], data, progress=lambda _: None)
    finally:
        log.write_text(original)
    assert pq.read_table(data / f"landing/jobs/date={DAY}/{stem}.parquet").num_rows == 0
    [reject] = (data / f"quarantine/jobs/{stem}.jsonl").read_text().splitlines()
    assert json.loads(reject)["record"] == 2
    from_config.land_days(config, [DAY], data, progress=lambda _: None)  # the fixed file lands again
    assert pq.read_table(data / f"landing/jobs/date={DAY}/{stem}.parquet").num_rows == 2
    assert not (data / f"quarantine/jobs/{stem}.jsonl").exists()


def test_pool_tables_come_from_the_config(landed) -> None:
    data, _ = landed
    calendar = pq.read_table(data / f"landing/stage_calendar/config-{POOL}.parquet").to_pylist()
    assert [(r["stage_id"], r["stage_key"]) for r in calendar] == [(0, "baseline"), (1, "sharing")]
    inventory = pq.read_table(data / f"landing/gpu_inventory/config-{POOL}.parquet")
    assert inventory.num_rows == 4 and set(inventory["pool"].to_pylist()) == {POOL}


def test_the_unchanged_dbt_project_builds_stage_marts_from_it(landed, config_path: Path) -> None:
    data, _ = landed
    from_config.land_lab(Config(path=None, scenario=None, logs=(DEFAULT_LAB,)), data)  # as every run does
    warehouse = DbtWarehouse(data)
    window = {"start_date": DAY.isoformat(), "end_date": (DAY + dt.timedelta(days=1)).isoformat()}
    warehouse.dbt("build", vars={**load_config(config_path).prices.dbt_vars(), **window})
    rows = warehouse.query(f"select * from marts.mart_stage_metrics where pool = '{POOL}' order by stage_id")
    assert list(rows["stage_key"]) == ["baseline", "sharing"]
    assert rows["gpu_utilization_percent"].between(0, 100).all()
    # the config's prices, not the seed's: two H200 at 10.0 and two H100 at the seed's 3.00, for 12 h each
    assert rows["gpu_cost_usd"].tolist() == pytest.approx([(2 * 10.0 + 2 * 3.0) * 12] * 2)
    assert rows["energy_cost_usd"].tolist() == pytest.approx((rows["energy_joules"] / 3.6e6 * 0.5).tolist())


def test_the_backfill_window_runs_from_the_first_stage_to_yesterday(config_path, monkeypatch, capsys) -> None:
    from ingestion.cli import main

    monkeypatch.setenv("GPU_EFF_CONFIG", str(config_path))
    assert main(["window"]) == 0
    yesterday = dt.datetime.now(UTC).date() - dt.timedelta(days=1)
    assert capsys.readouterr().out.strip() == f"{DAY}...{yesterday}"

"""Alibaba openb pod lists (the real files in ../shared) into jobs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.importers import land
from ingestion.importers.openb import read_openb

UTC = dt.UTC
START = dt.datetime(2023, 1, 1, tzinfo=UTC)


def _trace(shared: Path, name: str) -> Path:
    return shared / "fixtures/traces/alibaba-gpu-v2023" / name


def test_openb_default(shared: Path) -> None:
    result = read_openb(_trace(shared, "openb_pod_list_default.csv"), pool="openb")
    table = result.tables["jobs"]
    assert table.num_rows == 8152 and result.rejected["jobs"] == []
    jobs = {r["job_id"]: r for r in table.to_pylist()}
    whole = jobs["openb_pod_list_default/openb-pod-0017"]  # 8 GPUs, Burstable, Succeeded
    assert (whole["gpu_count"], whole["queue"], whole["status"], whole["workload_type"]) == (
        8.0, "Burstable", "succeeded", "other")
    assert whole["submit_ts"] == START + dt.timedelta(seconds=9437497)
    assert whole["end_ts"] == START + dt.timedelta(seconds=10769854)
    shared_pod = jobs["openb_pod_list_default/openb-pod-0001"]  # num_gpu 1, gpu_milli 460
    assert shared_pod["gpu_count"] == 0.46
    late = jobs["openb_pod_list_default/openb-pod-0035"]
    assert late["start_ts"] - late["submit_ts"] == dt.timedelta(seconds=5)
    assert jobs["openb_pod_list_default/openb-pod-0000"]["submit_ts"] == dt.datetime(2023, 1, 1, tzinfo=UTC)
    statuses = pc.value_counts(table["status"]).to_pylist()
    assert {s["values"]: s["counts"] for s in statuses} == {
        "running": 5193, "failed": 1870, "pending": 897, "succeeded": 192}
    pending = table.filter(pc.equal(table["status"], "pending"))
    assert pending["start_ts"].null_count == pending["end_ts"].null_count == 897
    assert pc.max(table["gpu_count"]).as_py() == 8.0


def test_openb_anchor_and_sharing(shared: Path) -> None:
    start = dt.datetime(2023, 3, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    table = read_openb(_trace(shared, "openb_pod_list_gpushare100.csv"), pool="share", start=start).tables["jobs"]
    first = table.to_pylist()[0]
    assert first["job_id"] == "openb_pod_list_gpushare100/openb-pod-0000"
    assert first["submit_ts"] == dt.datetime(2023, 3, 1, tzinfo=UTC) + dt.timedelta(seconds=2332613)
    assert first["gpu_count"] == 0.0
    gpu = table.filter(pc.greater(table["gpu_count"], 0))
    assert pc.max(gpu["gpu_count"]).as_py() == 0.81 and pc.min(gpu["gpu_count"]).as_py() == 0.05


def test_openb_bad_rows_and_idempotent_land(shared: Path, tmp_path: Path) -> None:
    lines = _trace(shared, "openb_pod_list_default.csv").read_text().splitlines()
    bad = [
        "openb-pod-x1,6000,12288,-1,460,,LS,Running,10,20,10",  # line 5: negative num_gpu
        "openb-pod-x2,6000,12288,1,460,,LS,Exploded,10,20,10",  # line 6: unknown phase
        "openb-pod-x3,6000,12288,1,460,,LS,Running,soon,20,10",  # line 7: bad time
    ]
    path = tmp_path / "openb_pod_list_small.csv"
    path.write_text("\n".join(lines[:4] + bad + lines[4:20]) + "\n")
    result = read_openb(path, pool="openb")
    assert result.tables["jobs"].num_rows == 19
    reasons = {r["record"]: r["reason"] for r in result.rejected["jobs"]}
    assert sorted(reasons) == [5, 6, 7]
    assert "'num_gpu'" in reasons[5] and "'pod_phase'" in reasons[6] and "'creation_time'" in reasons[7]
    base = tmp_path / "data"
    landed = land(result, "openb", base=base, batch="b")
    assert sum(f.rows for f in landed) == 19 and sum(f.quarantined for f in landed) == 3
    day0 = pq.read_table(base / "landing/jobs/date=2023-01-01/openb-openb@b.parquet")
    assert str(day0.schema.field("submit_ts").type) == "timestamp[us, tz=UTC]"
    first = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}
    land(read_openb(path, pool="openb"), "openb", base=base, batch="b")
    assert {p: p.read_bytes() for p in base.rglob("*") if p.is_file()} == first

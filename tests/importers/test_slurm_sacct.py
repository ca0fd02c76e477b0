"""Slurm `sacct --parsable2` into jobs.

The fixture `sacct_parsable2.txt` is hand-written (not captured from a real cluster) in the format of
`sacct --parsable2 --format=JobID,JobName,User,Account,Partition,State,Submit,Start,End,Elapsed,AllocTRES,
NodeList,ExitCode`, with job steps, an array task, a `CANCELLED by <uid>` state and three bad lines.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq

from ingestion.importers import land
from ingestion.importers.slurm_sacct import read_slurm_sacct, workload_type

FIXTURE = Path(__file__).with_name("sacct_parsable2.txt")
UTC = dt.UTC


def test_sacct_jobs() -> None:
    result = read_slurm_sacct(FIXTURE, pool="hpc")
    jobs = {r["job_id"]: r for r in result.tables["jobs"].to_pylist()}
    assert sorted(jobs) == ["4101", "4102", "4103", "4104", "4105_3", "4106", "4107", "4108"]  # no steps
    j = jobs["4101"]
    assert (j["status"], j["gpu_count"], j["gpu_model"], j["tenant"], j["queue"], j["hostname"]) == (
        "succeeded", 16.0, "a100", "nlp", "a100", "gpu[01-02]")
    assert j["workload_type"] == "training" and j["pool"] == "hpc"
    assert j["submit_ts"] == dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert j["end_ts"] == dt.datetime(2024, 3, 1, 20, 2, 10, tzinfo=UTC)
    assert (jobs["4102"]["status"], jobs["4102"]["end_ts"], jobs["4102"]["workload_type"]) == (
        "running", None, "inference")
    assert (jobs["4103"]["status"], jobs["4103"]["failure_reason"]) == ("failed", "failed (exit 1:0)")
    assert (jobs["4104"]["status"], jobs["4104"]["workload_type"]) == ("cancelled", "evaluation")
    assert (jobs["4105_3"]["status"], jobs["4105_3"]["failure_reason"], jobs["4105_3"]["gpu_count"]) == (
        "failed", "timeout", 4.0)
    assert (jobs["4106"]["status"], jobs["4106"]["workload_type"]) == ("preempted", "development")
    assert (jobs["4107"]["failure_reason"], jobs["4107"]["gpu_count"], jobs["4107"]["workload_type"]) == (
        "out_of_memory", 0.0, "other")
    p = jobs["4108"]
    assert (p["status"], p["start_ts"], p["end_ts"], p["hostname"]) == ("pending", None, None, None)

    bad = {r["record"]: r["reason"] for r in result.rejected["jobs"]}
    assert sorted(bad) == [14, 15, 16]
    assert "'State'" in bad[14] and "WEIRD_STATE" in bad[14]
    assert "'Submit'" in bad[15]
    assert "fields" in bad[16]


def test_sacct_local_time_zone() -> None:
    result = read_slurm_sacct(FIXTURE, pool="hpc", tz=dt.timezone(dt.timedelta(hours=8)))
    first = result.tables["jobs"].to_pylist()[0]
    assert first["submit_ts"] == dt.datetime(2024, 3, 1, 0, 0, tzinfo=UTC)


def test_workload_rule() -> None:
    assert workload_type("sft-qwen", "gpu") == "training"
    assert workload_type("job42", "interactive") == "development"
    assert workload_type("job42", "gpu") == "other"


def test_sacct_land_idempotent(tmp_path: Path) -> None:
    base = tmp_path / "data"
    landed = land(read_slurm_sacct(FIXTURE, pool="hpc"), "slurm", base=base, batch="b")
    assert {(str(f.day), f.rows, f.quarantined) for f in landed} == {("2024-03-01", 6, 3), ("2024-03-02", 2, 0)}
    day2 = pq.read_table(base / "landing/jobs/date=2024-03-02/slurm-hpc@b.parquet")
    assert sorted(day2["job_id"].to_pylist()) == ["4107", "4108"]
    first = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}
    land(read_slurm_sacct(FIXTURE, pool="hpc"), "slurm", base=base, batch="b")
    assert {p: p.read_bytes() for p in base.rglob("*") if p.is_file()} == first

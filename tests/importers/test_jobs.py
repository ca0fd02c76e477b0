"""Generic job logs: JSONL and CSV into jobs / job_events, per-line quarantine, idempotent landing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq

from ingestion.importers import land
from ingestion.importers.jobs import read_jobs

UTC = dt.UTC

JSONL = "\n".join([
    # line 1: a job with an offset timestamp and unix seconds
    json.dumps({"job_id": "j1", "tenant": "nlp", "queue": "q-a100", "workload_type": "training",
                "gpu_model": "A100-SXM4-80GB", "gpu_count": 8, "gpu_uuids": ["GPU-a", "GPU-b"],
                "submit_ts": "2024-03-01T23:30:00+08:00", "start_ts": 1709307000, "end_ts": "2024-03-01T18:00:00Z",
                "status": "succeeded", "restarts": 1, "tokens_processed": 1.5e9}),
    '{"job_id": "j2", "status": ',  # line 2: bad JSON
    json.dumps({"tenant": "x", "gpu_count": 1, "submit_ts": "2024-03-01T00:00:00Z", "status": "running"}),  # 3
    json.dumps({"job_id": "j4", "gpu_count": 1, "submit_ts": "2024-03-01T00:00:00Z", "status": "exploded"}),  # 4
    json.dumps({"job_id": "j5", "gpu_count": 1, "submit_ts": "yesterday", "status": "running"}),  # 5
    json.dumps({"job_id": "j6", "gpu_count": -2, "submit_ts": "2024-03-01T00:00:00Z", "status": "running"}),  # 6
    # line 7: a fractional GPU job on the next UTC day, workload_type defaulted
    json.dumps({"job_id": "j7", "gpu_count": 0.25, "submit_ts": "2024-03-02T01:00:00Z", "status": "pending"}),
    # line 8: an event, by record_type; line 9: an event recognised by its fields; line 10: a bad event
    json.dumps({"record_type": "event", "job_id": "j1", "ts": "2024-03-01T15:30:00Z", "event": "started"}),
    json.dumps({"job_id": "j1", "ts": 1709316000, "event": "finished", "detail": "exit 0"}),
    json.dumps({"record_type": "event", "job_id": "j1", "ts": "2024-03-01T16:00:00Z", "event": "exploded"}),
]) + "\n"

CSV = """job_id,tenant,workload_type,gpu_count,gpu_uuids,submit_ts,start_ts,end_ts,status,failure_reason
c1,cv,inference,2,"GPU-1,GPU-2",2024-03-01T10:00:00Z,2024-03-01T10:05:00Z,,running,
c2,cv,training,1,"[""GPU-3""]",1709287200,,,failed,oom
c3,cv,training,-1,,2024-03-01T10:00:00Z,,,failed,
c4,cv,training,1,,2024-03-01 10:00:00,,,failed,
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_jobs_and_events(tmp_path: Path) -> None:
    result = read_jobs(_write(tmp_path, "jobs.jsonl", JSONL), pool="p1")
    jobs = {r["job_id"]: r for r in result.tables["jobs"].to_pylist()}
    assert sorted(jobs) == ["j1", "j7"]
    j1 = jobs["j1"]
    assert j1["submit_ts"] == dt.datetime(2024, 3, 1, 15, 30, tzinfo=UTC)  # +08:00 converted to UTC
    assert j1["start_ts"] == dt.datetime(2024, 3, 1, 15, 30, tzinfo=UTC)  # unix seconds
    assert j1["end_ts"] == dt.datetime(2024, 3, 1, 18, 0, tzinfo=UTC)
    assert (j1["gpu_count"], j1["gpu_uuids"], j1["restarts"], j1["pool"]) == (8.0, ["GPU-a", "GPU-b"], 1, "p1")
    assert jobs["j7"]["gpu_count"] == 0.25 and jobs["j7"]["workload_type"] == "other"
    assert str(result.tables["jobs"].schema.field("submit_ts").type) == "timestamp[us, tz=UTC]"

    bad = {r["record"]: r["reason"] for r in result.rejected["jobs"]}
    assert sorted(bad) == [2, 3, 4, 5, 6]
    assert "bad JSON" in bad[2]
    assert "'job_id'" in bad[3]
    assert "'status'" in bad[4] and "exploded" in bad[4]
    assert "'submit_ts'" in bad[5]
    assert "'gpu_count'" in bad[6]

    events = result.tables["job_events"].to_pylist()
    assert [(e["event"], e["ts"]) for e in events] == [
        ("started", dt.datetime(2024, 3, 1, 15, 30, tzinfo=UTC)),
        ("finished", dt.datetime(2024, 3, 1, 18, 0, tzinfo=UTC)),
    ]
    assert [(r["record"], "'event'" in r["reason"]) for r in result.rejected["job_events"]] == [(10, True)]


def test_csv_jobs(tmp_path: Path) -> None:
    result = read_jobs(_write(tmp_path, "jobs.csv", CSV), pool="p1")
    jobs = {r["job_id"]: r for r in result.tables["jobs"].to_pylist()}
    assert sorted(jobs) == ["c1", "c2"]
    assert jobs["c1"]["gpu_uuids"] == ["GPU-1", "GPU-2"] and jobs["c1"]["end_ts"] is None
    assert jobs["c2"]["gpu_uuids"] == ["GPU-3"]
    assert jobs["c2"]["submit_ts"] == dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert jobs["c2"]["failure_reason"] == "oom" and jobs["c1"]["failure_reason"] is None
    bad = {r["record"]: r["reason"] for r in result.rejected["jobs"]}
    assert sorted(bad) == [4, 5]  # file lines, the header being line 1
    assert "'gpu_count'" in bad[4]
    assert "'submit_ts'" in bad[5] and "offset" in bad[5]


def _snapshot(base: Path) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def test_land_by_day_with_quarantine_and_idempotent(tmp_path: Path) -> None:
    source = _write(tmp_path, "jobs.jsonl", JSONL)
    base = tmp_path / "data"
    landed = land(read_jobs(source, pool="p1"), "joblog", base=base, batch="b")
    by = {(f.dataset, str(f.day)): (f.rows, f.quarantined) for f in landed}
    assert by == {("jobs", "2024-03-01"): (1, 5), ("jobs", "2024-03-02"): (1, 0),
                  ("job_events", "2024-03-01"): (2, 1)}
    day1 = base / "landing/jobs/date=2024-03-01/joblog-p1@b.parquet"
    assert pq.read_table(day1)["job_id"].to_pylist() == ["j1"]
    quarantine = base / "quarantine/jobs/date=2024-03-01/joblog-p1@b.jsonl"
    records = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [r["record"] for r in records] == [2, 3, 4, 5, 6]
    assert records[0]["origin"] == str(source)
    first = _snapshot(base)
    land(read_jobs(source, pool="p1"), "joblog", base=base, batch="b")
    assert _snapshot(base) == first


def test_only_bad_lines_go_to_undated_quarantine(tmp_path: Path) -> None:
    source = _write(tmp_path, "bad.jsonl", "{not json\n")
    base = tmp_path / "data"
    assert land(read_jobs(source, pool="p1"), "joblog", base=base, batch="b") == []
    lines = (base / "quarantine/jobs/joblog-p1@b.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["record"] == 1


def test_csv_events_file_without_record_type(tmp_path: Path) -> None:
    text = "job_id,ts,event,detail\nc1,2024-03-01T10:05:00+00:00,started,\nc1,1709290800,checkpoint,step 1000\n"
    result = read_jobs(_write(tmp_path, "job_events.csv", text), pool="p1")
    assert "jobs" not in result.tables
    events = result.tables["job_events"].to_pylist()
    assert [(e["event"], e["ts"], e["detail"]) for e in events] == [
        ("started", dt.datetime(2024, 3, 1, 10, 5, tzinfo=UTC), None),
        ("checkpoint", dt.datetime(2024, 3, 1, 11, 0, tzinfo=UTC), "step 1000"),
    ]

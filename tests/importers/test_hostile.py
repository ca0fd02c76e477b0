"""Issue 17: no line stops an import. Every file of the hostile corpus (tests/importers/hostile/corpus.py) is
read, landed and imported through the CLI without an exception; each of its records either lands or is
quarantined with its file, line and field; and the valid records around a bad one all land."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.cli import main
from ingestion.importers import KINDS, land, read_log
from ingestion.importers.jobs import read_jobs
from ingestion.importers.requests import read_requests
from tests.importers.hostile.corpus import BAD_UTF8, BOM, CASES, Case


def _on_disk(base: Path) -> tuple[int, list[dict]]:
    """(rows of every landed Parquet file, every quarantine record) under a data directory."""
    rows = sum(pq.read_metadata(p).num_rows for p in (base / "landing").rglob("*.parquet"))
    records = [json.loads(line) for p in (base / "quarantine").rglob("*.jsonl") for line in p.open(encoding="utf-8")]
    return rows, records


def test_the_corpus_covers_every_kind_with_at_least_60_files():
    per_kind = Counter(case.kind for case in CASES)
    assert set(per_kind) == set(KINDS) - {"nvidia-smi"} and len(CASES) >= 60
    assert min(per_kind.values()) >= 8
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_hostile_file_costs_only_its_bad_records(case: Case, tmp_path: Path, capsys) -> None:
    path = case.write(tmp_path / "in")
    cli = ["import", case.kind, str(path), "--pool", "p", "--data-dir", str(tmp_path / "cli"),
           *(f"--{k.replace('_', '-')}={v}" for k, v in case.options.items())]
    if case.refused:
        with pytest.raises(ValueError, match=str(tmp_path / "in")):
            read_log(case.kind, path, "p", **case.options)
        assert main(cli) == 2
        err = capsys.readouterr().err
        assert str(tmp_path / "in") in err and "Traceback" not in err
        return

    source, result = read_log(case.kind, path, "p", **case.options)
    rows = sum(table.num_rows for table in result.tables.values())
    rejected = [record for records in result.rejected.values() for record in records]
    assert (rows, len(rejected)) == (case.landed, case.quarantined), rejected
    for record in rejected:
        assert Path(record["origin"]).parent == (path if path.is_dir() else path.parent)
        assert isinstance(record["record"], int) and record["record"] >= 1
        assert isinstance(record["field"], str) and record["field"]

    base = tmp_path / "data"
    land(result, source, base)
    landed, quarantined = _on_disk(base)
    assert (landed, len(quarantined)) == (case.landed, case.quarantined)  # landing found nothing more to refuse
    assert all(r["field"] and r["record"] for r in quarantined)

    assert main(cli) in (0, 1)  # 1: nothing landed, or too much quarantined; never an exception
    assert "Traceback" not in capsys.readouterr().err


def _request(i: int, **changes) -> str:
    record = {"request_id": f"r{i}", "service": "chat", "arrival_ts": 1_761_955_200 + i,
              "end_ts": 1_761_955_202 + i, "prompt_tokens": 10, "output_tokens": 5, **changes}
    return json.dumps(record)


@pytest.mark.parametrize(("name", "bad", "field"), [
    ("invalid UTF-8", b'{"request_id": "r150", "service": "' + BAD_UTF8 + b'"}', "line"),
    ("a token count above 2^31", _request(150, prompt_tokens=2**31 + 7).encode(), "prompt_tokens"),
])
def test_one_bad_line_among_300_costs_only_itself(tmp_path: Path, name: str, bad: bytes, field: str) -> None:
    lines = [_request(i).encode() for i in range(300)]
    lines[150] = bad
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = read_requests(path, "p")
    landed = result.tables["inference_requests"]["request_id"].to_pylist()
    assert landed == [f"r{i}" for i in range(300) if i != 150]
    [record] = result.rejected["inference_requests"]
    assert (record["record"], record["field"], record["origin"]) == (151, field, str(path))


def test_an_excel_csv_with_a_bom_and_crlf_lands_every_row(tmp_path: Path) -> None:
    rows = [f"c{i},2,2026-11-01T00:00:00Z,running" for i in range(300)]
    path = tmp_path / "jobs.csv"
    path.write_bytes(BOM + "\r\n".join(["job_id,gpu_count,submit_ts,status", *rows]).encode() + b"\r\n")
    result = read_jobs(path, "p")
    assert result.tables["jobs"]["job_id"].to_pylist() == [f"c{i}" for i in range(300)]
    assert result.tables["jobs"]["status"].to_pylist() == ["running"] * 300  # no '\r' left on the last column
    assert result.rejected["jobs"] == []


def test_reasons_name_the_field_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"job_id": "a", "gpu_count": 1, "status": "running", "submit_ts": "9999-12-31T23:00:00-05:00"},
        {"job_id": "b", "gpu_count": 1, "status": "running", "submit_ts": "2026-11-01T00:00:00Z", "restarts": 2**31},
        {"job_id": "c", "gpu_count": 1, "status": "succeeded", "submit_ts": "2026-11-01T00:00:00Z",
         "start_ts": "2026-11-01T02:00:00Z", "end_ts": "2026-11-01T01:00:00Z"},
        {"job_id": "d", "gpu_count": float("inf"), "status": "running", "submit_ts": "2026-11-01T00:00:00Z"},
    ]) + "\n")
    reasons = {r["record"]: (r["field"], r["reason"]) for r in read_jobs(path, "p").rejected["jobs"]}
    assert reasons == {
        1: ("submit_ts", "field 'submit_ts': '9999-12-31T23:00:00-05:00' is outside 2000-01-01 .. now + 1 day"),
        2: ("restarts", "field 'restarts': 2147483648 is out of range for int32 (-2147483648 .. 2147483647)"),
        3: ("end_ts", "field 'end_ts': 2026-11-01T01:00:00+00:00 is before start_ts 2026-11-01T02:00:00+00:00"),
        4: ("gpu_count", "field 'gpu_count': not a finite number: inf"),
    }


def test_the_gpu_eff_command_reports_a_hostile_file_without_a_traceback(tmp_path: Path) -> None:
    [case] = [c for c in CASES if c.id == "jobs/submit_1e20.jsonl"]  # a traceback before issue 17
    path = case.write(tmp_path / "in")
    done = subprocess.run([str(Path(sys.executable).with_name("gpu-eff")), "import", "jobs", str(path), "--pool", "p",
                           "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr
    assert "landed 2 rows, quarantined 1" in done.stdout + done.stderr

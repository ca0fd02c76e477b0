"""Landing identity: every landed file belongs to one input; re-landing that input replaces exactly what it
landed before, on every day; different inputs coexist; concurrent writers lose nothing; names stay names."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion import landing
from ingestion.cli import main
from ingestion.importers import land
from ingestion.importers.jobs import read_jobs
from orchestration.defs.checks import source_health as health

PAGE = "fixtures/dcgm/samples/issue512_h100_mig_pods.prom"  # 3 readings
SACCT_HEADER = ("JobID|JobName|User|Account|Partition|State|Submit|Start|End|Elapsed|AllocTRES|NodeList|"
                "ExitCode")


def _jobs_file(path: Path, ids: list[str], day: str = "2024-03-01", bad: int = 0) -> Path:
    rows = [json.dumps({"job_id": i, "gpu_count": 1, "submit_ts": f"{day}T08:00:00Z", "status": "running"})
            for i in ids]
    path.write_text("\n".join(rows + ["{not json"] * bad) + "\n")
    return path


def _landed(data: Path, dataset: str) -> dict[str, list[str]]:
    """Key column values per day, over every file dbt reads (`<dataset>/*/*.parquet`)."""
    key = {"jobs": "job_id", "gpu_samples": "gpu_uuid"}[dataset]
    by_day: dict[str, list[str]] = {}
    for file in sorted((data / "landing" / dataset).glob("*/*.parquet")):
        by_day.setdefault(file.parent.name, []).extend(pq.read_table(file)[key].to_pylist())
    return {day: sorted(values) for day, values in by_day.items()}


def _import(data: Path, *args: str) -> int:
    return main(["import", *args, "--data-dir", str(data)])


def test_two_job_files_for_the_same_pool_and_day_are_both_kept(tmp_path, capsys):
    data = tmp_path / "data"
    first = _jobs_file(tmp_path / "a.jsonl", [f"a{i}" for i in range(50)])
    second = _jobs_file(tmp_path / "b.jsonl", [f"b{i}" for i in range(50)])
    assert _import(data, "jobs", str(first), "--pool", "p") == 0
    assert _import(data, "jobs", str(second), "--pool", "p") == 0
    assert len(_landed(data, "jobs")["date=2024-03-01"]) == 100
    assert _import(data, "jobs", str(first), "--pool", "p") == 0  # re-importing one replaces only its own
    assert len(_landed(data, "jobs")["date=2024-03-01"]) == 100
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("landed 50 rows, quarantined 0 (0.0%) as input " + str(first.resolve()))
    assert f"(files jobs-log-p@{landing.input_key(first)}.*)" in last


def test_a_corrected_file_that_moved_rows_to_another_day_leaves_exactly_the_corrected_rows(tmp_path):
    data, log = tmp_path / "data", tmp_path / "jobs.jsonl"
    _jobs_file(log, ["j1", "j2", "j3"], day="2024-03-01")
    assert _import(data, "jobs", str(log), "--pool", "p") == 0
    _jobs_file(log, ["j1", "j2", "j3"], day="2024-03-02")  # the corrected file: every row on the next day
    assert _import(data, "jobs", str(log), "--pool", "p") == 0
    assert _landed(data, "jobs") == {"date=2024-03-02": ["j1", "j2", "j3"]}
    _jobs_file(log, ["j1"], day="2024-03-02")  # and a corrected pool: the old pool's file goes too
    assert _import(data, "jobs", str(log), "--pool", "q") == 0
    assert _landed(data, "jobs") == {"date=2024-03-02": ["j1"]}


def test_a_batch_name_is_the_identity(tmp_path):
    data = tmp_path / "data"
    assert _import(data, "jobs", str(_jobs_file(tmp_path / "v1.jsonl", ["j1", "j2"])), "--pool", "p",
                   "--batch", "march") == 0
    assert _import(data, "jobs", str(_jobs_file(tmp_path / "v2.jsonl", ["j1"])), "--pool", "p",
                   "--batch", "march") == 0  # another file under the same name replaces it
    assert _landed(data, "jobs") == {"date=2024-03-01": ["j1"]}
    assert [p.name for p in (data / "landing/jobs/date=2024-03-01").glob("*.parquet")] == ["jobs-log-p@march.parquet"]


def _sacct_line(job_id: int, day: str, hour: int) -> str:
    return (f"{job_id}|train|alice|nlp|a100|COMPLETED|{day}T{hour:02d}:00:00|{day}T{hour:02d}:01:00|"
            f"{day}T{hour:02d}:30:00|00:29:00|cpu=8,gres/gpu=8,mem=100G,node=1|gpu01|0:0")


def test_two_sacct_exports_of_consecutive_days_are_both_kept(tmp_path):
    data = tmp_path / "data"
    first = [_sacct_line(100 + i, "2024-03-01", 8 + i) for i in range(10)]  # exported at 2024-03-01 18:00
    # the next export: 3 jobs submitted after the first export, still on 2024-03-01, then 7 on 2024-03-02
    second = [_sacct_line(200 + i, "2024-03-01", 20 + i) for i in range(3)]
    second += [_sacct_line(300 + i, "2024-03-02", 8 + i) for i in range(7)]
    for n, lines in enumerate((first, second)):
        export = tmp_path / f"sacct-{n}.txt"
        export.write_text("\n".join([SACCT_HEADER, *lines]) + "\n")
        assert _import(data, "slurm-sacct", str(export), "--pool", "hpc") == 0
    landed = _landed(data, "jobs")
    assert [len(landed[f"date={d}"]) for d in ("2024-03-01", "2024-03-02")] == [13, 7]


def test_two_saved_metrics_pages_are_both_kept(shared, tmp_path):
    data = tmp_path / "data"
    for n, minute in enumerate(("00", "05")):
        page = tmp_path / f"page-{n}.prom"
        page.write_bytes((shared / PAGE).read_bytes())
        assert _import(data, "dcgm-text", str(page), "--pool", "lab",
                       "--scrape-ts", f"2026-10-05T08:{minute}:00Z") == 0
    assert len(_landed(data, "gpu_samples")["date=2026-10-05"]) == 6


def test_concurrent_imports_of_different_files_lose_nothing(tmp_path):
    data = tmp_path / "data"
    files = [_jobs_file(tmp_path / f"{n}.jsonl", [f"{n}-{i}" for i in range(300)]) for n in range(4)]
    codes = []
    threads = [threading.Thread(target=lambda f=f: codes.append(_import(data, "jobs", str(f), "--pool", "p")))
               for f in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [0] * 4
    assert len(_landed(data, "jobs")["date=2024-03-01"]) == 1200


def test_concurrent_landings_of_one_input_serialise_into_one_of_them(tmp_path):
    data = tmp_path / "data"
    versions = [read_jobs(_jobs_file(tmp_path / f"v{n}.jsonl", [f"v{n}-{i}" for i in range(200)],
                                     day=f"2024-03-0{n + 1}"), pool="p") for n in range(3)]
    threads = [threading.Thread(target=land, args=(v, "jobs-log", data), kwargs={"batch": "same"})
               for v in versions * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    landed = _landed(data, "jobs")
    assert len(landed) == 1 and len(next(iter(landed.values()))) == 200  # one version whole, never a mix
    assert not list(data.rglob("*.tmp"))


def test_a_failed_landing_keeps_what_the_input_landed_before(tmp_path, monkeypatch):
    data, log = tmp_path / "data", tmp_path / "jobs.jsonl"
    assert _import(data, "jobs", str(_jobs_file(log, ["j1"], day="2024-03-01")), "--pool", "p") == 0
    result = read_jobs(_jobs_file(log, ["j2"], day="2024-03-02"), pool="p")

    def disk_full(writer, table, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(landing.pq.ParquetWriter, "write_table", disk_full)
    with pytest.raises(OSError, match="disk full"):
        land(result, "jobs-log", data)
    assert _landed(data, "jobs") == {"date=2024-03-01": ["j1"]}
    assert not list(data.rglob("*.tmp"))


@pytest.mark.parametrize("option, value", [("--pool", "x/../../outside"), ("--pool", ".."),
                                           ("--batch", "../outside"), ("--batch", "a b")])
def test_a_name_that_is_not_a_name_is_refused(tmp_path, capsys, option, value):
    data = tmp_path / "work" / "data"
    args = ["jobs", str(_jobs_file(tmp_path / "jobs.jsonl", ["j1"]))]
    args += [option, value] if option == "--pool" else ["--pool", "p", option, value]
    assert _import(data, *args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{option} {value!r}: use 1-128 letters" in err
    assert not list(tmp_path.rglob("*.parquet")) and not (tmp_path / "work").exists()


def test_landing_itself_refuses_a_path_as_a_name(tmp_path):
    table = landing.empty_table("jobs")
    with pytest.raises(ValueError, match=r"pool 'x/\.\./\.\./outside'"):
        landing.write_day("jobs", dt.date(2024, 3, 1), table, source="s", pool="x/../../outside", base=tmp_path)
    with pytest.raises(ValueError, match="input '../x'"), landing.land_input("s", "../x", tmp_path):
        pass
    assert not list(tmp_path.rglob("*.parquet"))


def test_an_import_that_lands_nothing_exits_1(tmp_path, capsys):
    log = tmp_path / "bad.jsonl"
    log.write_text("{not json\n{nor this\n")
    assert _import(tmp_path / "data", "jobs", str(log), "--pool", "p") == 1
    err = capsys.readouterr().err
    assert "FAILED, nothing landed: landed 0 rows, quarantined 2" in err and "2 bad JSON" in err


def test_the_quarantined_share_has_a_threshold(tmp_path, capsys):
    log = _jobs_file(tmp_path / "jobs.jsonl", [f"j{i}" for i in range(8)], bad=2)  # 2 of 10 quarantined
    assert _import(tmp_path / "data", "jobs", str(log), "--pool", "p") == 1  # default: at most 10 %
    assert "20.0% quarantined is above --max-quarantined-percent 10" in capsys.readouterr().err
    assert _import(tmp_path / "data", "jobs", str(log), "--pool", "p", "--max-quarantined-percent", "20") == 0
    assert "landed 8 rows, quarantined 2 (20.0%: 2 bad JSON)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:  # argparse's usage error
        _import(tmp_path / "data", "jobs", str(log), "--pool", "p", "--max-quarantined-percent", "x")
    assert usage.value.code == 2 and "'x' is not a number" in capsys.readouterr().err


def test_duplicates_across_two_inputs_fail_no_duplicate_rows(tmp_path):
    data = tmp_path / "data"
    assert _import(data, "jobs", str(_jobs_file(tmp_path / "a.jsonl", ["j1", "j2"])), "--pool", "p") == 0
    day = dt.date(2024, 3, 1)
    assert health.duplicates("jobs", [day], data).passed
    assert _import(data, "jobs", str(_jobs_file(tmp_path / "b.jsonl", ["j2", "j3"])), "--pool", "p") == 0
    outcome = health.duplicates("jobs", [day], data)
    assert not outcome.passed and outcome.blocking and outcome.failing_count == 1
    [sample] = outcome.metadata["sample_rows"]
    assert sample["job_id"] == "j2" and Counter(f.split("@")[0] for f in sample["files"]) == {
        "jobs/date=2024-03-01/jobs-log-p": 2}


def test_a_collector_run_lands_under_its_own_id(tmp_path):
    ts = dt.datetime(2026, 10, 5, 8, tzinfo=dt.UTC)
    health_row = {"ts": ts, "target": "t", "ok": True, "http_status": 200, "duration_s": 0.1, "samples": 0,
                  "error": None}
    from ingestion.collector import run_collector

    runs = [run_collector(lambda: (pa.table({}), [], [health_row]), source="dcgm-exporter", pool="p",
                          interval_s=1, flush_every_s=60, base=tmp_path, max_polls=1, now=lambda: ts)
            for _ in range(2)]
    assert runs[0].run != runs[1].run and runs[0].run.startswith("20261005T080000Z-")
    names = sorted(p.name for p in (tmp_path / "landing/scrape_health").glob("*/*.parquet"))
    assert names == sorted(f"dcgm-exporter-p@{r.run}-080000000000-080000000000.parquet" for r in runs)

"""What each dbt step last built the warehouse from, so that a step whose inputs did not change does no work.

A step's inputs are the dbt project (its files and the run's dbt vars) and the landed Parquet files it reads. A
landed file is named by its path, size and modification time: landing keeps the old file when a re-landing writes
the same bytes (ingestion/landing.py), so an unchanged day keeps its files' times. Files without rows are left
out: they add no row to any model, and a day that landed empty (a source with nothing new) changes nothing.

The incremental models build each day from that day's files of the datasets they read a window of (`WINDOWED`)
and from every file of the other datasets (jobs span days), so a day is fingerprinted with exactly those; a
dataset missing from `WINDOWED` only makes the fingerprint wider, never lets a changed input go unnoticed.

The fingerprints live in the warehouse itself (`pipeline.build_state`), written after a step succeeded: a new
or deleted warehouse has none, and everything is built.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from ingestion import paths

STATE_TABLE = "pipeline.build_state"
# Datasets the incremental models read through `date_window_filter` (only the days they build).
WINDOWED = ("gpu_samples", "inference_requests", "serving_metrics")
ALL_DAYS = ""  # the `day` of a step's fingerprint that covers the whole landing
EMPTY_DAY = "empty"  # the fingerprint a day without rows in WINDOWED datasets has


def _landed_files(base: Path | None = None) -> list[tuple[str, str | None, Path]]:
    """(dataset, day or None, file) of every landed Parquet file."""
    files = []
    for file in sorted(paths.landing_dir(base).glob("*/**/*.parquet")):
        dataset = file.relative_to(paths.landing_dir(base)).parts[0]
        day = file.parent.name.removeprefix("date=") if file.parent.name.startswith("date=") else None
        files.append((dataset, day, file))
    return files


def _stamp(file: Path, root: Path) -> str:
    """`path size mtime_ns` of a file, its path within `root` (so a copied or moved data directory keeps its
    fingerprints)."""
    stat = file.stat()
    return f"{file.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}"


def _identity(file: Path, landing: Path) -> str | None:
    """The stamp of a landed file with rows; None for an empty one."""
    return _stamp(file, landing) if pq.read_metadata(file).num_rows else None


def file_stamps(folders: Iterable[Path], root: Path) -> list[str]:
    """The stamp of every file under `folders` (those that exist), in order, each named within `root`."""
    return [_stamp(file, root) for folder in folders if folder.exists()
            for file in sorted(folder.rglob("*")) if file.is_file()]


def inputs_identity(root: Path, files: Iterable[Path], values: Mapping[str, object]) -> str:
    """A hash of `files`' contents (each named within `root`) and of `values` (as JSON): the dbt project and the
    run's dbt vars, or a check's code and what it judges."""
    digest = hashlib.sha256(json.dumps(dict(values), sort_keys=True, default=str).encode())
    for file in files:
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _hash(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def fingerprints(project: str, days: Iterable[dt.date], base: Path | None = None) -> dict[str, str]:
    """The landing's fingerprints: ALL_DAYS -> every file with rows; each of `days` (ISO) -> the files the
    incremental models read to build it."""
    files = [(dataset, day, identity) for dataset, day, file in _landed_files(base)
             if (identity := _identity(file, paths.landing_dir(base))) is not None]
    shared = [identity for dataset, _, identity in files if dataset not in WINDOWED]
    result = {ALL_DAYS: _hash([project, *(identity for _, _, identity in files)]), EMPTY_DAY: _hash([project, *shared])}
    for day in days:
        own = [identity for dataset, d, identity in files if dataset in WINDOWED and d == day.isoformat()]
        result[day.isoformat()] = _hash([project, *shared, *own])
    return result


def day_unchanged(day: dt.date, current: Mapping[str, str], last: Mapping[str, tuple[str, str]]) -> bool:
    """The day's inputs are those it was last built from; or it has none, was never built, and the step has built
    before (its models hold no row of that day: building it would change nothing)."""
    key = day.isoformat()
    if key in last:
        return last[key][0] == current[key]
    return bool(last) and current[key] == current[EMPTY_DAY]


def recorded(step: str, base: Path | None = None) -> dict[str, tuple[str, str]]:
    """day -> (fingerprint, run id) of the step's last successful builds, the latest last (empty without a
    warehouse or a record)."""
    warehouse = paths.warehouse_path(base)
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exists = con.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'pipeline' and table_name = 'build_state'").fetchone()[0]
        if not exists:
            return {}
        rows = con.execute(f"select day, fingerprint, run_id from {STATE_TABLE} where step = ? order by built_at",
                           [step]).fetchall()
    return {day: (fingerprint, run_id) for day, fingerprint, run_id in rows}


def record(step: str, built: Mapping[str, str], run_id: str, base: Path | None = None) -> None:
    """Remember the fingerprints (day -> fingerprint) a step's run has just built the warehouse from."""
    if not built:
        return
    with duckdb.connect(str(paths.warehouse_path(base))) as con:
        con.execute("create schema if not exists pipeline")
        con.execute(f"create table if not exists {STATE_TABLE} (step varchar, day varchar, fingerprint varchar, "
                    "run_id varchar, built_at timestamptz, primary key (step, day))")
        con.executemany(f"insert or replace into {STATE_TABLE} values (?, ?, ?, ?, now())",
                        [[step, day, fingerprint, run_id] for day, fingerprint in built.items()])


def forced(job_name: str) -> bool:
    """The warehouse_rebuild job builds and evaluates whatever its inputs (`make rebuild`: after a change that the
    fingerprints cannot see)."""
    return job_name == "warehouse_rebuild"


def builds(steps: Iterable[str], base: Path | None = None) -> list[tuple[str, str, str, str]]:
    """(step, day, fingerprint, run id) of every recorded build of `steps`, in a fixed order: what the warehouse was
    last built from."""
    return [(step, day, fingerprint, run_id) for step in sorted(steps)
            for day, (fingerprint, run_id) in sorted(recorded(step, base).items())]


def latest_run(days: Iterable[dt.date], last: Mapping[str, tuple[str, str]]) -> str:
    """The run that last built any of `days` (the step's latest run when it built none of them)."""
    keys = {day.isoformat() for day in days}
    runs = [run for day, (_, run) in last.items() if day in keys] or [run for _, run in last.values()]
    return runs[-1]

"""Atomic, idempotent Parquet landing (DESIGN.md, "Data flow" and "Landing identity").

Every landed file belongs to one input, and its name says which (source, pool, input and part are
names: letters, digits, '.', '_' and '-', checked here before they become paths):
- one day of a daily source (a simulated day, a Prometheus day): `write_day` lands
  `<data_dir>/landing/<dataset>/date=YYYY-MM-DD/<source>-<pool>.parquet`; re-landing the day replaces it;
- a file (an import, a configured log file): `land_input(source, input)` lands
  `.../date=YYYY-MM-DD/<source>-<pool>@<input>.parquet` on each of its days. Its files are staged under
  temporary names and put in place together when it ends, and then every file that input landed before
  and did not land now (any day, any pool) is removed: re-landing an input replaces exactly what it
  landed before, and other inputs of the same pool and day are untouched. Landings of one input hold a
  lock file (`landing/.locks/<source>@<input>.lock`), so two at once serialise instead of mixing;
- a collector run: `write_part` lands each flush as `.../date=YYYY-MM-DD/<source>-<pool>@<run>-<part>.parquet`,
  where `run` is the run's id and `part` is derived from the flushed rows, so a flush never rewrites an
  earlier one and re-flushing the same rows replaces its own part;
- configuration tables: `write_table` lands `<data_dir>/landing/<dataset>/<source>-<pool>.parquet`.
Each file is written under a temporary name and renamed, so a crash never leaves a partial file.

Rows that break the contract (a null key, a value outside the accepted set) are not landed: they go to
`<data_dir>/quarantine/<dataset>/date=.../<the landed file's stem>.jsonl` with the reason, field and record
number, and the rest of the day lands.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import filecmp
import glob
import hashlib
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion import contracts, paths
from ingestion.contracts import DATASETS, Dataset

try:
    import fcntl
except ImportError:  # Windows: landings of one input are not serialised there (collectors run on Linux)
    fcntl = None

# Accepted values per (dataset, column): a row with anything else is quarantined.
ACCEPTED_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("jobs", "workload_type"): contracts.WORKLOAD_TYPES,
    ("jobs", "status"): contracts.JOB_STATUSES,
    ("job_events", "event"): contracts.JOB_EVENT_TYPES,
    ("inference_requests", "status"): contracts.REQUEST_STATUSES,
    ("experiments", "status"): contracts.EXPERIMENT_STATUSES,
}


@dataclass(frozen=True)
class LandedFile:
    dataset: str
    path: Path
    rows: int
    quarantined: int
    day: dt.date | None
    reasons: dict[str, int] = field(default_factory=dict)  # quarantined records by reason_category


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(what: str, value: str) -> str:
    """`value` when it is safe as (part of) a file name; else a ValueError naming `what` and the value."""
    if not isinstance(value, str) or not NAME.match(value):
        raise ValueError(f"{what} {value!r}: use 1-128 letters, digits, '.', '_' and '-', starting with a letter "
                         f"or digit")
    return value


def input_key(origin: str | Path) -> str:
    """The input name of a file: its base name and a hash of its resolved path (`jobs.jsonl-1a2b3c4d5e`)."""
    resolved = Path(origin).expanduser().resolve()
    base = re.sub(r"[^A-Za-z0-9._-]", "_", resolved.name).lstrip("._-")[:64] or "input"
    return f"{base}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:10]}"


def reason_category(reason: str) -> str:
    """What a quarantine reason is about: `field '<name>'` when it names one, else its text before the first ':'."""
    named = re.search(r"field '([^']+)'", reason)
    return f"field '{named.group(1)}'" if named else reason.split(":", 1)[0].strip()[:60]


WRITE_SLICE_ROWS = 1 << 21  # rows conformed and written at a time (also the Parquet row-group size bound)


Staged = list[tuple[str, Path]]  # (temporary file, the path it becomes) of an input landing in progress


TEMPORARY_SUFFIX = ".tmp"  # `_atomic_write`'s temporary files: `.<final name>.<random>.tmp`, beside the final file
STALE_TEMPORARY_S = 10.0  # a temporary file untouched this long belongs to a write that was killed


def _atomic_write(path: Path, write, staged: Staged | None = None) -> None:
    """`write(tmp)` a temporary file beside `path`, fsync it, then rename it to `path` and fsync the directory
    (or, with `staged`, leave the rename to the input landing's commit): after a crash, `path` is either the old
    file or the whole new one, and a temporary file may be left (see `remove_stale_temporaries`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        _fsync(tmp)
        if staged is None:
            if _put_in_place(tmp, path):
                _fsync(path.parent)
        else:
            staged.append((tmp, path))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _put_in_place(tmp: str, path: Path) -> bool:
    """Rename `tmp` to `path`, unless `path` already holds the same bytes: then `tmp` is removed and the landed
    file keeps its modification time, which is how the warehouse knows a re-landed day did not change
    (orchestration/build_state.py). False when nothing was renamed."""
    if path.exists() and filecmp.cmp(tmp, path, shallow=False):
        os.unlink(tmp)
        return False
    os.replace(tmp, path)
    return True


def _fsync(path: str | Path) -> None:
    """Flush a file's (or a directory's entries') data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(datasets: Sequence[tuple[str, str]], *, prefix: str, base: Path | None = None,
                             older_than_s: float = STALE_TEMPORARY_S) -> list[Path]:
    """Remove the temporary files (`.<prefix>*.tmp`) that interrupted writes left in the day folders of
    `datasets` (`(dataset, "landing" | "quarantine")`) and that nobody touched for `older_than_s`; returns them.
    Final files never match: they do not start with '.'."""
    roots = {"landing": paths.landing_dir(base), "quarantine": paths.quarantine_dir(base)}
    cutoff = time.time() - older_than_s
    removed = []
    for dataset, area in datasets:
        for tmp in (roots[area] / dataset).glob(f"date=*/.{glob.escape(prefix)}*{TEMPORARY_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):  # another process removed or renamed it meanwhile
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed.append(tmp)
    return removed


def conform(dataset: Dataset, table: pa.Table, keep_dictionaries: bool = False) -> pa.Table:
    """Select and cast the contract columns in contract order (extra columns are kept after them). With
    `keep_dictionaries`, a dictionary-encoded column of strings stays so where the contract says string: Parquet
    stores both alike (see `_write_partition`)."""
    missing = [f.name for f in dataset.schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"{dataset.name}: missing contract columns {missing}")

    def kept(field: pa.Field) -> bool:
        kind = table.schema.field(field.name).type
        return (keep_dictionaries and pa.types.is_dictionary(kind) and kind.value_type == field.type
                and pa.types.is_string(field.type))

    columns = [table[f.name] if kept(f) else table[f.name].cast(f.type) for f in dataset.schema]
    names = [f.name for f in dataset.schema]
    extras = [n for n in table.column_names if n not in names]
    return pa.table(columns + [table[n] for n in extras], names=names + extras)


def split_valid(dataset: Dataset, table: pa.Table) -> tuple[pa.Table, list[dict]]:
    """Return (valid rows, quarantine records) for a conformed table."""
    bad_reasons: dict[int, list[str]] = {}
    for column in dataset.required:
        for i in pc.indices_nonzero(pc.is_null(table[column], nan_is_null=True)).to_pylist():
            bad_reasons.setdefault(i, []).append(f"field '{column}': required value is missing")
    for (name, column), accepted in ACCEPTED_VALUES.items():
        if name != dataset.name:
            continue
        values = table[column]
        outside = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=pa.array(accepted))))
        for i in pc.indices_nonzero(outside).to_pylist():
            bad_reasons.setdefault(i, []).append(
                f"field '{column}': {values[i].as_py()!r} is not one of {list(accepted)}"
            )
    if not bad_reasons:
        return table, []
    bad = sorted(bad_reasons)
    mask = np.ones(table.num_rows, dtype=bool)
    mask[bad] = False
    rows = table.take(pa.array(bad)).to_pylist()
    records = [
        {"record": i + 1, "reason": "; ".join(bad_reasons[i]), "row": row}
        for i, row in zip(bad, rows, strict=True)
    ]
    return table.filter(pa.array(mask)), records


def _file_name(source: str, pool: str, input: str | None = None, part: str | None = None) -> str:
    """`<source>-<pool>[@<input>][-<part>]`, each a checked name."""
    stem = f"{check_name('source', source)}-{check_name('pool', pool)}"
    if input is not None:
        stem += f"@{check_name('input', input)}"
    return stem if part is None else f"{stem}-{check_name('part', part)}"


def write_quarantine(
    dataset: str, records: list[dict], *, source: str, pool: str, origin: str, day: dt.date | None,
    base: Path | None = None, input: str | None = None, part: str | None = None, staged: Staged | None = None,
) -> Path | None:
    """Write quarantine records (JSONL, one object per bad record) for one day; None when there are none."""
    target_dir = paths.quarantine_dir(base) / dataset
    if day is not None:
        target_dir = target_dir / f"date={day.isoformat()}"
    path = target_dir / f"{_file_name(source, pool, input, part)}.jsonl"
    if not records:
        if staged is None:  # an input landing removes it when it commits
            path.unlink(missing_ok=True)
        return None

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps({"origin": origin, **record}, default=str, ensure_ascii=False) + "\n")

    _atomic_write(path, write, staged)
    return path


def write_day(
    dataset_name: str, day: dt.date, table: pa.Table, *, source: str, pool: str,
    origin: str = "", rejected: Sequence[dict] = (), base: Path | None = None,
) -> LandedFile:
    """Land one day of one dataset for one source and pool, replacing what was there.

    Every row must fall on `day` (UTC) by the dataset's partition column. An empty table still writes
    a file: the partition arrived, with no rows. `rejected` are the records the source already refused
    while parsing; they share the day's quarantine file with the rows that break the contract.
    """
    return _write_partition(dataset_name, day, table, source=source, pool=pool, origin=origin,
                            rejected=rejected, base=base)


def write_part(
    dataset_name: str, day: dt.date, table: pa.Table, *, source: str, pool: str, run: str, part: str,
    origin: str = "", rejected: Sequence[dict] = (), base: Path | None = None,
) -> LandedFile:
    """Land one part of one day (a collector's flush) beside the day's other parts, atomically.

    Same rules as `write_day` (every row on `day`, bad rows quarantined), but the file is
    `<source>-<pool>@<run>-<part>.parquet`: earlier parts are never touched, and writing the same `part`
    again replaces it. `part` should be derived from the rows (e.g. their first and last time), so that
    re-landing the same rows cannot duplicate them.
    """
    return _write_partition(dataset_name, day, table, source=source, pool=pool, input=run, part=part,
                            origin=origin, rejected=rejected, base=base)


def _day_file_options(schema: pa.Schema) -> dict:
    """How a day's file is written. Label columns that arrive dictionary-encoded (the simulator's, Arrow's CSV and
    Parquet readers') are written as they are: Parquet encodes strings with a dictionary either way, and without
    Arrow's own schema in the file (`store_schema`) every reader (pyarrow, DuckDB, Spark) reads them as the
    contract's strings. Each row group's min and max are written for every column but the strings: a row group
    holds every GPU, metric and label of its minutes, so theirs skip nothing, and computing them was half the time
    of writing a day (1,024 GPUs: 21.6 M readings written in 2.2 s instead of 6.2 s with the cast to strings)."""
    return {"compression": "zstd", "store_schema": False,
            "write_statistics": [f.name for f in schema
                                 if not pa.types.is_string(f.type) and not pa.types.is_dictionary(f.type)]}


def _write_partition(
    dataset_name: str, day: dt.date, table: pa.Table, *, source: str, pool: str, origin: str,
    rejected: Sequence[dict], base: Path | None, input: str | None = None, part: str | None = None,
    staged: Staged | None = None,
) -> LandedFile:
    dataset = DATASETS[dataset_name]
    if dataset.partition_column is None:
        raise ValueError(f"{dataset_name} is not date-partitioned; use write_table")
    partition_type = dataset.schema.field(dataset.partition_column).type
    # the contract's columns are there (else a clear error)
    schema = conform(dataset, table.slice(0, 0), keep_dictionaries=True).schema
    dates = pc.unique(pc.cast(table[dataset.partition_column].cast(partition_type), pa.date32())).to_pylist()
    stray = [d for d in dates if d is not None and d != day]
    if stray:
        raise ValueError(f"{dataset_name}: rows for {stray[:3]} passed to write_day({day})")
    day_dir = paths.landing_dir(base) / dataset_name / f"date={day.isoformat()}"
    path = day_dir / f"{_file_name(source, pool, input, part)}.parquet"
    quarantined = list(rejected)
    landed = 0

    def write(tmp: str) -> None:
        """Conform, validate and write the rows a slice at a time (bounded memory: a day of 1,024 GPUs is 20 M
        rows, whose label columns arrive dictionary-encoded and would be copied as plain strings at once);
        the quarantine file is written before the landed file appears."""
        nonlocal landed
        with pq.ParquetWriter(tmp, schema, **_day_file_options(schema)) as writer:
            for offset in range(0, max(table.num_rows, 1), WRITE_SLICE_ROWS):
                valid, invalid = split_valid(
                    dataset, conform(dataset, table.slice(offset, WRITE_SLICE_ROWS), keep_dictionaries=True))
                quarantined.extend({**r, "record": r["record"] + offset} for r in invalid)
                writer.write_table(valid)
                landed += valid.num_rows
        write_quarantine(dataset_name, quarantined, source=source, pool=pool, origin=origin or source,
                         day=day, base=base, input=input, part=part, staged=staged)

    _atomic_write(path, write, staged)
    reasons = Counter(reason_category(str(r.get("reason", ""))) for r in quarantined)
    return LandedFile(dataset_name, path, landed, len(quarantined), day, dict(reasons))


class InputLanding:
    """The files of one input (`source`, `input`) while it lands: see `land_input`."""

    def __init__(self, source: str, input: str, base: Path | None, days: Collection[dt.date] | None) -> None:
        self.source, self.input = check_name("source", source), check_name("input", input)
        self.base, self.days = base, days
        self.staged: Staged = []

    def write_day(self, dataset_name: str, day: dt.date, table: pa.Table, *, pool: str, origin: str,
                  rejected: Sequence[dict] = ()) -> LandedFile:
        """Stage one day of one dataset (the rules of `write_day`)."""
        return _write_partition(dataset_name, day, table, source=self.source, pool=pool, origin=origin,
                                rejected=rejected, base=self.base, input=self.input, staged=self.staged)

    def write_quarantine(self, dataset_name: str, records: list[dict], *, pool: str, origin: str) -> Path | None:
        """Stage the dataset's undated quarantine records (those with no day to land on)."""
        return write_quarantine(dataset_name, records, source=self.source, pool=pool, origin=origin, day=None,
                                base=self.base, input=self.input, staged=self.staged)

    def landed_before(self) -> list[Path]:
        """The files of this input on disk: every day's, or only `days`' (and the undated quarantine)."""
        stem = f"{self.source}-*@{self.input}"
        dated = [*paths.landing_dir(self.base).glob(f"*/date=*/{stem}.parquet"),
                 *paths.quarantine_dir(self.base).glob(f"*/date=*/{stem}.jsonl")]
        if self.days is not None:
            wanted = {f"date={d.isoformat()}" for d in self.days}
            dated = [f for f in dated if f.parent.name in wanted]
        return dated + list(paths.quarantine_dir(self.base).glob(f"*/{stem}.jsonl"))

    def commit(self) -> None:
        """Put the staged files in place, then remove what this input landed before and did not land now."""
        for tmp, path in self.staged:
            _put_in_place(tmp, path)
        for directory in {path.parent for _, path in self.staged}:  # the renames, on disk (as `_atomic_write`)
            _fsync(directory)
        written = {path for _, path in self.staged}
        for old in self.landed_before():
            if old not in written:
                old.unlink(missing_ok=True)

    def abort(self) -> None:
        for tmp, _ in self.staged:
            Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def land_input(source: str, input: str, base: Path | None = None,
               days: Collection[dt.date] | None = None) -> Iterator[InputLanding]:
    """Land the files of one input, replacing exactly what it landed before (on `days` only, when given).

    Inside, `write_day` / `write_quarantine` on the yielded object stage the files; when the block ends they
    are put in place together and the input's other files are removed. When it raises, nothing changes.
    Landings of the same input serialise on a lock file; other inputs never wait.
    """
    target = InputLanding(source, input, base, days)
    with locked(paths.landing_dir(base) / ".locks" / f"{source}@{input}.lock"):
        try:
            yield target
        except BaseException:
            target.abort()
            raise
        target.commit()


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (released when closed, also when the process dies)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write_table(
    dataset_name: str, table: pa.Table, *, source: str, pool: str, base: Path | None = None
) -> LandedFile:
    """Land a configuration table (stage calendar, inventory) for one source and pool, replacing it."""
    dataset = DATASETS[dataset_name]
    table = conform(dataset, table)
    valid, rejected = split_valid(dataset, table)
    write_quarantine(dataset_name, rejected, source=source, pool=pool, origin=source, day=None, base=base)
    path = paths.landing_dir(base) / dataset_name / f"{_file_name(source, pool)}.parquet"
    _atomic_write(path, lambda tmp: pq.write_table(valid, tmp, compression="zstd"))
    return LandedFile(dataset_name, path, valid.num_rows, len(rejected), None)


def empty_table(dataset_name: str) -> pa.Table:
    return DATASETS[dataset_name].schema.empty_table()

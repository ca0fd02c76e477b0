"""Atomic, idempotent Parquet landing (DESIGN.md, "Data flow").

Layout: `<data_dir>/landing/<dataset>/date=YYYY-MM-DD/<source>-<pool>.parquet` for event data and
`<data_dir>/landing/<dataset>/<source>-<pool>.parquet` for configuration tables. Each file is written
under a temporary name and renamed, so a crash never leaves a partial file, and re-writing a day for
the same source and pool replaces that day's file (no duplicates).

A long-running collector lands each flush as its own part instead (`write_part`):
`<data_dir>/landing/<dataset>/date=YYYY-MM-DD/<source>-<pool>-<part>.parquet`, where `part` is derived
from the flushed rows, so a flush never rewrites an earlier one and re-flushing the same rows replaces
its own part. Its quarantine records go to the part's `<source>-<pool>-<part>.jsonl`.

Rows that break the contract (a null key, a value outside the accepted set) are not landed: they go to
`<data_dir>/quarantine/<dataset>/date=.../<source>-<pool>.jsonl` with the reason, field and record
number, and the rest of the day lands.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion import contracts, paths
from ingestion.contracts import DATASETS, Dataset

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


WRITE_SLICE_ROWS = 1 << 21  # rows conformed and written at a time (also the Parquet row-group size bound)


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def conform(dataset: Dataset, table: pa.Table) -> pa.Table:
    """Select and cast the contract columns in contract order (extra columns are kept after them)."""
    missing = [f.name for f in dataset.schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"{dataset.name}: missing contract columns {missing}")
    columns = [table[f.name].cast(f.type) for f in dataset.schema]
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


def _file_name(source: str, pool: str, part: str | None = None) -> str:
    return f"{source}-{pool}" if part is None else f"{source}-{pool}-{part}"


def write_quarantine(
    dataset: str, records: list[dict], *, source: str, pool: str, origin: str, day: dt.date | None,
    base: Path | None = None, part: str | None = None,
) -> Path | None:
    """Write quarantine records (JSONL, one object per bad record) for one day; None when there are none."""
    target_dir = paths.quarantine_dir(base) / dataset
    if day is not None:
        target_dir = target_dir / f"date={day.isoformat()}"
    path = target_dir / f"{_file_name(source, pool, part)}.jsonl"
    if not records:
        path.unlink(missing_ok=True)
        return None

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps({"origin": origin, **record}, default=str, ensure_ascii=False) + "\n")

    _atomic_write(path, write)
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
    return _write_partition(dataset_name, day, table, source=source, pool=pool, part=None, origin=origin,
                            rejected=rejected, base=base)


PART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def write_part(
    dataset_name: str, day: dt.date, table: pa.Table, *, source: str, pool: str, part: str,
    origin: str = "", rejected: Sequence[dict] = (), base: Path | None = None,
) -> LandedFile:
    """Land one part of one day (a collector's flush) beside the day's other parts, atomically.

    Same rules as `write_day` (every row on `day`, bad rows quarantined), but the file is
    `<source>-<pool>-<part>.parquet`: earlier parts are never touched, and writing the same `part`
    again replaces it. `part` should be derived from the rows (e.g. their first and last time), so that
    re-landing the same rows cannot duplicate them.
    """
    if not PART_NAME.match(part):
        raise ValueError(f"part {part!r}: use letters, digits, '.', '_' and '-' only")
    return _write_partition(dataset_name, day, table, source=source, pool=pool, part=part, origin=origin,
                            rejected=rejected, base=base)


def _write_partition(
    dataset_name: str, day: dt.date, table: pa.Table, *, source: str, pool: str, part: str | None,
    origin: str, rejected: Sequence[dict], base: Path | None,
) -> LandedFile:
    dataset = DATASETS[dataset_name]
    if dataset.partition_column is None:
        raise ValueError(f"{dataset_name} is not date-partitioned; use write_table")
    partition_type = dataset.schema.field(dataset.partition_column).type
    schema = conform(dataset, table.slice(0, 0)).schema  # the contract's columns are there (else a clear error)
    dates = pc.unique(pc.cast(table[dataset.partition_column].cast(partition_type), pa.date32())).to_pylist()
    stray = [d for d in dates if d is not None and d != day]
    if stray:
        raise ValueError(f"{dataset_name}: rows for {stray[:3]} passed to write_day({day})")
    day_dir = paths.landing_dir(base) / dataset_name / f"date={day.isoformat()}"
    path = day_dir / f"{_file_name(source, pool, part)}.parquet"
    quarantined = list(rejected)
    landed = 0

    def write(tmp: str) -> None:
        """Conform, validate and write the rows a slice at a time (bounded memory: a day of 1,024 GPUs is 20 M
        rows, whose label columns arrive dictionary-encoded and would be copied as plain strings at once);
        the quarantine file is written before the landed file appears."""
        nonlocal landed
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for offset in range(0, max(table.num_rows, 1), WRITE_SLICE_ROWS):
                valid, invalid = split_valid(dataset, conform(dataset, table.slice(offset, WRITE_SLICE_ROWS)))
                quarantined.extend({**r, "record": r["record"] + offset} for r in invalid)
                writer.write_table(valid)
                landed += valid.num_rows
        write_quarantine(dataset_name, quarantined, source=source, pool=pool, origin=origin or source,
                         day=day, base=base, part=part)

    _atomic_write(path, write)
    return LandedFile(dataset_name, path, landed, len(quarantined), day)


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

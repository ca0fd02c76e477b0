"""Log-file importers: each turns one input file into landing tables plus quarantine records.

Every importer module exposes `read_<kind>(path, pool, ...) -> ImportResult`; `land(result, source)`
then writes the result day by day as one input of `ingestion.landing.land_input` (named after the file,
or a batch name), so a re-run replaces exactly what that file landed before, other files of the same pool
and day stay, and a bad line is quarantined with its line number while the rest lands.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ingestion import landing
from ingestion.contracts import DATASETS
from ingestion.importers.values import convert_records, csv_records
from ingestion.progress import Progress


@dataclass
class ImportResult:
    """What one importer read from one file, for one pool."""

    pool: str
    origin: str  # the input file, recorded in quarantine records
    tables: dict[str, pa.Table] = field(default_factory=dict)  # dataset name -> rows of its contract
    rejected: dict[str, list[dict]] = field(default_factory=dict)  # dataset name -> quarantine records

    def notes(self) -> list[str]:
        """What the reader has to say about the file beyond its rows and rejects (`gpu-eff import` prints it):
        e.g. the families of a metrics page that the product does not use."""
        return []


# kind (as in `gpu-eff import KIND` and the config's `sources.logs`) -> (landing source, module, reader)
KINDS: dict[str, tuple[str, str, str]] = {
    "jobs": ("jobs-log", "ingestion.importers.jobs", "read_jobs"),
    "slurm-sacct": ("slurm-sacct", "ingestion.importers.slurm_sacct", "read_slurm_sacct"),
    "openb": ("openb", "ingestion.importers.openb", "read_openb"),
    "requests": ("requests-log", "ingestion.importers.requests", "read_requests"),
    "azure-llm-trace": ("azure-llm-trace", "ingestion.importers.azure_llm_trace", "read_azure_llm_trace"),
    "dcgm-text": ("dcgm-exporter", "ingestion.importers.dcgm_text", "read_dcgm_text"),
    "prometheus-json": ("prometheus", "ingestion.importers.prometheus_json", "read_prometheus_json"),
    "serving-text": ("serving-text", "ingestion.importers.serving_text", "read_serving_text"),
    "h200-lab": ("nvml", "ingestion.importers.h200_lab", "read_h200_lab"),
    "nvidia-smi": ("nvidia-smi", "ingestion.importers.nvidia_smi", "read_nvidia_smi"),
}


def read_log(kind: str, path: str | Path, pool: str, **options) -> tuple[str, ImportResult]:
    """(landing source name, what the reader of `kind` made of the file)."""
    source, module, function = KINDS[kind]
    return source, getattr(importlib.import_module(module), function)(path, pool, **options)


def input_name(result: ImportResult, batch: str | None = None) -> str:
    """The input `result` lands as: `batch` when given, else one named after its file's resolved path."""
    return landing.check_name("batch", batch) if batch is not None else landing.input_key(result.origin)


def land(result: ImportResult, source: str, base: Path | None = None,
         days: Collection[dt.date] | None = None,
         progress: Callable[[str], None] | None = None, batch: str | None = None) -> list[landing.LandedFile]:
    """Write every table of `result`, split by UTC day of its partition column, one file per day, as the input
    `input_name(result, batch)`: what that input landed before is replaced (every day's, or `days`').

    `days` limits landing to those days (a daily partition): rows of other days are left for their own run,
    a day of `days` without rows lands empty, and parse rejects, which carry no day, go to the dataset's
    undated quarantine file (replaced on each run).
    Without `days`, parse rejects go to the first (earliest) day's quarantine file, or, when a dataset has
    no valid row at all, to the undated quarantine file of that dataset.
    `progress` gets one line per landed day (rows, rate, ETA).
    """
    landed: list[landing.LandedFile] = []
    plan = []
    with landing.land_input(source, input_name(result, batch), base, days) as target:
        for name in sorted(set(result.tables) | set(result.rejected)):
            dataset = DATASETS[name]
            if dataset.partition_column is None:
                raise ValueError(f"{name} is not date-partitioned")
            table = result.tables.get(name, landing.empty_table(name))
            rejected = result.rejected.get(name, [])
            dates = pc.cast(table[dataset.partition_column], pa.date32())
            present = sorted(d for d in pc.unique(dates).to_pylist() if d is not None)
            if days is not None or not present:
                target.write_quarantine(name, rejected, pool=result.pool, origin=result.origin)
                rejected = []
            for day in sorted(days) if days is not None else present:
                plan.append((name, day, table, dates, rejected if rejected and day == present[0] else ()))
        with Progress(len(plan), f"import {result.origin}", progress or (lambda line: None), unit="file") as shown:
            for name, day, table, dates, with_rejects in plan:
                part = table.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
                landed.append(target.write_day(name, day, part, pool=result.pool, origin=result.origin,
                                               rejected=with_rejects))
                shown.step(f"{name} {day}", landed[-1].rows)
    return landed


def to_table(name: str, rows: list[dict]) -> pa.Table:
    """Build a contract table from row dicts (missing keys are null)."""
    schema = DATASETS[name].schema
    return pa.Table.from_pylist([{f.name: row.get(f.name) for f in schema} for row in rows], schema=schema)


def convert_csv(path: Path, convert: Callable[[dict, int], dict], dataset: str | None = None
                ) -> tuple[list[dict], list[dict]]:
    """Each CSV record through `convert(record, line_number)`, then `values.check_row` against `dataset` when
    given: its rows, and the quarantine records (file, line, field, reason) of the lines refused: not UTF-8,
    unreadable as CSV, more cells than the header, or `convert` raised ValueError (naming the field)."""
    return convert_records(path, csv_records(path), convert, dataset)

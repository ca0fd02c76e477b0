"""Source health over the landing files: freshness, volume, duplicates, quarantine, scrape failures.

Pure functions of the landing layout (`<data_dir>/landing/<dataset>/date=YYYY-MM-DD/<source>-<pool>[@<input>]
.parquet`, quarantine JSONL beside it under `<data_dir>/quarantine/`): each returns an `Outcome`. A day's check
reads every file of the day, whichever input landed it, so a row two inputs both landed is a duplicate. They read
Parquet with DuckDB in memory (never the warehouse) and row counts from Parquet footers where that suffices.

Files of lab pools (the H200 lab runs land on the days they ran) are left out of freshness and volume: they
are not a daily feed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from ingestion import contracts, paths
from ingestion.from_config import SCHEMA_DAY
from orchestration.defs.checks.outcome import ERROR, WARN, Outcome

TRAILING_DAYS = 7  # the volume baseline: median rows of the 7 days before
MIN_TRAILING_DAYS = 3  # fewer landed days before it: the day is not judged
# A day's rows outside [LOW, HIGH] x the trailing median is an anomaly (a re-landed copy doubles a day;
# a collector that stopped halves it). Stage changes move telemetry volume too (MIG instances add series).
VOLUME_LOW, VOLUME_HIGH = 0.5, 1.75
VOLUME_DATASETS = ("gpu_samples", "inference_requests")  # job logs are small and bursty: not a health signal
SCRAPE_FAILURE_WARN = 0.05  # share of failed collector scrapes above which scrape health warns
QUARANTINE_WARN_SHARE = 0.01  # quarantined / (landed + quarantined) rows above which quarantine volume warns
# The natural key of each dataset. A reading is one GPU (or MIG instance), metric and time from one source: the
# same key twice is a reading landed twice, or two values for one reading (the warehouse's tests of the readings
# rely on this gate instead of grouping billions of readings again).
DUPLICATE_KEYS: dict[str, tuple[str, ...]] = {
    # namespace/pod: dcgm-exporter exports a shared GPU's reading once per pod (--kubernetes-virtual-gpus)
    "gpu_samples": ("ts", "gpu_uuid", "gpu_instance_id", "metric", "source", "namespace", "pod"),
    "inference_requests": ("request_id",),
    "jobs": ("job_id",),
    "job_events": ("job_id", "ts", "event"),
    "serving_metrics": ("minute_ts", "pool", "namespace", "pod", "engine_index", "model", "metric", "le",
                        "value_kind", "source"),
    "pod_allocations": ("pool", "uid", "observed_ts", "source"),
}
SAMPLES = 5

FRESHNESS, VOLUME, DUPLICATES, QUARANTINE, SCRAPES = (
    "fresh_partition", "volume_vs_7day_median", "no_duplicate_rows", "quarantine_volume", "scrape_health")


def _asset(dataset: str) -> str:
    return f"landing/{dataset}"


def _is_lab(file: Path, lab_pools: Iterable[str]) -> bool:
    source_and_pool = file.stem.split("@", 1)[0]  # `<source>-<pool>` (DESIGN.md, "Landing identity")
    return any(source_and_pool.endswith(f"-{pool}") for pool in lab_pools)


def day_files(dataset: str, day: dt.date, lab_pools: Iterable[str] = (), base: Path | None = None) -> list[Path]:
    folder = paths.landing_dir(base) / dataset / f"date={day.isoformat()}"
    return sorted(f for f in folder.glob("*.parquet") if not _is_lab(f, lab_pools))


def landed_days(dataset: str, lab_pools: Iterable[str] = (), base: Path | None = None) -> list[dt.date]:
    days = []
    for folder in (paths.landing_dir(base) / dataset).glob("date=*"):
        day = dt.date.fromisoformat(folder.name.removeprefix("date="))
        if day != SCHEMA_DAY and day_files(dataset, day, lab_pools, base):
            days.append(day)
    return sorted(days)


def rows_on(dataset: str, day: dt.date, lab_pools: Iterable[str] = (), base: Path | None = None) -> int | None:
    """Rows landed for the day (Parquet footers); None when the partition did not arrive."""
    files = day_files(dataset, day, lab_pools, base)
    return sum(pq.read_metadata(f).num_rows for f in files) if files else None


def _memory_db() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded like the warehouse's (GPU_EFF_DUCKDB_MEMORY_LIMIT, dbt_project/profiles.yml):
    a large scan spills to a temporary directory instead of taking the machine's memory."""
    con = duckdb.connect(config={"memory_limit": os.environ.get("GPU_EFF_DUCKDB_MEMORY_LIMIT", "3GB")})
    con.execute("set enable_progress_bar = false")
    return con


def _sql_list(files: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"


def freshness(dataset: str, day: dt.date | None, lab_pools: Iterable[str] = (), base: Path | None = None) -> Outcome:
    """The day's partition arrived, with rows if a stage of the calendar is in force on it; for telemetry, every
    pool that reported in the 7 days before reports on it."""
    def outcome(passed: bool, message: str, failing: int = 0, **metadata) -> Outcome:
        return Outcome(_asset(dataset), FRESHNESS, passed, False, ERROR, message, failing,
                       {"expected_day": str(day), **metadata})

    if day is None:
        return outcome(True, "not evaluated: the run has no partition (freshness is judged on partitioned runs)")
    files = day_files(dataset, day, lab_pools, base)
    if not files and not landed_days(dataset, lab_pools, base):
        return outcome(True, f"{dataset}: not expected: nothing has ever landed in it (no configured source "
                             f"produces it, e.g. no job log on a cluster read from Prometheus)")
    if not files:
        return outcome(False, f"{dataset}: partition date={day} did not arrive "
                              f"(no file under landing/{dataset}/date={day}/)", 1)
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    if dataset == "gpu_samples":
        silent = _silent_pools(files, day, lab_pools, base)
        if silent:
            return outcome(False, f"gpu_samples: pool(s) {', '.join(silent)} reported in the 7 days before {day} "
                                  f"but not on {day}", len(silent), silent_pools=silent, rows=rows)
    if rows == 0:
        in_force = stages_in_force(day, base)
        if in_force:
            return outcome(False, f"{dataset}: partition date={day} arrived with no rows while a stage is in force "
                                  f"({', '.join(in_force)})", 1, files=len(files), stages_in_force=in_force)
        return outcome(True, f"{dataset}: partition date={day} arrived with no rows, and no stage of the calendar "
                             f"is in force on {day}: none were expected", files=len(files), rows=0)
    return outcome(True, f"{dataset}: partition date={day} arrived: {rows} rows in {len(files)} file(s)"
                         + (" from every pool of the week before" if dataset == "gpu_samples" else ""),
                   files=len(files), rows=rows)


def _silent_pools(files: Sequence[Path], day: dt.date, lab_pools: Iterable[str], base: Path | None) -> list[str]:
    """Pools with telemetry in the 7 days before `day` but none in `files` (the day's)."""
    before = [f for i in range(1, TRAILING_DAYS + 1)
              for f in day_files("gpu_samples", day - dt.timedelta(days=i), lab_pools, base)]
    if not before:
        return []
    with _memory_db() as con:
        today = {r[0] for r in con.execute(f"select distinct pool from read_parquet({_sql_list(files)})").fetchall()}
        earlier = {r[0] for r in con.execute(f"select distinct pool from read_parquet({_sql_list(before)})")
                   .fetchall()}
    return sorted(earlier - today)


def stages_in_force(day: dt.date, base: Path | None = None) -> list[str]:
    """'<pool> stage <id>' for every row of the landed stage calendars whose window covers part of the day."""
    files = sorted((paths.landing_dir(base) / "stage_calendar").glob("*.parquet"))
    if not files:
        return []
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    with _memory_db() as con:
        rows = con.execute(f"""select pool, stage_id from read_parquet({_sql_list(files)}, union_by_name = true)
                               where start_ts < $end and (end_ts is null or end_ts > $start)
                               order by pool, stage_id""",
                           {"start": start, "end": start + dt.timedelta(days=1)}).fetchall()
    return [f"{pool} stage {stage_id}" for pool, stage_id in rows]


def volume(dataset: str, days: Sequence[dt.date], lab_pools: Iterable[str] = (), base: Path | None = None) -> Outcome:
    """Each day's rows against the median of the trailing 7 landed days (WARN outside VOLUME_LOW..HIGH)."""
    judged, anomalies = [], []
    for day in days:
        rows = rows_on(dataset, day, lab_pools, base)
        trailing = [r for i in range(1, TRAILING_DAYS + 1)
                    if (r := rows_on(dataset, day - dt.timedelta(days=i), lab_pools, base)) is not None]
        if rows is None or len(trailing) < MIN_TRAILING_DAYS or statistics.median(trailing) == 0:
            continue
        median = statistics.median(trailing)
        entry = {"day": str(day), "rows": rows, "trailing_median": median, "ratio": round(rows / median, 3)}
        judged.append(entry)
        if not VOLUME_LOW <= rows / median <= VOLUME_HIGH:
            anomalies.append(entry)
    if anomalies:
        worst = max(anomalies, key=lambda e: abs(e["ratio"] - 1))
        message = (f"{dataset}: {len(anomalies)} day(s) outside {VOLUME_LOW}-{VOLUME_HIGH} x the trailing "
                   f"{TRAILING_DAYS}-day median, e.g. {worst['day']}: {worst['rows']} rows vs median "
                   f"{worst['trailing_median']:g} (x{worst['ratio']})")
    elif judged:
        message = f"{dataset}: {len(judged)} day(s) within {VOLUME_LOW}-{VOLUME_HIGH} x the trailing median"
    else:
        message = f"{dataset}: no day with {MIN_TRAILING_DAYS}+ landed days before it to compare with"
    return Outcome(_asset(dataset), VOLUME, not anomalies, False, WARN, message, len(anomalies),
                   {"anomalies": anomalies[:SAMPLES * 2], "days_judged": len(judged)})


def duplicates(dataset: str, days: Sequence[dt.date], base: Path | None = None) -> Outcome:
    """No natural key landed twice in the days (a day re-landed under another name, a replayed log, one record
    in two inputs)."""
    key = DUPLICATE_KEYS[dataset]
    by_day = [day_files(dataset, day, (), base) for day in days]
    files = [f for day in by_day for f in day]
    if not files:
        return Outcome(_asset(dataset), DUPLICATES, True, True, ERROR, f"{dataset}: no files in the run's days")
    # A key holding the partition's time has its copies on one day: one day at a time bounds the memory (a day of
    # 1,024 GPUs is 20 M readings); another key (a request id) is checked over all the days at once.
    groups = by_day if contracts.DATASETS[dataset].partition_column in key else [files]
    cols = ", ".join(f'"{c}"' for c in key)
    extra = keys = 0
    samples = []
    with _memory_db() as con:
        for group in filter(None, groups):
            # one pass counting the keys' distinct hashes (a count, not a table of groups: 1.6 s for a day of 21.6 M
            # readings where grouping them took 2.5 s); only when two rows share a hash, the exact keys and files
            rows, hashes = con.execute(f"select count(*), count(distinct hash({cols})) "
                                       f"from read_parquet({_sql_list(group)}, union_by_name = true)").fetchone()
            if hashes == rows:
                continue
            source = f"read_parquet({_sql_list(group)}, filename = true, union_by_name = true)"
            con.execute(f"""create or replace temp table dup_hashes as select hash({cols}) as h from {source}
                            group by h having count(*) > 1""")
            con.execute(f"""create or replace temp table dup as
                select {cols}, count(*) as copies, list(distinct filename order by filename) as files
                from {source} where hash({cols}) in (select h from dup_hashes)
                group by {cols} having count(*) > 1""")
            group_extra, group_keys = con.execute("select coalesce(sum(copies - 1), 0), count(*) from dup").fetchone()
            extra, keys = extra + group_extra, keys + group_keys
            if group_keys and len(samples) < SAMPLES:
                samples.append(con.execute(f"select * from dup order by copies desc, {cols} limit {SAMPLES}").df())
    rows = []
    if samples:
        sample = pd.concat(samples).sort_values("copies", ascending=False, kind="stable").head(SAMPLES)
        sample["files"] = sample["files"].map(
            lambda fs: [str(Path(f).relative_to(paths.landing_dir(base))) for f in fs])
        rows = json.loads(sample.to_json(orient="records", date_format="iso"))
    if keys:
        first = rows[0]
        where = ", ".join(f"{c}={first[c]}" for c in key)
        message = (f"{dataset}: {extra} duplicate row(s) over {keys} key(s) ({', '.join(key)}) "
                   f"in {len(days)} day(s), e.g. {where} x{first['copies']} in {', '.join(first['files'])}")
    else:
        message = f"{dataset}: no duplicate {'/'.join(key)} in {len(files)} file(s)"
    return Outcome(_asset(dataset), DUPLICATES, keys == 0, True, ERROR, message, int(extra),
                   {"duplicate_keys": int(keys), "sample_rows": rows, "files_scanned": len(files)})


def _quarantine_files(dataset: str, days: Sequence[dt.date], base: Path | None) -> list[Path]:
    root = paths.quarantine_dir(base) / dataset
    return sorted(f for day in days for f in (root / f"date={day.isoformat()}").glob("*.jsonl"))


def quarantine(dataset: str, days: Sequence[dt.date], base: Path | None = None) -> Outcome:
    """Rows sent to quarantine in the run's days against what landed (WARN above QUARANTINE_WARN_SHARE)."""
    files = _quarantine_files(dataset, days, base)
    quarantined, samples = 0, []
    for file in files:
        with file.open(encoding="utf-8") as fh:
            lines = [line for line in fh if line.strip()]
        quarantined += len(lines)
        if lines and len(samples) < SAMPLES:
            record = json.loads(lines[0])
            samples.append({"file": str(file.relative_to(paths.data_dir() if base is None else base)),
                            "record": record.get("record"), "reason": record.get("reason"),
                            "rows_in_file": len(lines)})
    landed = sum(rows_on(dataset, day, (), base) or 0 for day in days)
    share = quarantined / (landed + quarantined) if quarantined else 0.0
    passed = share <= QUARANTINE_WARN_SHARE
    message = (f"{dataset}: {quarantined} row(s) quarantined ({share:.2%} of {landed + quarantined}) in "
               f"{len(files)} file(s)" + ("" if passed else f", above {QUARANTINE_WARN_SHARE:.0%}"))
    if samples:
        message += f"; e.g. {samples[0]['file']} record {samples[0]['record']}: {samples[0]['reason']}"
    return Outcome(_asset(dataset), QUARANTINE, passed, False, WARN, message, quarantined,
                   {"quarantined_rows": quarantined, "landed_rows": landed, "share": round(share, 6),
                    "samples": samples})


def scrape_health(days: Sequence[dt.date], base: Path | None = None) -> Outcome:
    """Share of failed collector scrapes in the run's days (WARN above SCRAPE_FAILURE_WARN), worst targets."""
    files = [f for day in days for f in day_files("scrape_health", day, (), base)]
    asset = _asset("gpu_samples")
    if not files:
        return Outcome(asset, SCRAPES, True, False, WARN,
                       "no collector scrapes landed in the run's days (no collector feeds this cluster)")
    with _memory_db() as con:
        rel = f"read_parquet({_sql_list(files)}, union_by_name = true)"
        total, failed = con.execute(f"select count(*), count(*) filter (where not ok) from {rel}").fetchone()
        worst = con.execute(f"""select pool, target, count(*) filter (where not ok) as failed, count(*) as scrapes,
                                       any_value(error) filter (where not ok) as error
                                from {rel} group by pool, target having count(*) filter (where not ok) > 0
                                order by failed desc limit {SAMPLES}""").df()
    share = failed / total if total else 0.0
    passed = share <= SCRAPE_FAILURE_WARN
    message = f"{failed} of {total} scrapes failed ({share:.1%}, threshold {SCRAPE_FAILURE_WARN:.0%})"
    if len(worst):
        top = worst.iloc[0]
        message += f"; worst target {top['target']} (pool {top['pool']}): {top['failed']} failed, {top['error']}"
    return Outcome(asset, SCRAPES, passed, False, WARN, message, int(failed),
                   {"scrapes": int(total), "failed": int(failed), "share": round(share, 6),
                    "worst_targets": json.loads(worst.to_json(orient="records"))})

"""The quality report: `quality.check_results` in the warehouse, one row per check per run.

Idempotent per run: the key is (run_id, asset, check_name) and rows are written with INSERT OR REPLACE, so
re-running a check step of the same run replaces its rows and never duplicates them. The writer holds the
warehouse only for the few statements below (the steps that write run in WAREHOUSE_POOL).

The deck reads the latest run's outcomes with `deck_assets.quality.quality_summary`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from deck_assets.quality import SCHEMA, TABLE
from ingestion import paths
from orchestration.defs.checks.outcome import Outcome

DDL = f"""
create table if not exists {TABLE} (
    run_id        varchar   not null,
    evaluated_at  timestamp not null,  -- UTC
    asset         varchar   not null,
    check_name    varchar   not null,
    passed        boolean   not null,
    severity      varchar   not null,  -- ERROR or WARN: what a failure of the check means
    blocking      boolean   not null,  -- a failure stops the deck
    failing_count bigint,
    message       varchar,
    primary key (run_id, asset, check_name)
)
"""
LOCK_ATTEMPTS = 20  # another process (dbt outside Dagster, a notebook) may hold the file: retry, 0.5 s apart


def _connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    for attempt in range(LOCK_ATTEMPTS):
        try:
            return duckdb.connect(str(warehouse))
        except duckdb.IOException:
            if attempt == LOCK_ATTEMPTS - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def write(warehouse: Path, run_id: str, outcomes: Iterable[Outcome], evaluated_at: dt.datetime | None = None) -> int:
    """Record the outcomes of one run (replacing that run's earlier rows for the same checks); rows written."""
    at = (evaluated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    rows = [(run_id, at, o.asset, o.check_name, o.passed, o.severity, o.blocking, o.failing_count, o.message)
            for o in outcomes]
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with _connect(warehouse) as con:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(DDL)
        if rows:
            con.executemany(f"insert or replace into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def read(warehouse: Path, run_id: str) -> list[Outcome]:
    """The outcomes one run recorded (none without a report)."""
    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        try:
            rows = con.execute(f"select asset, check_name, passed, blocking, severity, message, failing_count "
                               f"from {TABLE} where run_id = ? order by asset, check_name", [run_id]).fetchall()
        except duckdb.CatalogException:
            return []
    return [Outcome(asset, name, passed, blocking, severity, message or "", failing or 0)
            for asset, name, passed, blocking, severity, message, failing in rows]


def record(context: Any, outcomes: list[Outcome]) -> None:
    """Write the outcomes of a check step for its run; a report that cannot be written only logs a warning
    (the checks' own results still reach Dagster)."""
    run_id = context.run.run_id
    try:
        written = write(paths.warehouse_path(), run_id, outcomes)
        context.log.info(f"quality report: {written} row(s) in {TABLE} for run {run_id}")
    except duckdb.Error as exc:
        context.log.warning(f"quality report not written ({TABLE}): {exc}")

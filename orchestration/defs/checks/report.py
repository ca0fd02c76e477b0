"""The quality report: `quality.check_results` in the warehouse, one row per check per run.

Idempotent per run: the key is (run_id, asset, check_name) and rows are written with INSERT OR REPLACE, so
re-running a check step of the same run replaces its rows and never duplicates them. The writer holds the
warehouse only for the few statements below (the steps that write run in WAREHOUSE_POOL).

`quality_summary(con)` is what the deck reads; it imports nothing from Dagster.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from ingestion import paths
from orchestration.defs.checks.outcome import Outcome

SCHEMA = "quality"
TABLE = f"{SCHEMA}.check_results"
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


def record(context: Any, outcomes: list[Outcome]) -> None:
    """Write the outcomes of a check step for its run; a report that cannot be written only logs a warning
    (the checks' own results still reach Dagster)."""
    run_id = context.run.run_id
    try:
        written = write(paths.warehouse_path(), run_id, outcomes)
        context.log.info(f"quality report: {written} row(s) in {TABLE} for run {run_id}")
    except duckdb.Error as exc:
        context.log.warning(f"quality report not written ({TABLE}): {exc}")


def quality_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The checks of the latest run recorded in the report, or None when there is no report yet.

    {"run_id": str, "evaluated_at": datetime (UTC, naive), "checks": int, "passed": int, "failed": int,
     "failed_blocking": int, "warnings": int (failed, severity WARN),
     "failures": [{"asset", "check_name", "severity", "blocking", "failing_count", "message"}, ...]}
    """
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [SCHEMA, TABLE.split(".")[1]],
    ).fetchone()[0]
    if not exists:
        return None
    latest = con.execute(f"select run_id, max(evaluated_at) as latest_at from {TABLE} group by run_id "
                         f"order by latest_at desc, run_id limit 1").fetchone()
    if latest is None:
        return None
    run_id, evaluated_at = latest
    rows = con.execute(f"select asset, check_name, passed, severity, blocking, failing_count, message from {TABLE} "
                       f"where run_id = ? order by asset, check_name", [run_id]).fetchall()
    failures = [{"asset": a, "check_name": c, "severity": s, "blocking": b, "failing_count": n, "message": m}
                for a, c, ok, s, b, n, m in rows if not ok]
    return {
        "run_id": run_id,
        "evaluated_at": evaluated_at,
        "checks": len(rows),
        "passed": len(rows) - len(failures),
        "failed": len(failures),
        "failed_blocking": sum(1 for f in failures if f["blocking"]),
        "warnings": sum(1 for f in failures if f["severity"] == "WARN"),
        "failures": failures,
    }

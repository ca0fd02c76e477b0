"""The latest run's data-quality outcomes, as the deck states them: `quality.check_results` in the warehouse,
written by the pipeline's check steps (orchestration/defs/checks/report.py). Imports nothing from Dagster."""

from __future__ import annotations

from typing import Any

import duckdb

SCHEMA = "quality"
TABLE = f"{SCHEMA}.check_results"


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

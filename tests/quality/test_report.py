"""The quality report: one row per check per run, re-runs replace their rows, the summary the deck reads."""

from __future__ import annotations

import datetime as dt

import duckdb

from deck_assets.quality import quality_summary
from orchestration.defs.checks import report
from orchestration.defs.checks.outcome import ERROR, WARN, Outcome

T0 = dt.datetime(2026, 10, 12, 6, 0, tzinfo=dt.UTC)


def _outcomes(util_passed: bool = True) -> list[Outcome]:
    return [
        Outcome("mart_stage_metrics", "gx_utilisation_in_range", util_passed, True, ERROR,
                "ok" if util_passed else "int_gpu_minutes: max_activity_pct 150", 0 if util_passed else 1440),
        Outcome("landing/gpu_samples", "volume_vs_7day_median", False, False, WARN, "x2.0 on 2026-10-11", 1),
        Outcome("landing/jobs", "no_duplicate_rows", True, True, ERROR, "no duplicate job_id"),
    ]


def test_summary_is_none_before_any_report(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert quality_summary(con) is None
        con.execute("create schema quality")
        con.execute(report.DDL)
        assert quality_summary(con) is None  # the table exists, no run recorded yet


def test_rerunning_a_run_replaces_its_rows(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    report.write(warehouse, "run-a", _outcomes(util_passed=False), T0)
    report.write(warehouse, "run-a", _outcomes(util_passed=True), T0 + dt.timedelta(minutes=5))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select asset, check_name, passed, failing_count from quality.check_results "
                           "order by asset, check_name").fetchall()
    assert rows == [("landing/gpu_samples", "volume_vs_7day_median", False, 1),
                    ("landing/jobs", "no_duplicate_rows", True, 0),
                    ("mart_stage_metrics", "gx_utilisation_in_range", True, 0)]


def test_summary_reports_the_latest_run(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    report.write(warehouse, "run-a", _outcomes(util_passed=True), T0)
    report.write(warehouse, "run-b", _outcomes(util_passed=False), T0 + dt.timedelta(days=1))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        summary = quality_summary(con)
    assert summary["run_id"] == "run-b"
    assert summary["evaluated_at"] == dt.datetime(2026, 10, 13, 6, 0)
    assert (summary["checks"], summary["passed"], summary["failed"]) == (3, 1, 2)
    assert (summary["failed_blocking"], summary["warnings"]) == (1, 1)
    assert summary["failures"][1] == {"asset": "mart_stage_metrics", "check_name": "gx_utilisation_in_range",
                                      "severity": "ERROR", "blocking": True, "failing_count": 1440,
                                      "message": "int_gpu_minutes: max_activity_pct 150"}


def test_a_step_writes_next_to_the_warehouse_tables(tmp_path):
    """The report lives in its own schema of the warehouse and leaves the dbt schemas alone."""
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.mart_stage_metrics as select 1 as x")
    report.write(warehouse, "run-a", _outcomes(), T0)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("select table_schema || '.' || table_name from information_schema.tables "
                             "order by 1").fetchall()
    assert tables == [("marts.mart_stage_metrics",), ("quality.check_results",)]

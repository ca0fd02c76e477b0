"""Each GX suite alone: a fault written into a copy of the clean tiny warehouse fails exactly the intended
check, and its metadata names the pool, stage, GPU or request."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from orchestration.defs.checks.mart_checks import evaluate_all
from orchestration.defs.checks.mart_suites import IMPLAUSIBLE_BLOCK_PERCENT, MART_CHECKS

pytestmark = pytest.mark.slow

GPU = "(select min(gpu_uuid) from intermediate.int_gpu_minutes where stage_id = 0)"
LAST_DAY = "(select max(date) from intermediate.int_telemetry_daily)"
GPU_UTIL = "raw_metric = 'DCGM_FI_DEV_GPU_UTIL'"
# the first GPU of the last day in int_telemetry_daily (a MIG GPU in the tiny scenario: no GPU_UTIL)
ONE_GPU_DAY = (f"date = {LAST_DAY} and gpu_uuid = "
               f"(select min(gpu_uuid) from intermediate.int_telemetry_daily where date = {LAST_DAY})")
FAULTS = {
    "gpu_at_150_percent": (
        f"update intermediate.int_gpu_minutes set activity_pct = 150 where gpu_uuid = {GPU} and stage_id = 0",
        "gx_utilisation_in_range", "int_gpu_minutes", "max_activity_pct",
        {"stage_key": "baseline", "max_activity_pct": 150.0, "out_of_range_minutes": 1440}),
    "negative_utilisation_in_mart": (
        "update marts.mart_stage_metrics set gpu_utilization_percent = -3 where stage_id = 2",
        "gx_utilisation_in_range", "mart_stage_metrics", "gpu_utilization_percent",
        {"pool": "tiny", "stage_id": 2, "stage_key": "orchestration", "gpu_utilization_percent": -3.0}),
    "negative_ttft": (
        "update intermediate.int_inference_requests set ttft_ms = -5 "
        "where request_id = (select min(request_id) from intermediate.int_inference_requests)",
        "gx_latency_plausible", "int_inference_requests", "ttft_ms", {"ttft_ms": -5.0}),
    "tbt_p95_below_p50": (
        "update marts.mart_stage_metrics set tbt_p95_milliseconds = tbt_milliseconds / 2 where stage_id = 4",
        "gx_latency_plausible", "mart_stage_metrics", "tbt_p95_milliseconds", {"stage_key": "software"}),
    "throughput_per_watt_off": (
        "update marts.mart_stage_metrics set throughput_per_watt = throughput_per_watt * 1.1 where stage_id = 5",
        "gx_efficiency_consistent", "mart_stage_metrics", "throughput_per_watt_rel_error",
        {"stage_key": "resilience", "throughput_per_watt_rel_error": pytest.approx(0.1, rel=1e-6)}),
    "energy_price_changed_after_the_build": (
        "update reference.energy_price set price_per_kwh = price_per_kwh * 100",
        "gx_efficiency_consistent", "mart_stage_metrics", "throughput_per_dollar_rel_error", {"pool": "tiny"}),
    "stage_missing": (
        "delete from marts.mart_stage_metrics where stage_id = 5",
        "gx_seven_stages_per_pool", "pools x stage_catalog", "mart_rows",
        {"pool": "tiny", "stage_id": 5, "stage_key": "resilience", "mart_rows": 0}),
    "uncited_benchmark_fallback": (
        "update marts.mart_stage_comparison set value_source = 'benchmark', evidence_tier = '行业基准', "
        "source_ref = 'B99-NOWHERE' where metric = 'ttft_milliseconds' and stage_id = 1",
        "gx_benchmark_fallbacks_cited", "mart_stage_comparison", "benchmark_id",
        {"stage_id": 1, "metric": "ttft_milliseconds", "source_ref": "B99-NOWHERE"}),
    # one GPU's GPU_UTIL out of range all day: 1,440 of the pool's 357,120 readings (0.4 %), a warning only
    "one_metric_implausible_all_day": (
        f"update intermediate.int_telemetry_daily set implausible_rows = sample_rows, implausible_min_value = 150, "
        f"implausible_max_value = 150 where date = {LAST_DAY} and {GPU_UTIL} and gpu_uuid = "
        f"(select min(gpu_uuid) from intermediate.int_telemetry_daily where date = {LAST_DAY} and {GPU_UTIL})",
        "gx_implausible_readings", "int_telemetry_daily", "implausible_readings",
        {"canonical_metric": "gpu_util_pct", "implausible_readings": 1440, "highest_implausible": 150.0}),
    "missing_telemetry": (
        "update marts.mart_stage_metrics set missing_gpu_minutes_percent = 20 where stage_id = 1",
        "gx_telemetry_coverage", "mart_stage_metrics", "missing_gpu_minutes_percent", {"stage_key": "sharing"}),
}


@pytest.fixture
def warehouse(clean_run, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(clean_run[0] / "warehouse.duckdb", path)
    return path


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_fails_only_its_check_and_names_the_rows(warehouse, fault):
    sql, check_name, suite, column, expected_row = FAULTS[fault]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)
    outcomes = {o.check_name: o for o in evaluate_all(warehouse)}
    assert {name for name, o in outcomes.items() if not o.passed} == {check_name}
    outcome = outcomes[check_name]
    check = next(c for c in MART_CHECKS if c.name == check_name)
    assert (outcome.blocking, outcome.severity) == (check.blocking, "ERROR" if check.blocking else "WARN")
    assert outcome.failing_count >= 1
    samples = outcome.metadata["sample_rows"].value
    rows = next(rows for name, rows in samples.items() if name.startswith(suite) and f"({column}" in name)
    assert {k: rows[0][k] for k in expected_row} == expected_row
    assert suite in outcome.message and column in outcome.message


def test_a_cited_benchmark_fallback_passes(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        bench = con.execute("select min(id) from reference.industry_benchmarks").fetchone()[0]
        con.execute("update marts.mart_stage_comparison set value_source = 'benchmark', "
                    "source_ref = 'industry_benchmarks.' || ? where metric = 'ttft_milliseconds'", [bench])
    [outcome] = evaluate_all(warehouse, [c for c in MART_CHECKS if c.name == "gx_benchmark_fallbacks_cited"])
    assert outcome.passed, outcome.message
    assert outcome.metadata["rows_validated"].value["mart_stage_comparison benchmark fallbacks"] == 7


def test_a_mart_that_cannot_be_read_fails_its_check(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table marts.mart_daily_utilization")
    [outcome] = evaluate_all(warehouse, [c for c in MART_CHECKS if c.name == "gx_daily_utilisation_in_range"])
    assert not outcome.passed and "mart_daily_utilization" in outcome.message


def test_the_per_row_suites_check_the_runs_days(warehouse):
    """A refresh checks its new days' GPU-minutes and requests (the days before were checked when they landed)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(FAULTS["gpu_at_150_percent"][0])
        con.execute(FAULTS["negative_ttft"][0])
        faulty = {d for (d,) in con.execute(
            "select distinct date from intermediate.int_gpu_minutes where activity_pct > 100 union "
            "select date from intermediate.int_inference_requests where ttft_ms < 0").fetchall()}
        other = con.execute("select max(date) from intermediate.int_gpu_minutes").fetchone()[0]
    assert other not in faulty
    checks = [c for c in MART_CHECKS if c.name in ("gx_utilisation_in_range", "gx_latency_plausible")]
    clean_day = evaluate_all(warehouse, checks, days=[other])
    assert all(o.passed for o in clean_day), [o.message for o in clean_day]
    assert all(o.metadata["rows_validated"].value["int_gpu_minutes per GPU and stage"] > 0
               for o in clean_day if o.check_name == "gx_utilisation_in_range")
    assert not any(o.passed for o in evaluate_all(warehouse, checks, days=sorted(faulty)))


def test_implausible_readings_above_the_threshold_block(warehouse):
    """Every reading of one GPU on the last day implausible: 12.5 % of the pool's readings, above
    IMPLAUSIBLE_BLOCK_PERCENT: the blocking gate fails and names the pool and day, the warning names the GPU."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"update intermediate.int_telemetry_daily set implausible_rows = sample_rows, "
                    f"implausible_min_value = -1, implausible_max_value = 1e9 where {ONE_GPU_DAY}")
        gpu, day = con.execute(f"select distinct gpu_uuid, date from intermediate.int_telemetry_daily "
                               f"where {ONE_GPU_DAY}").fetchone()
    outcomes = {o.check_name: o for o in evaluate_all(warehouse)}
    assert {name for name, o in outcomes.items() if not o.passed} == {"gx_readings_plausible",
                                                                       "gx_implausible_readings"}
    share = outcomes["gx_readings_plausible"]
    assert share.blocking and share.severity == "ERROR"
    [rows] = share.metadata["sample_rows"].value.values()
    assert [(r["pool"], str(r["date"])[:10], r["gpus_with_implausible"]) for r in rows] == [
        ("tiny", day.isoformat(), 1)]
    assert rows[0]["implausible_percent"] > IMPLAUSIBLE_BLOCK_PERCENT
    each = outcomes["gx_implausible_readings"]
    assert not each.blocking and each.severity == "WARN"
    assert {r["gpu_uuid"] for rows in each.metadata["sample_rows"].value.values() for r in rows} == {gpu}

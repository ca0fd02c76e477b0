"""End to end on the tiny scenario: faults a source could deliver fail the intended check, the deck is not
rebuilt in that run, and the previous deck stays byte-for-byte as it was.

A fault may also fail one of the dbt tests (which blocks the deck too, and then the GX step never runs):
where the GX check ran, its outcome and metadata are asserted; the deck's absence is asserted in every case.
"""

from __future__ import annotations

import duckdb
import pytest
from conftest import LAST_DAY, check_results, copy_of, deck_hashes, materialized, run_day
from faults import after, calendar_without_stage, day_landed_twice, gpu_at_150_percent, instant_response, negative_ttft

from deck_assets.quality import quality_summary
from ingestion import from_config
from orchestration.defs.checks.mart_suites import MART_CHECKS

pytestmark = pytest.mark.slow

MY_CHECKS = {f"{c.asset}:{c.name}" for c in MART_CHECKS}


def _blocked(result) -> list[str]:
    """Failed blocking check evaluations of the run (ours or dbt's), as 'asset:check'."""
    return [k for k, e in check_results(result).items() if not e.passed and e.blocking]


def rows_for(evaluation, suite: str, column: str) -> list[dict]:
    """The sample offending rows of the failed expectation on `column` in `suite`."""
    samples = evaluation.metadata["sample_rows"].value
    return next(rows for name, rows in samples.items() if name.startswith(suite) and f"({column}" in name)


def deck_metadata(result) -> dict:
    """The metadata of the run's `deck` materialization."""
    return next(e.materialization.metadata for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "deck")


def test_clean_run_passes_every_quality_check(clean_run):
    data_dir, result = clean_run
    checks = check_results(result)
    ours = {k: e for k, e in checks.items() if k in MY_CHECKS or e.check_name in (
        "fresh_partition", "no_duplicate_rows", "volume_vs_7day_median", "quarantine_volume", "scrape_health")}
    assert len(ours) == len(MART_CHECKS) + 21  # 3 per landing dataset (6), 2 volumes, scrape health
    failed = {k: e.description for k, e in ours.items() if not e.passed}
    assert not failed
    assert "deck" in materialized(result)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select count(*), count(distinct (asset, check_name)) from quality.check_results "
                           "where run_id = ?", [result.run_id]).fetchone()
    before_deck = [e for e in checks.values() if e.asset_key.to_user_string() != "deck"]  # dbt tests, ours
    assert len(before_deck) > len(ours)
    assert rows == (len(before_deck), len(before_deck))
    # What the deck read of the report when this run built it (later runs on the shared data add their own rows).
    n = len(before_deck)
    assert deck_metadata(result)["checks"].value == (f"{n} of {n} checks passed, 0 warning(s), 0 blocking "
                                                      f"failure(s) (run {result.run_id[:8]})")


def test_bad_marts_block_the_deck_and_name_the_offending_rows(clean_run, tmp_path, monkeypatch):
    """150 % utilisation on one GPU (left out of the numbers, warned), a negative TTFT and a stage missing from
    the calendar, in one daily run."""
    data_dir = copy_of(clean_run[0], tmp_path / "data")
    before = deck_hashes(data_dir)
    injected = {}

    def land_faults():
        injected["gpu"] = gpu_at_150_percent()
        injected["request"] = negative_ttft()

    monkeypatch.setattr(from_config, "land_days", after(from_config, "land_days", land_faults))
    monkeypatch.setattr(from_config, "land_pool_tables", after(from_config, "land_pool_tables", calendar_without_stage))
    result = run_day(data_dir)

    assert not result.success
    assert "deck" not in materialized(result)
    assert deck_hashes(data_dir) == before, "the previous deck changed"
    blocked = _blocked(result)
    checks = check_results(result)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        # the 150 % readings are left out of every GPU-minute (int_gpu_samples_checked) and counted
        max_activity, implausible = con.execute(
            "select (select max(activity_pct) from intermediate.int_gpu_minutes where gpu_uuid = $gpu), "
            "(select sum(implausible_rows) from intermediate.int_telemetry_daily where gpu_uuid = $gpu and "
            "raw_metric = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' and date = $day)",
            {"gpu": injected["gpu"], "day": LAST_DAY}).fetchone()
    assert max_activity <= 100 and implausible > 0
    if "mart_stage_metrics:gx_utilisation_in_range" not in checks:
        # dbt tests on the models under the marts caught the faults first (and stopped the marts): they must
        # have caught them where they are
        assert {k.split(":")[0] for k in blocked} >= {"int_inference_requests"}, blocked
        assert "int_gpu_minutes" not in {k.split(":")[0] for k in blocked}, blocked
        return

    assert checks["mart_stage_metrics:gx_utilisation_in_range"].passed
    # one GPU's activity metric all day is below IMPLAUSIBLE_BLOCK_PERCENT of the pool's readings: a warning
    assert checks["mart_data_coverage:gx_readings_plausible"].passed
    each = checks["mart_data_coverage:gx_implausible_readings"]
    assert not each.passed and not each.blocking
    [gpu_row] = rows_for(each, "int_telemetry_daily", "implausible_readings")
    assert (gpu_row["gpu_uuid"], gpu_row["canonical_metric"]) == (injected["gpu"], "gr_engine_active_pct")
    assert gpu_row["highest_implausible"] == pytest.approx(150)

    latency = checks["mart_stage_metrics:gx_latency_plausible"]
    assert not latency.passed and latency.blocking
    [request] = rows_for(latency, "int_inference_requests", "ttft_ms")
    assert request["request_id"] == injected["request"] and request["ttft_ms"] == pytest.approx(-2000)
    assert request["stage_id"] == 6 and injected["request"] in latency.description
    assert latency.metadata["failing_count"].value >= 1

    stages = checks["mart_stage_metrics:gx_seven_stages_per_pool"]
    assert not stages.passed
    missing = rows_for(stages, "pools x stage_catalog", "mart_rows")
    assert missing == [{"pool": "tiny", "stage_id": 3, "stage_key": "data_infra", "mart_rows": 0}]

    # the checks that guard nothing broken here still pass
    assert checks["mart_stage_metrics:gx_efficiency_consistent"].passed
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        summary = quality_summary(con)
    assert summary["run_id"] == result.run_id and summary["failed_blocking"] >= 2
    assert {"gx_latency_plausible", "gx_seven_stages_per_pool", "gx_implausible_readings"} <= {
        f["check_name"] for f in summary["failures"]}


def test_a_failed_gx_check_alone_blocks_the_deck(clean_run, tmp_path, monkeypatch):
    """A fault only the GX suite objects to (TTFT and TBT of exactly zero): the dbt build passes, the GX check
    fails and names the request, `deck` does not run, the previous deck stays."""
    data_dir = copy_of(clean_run[0], tmp_path / "data")
    before = deck_hashes(data_dir)
    injected = {}

    def land_fault():
        injected["request"] = instant_response()

    monkeypatch.setattr(from_config, "land_days", after(from_config, "land_days", land_fault))
    result = run_day(data_dir)

    assert not result.success
    assert "deck" not in materialized(result) and "mart_stage_metrics" in materialized(result)
    assert result.is_node_failed("mart_expectations")
    assert not [e for e in result.all_events if e.step_key == "deck" and e.event_type_value == "STEP_START"]
    assert deck_hashes(data_dir) == before, "the previous deck changed"
    checks = check_results(result)
    assert _blocked(result) == ["mart_stage_metrics:gx_latency_plausible"]
    latency = checks["mart_stage_metrics:gx_latency_plausible"]
    for column in ("ttft_ms", "tbt_ms"):
        [request] = rows_for(latency, "int_inference_requests", column)
        assert request["request_id"] == injected["request"] and request[column] == 0
    assert injected["request"] in latency.description
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        summary = quality_summary(con)
    assert summary["run_id"] == result.run_id and summary["failed_blocking"] == 1
    assert [f["check_name"] for f in summary["failures"]] == ["gx_latency_plausible"]


def test_a_day_landed_twice_blocks_the_warehouse_and_the_deck(clean_run, tmp_path, monkeypatch):
    data_dir = copy_of(clean_run[0], tmp_path / "data")
    before = deck_hashes(data_dir)
    monkeypatch.setattr(from_config, "land_days", after(from_config, "land_days", day_landed_twice))
    result = run_day(data_dir)

    assert not result.success
    assert deck_hashes(data_dir) == before, "the previous deck changed"
    assert not materialized(result) & {"deck", "mart_stage_metrics", "int_gpu_minutes"}
    checks = check_results(result)
    for dataset in ("gpu_samples", "inference_requests"):
        dup = checks[f"landing/{dataset}:no_duplicate_rows"]
        assert not dup.passed and dup.blocking
        sample = dup.metadata["sample_rows"].value[0]
        assert sample["copies"] == 2
        assert sorted(sample["files"]) == [f"{dataset}/date={LAST_DAY}/replay-tiny.parquet",
                                           f"{dataset}/date={LAST_DAY}/simulator-tiny.parquet"]
        assert "replay-tiny.parquet" in dup.description
    requests = checks["landing/inference_requests:no_duplicate_rows"]
    assert requests.metadata["failing_count"].value == requests.metadata["duplicate_keys"].value > 10_000
    assert checks["landing/jobs:no_duplicate_rows"].passed
    # the doubled day also stands out against the week before (a warning, not a gate)
    volume = checks["landing/inference_requests:volume_vs_7day_median"]
    assert not volume.passed and not volume.blocking
    assert volume.metadata["anomalies"].value[0]["ratio"] == pytest.approx(2.0, rel=0.05)

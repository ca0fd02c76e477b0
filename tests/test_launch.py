"""`make demo`'s terminal summary (orchestration.launch): what a person reads of a run's events."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration import launch


def summarise(events) -> list[str]:  # noqa: ANN001
    lines: list[str] = []
    summary = launch.Summary(started=0.0, say=lines.append)
    for event in events:
        summary.event(event)
    return lines, summary


@pytest.mark.slow
def test_a_clean_run_reads_as_one_line_per_step_the_checks_and_the_deck(tiny_pipeline, tmp_path):
    data_dir, result = tiny_pipeline
    lines, summary = summarise(result.all_events)
    summary.close(success=result.success, log=tmp_path / "run.log")

    steps = {line.split()[1]: line for line in lines if line.startswith("  ")}
    assert {"landing_daily", "warehouse_daily", "warehouse_models", "deck", "deck_checks"} <= set(steps)
    assert all(" ok" in line or "skipped:" in line for line in steps.values())
    landed = {e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
              for e in result.get_asset_materialization_events() if e.step_key == "landing_daily"}
    assert f"{len(landed)} assets, 7 days, {sum(landed.values()):,} rows" in steps["landing_daily"]
    checks = result.get_asset_check_evaluations()
    assert lines[-3] == f"Checks: {sum(c.passed for c in checks)} passed" and all(c.passed for c in checks)
    assert lines[-2].startswith("Done in ") and lines[-2].endswith(f"Full log: {tmp_path / 'run.log'}")
    assert lines[-1] == f"Deck: {data_dir / 'deck' / 'latest.pptx'}"


def test_a_failed_step_and_a_failed_check_are_named_with_their_error():
    @dg.asset
    def telemetry() -> int:
        return 1

    @dg.asset_check(asset=telemetry, description="utilisation within 0-100 %")
    def utilisation_in_range() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="3 GPU-minutes above 100 %")

    @dg.asset(deps=[telemetry])
    def marts() -> None:
        raise ValueError("marts.mart_stage_metrics: column stage_id missing")

    @dg.asset(deps=[marts])
    def deck() -> None:
        pass

    job = dg.Definitions(assets=[telemetry, marts, deck], asset_checks=[utilisation_in_range]
                         ).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(raise_on_error=False)
    lines, summary = summarise(result.all_events)
    summary.close(success=result.success, log=launch.log_path("daily_refresh", launch.dt.datetime(2026, 12, 6)))
    text = "\n".join(lines)

    assert any(line.split()[1:3] == ["marts", "FAILED"] for line in lines if line.startswith("  "))
    assert "The deck was not rebuilt: the previous one, if any, is unchanged." in lines
    assert "Checks: 1 failed (ERROR)" in text
    assert "ERROR telemetry: utilisation_in_range: 3 GPU-minutes above 100 %" in text
    assert "Error in marts: ValueError: marts.mart_stage_metrics: column stage_id missing" in text
    assert lines[-1].startswith("FAILED in ") and "daily_refresh-20261206T000000Z.log" in lines[-1]
    assert "Deck:" not in text


def test_a_broken_configuration_is_one_line_naming_the_file_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("GPU_EFF_CONFIG", str(tmp_path / "cluster.yaml"))
    assert launch.main(["daily_refresh"]) == 2
    assert capsys.readouterr().err == f"daily_refresh: {tmp_path / 'cluster.yaml'}: configuration file not found " \
                                      "(GPU_EFF_CONFIG)\n"


def test_the_simulated_clusters_replay_is_stored_while_the_run_starts(tmp_path, monkeypatch):
    from ingestion.simulator import replay_cache

    monkeypatch.delenv("GPU_EFF_CONFIG", raising=False)
    monkeypatch.setenv("GPU_EFF_SCENARIO", "tiny")
    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))
    said = []
    launch.replay_ahead(said.append).join()
    assert replay_cache.cache_file("tiny").is_file()
    assert said == ["  replaying the simulated cluster's scenario (tiny), once for this version of it"]
    assert launch.replay_ahead(said.append) is None and len(said) == 1  # stored: nothing to replay, nothing said


def test_replaying_ahead_leaves_a_broken_configuration_to_the_run(tmp_path, monkeypatch):
    """The landing step reports what is wrong with the configuration; replaying ahead says nothing."""
    monkeypatch.setenv("GPU_EFF_CONFIG", str(tmp_path / "cluster.yaml"))
    said = []
    assert launch.replay_ahead(said.append) is None and said == []

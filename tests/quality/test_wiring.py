"""The gates are wired: listed against their assets, the blocking ones upstream of what they guard, and GX
is not imported when the code location loads."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from orchestration.defs.checks.mart_suites import MART_CHECKS
from orchestration.defs.checks.source_checks import source_health_checks

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


def test_checks_are_listed_against_their_assets(defs):
    keys = defs.resolve_asset_graph().asset_check_keys
    for check in MART_CHECKS:
        assert dg.AssetCheckKey(dg.AssetKey(check.asset), check.name) in keys
    for dataset in ("gpu_samples", "jobs", "job_events", "inference_requests"):
        for name in ("fresh_partition", "no_duplicate_rows", "quarantine_volume"):
            assert dg.AssetCheckKey(dg.AssetKey(["landing", dataset]), name) in keys
    assert dg.AssetCheckKey(dg.AssetKey(["landing", "gpu_samples"]), "scrape_health") in keys
    # the dbt tests of the landing sources are checks of the staging models that read them, not observations
    assert dg.AssetCheckKey(dg.AssetKey("stg_landing__jobs"), "source_unique_landing_jobs_job_id") in keys
    assert dg.AssetCheckKey(dg.AssetKey("stg_landing__gpu_samples"), "source_not_null_landing_gpu_samples_ts") in keys
    assert not {k.name for k in keys if k.asset_key.path[0] == "landing" and k.name.startswith("source_")}


def test_blocking_flags(defs):
    blocking = {spec.key.name for spec in source_health_checks.check_specs if spec.blocking}
    assert blocking == {"no_duplicate_rows"}
    assert {c.name for c in MART_CHECKS if c.blocking} == {
        "gx_utilisation_in_range", "gx_latency_plausible", "gx_efficiency_consistent", "gx_seven_stages_per_pool",
        "gx_benchmark_fallbacks_cited", "gx_readings_plausible"}


def test_blocking_checks_run_before_what_they_guard(defs):
    job = defs.resolve_job_def("daily_refresh")
    deps = job.graph.dependency_structure

    def upstream(node: str) -> set[str]:
        return {o.node.name for outs in deps.input_to_upstream_outputs_for_node(node).values() for o in outs}

    assert "mart_expectations" in upstream("deck")
    assert "source_health" in upstream("warehouse_inputs")


def test_great_expectations_is_not_imported_with_the_code_location():
    code = "import sys, orchestration.definitions; print('great_expectations' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"

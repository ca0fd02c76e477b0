"""The dbt project on the simulator's `tiny` scenario (12 GPUs, one day per stage): builds with
every test passing, and every dictionary metric is measured for every stage."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dbt_warehouse import REPO, DbtWarehouse

pytestmark = pytest.mark.slow

METRICS = [
    "throughput_tokens_per_sec", "ttft_milliseconds", "tbt_milliseconds", "prefill_efficiency_percent",
    "decoding_parallelism", "gpu_utilization_percent", "memory_overhead_gb", "cluster_throughput_per_watt",
    "throughput_per_watt", "throughput_per_dollar",
]


@pytest.fixture(scope="module")
def tiny_warehouse(tmp_path_factory) -> DbtWarehouse:
    if not (REPO / "ingestion" / "simulator" / "scenarios" / "tiny.yaml").exists():
        pytest.skip("the simulator's tiny scenario is not available")
    data_dir = tmp_path_factory.mktemp("gpu_eff_tiny")
    subprocess.run(
        [sys.executable, "-m", "ingestion.cli", "simulate", "--scenario", "tiny", "--data-dir", str(data_dir)],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=600,
    )
    warehouse = DbtWarehouse(data_dir)
    warehouse.dbt("build")
    return warehouse


def test_every_stage_has_every_metric_measured(tiny_warehouse):
    metrics = tiny_warehouse.query("select * from marts.mart_stage_metrics order by stage_id")
    assert metrics.stage_id.tolist() == list(range(7))
    assert metrics[METRICS].notna().all().all()
    assert (metrics.missing_gpu_minutes_percent == 0).all()
    assert (metrics.gpus_provisioned == 12).all()
    assert metrics.gpu_utilization_percent.between(0, 100).all()
    comparison = tiny_warehouse.query("select value_source, count(*) as n from marts.mart_stage_comparison group by 1")
    # the ten dictionary metrics and four companions (SM-active, allocation, tokens per dollar of serving and training)
    assert comparison.set_index("value_source").n.to_dict() == {"measured": 7 * 14}


def test_coverage_matches_the_scenario(tiny_warehouse):
    coverage = tiny_warehouse.row("select * from marts.mart_data_coverage")
    assert coverage["sources"] == "simulator" and coverage["days"] == 7 and coverage["gpus"] == 12
    assert coverage["unmapped_metric_rows"] == 0

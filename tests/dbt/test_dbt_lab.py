"""The lab marts on the vendored H200 recording, checked against plain computations over the raw files;
and the stage marts of the hand-made pool unchanged when the lab's readings land beside it."""

from __future__ import annotations

import json

import dbt_landing_fixture as landing_fixture
import numpy as np
import pandas as pd
import pytest
from dbt_warehouse import DbtWarehouse

from ingestion.importers import land
from ingestion.importers.h200_lab import LAB_DIR, read_h200_lab

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab_warehouse(tmp_path_factory) -> DbtWarehouse:
    """The hand-made pool p1 plus the H200 lab (pool lab-h200), built with `dbt build` (models + tests)."""
    data_dir = tmp_path_factory.mktemp("gpu_eff_lab")
    landing_fixture.write_all(data_dir)
    land(read_h200_lab(LAB_DIR), "nvml", base=data_dir)
    warehouse = DbtWarehouse(data_dir)
    warehouse.dbt("build")
    return warehouse


@pytest.fixture(scope="module")
def raw() -> tuple[pd.DataFrame, dict[str, dict]]:
    samples = pd.read_csv(LAB_DIR / "nvml_samples.csv", na_values=["nan"])
    phases = {}
    for line in (LAB_DIR / "job_log.jsonl").read_text().splitlines():
        record = json.loads(line)
        phases[record["phase"]] = record
    return samples, phases


def _span(record: dict) -> tuple[float, float]:
    """The measured span as the importer defines it, from the log alone."""
    if "share_start_ts" in record:
        return record["share_start_ts"], record["share_stop_ts"]
    if "steps" in record:
        return record["end_ts"] - record["steps"] * record.get("batch", 16) / record["samples_per_s"], record["end_ts"]
    return record["start_ts"], record["end_ts"]


def _energy(samples: pd.DataFrame, start: float, end: float) -> float:
    """Counter (J) interpolated at both ends of the span."""
    return float(np.diff(np.interp([start, end], samples.ts, samples.energy_j))[0])


@pytest.fixture(scope="module")
def experiments(lab_warehouse) -> pd.DataFrame:
    return lab_warehouse.query("select * from marts.mart_lab_experiments").set_index("phase")


@pytest.fixture(scope="module")
def comparisons(lab_warehouse) -> pd.DataFrame:
    return lab_warehouse.query("select * from marts.mart_lab_comparisons").set_index("factor")


def test_one_row_per_phase(experiments, raw):
    _, phases = raw
    assert sorted(experiments.index) == sorted(phases)
    assert set(experiments.experiment_id) == {"h200-lab-2026-11-27"} and set(experiments.pool) == {"lab-h200"}
    covered = experiments.energy_counter_coverage.loc[[p for p in phases if p != "idle_end"]]
    assert covered.tolist() == pytest.approx([1.0] * len(covered))


def test_telemetry_matches_the_raw_csv(experiments, raw):
    samples, phases = raw
    for phase, record in phases.items():
        start, end = _span(record)
        inside = samples[(samples.ts >= start) & (samples.ts < end)]
        row = experiments.loc[phase]
        assert row.window_s == pytest.approx(end - start, abs=2e-3), phase
        assert row.power_readings == len(inside), phase
        assert row.power_w == pytest.approx(inside.power_w.mean(), rel=1e-6), phase
        assert row.gpu_util_pct == pytest.approx(inside.gpu_util_pct.mean(), rel=1e-6), phase
        assert row.sm_active_pct == pytest.approx(inside.gpm_sm_util_pct.mean(), rel=1e-6), phase
        if phase != "idle_end":  # the last readings stop just before the phase's end
            assert row.energy_j == pytest.approx(_energy(samples, start, end), rel=1e-4), phase


def test_counter_energy_agrees_with_the_log(experiments, raw):
    _, phases = raw
    for phase, record in phases.items():
        assert experiments.loc[phase, "phase_energy_j"] == pytest.approx(record["energy_j"], rel=0.05), phase
        assert experiments.loc[phase, "phase_energy_j"] == pytest.approx(record["energy_j"], rel=0.01), phase
    # the log's avg_power_w of train_bf16 (646 W) is over the whole phase, setup included
    assert experiments.loc["train_bf16", "phase_power_w"] == pytest.approx(646, rel=0.01)
    # the timed loop itself draws more: the mean NVML power reading over it
    assert experiments.loc["train_bf16", "power_w"] == pytest.approx(671, rel=0.01)


def test_work_rates_match_the_log(experiments, raw):
    _, phases = raw
    for phase, record in phases.items():
        rate = record.get("decode_tokens_per_s") or record.get("samples_per_s") or record.get("aggregate_tokens_per_s")
        if rate is None:
            assert pd.isna(experiments.loc[phase, "work_per_s"]), phase
            continue
        assert experiments.loc[phase, "reported_rate_per_s"] == pytest.approx(rate), phase
        assert experiments.loc[phase, "work_per_s"] == pytest.approx(rate, rel=0.01), phase
        row = experiments.loc[phase]
        assert row.work_per_joule == pytest.approx(row.work_done / row.energy_j), phase


def test_comparisons(comparisons, experiments, raw):
    samples, phases = raw
    assert sorted(comparisons.index) == ["batching", "data_loading", "precision", "time_slicing"]
    assert comparisons.loc["precision", "throughput_ratio"] == pytest.approx(501.091 / 77.539, rel=0.01)  # ~6.5
    assert comparisons.loc["batching", "throughput_ratio"] == pytest.approx(6617.46 / 60.15, rel=0.01)  # ~110
    assert comparisons.loc["time_slicing", "throughput_ratio"] == pytest.approx(256 / 96, rel=1e-6)
    assert comparisons.loc["data_loading", "throughput_ratio"] == pytest.approx(623.768 / 186.882, rel=0.01)
    pairs = {"batching": ("decode_batch_128", "decode_batch_1"), "precision": ("train_bf16", "train_fp32"),
             "time_slicing": ("share_4proc", "share_1proc"), "data_loading": ("stall_staged", "stall_slow_loader")}
    for factor, (treatment, baseline) in pairs.items():
        row = comparisons.loc[factor]
        assert (row.treatment_phase, row.baseline_phase) == (treatment, baseline)
        per_joule = []
        for phase in (treatment, baseline):
            record = phases[phase]
            start, end = _span(record)
            work = record.get("output_tokens") or record["steps"] * record.get("batch", 16)
            per_joule.append(work / _energy(samples, start, end))
        assert row.work_per_joule_ratio == pytest.approx(per_joule[0] / per_joule[1], rel=1e-3), factor
        assert row.power_ratio == pytest.approx(
            experiments.loc[treatment, "power_w"] / experiments.loc[baseline, "power_w"]), factor
        assert row.baseline_sm_active_pct == pytest.approx(experiments.loc[baseline, "sm_active_pct"]), factor
    assert set(comparisons.evidence_tier) == {"实验室实测"}  # a real H200's NVML readings
    assert set(experiments.evidence_tier) == {"实验室实测"}
    # batch-1 decode: NVML util ~12% while the SMs are ~4% active
    assert comparisons.loc["batching", "baseline_gpu_util_pct"] == pytest.approx(12.3, abs=0.5)
    assert comparisons.loc["batching", "baseline_sm_active_pct"] == pytest.approx(3.7, abs=0.5)


def test_stage_marts_unchanged_by_the_lab_pool(lab_warehouse, built_warehouse):
    """The lab pool has no stage calendar and its day lies outside the stage windows: every non-lab mart
    is identical to the build without it (mart_data_coverage lists only pools with a calendar)."""
    marts = built_warehouse.query(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_name not like 'mart_lab_%' order by 1").table_name.tolist()
    assert "mart_data_coverage" in marts and "mart_stage_metrics" in marts
    for mart in marts:
        sql = f"select * from marts.{mart} order by all"
        pd.testing.assert_frame_equal(lab_warehouse.query(sql), built_warehouse.query(sql), obj=mart)


def test_no_experiments_landed_builds_empty_lab_marts(built_warehouse):
    """Without any experiments file the staging model reads nothing (read_parquet would fail on the empty glob)."""
    for model in ("staging.stg_landing__experiments", "marts.mart_lab_experiments", "marts.mart_lab_comparisons"):
        assert built_warehouse.row(f"select count(*) as n from {model}")["n"] == 0

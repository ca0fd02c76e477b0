"""Mart values of the hand-made dataset (tests/dbt/landing_fixture.py) against hand computation.

Stage 0 = baseline on 2024-03-01 00:10-00:14, stage 1 = sharing on 2024-03-02 00:10-00:14,
three GPUs, so each stage has 3 x 4 = 12 provisioned GPU-minutes and a 240 s window.
"""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

WINDOW_S = 240.0
WINDOW_H = 240.0 / 3600
PRICE = 3.00          # gpu_catalog: NVIDIA H100 80GB HBM3, USD per GPU-hour
KWH_PRICE = 0.12      # energy_price, USD per kWh (PUE 1.0)

# --- stage 0 by hand -------------------------------------------------------------------------
# activity: GPU-a GR 0.5 -> 50 (GPU_UTIL 90 ignored), GPU-b GPU_UTIL 20, GPU-c GR 0 -> 0
S0_UTIL = (50 * 4 + 20 * 4 + 0 * 4) / 12
# energy: a 400 W x 60 s (counter) x 4; b 200 W counter, 210 W x 60 s at the reset minute; c 100 W x 60 s
S0_ENERGY = 4 * 24_000 + (12_000 + 12_000 + 12_600 + 12_000) + 4 * 6_000
S0_INFER_ENERGY = 12_000 + 12_000 + 12_600 + 12_000          # GPU-b serves J2 exclusively
S0_OUT_TOKENS = 21 + 31 + 1                                    # R1..R3 ok; R4 timed out; R8 outside
S0_TRAIN_TOKENS = 800_000 * 4 / 8                              # J1 ran 8 min, 4 of them in the window
S0_COST = 3 * WINDOW_H * PRICE + S0_ENERGY / 3.6e6 * KWH_PRICE

# --- stage 1 by hand -------------------------------------------------------------------------
# GPU-a GR 0.3 -> 30; GPU-b MIG: 0.6 x 3/7 + 0.2 x 1/7 -> 200/7 %; GPU-c GR 0.1 -> 10, missing at 00:13
S1_UTIL = (30 * 4 + 200 / 7 * 4 + 10 * 3) / 11
S1_ENERGY = 4 * 15_000 + 4 * 18_000 + 3 * 6_000               # MIG rows repeat the counter: counted once
S1_INFER_ENERGY = 4 * 15_000 * 0.5 / 0.75                     # GPU-a: inference 0.5 of an allocation of 0.75
S1_OUT_TOKENS = 11 + 16                                        # R7 is an error
S1_TRAIN_TOKENS = 100_000
S1_COST = 3 * WINDOW_H * PRICE + S1_ENERGY / 3.6e6 * KWH_PRICE


def stage(warehouse, stage_id: int) -> dict:
    return warehouse.row(f"select * from marts.mart_stage_metrics where pool = 'p1' and stage_id = {stage_id}")


def test_stage_metrics_has_the_ten_dictionary_metrics(built_warehouse):
    columns = set(built_warehouse.query("select * from marts.mart_stage_metrics limit 0").columns)
    assert {
        "throughput_tokens_per_sec", "ttft_milliseconds", "tbt_milliseconds", "prefill_efficiency_percent",
        "decoding_parallelism", "gpu_utilization_percent", "memory_overhead_gb", "cluster_throughput_per_watt",
        "throughput_per_watt", "throughput_per_dollar",
    } <= columns
    assert len(built_warehouse.query("select * from marts.mart_stage_metrics")) == 2


def test_stage0_baseline_metrics(built_warehouse):
    m = stage(built_warehouse, 0)
    assert m["stage_key"] == "baseline" and m["stage_name_zh"] == "传统裸金属"
    assert m["window_hours"] == pytest.approx(WINDOW_H)
    assert m["gpus_provisioned"] == 3 and m["gpu_minutes"] == 12
    assert m["gpu_utilization_percent"] == pytest.approx(S0_UTIL)
    assert m["gpu_utilization_p95_percent"] == pytest.approx(50.0)
    assert m["missing_gpu_minutes_percent"] == pytest.approx(0.0)
    assert m["allocation_percent"] == pytest.approx(100 * 2 / 3)
    assert m["sm_active_percent"] == pytest.approx((40 * 4 + 0 * 4) / 8)   # GPU-b has no SM_ACTIVE
    # TTFT 300, 900, 500 ms -> p50 500; p95 interpolates 500 + 0.9 x 400
    assert m["ttft_milliseconds"] == pytest.approx(500.0)
    assert m["ttft_p95_milliseconds"] == pytest.approx(860.0)
    # TBT: R1 2000 ms / 20, R2 3000 ms / 30; R3 has a single token
    assert m["tbt_milliseconds"] == pytest.approx(100.0)
    assert m["prefill_efficiency_percent"] == pytest.approx(100 * (200 + 500 + 500) / (300 + 900 + 500))
    assert m["decoding_parallelism"] == pytest.approx((2.0 + 3.0 + 0.0) / 240)   # one replica for 240 s
    assert m["throughput_tokens_per_sec"] == pytest.approx(S0_OUT_TOKENS / WINDOW_S)
    assert m["requests_total"] == 4 and m["requests_ok"] == 3
    # memory overhead: GPU-a 80 - 60, GPU-b 80 - 30 over 8 allocated GPU-minutes
    assert m["memory_overhead_gb"] == pytest.approx((20 * 4 + 50 * 4) / 8)
    assert m["memory_overhead_p95_gb"] == pytest.approx(50.0)
    assert m["energy_joules"] == pytest.approx(S0_ENERGY)
    assert m["inference_output_tokens"] == S0_OUT_TOKENS
    assert m["training_tokens"] == pytest.approx(S0_TRAIN_TOKENS)
    assert m["throughput_per_watt"] == pytest.approx(S0_OUT_TOKENS / S0_INFER_ENERGY)
    assert m["tokens_per_inference_gpu_second"] == pytest.approx(S0_OUT_TOKENS / (1.0 * 240))
    assert m["cluster_throughput_per_watt"] == pytest.approx((S0_OUT_TOKENS + S0_TRAIN_TOKENS) / S0_ENERGY)
    assert m["cost_usd"] == pytest.approx(S0_COST)
    assert m["throughput_per_dollar"] == pytest.approx((S0_OUT_TOKENS + S0_TRAIN_TOKENS) / S0_COST)
    assert m["serving_tokens_per_dollar"] == pytest.approx(S0_OUT_TOKENS / S0_COST)
    assert m["training_tokens_per_dollar"] == pytest.approx(S0_TRAIN_TOKENS / S0_COST)


def test_stage1_sharing_metrics(built_warehouse):
    m = stage(built_warehouse, 1)
    assert m["gpu_utilization_percent"] == pytest.approx(S1_UTIL)
    assert m["missing_gpu_minutes_percent"] == pytest.approx(100 / 12)
    assert m["allocation_percent"] == pytest.approx(100 * (0.75 + 3 / 7) / 3)
    # TTFT 100, 200, 400 (R7 errored but had a first token) -> p50 200
    assert m["ttft_milliseconds"] == pytest.approx(200.0)
    assert m["tbt_milliseconds"] == pytest.approx(100.0)
    assert m["prefill_efficiency_percent"] == pytest.approx(100 * (100 + 150 + 400) / (100 + 200 + 400))
    # J3 has no end_ts: it runs to the end of the data, so it serves the whole window
    assert m["decoding_parallelism"] == pytest.approx((1.0 + 1.5 + 0.2) / 240)
    assert m["throughput_tokens_per_sec"] == pytest.approx(S1_OUT_TOKENS / WINDOW_S)
    # memory overhead: GPU-a vGPU requests 20 + 10 vs 25 used; GPU-b 3g.40gb reserves 40 vs 10 + 4 used
    assert m["memory_overhead_gb"] == pytest.approx((5 * 4 + 26 * 4) / 8)
    assert m["energy_joules"] == pytest.approx(S1_ENERGY)
    assert m["throughput_per_watt"] == pytest.approx(S1_OUT_TOKENS / S1_INFER_ENERGY)
    assert m["tokens_per_inference_gpu_second"] == pytest.approx(S1_OUT_TOKENS / (0.5 * 240))
    assert m["cluster_throughput_per_watt"] == pytest.approx((S1_OUT_TOKENS + S1_TRAIN_TOKENS) / S1_ENERGY)
    assert m["throughput_per_dollar"] == pytest.approx((S1_OUT_TOKENS + S1_TRAIN_TOKENS) / S1_COST)


def test_gpu_minutes_mig_energy_reset_and_missing_minute(built_warehouse):
    rows = built_warehouse.query(
        "select gpu_uuid, minute_ts, activity_pct, energy_j, energy_method, is_mig, has_sample, allocated_share, "
        "reserved_gb, fb_used_gb from intermediate.int_gpu_minutes order by gpu_uuid, minute_ts"
    )
    assert len(rows) == 24                       # 3 GPUs x 8 stage minutes; 00:09 is outside every window
    reset = rows[(rows.gpu_uuid == "GPU-b") & (rows.minute_ts.astype(str) == "2024-03-01 00:12:00")].iloc[0]
    assert reset.energy_method == "power_counter_reset" and reset.energy_j == pytest.approx(210 * 60)
    mig = rows[(rows.gpu_uuid == "GPU-b") & (rows.minute_ts.astype(str) == "2024-03-02 00:10:00")].iloc[0]
    assert bool(mig.is_mig)
    assert mig.activity_pct == pytest.approx(100 * (0.6 * 3 + 0.2 * 1) / 7)
    assert mig.energy_j == pytest.approx(300 * 60)
    assert mig.allocated_share == pytest.approx(3 / 7)
    assert mig.reserved_gb == pytest.approx(40.0) and mig.fb_used_gb == pytest.approx(14.0)
    missing = rows[(rows.gpu_uuid == "GPU-c") & (rows.minute_ts.astype(str) == "2024-03-02 00:13:00")].iloc[0]
    assert not bool(missing.has_sample) and missing.activity_pct != missing.activity_pct   # NaN


def test_stage_comparison_long_form(built_warehouse):
    cmp = built_warehouse.query("select * from marts.mart_stage_comparison order by stage_id, metric")
    assert len(cmp) == 2 * 14
    assert list(cmp.columns) == [
        "pool", "stage_id", "stage_key", "stage_name_zh", "metric", "value", "unit", "higher_is_better",
        "in_dictionary", "baseline_value", "previous_value", "ratio_to_baseline", "ratio_to_previous",
        "change_vs_baseline_percent", "value_source", "evidence_tier", "source_ref", "days", "day_min", "day_max",
        "baseline_days", "baseline_day_min", "baseline_day_max", "ratio_low", "ratio_high", "interval_method",
        "measurable_change",
    ]
    assert cmp[cmp.in_dictionary].metric.nunique() == 10
    assert set(cmp[~cmp.in_dictionary].metric) == {
        "sm_active_percent", "allocation_percent", "serving_tokens_per_dollar", "training_tokens_per_dollar"}
    ttft = cmp[(cmp.stage_id == 1) & (cmp.metric == "ttft_milliseconds")].iloc[0]
    assert ttft.value == pytest.approx(200.0) and ttft.baseline_value == pytest.approx(500.0)
    assert ttft.previous_value == pytest.approx(500.0)
    assert ttft.ratio_to_baseline == pytest.approx(0.4)
    assert ttft.change_vs_baseline_percent == pytest.approx(-60.0)
    assert not bool(ttft.higher_is_better) and ttft.unit == "ms"
    assert ttft.value_source == "measured" and ttft.evidence_tier == "仿真"  # the fixture lands source simulator
    assert ttft.source_ref == "mart_stage_metrics.ttft_milliseconds"
    base = cmp[cmp.stage_id == 0]
    assert base.previous_value.isna().all() and (base.ratio_to_baseline.round(9) == 1.0).all()
    # each stage is one day: its daily value is the stage's, and one day is no spread, so no interval
    assert ttft.days == 1 and ttft.day_min == pytest.approx(200.0) and ttft.baseline_day_max == pytest.approx(500.0)
    assert cmp.ratio_low.isna().all() and cmp.ratio_high.isna().all() and cmp.measurable_change.isna().all()
    assert (cmp.interval_method == "min-max of daily values").all()


def test_day_metrics_of_a_one_day_stage_equal_the_stage_metrics(built_warehouse):
    """Each stage of the fixture lies within one UTC day: the day grain (the same macro over int_stage_day_windows)
    must give the stage's every column."""
    stages = built_warehouse.query("select * from marts.mart_stage_metrics order by stage_id")
    days = built_warehouse.query("select * from marts.mart_stage_day_metrics order by stage_id")
    assert days["date"].astype(str).tolist() == ["2024-03-01", "2024-03-02"]
    assert list(days.drop(columns="date").columns) == list(stages.columns)
    pd.testing.assert_frame_equal(days.drop(columns="date"), stages, check_exact=False, rtol=1e-12)


def test_gpu_density(built_warehouse):
    d = built_warehouse.row("select * from marts.mart_gpu_density where stage_id = 1")
    assert d["concurrent_workloads_per_allocated_gpu"] == pytest.approx((2 * 4 + 1 * 4) / 8)
    assert d["mean_gpu_share_per_job"] == pytest.approx((0.5 + 0.25 + 3 / 7) / 3)
    assert d["shared_gpu_minutes_percent"] == pytest.approx(100.0)
    assert d["mig_gpu_minutes_percent"] == pytest.approx(50.0)
    assert d["mean_reserved_gb"] == pytest.approx((30 + 40) / 2)
    assert d["mean_used_gb"] == pytest.approx((25 + 14) / 2)
    d0 = built_warehouse.row("select * from marts.mart_gpu_density where stage_id = 0")
    assert d0["shared_gpu_minutes_percent"] == pytest.approx(0.0)


def test_scheduling_fragmentation_queue_and_fairness(built_warehouse):
    s0 = built_warehouse.row("select * from marts.mart_scheduling where stage_id = 0")
    s1 = built_warehouse.row("select * from marts.mart_scheduling where stage_id = 1")
    # stage 0: h1 fully allocated, h2 idle -> nothing fragmented
    assert s0["fragmentation_percent"] == pytest.approx(0.0)
    # stage 1: h1 has 0.75 + 3/7 of 2 GPUs allocated, the rest is stranded; h2 idle
    assert s1["fragmentation_percent"] == pytest.approx(100 * (2 - 0.75 - 3 / 7) / 3)
    # queue waits: stage 0 J1 3 min, J2 1 min; stage 1 J3 2, J4 4, J5 0
    assert s0["queue_wait_p50_minutes"] == pytest.approx(2.0)
    assert s0["queue_wait_p95_minutes"] == pytest.approx(1 + 0.95 * 2)
    assert s1["queue_wait_p50_minutes"] == pytest.approx(2.0)
    assert s1["queue_wait_p95_minutes"] == pytest.approx(2 + 0.9 * 2)
    assert s0["jain_fairness_index"] == pytest.approx(1.0)
    t1, t2 = 0.25 + 3 / 7, 0.5                                    # GPU shares x the same 4 minutes
    assert s1["jain_fairness_index"] == pytest.approx((t1 + t2) ** 2 / (2 * (t1**2 + t2**2)))


def test_data_stalls_inference_reliability_hourly(built_warehouse):
    stalls = built_warehouse.query("select stage_id, data_stall_percent from marts.mart_data_stalls order by 1")
    assert stalls.data_stall_percent.tolist() == pytest.approx([100 * 24 / 240, 100 * 12 / 240])

    inf = built_warehouse.row("select * from marts.mart_inference where stage_id = 0 and service = '(all)'")
    assert inf["requests"] == 4 and inf["ok_share"] == pytest.approx(0.75)
    assert inf["kv_cache_hit_ratio"] == pytest.approx((0 + 50 + 100 + 0) / (100 + 200 + 100 + 50))
    assert inf["ttft_p50_milliseconds"] == pytest.approx(500.0)
    assert inf["training_tokens_per_gpu_hour"] == pytest.approx(S0_TRAIN_TOKENS / WINDOW_H)

    rel = built_warehouse.row("select * from marts.mart_reliability where stage_id = 1")
    assert rel["failures"] == 1 and rel["jobs_run"] == 3
    assert rel["failure_job_share"] == pytest.approx(1 / 3)
    assert rel["mttr_minutes"] == pytest.approx(0.5)
    # J5 (3/7 GPU) loses 00:11-00:12:30 since its checkpoint plus 30 s until the restart
    lost = (90 + 30) * 3 / 7 / 3600
    assert rel["lost_gpu_hours"] == pytest.approx(lost)
    assert rel["effective_training_time_ratio"] == pytest.approx(1 - lost / (3 / 7 * WINDOW_H))

    hourly = built_warehouse.query(
        "select workload_type, mean_allocated_share, mean_activity_pct, activity_pct_24x7 "
        "from marts.mart_hourly_profile where stage_id = 1 and hour_of_day = 0"
    ).set_index("workload_type")
    assert hourly.loc["inference", "mean_allocated_share"] == pytest.approx(0.5 * 4 / 12)
    assert hourly.loc["inference", "mean_activity_pct"] == pytest.approx(30.0)
    assert hourly.loc["all", "mean_allocated_share"] == pytest.approx((0.75 + 3 / 7) * 4 / 12)
    assert hourly.loc["all", "activity_pct_24x7"] == pytest.approx(S1_UTIL)

    cov = built_warehouse.row("select * from marts.mart_data_coverage")
    assert cov["sources"] == "simulator" and cov["days"] == 2 and cov["gpus"] == 3
    assert cov["unmapped_metric_rows"] == 0

"""The day-to-day spread of mart_stage_comparison (issue 19, point 3) on a tiny hand-made warehouse.

mart_stage_metrics and mart_stage_day_metrics are written by hand (three days per stage), then dbt builds
mart_stage_comparison and its tests over them. A metric flat across days has no measurable change; one that
clearly moves has; one whose daily values overlap the baseline's has none although its stage value differs; one
day, or a baseline day at zero, gives no interval.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from dbt_warehouse import DbtWarehouse

pytestmark = pytest.mark.slow

POOL = "p"
STAGES = {0: ("baseline", "传统裸金属"), 1: ("sharing", "GPU共享"), 2: ("orchestration", "负载编排")}
METRICS = [
    "throughput_tokens_per_sec", "ttft_milliseconds", "tbt_milliseconds", "prefill_efficiency_percent",
    "decoding_parallelism", "gpu_utilization_percent", "memory_overhead_gb", "cluster_throughput_per_watt",
    "throughput_per_watt", "throughput_per_dollar", "sm_active_percent", "allocation_percent",
    "serving_tokens_per_dollar", "training_tokens_per_dollar",
]
# metric -> stage -> (stage value, daily values); a metric left out is null on every day
DAYS: dict[str, dict[int, tuple[float, list[float | None]]]] = {
    # flat: the same every day of both stages -> [1, 1], no measurable change
    "gpu_utilization_percent": {0: (40.0, [40.0, 40.0, 40.0]), 1: (40.0, [40.0, 40.0, 40.0]),
                                2: (40.0, [40.0])},
    # clearly moves: [200/110, 220/90] excludes 1
    "throughput_tokens_per_sec": {0: (100.0, [100.0, 110.0, 90.0]), 1: (210.0, [200.0, 220.0, 210.0]),
                                  2: (300.0, [300.0])},
    # 1.07 x baseline, but the days overlap the baseline's: [120/200, 180/100] holds 1
    "ttft_milliseconds": {0: (150.0, [100.0, 150.0, 200.0]), 1: (160.0, [120.0, 160.0, 180.0]),
                          2: (90.0, [90.0])},
    # a baseline day at 0: no ratio interval
    "memory_overhead_gb": {0: (1.0, [0.0, 1.0, 2.0]), 1: (3.0, [2.0, 3.0, 4.0]), 2: (3.0, [3.0])},
    # a day without a value: two days still make a spread
    "tbt_milliseconds": {0: (10.0, [10.0, 10.0, None]), 1: (5.0, [4.0, None, 6.0]), 2: (5.0, [5.0])},
}


def _stage_rows() -> pd.DataFrame:
    rows = []
    for stage_id, (key, name) in STAGES.items():
        row = {"pool": POOL, "stage_id": stage_id, "stage_key": key, "stage_name_zh": name}
        row.update({m: DAYS[m][stage_id][0] if m in DAYS else None for m in METRICS})
        rows.append(row)
    return pd.DataFrame(rows).astype({m: "float64" for m in METRICS})


def _day_rows() -> pd.DataFrame:
    rows = []
    for stage_id, (key, name) in STAGES.items():
        for day in range(3 if stage_id < 2 else 1):
            row = {"pool": POOL, "stage_id": stage_id, "date": pd.Timestamp("2024-03-01") + pd.Timedelta(
                days=3 * stage_id + day), "stage_key": key, "stage_name_zh": name}
            row.update({m: DAYS[m][stage_id][1][day] if m in DAYS else None for m in METRICS})
            rows.append(row)
    return pd.DataFrame(rows).astype({m: "float64" for m in METRICS})


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> pd.DataFrame:
    data_dir = tmp_path_factory.mktemp("gpu_eff_intervals")
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("create schema marts")
        stages, days = _stage_rows(), _day_rows()  # noqa: F841 (read by name below)
        con.execute("create table marts.mart_stage_metrics as select * from stages")
        con.execute("create table marts.mart_stage_day_metrics as select * exclude (date), cast(date as date) as date "
                    "from days")
        # the pool's tier, which mart_stage_comparison takes from mart_data_coverage (a real pool here)
        con.execute("create table marts.mart_data_coverage as select 'p' as pool, false as simulated, "
                    "'集群实测' as evidence_tier")
    warehouse = DbtWarehouse(data_dir)
    warehouse.dbt("seed", "--select", "metric_definitions")
    # the model and every test on it (the interval's coherence, the ten metrics per stage, accepted values)
    warehouse.dbt("build", "--select", "mart_stage_comparison")
    frame = warehouse.query("select * from marts.mart_stage_comparison")
    return frame.set_index(["metric", "stage_id"]).sort_index()


def test_a_flat_metric_has_no_measurable_change(comparison):
    flat = comparison.loc[("gpu_utilization_percent", 1)]
    assert flat.ratio_to_baseline == pytest.approx(1.0)
    assert (flat.ratio_low, flat.ratio_high) == (1.0, 1.0)
    assert flat.measurable_change == False  # noqa: E712 (a numpy bool)
    assert (flat.days, flat.day_min, flat.day_max) == (3, 40.0, 40.0)
    assert flat.interval_method == "min-max of daily values"


def test_a_metric_that_clearly_moves_has_a_measurable_change(comparison):
    moved = comparison.loc[("throughput_tokens_per_sec", 1)]
    assert moved.ratio_to_baseline == pytest.approx(2.1)
    assert moved.ratio_low == pytest.approx(200 / 110) and moved.ratio_high == pytest.approx(220 / 90)
    assert moved.measurable_change == True  # noqa: E712
    assert (moved.baseline_days, moved.baseline_day_min, moved.baseline_day_max) == (3, 90.0, 110.0)


def test_a_change_inside_the_day_to_day_spread_is_not_measurable(comparison):
    noisy = comparison.loc[("ttft_milliseconds", 1)]
    assert noisy.ratio_to_baseline == pytest.approx(160 / 150)
    assert noisy.ratio_low == pytest.approx(0.6) and noisy.ratio_high == pytest.approx(1.8)
    assert noisy.measurable_change == False  # noqa: E712


def test_days_without_a_value_are_not_counted(comparison):
    tbt = comparison.loc[("tbt_milliseconds", 1)]
    assert (tbt.days, tbt.baseline_days) == (2, 2)
    assert tbt.ratio_low == pytest.approx(0.4) and tbt.ratio_high == pytest.approx(0.6)
    assert tbt.measurable_change == True  # noqa: E712


@pytest.mark.parametrize(("metric", "stage_id"), [
    ("gpu_utilization_percent", 2),     # one day: no spread
    ("memory_overhead_gb", 1),          # a baseline day at 0: the ratio's high end is unbounded
    ("decoding_parallelism", 1),        # no value on any day
    ("throughput_tokens_per_sec", 0),   # the baseline itself
])
def test_no_interval_means_no_verdict(comparison, metric, stage_id):
    row = comparison.loc[(metric, stage_id)]
    assert pd.isna(row.ratio_low) and pd.isna(row.ratio_high)
    assert pd.isna(row.measurable_change)


def test_every_metric_of_every_stage_is_there_with_its_definition(comparison):
    assert len(comparison) == len(STAGES) * len(METRICS)
    assert comparison.xs(1, level="stage_id").in_dictionary.sum() == 10
    serving = comparison.loc[("serving_tokens_per_dollar", 0)]
    assert (serving.unit, bool(serving.higher_is_better)) == ("tokens/USD", True)
    assert comparison.loc[("memory_overhead_gb", 0)].baseline_days == 3

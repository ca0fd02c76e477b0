"""Physically impossible readings never enter a number (issue 17, part 7).

The hand-made dataset of dbt_landing_fixture, with readings beside the real ones (distinct keys, so not
duplicates) that no GPU can produce: twenty DCGM_FI_DEV_GPU_UTIL readings of 150 % on GPU-b 13 s and later after
its real 20 % ones, 1,200 W on GPU-a (an H100 80GB HBM3: TDP 700 W, limit 1.5 x TDP = 1,050 W) and a negative
framebuffer on GPU-c. The build succeeds (the reading-level range tests only warn), every GPU-minute keeps the
real readings' values, int_telemetry_daily counts the readings per GPU, day and metric, and the GX gate on those
counts fails, blocking, on that day (18.8 % of the pool's readings, above IMPLAUSIBLE_BLOCK_PERCENT).
"""

from __future__ import annotations

import dbt_landing_fixture as fx
import pandas as pd
import pytest
from dbt_warehouse import DbtWarehouse

from orchestration.defs.checks.mart_checks import evaluate_all
from orchestration.defs.checks.mart_suites import IMPLAUSIBLE, IMPLAUSIBLE_BLOCK_PERCENT, PLAUSIBLE_SHARE

pytestmark = pytest.mark.slow

UTIL_GPU, POWER_GPU, MEMORY_GPU = "GPU-b", "GPU-a", "GPU-c"
BOGUS_UTIL = 150.0
BOGUS_POWER_W = 1200.0
BOGUS_FB_USED_MIB = -1024.0


def implausible_readings() -> list[dict]:
    """Four 150 % readings after each of GPU-b's five real ones (00:09-00:13 at 13, 26, 39 and 52 s), one
    1,200 W reading on GPU-a and one negative FB_USED on GPU-c, all on day 1."""
    rows = [fx._sample(fx.ts(fx.DAY1, 0, minute, second), UTIL_GPU, 1, "h1", "DCGM_FI_DEV_GPU_UTIL", BOGUS_UTIL,
                       pod="chat-j2")
            for minute in range(9, 14) for second in (13, 26, 39, 52)]
    rows.append(fx._sample(fx.ts(fx.DAY1, 0, 11, 13), POWER_GPU, 0, "h1", "DCGM_FI_DEV_POWER_USAGE", BOGUS_POWER_W,
                           pod="train-j1"))
    rows.append(fx._sample(fx.ts(fx.DAY1, 0, 12, 13), MEMORY_GPU, 0, "h2", "DCGM_FI_DEV_FB_USED", BOGUS_FB_USED_MIB))
    return rows


@pytest.fixture(scope="module")
def implausible(tmp_path_factory) -> DbtWarehouse:
    """The hand-made dataset with the implausible readings landed beside day 1's real ones, built with tests."""
    warehouse = DbtWarehouse(tmp_path_factory.mktemp("gpu_eff_implausible"))
    fx.write_all(warehouse.data_dir)
    fx._write_samples(warehouse.data_dir, fx.DAY1, [*fx.gpu_samples_day1(), *implausible_readings()])
    warehouse.dbt("build")  # raises unless every error-severity test passes
    return warehouse


def minute(mm: int) -> pd.Timestamp:
    """Day 1, 00:mm, as the warehouse stores it (naive UTC)."""
    return pd.Timestamp(fx.ts(fx.DAY1, 0, mm).replace(tzinfo=None))


MINUTE_COLUMNS = ("gpu_uuid, minute_ts, has_sample, activity_pct, gpu_util_pct, gr_engine_active_pct, power_w, "
                  "energy_j, fb_used_gb, fb_free_gb")


def test_the_implausible_readings_landed_beside_the_real_ones(implausible, built_warehouse):
    count = "select count(*) as n from staging.stg_landing__gpu_samples where landing_date = '{}'"
    assert implausible.row(count.format(fx.DAY1))["n"] == built_warehouse.row(count.format(fx.DAY1))["n"] + 22


def test_gpu_minutes_keep_the_real_readings_values(implausible, built_warehouse):
    sql = f"select {MINUTE_COLUMNS} from intermediate.int_gpu_minutes order by gpu_uuid, minute_ts"
    got, clean = implausible.query(sql), built_warehouse.query(sql)
    pd.testing.assert_frame_equal(got, clean)
    b = got[(got["gpu_uuid"] == UTIL_GPU) & (got["minute_ts"].dt.date == fx.DAY1)]
    # GPU-b's real GPU_UTIL is 20 % every minute; averaged with four 150 % readings it would be 124 %
    assert b["gpu_util_pct"].tolist() == b["activity_pct"].tolist() == [20.0] * 4
    a = got[(got["gpu_uuid"] == POWER_GPU) & (got["minute_ts"] == minute(11))]
    assert a["power_w"].tolist() == [400.0]  # not (400 + 1,200) / 2
    c = got[(got["gpu_uuid"] == MEMORY_GPU) & (got["minute_ts"] == minute(12))]
    assert c["fb_used_gb"].tolist() == [0.0]  # not (0 - 1) / 2


def test_the_marts_are_those_of_the_clean_data(implausible, built_warehouse):
    sql = "select * from marts.mart_stage_metrics order by stage_id"
    pd.testing.assert_frame_equal(implausible.query(sql), built_warehouse.query(sql))


def test_implausible_readings_are_counted_per_gpu_day_and_metric(implausible):
    counted = implausible.query(
        "select date, gpu_uuid, canonical_metric, sample_rows, implausible_rows, implausible_min_value, "
        "implausible_max_value from intermediate.int_telemetry_daily where implausible_rows > 0 order by gpu_uuid")
    assert counted.values.tolist() == [
        [pd.Timestamp(fx.DAY1), POWER_GPU, "power_w", 6, 1, BOGUS_POWER_W, BOGUS_POWER_W],
        [pd.Timestamp(fx.DAY1), UTIL_GPU, "gpu_util_pct", 25, 20, BOGUS_UTIL, BOGUS_UTIL],
        [pd.Timestamp(fx.DAY1), MEMORY_GPU, "fb_used_gb", 6, 1, -1.0, -1.0],
    ]
    # the bounds come from the seeds: metric_catalog's range, and 1.5 x TDP or the memory of the GPU's model
    bounds = implausible.query(
        "select canonical_metric, min_value, max_value, max_of_gpu, max_of_gpu_factor, gpu_max_value "
        "from intermediate.int_gpu_samples_checked where gpu_uuid = 'GPU-a' and canonical_metric in "
        "('power_w', 'fb_used_gb', 'gpu_util_pct') group by all order by canonical_metric")
    assert bounds.astype(object).where(bounds.notna(), None).values.tolist() == [
        ["fb_used_gb", 0.0, None, "memory_gb", 1.0, 80.0],
        ["gpu_util_pct", 0.0, 100.0, None, None, None],
        ["power_w", 0.0, None, "tdp_w", 1.5, 1050.0],
    ]


def test_the_gate_blocks_the_day_and_the_warning_names_the_gpus(implausible):
    share, each = evaluate_all(implausible.data_dir / "warehouse.duckdb", (PLAUSIBLE_SHARE, IMPLAUSIBLE))
    assert not share.passed and share.blocking and share.severity == "ERROR"
    [rows] = share.metadata["sample_rows"].value.values()
    [row] = rows
    assert row["pool"] == fx.POOL and str(row["date"]).startswith(fx.DAY1.isoformat())
    assert (row["readings"], row["implausible_readings"], row["gpus_with_implausible"]) == (117, 22, 3)
    assert row["implausible_percent"] == pytest.approx(100 * 22 / 117)
    assert row["implausible_percent"] > IMPLAUSIBLE_BLOCK_PERCENT
    assert not each.passed and not each.blocking and each.severity == "WARN"
    assert each.failing_count == 3
    # the next day has none: a refresh of it passes both
    day2 = evaluate_all(implausible.data_dir / "warehouse.duckdb", (PLAUSIBLE_SHARE, IMPLAUSIBLE), days=[fx.DAY2])
    assert all(o.passed for o in day2), [o.message for o in day2]


def test_the_clean_dataset_has_no_implausible_reading(built_warehouse):
    assert built_warehouse.row("select sum(implausible_rows) as n from intermediate.int_telemetry_daily")["n"] == 0
    outcomes = evaluate_all(built_warehouse.data_dir / "warehouse.duckdb", (PLAUSIBLE_SHARE, IMPLAUSIBLE))
    assert all(o.passed for o in outcomes), [o.message for o in outcomes]

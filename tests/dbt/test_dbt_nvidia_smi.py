"""The real nvidia-smi recordings of an H200 (shared/fixtures/nvidia_smi), imported beside the hand-made pool with
a one-hour stage window of their own, built with `dbt build`: the power-capped burst is visible reading by reading
in staging, as the mean of its minute in int_gpu_minutes, and in the pool's mart_stage_metrics row."""

from __future__ import annotations

import datetime as dt

import dbt_landing_fixture as landing_fixture
import pyarrow as pa
import pytest
from dbt_warehouse import DbtWarehouse

from ingestion import landing
from ingestion.contracts import DATASETS
from ingestion.importers import land
from ingestion.importers.nvidia_smi import read_nvidia_smi

pytestmark = pytest.mark.slow

POOL = "lab-smi"
UUID = "GPU-ec60bdaf-864c-a533-ec44-74d28ff55ead"
MINUTE = dt.datetime(2026, 11, 27, 18, 26)  # the minute of the burst (naive UTC, as the warehouse stores it)


@pytest.fixture(scope="module")
def smi_warehouse(shared, tmp_path_factory) -> DbtWarehouse:
    data_dir = tmp_path_factory.mktemp("gpu_eff_smi")
    landing_fixture.write_all(data_dir)
    calendar = [{"stage_id": 0, "stage_key": "baseline", "pool": POOL, "note": "nvidia-smi recording",
                 "start_ts": dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.UTC),
                 "end_ts": dt.datetime(2026, 11, 27, 19, 0, tzinfo=dt.UTC)}]
    landing.write_table("stage_calendar", pa.Table.from_pylist(calendar, schema=DATASETS["stage_calendar"].schema),
                        source="test", pool=POOL, base=data_dir)
    for name in ("nvidia_smi_query_gpu.csv", "nvidia_smi_q.xml", "nvidia_smi_compute_apps.csv"):
        result = read_nvidia_smi(shared / "fixtures/nvidia_smi" / name, POOL, hostname="h200-a", tz="UTC")
        assert all(landed.quarantined == 0 for landed in land(result, "nvidia-smi", base=data_dir))
    warehouse = DbtWarehouse(data_dir)
    warehouse.dbt("build")
    return warehouse


@pytest.fixture(scope="module")
def readings(smi_warehouse):
    """One row per reading time of the query-gpu log, its canonical metrics side by side."""
    return smi_warehouse.query(f"""
        select sample_ts,
               max(value) filter (where canonical_metric = 'power_w')              as power_w,
               max(value) filter (where canonical_metric = 'power_limit_w')        as power_limit_w,
               max(value) filter (where canonical_metric = 'sm_clock_mhz')         as sm_clock_mhz,
               max(value) filter (where canonical_metric = 'clocks_event_reasons') as reasons,
               max(value) filter (where canonical_metric = 'gpu_util_pct')         as gpu_util_pct
        from staging.stg_landing__gpu_samples
        where pool = '{POOL}' and gpu_uuid = '{UUID}'
        group by sample_ts
        having count(*) >= 11
        order by sample_ts""").set_index("sample_ts")


def test_every_reading_maps_to_a_canonical_metric(smi_warehouse):
    counts = smi_warehouse.query(f"""
        select raw_metric, canonical_metric, count(*) as n
        from staging.stg_landing__gpu_samples where pool = '{POOL}' group by all order by raw_metric""")
    assert counts.canonical_metric.notna().all(), counts
    assert dict(zip(counts.raw_metric, counts.n, strict=True)) == {
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": 124, "DCGM_FI_DEV_FB_FREE": 124, "DCGM_FI_DEV_FB_TOTAL": 124,
        "DCGM_FI_DEV_FB_USED": 124, "DCGM_FI_DEV_GPU_TEMP": 124, "DCGM_FI_DEV_GPU_UTIL": 124,
        "DCGM_FI_DEV_MEMORY_TEMP": 1, "DCGM_FI_DEV_MEM_CLOCK": 124, "DCGM_FI_DEV_MEM_COPY_UTIL": 124,
        "DCGM_FI_DEV_POWER_MGMT_LIMIT": 124, "DCGM_FI_DEV_POWER_USAGE": 124, "DCGM_FI_DEV_SM_CLOCK": 124,
        "NVML_COMPUTE_PROCESSES": 2,  # the XML's empty <processes> (0) and the compute-apps line (1)
    }  # 123 query-gpu lines + the XML snapshot


def test_staging_shows_the_h200_at_its_700_w_cap_with_clocks_down(readings):
    assert set(readings.power_limit_w) == {700.0}
    capped = readings[readings.reasons == 4]  # SW power cap
    assert (capped.index.min(), capped.index.max()) == (
        dt.datetime(2026, 11, 27, 18, 26, 2, 5000), dt.datetime(2026, 11, 27, 18, 26, 21, 601000))
    steady = capped.iloc[2:-1]
    assert steady.power_w.between(680, 700).all() and steady.gpu_util_pct.min() >= 90
    assert steady.sm_clock_mhz.max() <= 1560 and steady.sm_clock_mhz.mean() == pytest.approx(1500, abs=20)
    after = readings.loc[dt.datetime(2026, 11, 27, 18, 26, 23):dt.datetime(2026, 11, 27, 18, 26, 40)]
    assert set(after.sm_clock_mhz) == {1980.0} and after.power_w.max() < 130 and set(after.reasons) == {0.0}


def test_gpu_minutes_carry_the_burst(smi_warehouse, readings):
    minutes = smi_warehouse.query(f"""
        select minute_ts, stage_key, has_sample, activity_source, activity_pct, power_w, sm_clock_mhz,
               energy_j, energy_method, fb_total_gb
        from intermediate.int_gpu_minutes where pool = '{POOL}' and gpu_uuid = '{UUID}' and has_sample
        order by minute_ts""").set_index("minute_ts")
    assert list(minutes.index) == [MINUTE - dt.timedelta(minutes=1), MINUTE]
    assert set(minutes.stage_key) == {"baseline"} and set(minutes.activity_source) == {"gpu_util"}
    idle, burst = minutes.iloc[0], minutes.iloc[1]
    in_minute = readings[readings.index >= MINUTE]
    assert burst.power_w == pytest.approx(in_minute.power_w.mean())  # the mean of the minute's readings
    assert burst.power_w > 3 * idle.power_w and idle.power_w == pytest.approx(78, abs=1)
    assert burst.activity_pct == pytest.approx(in_minute.gpu_util_pct.mean()) and idle.activity_pct == 0
    assert burst.energy_method == "power_no_counter" and burst.energy_j == pytest.approx(burst.power_w * 60)
    assert idle.fb_total_gb == pytest.approx(143771 / 1024)


def test_stage_metrics_of_the_recording(smi_warehouse):
    """The pool's baseline hour in mart_stage_metrics: two GPU-minutes with samples out of 60, and the burst's
    minute carries most of the energy and all of the activity."""
    minutes = smi_warehouse.query(f"""
        select activity_pct, energy_j from intermediate.int_gpu_minutes
        where pool = '{POOL}' and has_sample order by minute_ts""")
    mart = smi_warehouse.row(f"select * from marts.mart_stage_metrics where pool = '{POOL}'")
    assert (mart["stage_key"], mart["gpus_provisioned"], mart["gpu_minutes"]) == ("baseline", 1, 60)
    assert mart["missing_gpu_minutes_percent"] == pytest.approx(100 * 58 / 60)
    assert mart["gpu_utilization_percent"] == pytest.approx(minutes.activity_pct.mean())
    assert mart["energy_joules"] == pytest.approx(minutes.energy_j.sum())
    assert minutes.energy_j.iloc[1] > 3 * minutes.energy_j.iloc[0]

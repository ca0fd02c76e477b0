"""The hand-made landing dataset of dbt_landing_fixture with faults injected, each on its own rows so that
one build shows every gate biting and each failure names its own rows.

- GPU-b reports 150 % utilisation at 2024-03-01 00:11: left out of int_gpu_minutes (int_gpu_samples_checked),
  value_between on stg_landing__gpu_samples warns and int_telemetry_daily counts it (int_gpu_minutes's range
  rules, column_values, are proven on the model edited in place).
- GPU-a's energy counter runs backwards at 2024-03-01 00:12, staying far above zero (not a reset):
  monotonic_counter on stg_landing__gpu_samples, and assert_energy_counter_agrees_with_power.
- 2024-03-02's gpu_samples land twice (a collector part beside the day's file): no dbt test fails on it (the
  blocking source-health check no_duplicate_rows stops such a day before dbt runs: tests/quality/test_gates_bite.py).
- request R1 is logged again the next day, in the next stage: assert_requests_counted_once (and the unique
  request_id tests).
- request R2's first token comes before its arrival (negative TTFT): column_values on int_inference_requests
  (ttft_ms never negative).
- GPU-c's telemetry stops for 28 minutes on 2024-03-02 (00:12-00:40): no_gap_longer_than on
  stg_landing__gpu_samples (a warning).
- job J6 has a MIG profile that does not parse and starts before it was submitted: matches_pattern on
  mig_profile, timestamps_ordered on submit_ts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dbt_landing_fixture as fx

from ingestion import landing, paths

UTIL_GPU, UTIL_MINUTE = "GPU-b", fx.ts(fx.DAY1, 0, 11)
COUNTER_GPU, COUNTER_MINUTE = "GPU-a", fx.ts(fx.DAY1, 0, 12)
COUNTER_BACKWARDS_MJ = 1.0e9 + 1.0e6  # below the previous reading, far above what a restart reaches
GAP_GPU, GAP_END = "GPU-c", fx.ts(fx.DAY2, 0, 40)
TWICE_REQUEST, NEGATIVE_TTFT_REQUEST = "R1", "R2"
BAD_JOB = "J6"
DUPLICATE_PART = "simulator-p1-flush-0009.parquet"


def samples_day1() -> list[dict]:
    rows = fx.gpu_samples_day1()
    for row in rows:
        if row["gpu_uuid"] == UTIL_GPU and row["ts"] == UTIL_MINUTE and row["metric"] == "DCGM_FI_DEV_GPU_UTIL":
            row["value"] = 150.0
        if (row["gpu_uuid"] == COUNTER_GPU and row["ts"] == COUNTER_MINUTE
                and row["metric"] == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"):
            row["value"] = COUNTER_BACKWARDS_MJ
    return rows


def samples_day2() -> list[dict]:
    late = fx._sample(GAP_END, GAP_GPU, 0, "h2", "DCGM_FI_DEV_POWER_USAGE", 100)
    return [*fx.gpu_samples_day2(), late]


def requests_day1() -> list[dict]:
    rows = fx.requests_day1()
    for row in rows:
        if row["request_id"] == NEGATIVE_TTFT_REQUEST:
            row["scheduled_ts"] = None
            row["first_token_ts"] = row["arrival_ts"] - (row["first_token_ts"] - row["arrival_ts"])
    return rows


def requests_day2() -> list[dict]:
    d = fx.DAY2  # R1 again, logged by a second gateway in the next stage
    again = fx._req(TWICE_REQUEST, "J3", "GPU-a", fx.ts(d, 0, 12, 30.0), fx.ts(d, 0, 12, 30.0),
                    fx.ts(d, 0, 12, 30.3), fx.ts(d, 0, 12, 32.3), 100, 0, 21)
    return [*fx.requests_day2(), again]


def jobs_day2() -> list[dict]:
    bad = fx._job(BAD_JOB, "t1", "development", ["GPU-c"], 3 / 7, fx.ts(fx.DAY2, 0, 11), fx.ts(fx.DAY2, 0, 10),
                  fx.ts(fx.DAY2, 0, 12), mig="3g-40gb", host="h2")
    return [*fx.jobs_day2(), bad]


def write_all(base: Path) -> None:
    kw = {"source": fx.SOURCE, "pool": fx.POOL, "base": base}
    landing.write_table("stage_calendar", fx._table("stage_calendar", fx.stage_calendar()), **kw)
    landing.write_table("gpu_inventory", fx._table("gpu_inventory", fx.gpu_inventory()), **kw)
    for day, samples, jobs, events, requests in (
        (fx.DAY1, samples_day1(), fx.jobs_day1(), fx.job_events_day1(), requests_day1()),
        (fx.DAY2, samples_day2(), jobs_day2(), fx.job_events_day2(), requests_day2()),
    ):
        fx._write_samples(base, day, samples)
        landing.write_day("jobs", day, fx._table("jobs", jobs), **kw)
        landing.write_day("job_events", day, fx._table("job_events", events), **kw)
        landing.write_day("inference_requests", day, fx._table("inference_requests", requests), **kw)
    # the day's telemetry landed a second time, as a collector part beside the backfilled day file
    day2 = paths.landing_dir(base) / "gpu_samples" / f"date={fx.DAY2.isoformat()}"
    shutil.copy(day2 / f"{fx.SOURCE}-{fx.POOL}.parquet", day2 / DUPLICATE_PART)

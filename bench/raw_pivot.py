"""dbt against raw DuckDB: the per-GPU-minute table of one day, built by the pipeline's dbt model and by one
hand-written DuckDB query over the same landing Parquet.

- dbt: `dbt run --select int_gpu_minutes` for the day (vars start_date/end_date), in a fresh process as the
  Dagster step runs it (dbt start-up and parse included), into the warehouse;
- raw: one query, in an in-memory DuckDB with the warehouse's thread count (1), that maps the raw DCGM
  names through the same metric catalog, keeps device-scope fields once per GPU-minute, sums MIG instances
  weighted by their compute slices, pivots to one row per GPU-minute and turns the energy counter into joules
  per minute. It leaves out what the model adds on top (the stage-window grid of every inventory GPU-minute,
  the jobs' allocations): the ratio is the price of the warehouse's model and framework over the floor.
  The same query with all cores is reported beside it (`raw_duckdb_all_cores_s`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import duckdb

from bench.procs import run_measured

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "dbt_project" / "seeds"

RAW_QUERY = """
with samples as (
    select s.gpu_uuid, date_trunc('minute', timezone('UTC', s.ts)) as minute_ts, s.mig_profile, s.gpu_instance_id,
           c.canonical_metric, c.scope, s.value * c.scale as value
    from read_parquet('{landing}/gpu_samples/date={day}/*.parquet') as s
    join read_csv('{seeds}/metric_catalog.csv') as c on s.metric = c.raw_metric
),
device as (
    select gpu_uuid, minute_ts, canonical_metric, avg(value) as value, max(value) as value_max, 0 as mig
    from samples where scope = 'device'
    group by all
),
instance as (
    select gpu_uuid, minute_ts, canonical_metric,
           sum(case when canonical_metric like '%\\_pct' escape '\\' and mig_profile is not null
                    then value * m.compute_slices / m.total_compute_slices else value end) as value,
           max(case when mig_profile is not null then 1 else 0 end) as mig
    from (select gpu_uuid, minute_ts, mig_profile, gpu_instance_id, canonical_metric, avg(value) as value
          from samples where scope = 'instance' group by all) as i
    left join read_csv('{seeds}/mig_profiles.csv') as m on i.mig_profile = m.profile
    group by gpu_uuid, minute_ts, canonical_metric
),
pivoted as (
    select gpu_uuid, minute_ts,
           max(value) filter (canonical_metric = 'gr_engine_active_pct') as gr_engine_active_pct,
           max(value) filter (canonical_metric = 'gpu_util_pct') as gpu_util_pct,
           max(value) filter (canonical_metric = 'sm_active_pct') as sm_active_pct,
           max(value) filter (canonical_metric = 'tensor_active_pct') as tensor_active_pct,
           max(value) filter (canonical_metric = 'dram_active_pct') as dram_active_pct,
           max(value) filter (canonical_metric = 'power_w') as power_w,
           max(value_max) filter (canonical_metric = 'energy_j') as energy_counter_j,
           max(value) filter (canonical_metric = 'gpu_temp_c') as gpu_temp_c,
           max(value) filter (canonical_metric = 'sm_clock_mhz') as sm_clock_mhz,
           max(value) filter (canonical_metric = 'fb_used_gb') as fb_used_gb,
           max(value) filter (canonical_metric = 'fb_free_gb') as fb_free_gb,
           max(mig) = 1 as is_mig
    from (select gpu_uuid, minute_ts, canonical_metric, value, value_max, mig from device
          union all select gpu_uuid, minute_ts, canonical_metric, value, value, mig from instance)
    group by gpu_uuid, minute_ts
)
select *, coalesce(gr_engine_active_pct, gpu_util_pct) as activity_pct,
       case when lag(energy_counter_j) over w is null or energy_counter_j < lag(energy_counter_j) over w
            then power_w * 60
            else (energy_counter_j - lag(energy_counter_j) over w) * 60
                 / epoch(minute_ts - lag(minute_ts) over w) end as energy_j
from pivoted
window w as (partition by gpu_uuid order by minute_ts)
"""


def raw_seconds(landing: Path, day: dt.date, threads: int) -> tuple[float, int]:
    """Seconds to compute the day's per-GPU-minute table with one query, and its row count."""
    with duckdb.connect(config={"threads": threads}) as con:
        started = time.perf_counter()
        con.execute(f"create temp table minutes as {RAW_QUERY.format(landing=landing, day=day, seeds=SEEDS)}")
        seconds = time.perf_counter() - started
        return seconds, con.execute("select count(*) from minutes").fetchone()[0]


def dbt_seconds(env: dict[str, str], day: dt.date) -> float:
    window = {"start_date": day.isoformat(), "end_date": (day + dt.timedelta(days=1)).isoformat()}
    dbt_dir = ROOT / "dbt_project"
    cmd = [str(Path(sys.executable).parent / "dbt"), "run", "--select", "int_gpu_minutes", "--vars",
           json.dumps(window), "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir)]
    measured = run_measured(cmd, env)
    if measured.returncode != 0:
        raise RuntimeError(f"dbt run of int_gpu_minutes for {day} failed:\n{measured.output[-3000:]}")
    return measured.wall_s


def compare(env: dict[str, str], base: Path, day: dt.date, repeats: int) -> dict:
    """Median seconds of each way over `repeats` runs, alternated, and their ratio."""
    landing = base / "landing"
    dbt_s, raw_s, raw_all_s, rows = [], [], [], 0
    for n in range(1, repeats + 1):
        dbt_s.append(dbt_seconds(env, day))
        seconds, rows = raw_seconds(landing, day, threads=1)
        raw_s.append(seconds)
        raw_all_s.append(raw_seconds(landing, day, threads=os.cpu_count() or 1)[0])
        print(f"  {day}: dbt {dbt_s[-1]:.1f} s, raw DuckDB {raw_s[-1]:.1f} s (1 thread), "
              f"{raw_all_s[-1]:.1f} s (all cores) [{n}/{repeats}]", flush=True)
    dbt_median, raw_median = statistics.median(dbt_s), statistics.median(raw_s)
    return {
        "warehouse_vs_raw_duckdb_ratio": dbt_median / raw_median,
        "dbt_int_gpu_minutes_one_day_s": dbt_median,
        "raw_duckdb_one_day_s": raw_median,
        "raw_duckdb_all_cores_s": statistics.median(raw_all_s),
        "raw_duckdb_rows": rows,
    }

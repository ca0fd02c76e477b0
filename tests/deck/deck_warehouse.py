"""A small hand-made warehouse: one pool (or a few), seven stages, the three marts the deck reads, and
(unless lab=False) the two lab marts with rows shaped like the vendored H200 recording."""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import yaml

STAGES = [
    (0, "baseline", "传统裸金属"),
    (1, "sharing", "GPU共享与虚拟化"),
    (2, "orchestration", "智能工作负载编排"),
    (3, "data_infra", "高性能数据基础设施"),
    (4, "software", "软件定义优化"),
    (5, "resilience", "增强弹性与容错"),
    (6, "load_mgmt", "战略性负载管理"),
]

# metric -> (unit, higher_is_better, value per stage 0..6). Hand-made, with distinct digits so a
# test can find each one on a slide.
METRICS: dict[str, tuple[str, bool, list[float | None]]] = {
    "throughput_tokens_per_sec": ("tokens/s", True, [8123.0, 10450.0, 13780.0, 15020.0, 21340.0, 22110.0,
                                                      24870.0]),
    "ttft_milliseconds": ("ms", False, [851.0, 742.0, 633.0, 588.0, 312.0, 305.0, 298.0]),
    "tbt_milliseconds": ("ms", False, [42.7, 39.1, 35.6, 34.2, 21.8, 21.5, 21.1]),
    "prefill_efficiency_percent": ("percent", True, [55.2, 61.4, 67.3, 70.9, 82.6, 83.1, 84.4]),
    "decoding_parallelism": ("sequences", True, [4.1, 6.6, 9.2, 9.8, 15.3, 15.9, 17.2]),
    "gpu_utilization_percent": ("percent", True, [23.4, 35.7, 48.2, 55.1, 61.9, 66.3, 78.6]),
    "memory_overhead_gb": ("GB", False, [38.2, 21.5, 19.7, None, 12.4, 12.1, 11.3]),
    "cluster_throughput_per_watt": ("tokens/J", True, [0.913, 1.27, 1.58, 1.76, 2.43, 2.51, 2.94]),
    "throughput_per_watt": ("tokens/J", True, [1.52, 1.98, 2.35, 2.41, 3.62, 3.70, 3.81]),
    "throughput_per_dollar": ("tokens/$", True, [1_234_000.0, 1_610_000.0, 2_050_000.0, 2_170_000.0,
                                                  3_020_000.0, 3_110_000.0, 3_480_000.0]),
}
ALLOCATION = [61.5, 72.3, 83.8, 85.2, 86.4, 88.1, 93.7]
# Cells that are not cluster measurements: (metric, stage_id) -> (value_source, evidence_tier, source_ref)
NOT_MEASURED = {
    ("prefill_efficiency_percent", 3): ("benchmark", "行业基准", "industry_benchmarks:B03-EXAMPLE"),
    ("tbt_milliseconds", 4): ("lab", "实验室实测", "experiments:h200_lab"),
    ("memory_overhead_gb", 3): ("missing", "估算", "estimate:none"),
}

# The lab (pool lab-h200, one GPU): phase -> (factor, variant, work_unit, work_per_s, power_w, gpu_util_pct,
# sm_active_pct). Hand-made, close to the vendored H200 recording; work per joule = work_per_s / power_w.
LAB_EXPERIMENT = "h200-lab-2026-11-27"
LAB_POOL = "lab-h200"
LAB_GPU = ("GPU-0cc143d6-cfbc-890e-2c99-b4ca629ecac5", "NVIDIA H200")
LAB_PHASES: dict[str, tuple[str, str, str, float, float, float, float]] = {
    "decode_batch_1": ("batching", "batch=1", "tokens", 60.15, 145.9, 12.3, 3.7),
    "decode_batch_128": ("batching", "batch=128", "tokens", 6617.46, 345.2, 99.1, 71.4),
    "train_fp32": ("precision", "fp32", "samples", 77.539, 645.1, 100.0, 93.2),
    "train_bf16": ("precision", "bf16", "samples", 501.091, 671.3, 100.0, 88.6),
    "share_1proc": ("time_slicing", "processes=1", "tokens", 96.0, 240.4, 41.5, 22.3),
    "share_4proc": ("time_slicing", "processes=4", "tokens", 256.0, 320.5, 97.2, 57.8),
    "stall_slow_loader": ("data_loading", "slow_loader", "samples", 186.882, 190.3, 26.5, 19.9),
    "stall_staged": ("data_loading", "staged", "samples", 623.768, 447.6, 89.8, 70.1),
}
LAB_PAIRS = {"batching": ("decode_batch_128", "decode_batch_1"), "precision": ("train_bf16", "train_fp32"),
             "time_slicing": ("share_4proc", "share_1proc"), "data_loading": ("stall_staged", "stall_slow_loader")}
# An older run of the batching pair on the same GPU: the deck shows the latest experiment of each factor.
LAB_OLD_EXPERIMENT = "h200-lab-2026-10-02"
LAB_OLD_PHASES = {"decode_batch_1": 55.5, "decode_batch_128": 5000.5}  # work_per_s; otherwise as above

# The stage marts the chart slides read, per stage 0..6 (hand-made, distinct digits).
DATA_STALL = [38.4, 37.9, 36.2, 7.7, 6.8, 6.9, 7.1]
FRAGMENTATION = [24.7, 16.3, 12.4, 13.2, 17.7, 17.5, 9.4]
SCHEDULED_ALLOCATION = [72.5, 62.4, 87.6, 86.8, 80.4, 79.8, 89.5]
FAILURES = [12, 10, 12, 11, 8, 10, 16]
LOST_GPU_HOURS = [90.7, 169.3, 164.0, 172.4, 129.6, 17.6, 14.6]
MTTR = [73.1, 97.9, 83.2, 91.2, 72.0, 5.8, 5.1]
TRAINING_GPU_HOURS = [2013.0, 2539.0, 3712.0, 3694.0, 3379.0, 3267.0, 3726.0]
# (ttft p50, ttft p95, tbt p50, tbt p95) of the '(all)' rows; a service row with other numbers.
LATENCY = [(311.9, 13853.9, 14.0, 22.0), (450.5, 1274.6, 20.1, 31.9), (471.8, 1293.5, 20.3, 32.6),
           (473.5, 1299.0, 20.2, 32.7), (97.7, 380.7, 14.1, 22.4), (98.1, 382.0, 14.2, 22.3),
           (97.9, 380.5, 14.3, 22.5)]
QUEUE_WAIT = [(0.5, 994.0), (0.0, 1566.3), (1.5, 1495.9), (2.5, 1194.0), (0.0, 1034.9), (3.5, 1259.9),
              (0.0, 651.4)]  # (queue_wait_p50_minutes, queue_wait_p95_minutes)
TRAINING_TOKENS_PER_GPU_HOUR = [6_009_382.0, 5_940_839.0, 6_087_036.0, 9_410_439.0, 12_744_576.0, 13_462_083.0,
                                13_489_708.0]  # mart_inference '(all)' rows
# mart_gpu_density: (shared, mig, fractional) % of allocated GPU-minutes, (mean_reserved_gb, mean_used_gb)
GPU_SHARING = [(0.0, 0.0, 0.0), (40.1, 18.2, 21.9), (26.8, 12.4, 14.4), (24.1, 10.9, 13.2), (12.9, 6.1, 6.8),
               (13.1, 6.3, 6.8), (20.7, 10.3, 10.4)]
GPU_MEMORY = [(80.0, 47.1), (73.2, 56.1), (75.8, 58.2), (76.4, 60.4), (77.1, 58.9), (77.3, 62.2), (76.9, 60.3)]
WORKLOAD_TYPES = ("training", "inference", "development", "evaluation", "other")
DAYS_PER_STAGE = 3


def hourly_share(workload_type: str, hour: int) -> float:
    """mart_hourly_profile.mean_allocated_share (every stage alike): inference by day, training by night."""
    day = 9 <= hour < 21
    base = {"training": 0.55 if day else 0.85, "inference": 0.30 if day else 0.05, "development": 0.04,
            "evaluation": 0.02, "other": 0.01}[workload_type]
    return round(base + hour / 1000, 4)


def daily_utilization(stage_id: int, day: int) -> tuple[float, float]:
    """(gpu_utilization_percent, allocation_percent) of day ``day`` (0..2) of stage ``stage_id``."""
    return 20.0 + 8 * stage_id + day * 1.5, 60.0 + 4 * stage_id + day


WarehouseFactory = Callable[..., Path]
BENCHMARKS_CSV = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "industry_benchmarks.csv"
FIVE_SLIDES = Path(__file__).with_name("five_slides.yaml")


def five_slide_outline(directory: Path) -> Path:
    """The real outline's settings (deck, fonts, tiers, metrics, sections) with the foundation's five slides."""
    from deck_assets.outline import DEFAULT_OUTLINE

    raw = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))
    raw["slides"] = yaml.safe_load(FIVE_SLIDES.read_text(encoding="utf-8"))["slides"]
    path = directory / "five_slides_outline.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def insert_benchmarks(con: duckdb.DuckDBPyConnection, csv: Path = BENCHMARKS_CSV) -> None:
    """reference.industry_benchmarks as dbt seed would load it: every column text."""
    con.execute("create schema if not exists reference")
    con.execute(f"create or replace table reference.industry_benchmarks as select * from "
                f"read_csv('{csv}', header = true, all_varchar = true)")


_BUILT: dict[tuple[str, str, tuple[str, ...], bool, bool], Path] = {}  # arguments -> the warehouse built with them


def make_warehouse(path: Path, pool: str = "pool-a", sources: str = "simulator",
                   extra_pools: tuple[str, ...] = (), lab: bool = True, stage_marts: bool = True) -> Path:
    """The warehouse at `path`: a copy of the one built with the same arguments earlier in this process (a build
    takes ~1 s, and the deck tests ask for some forty; each test changes only its own copy)."""
    key = (pool, sources, tuple(extra_pools), lab, stage_marts)
    if key not in _BUILT:
        folder = tempfile.mkdtemp(prefix="deck-warehouse-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _BUILT[key] = _build_warehouse(Path(folder) / "warehouse.duckdb", *key)
    shutil.copyfile(_BUILT[key], path)
    return path


def _build_warehouse(path: Path, pool: str, sources: str, extra_pools: tuple[str, ...], lab: bool,
                     stage_marts: bool) -> Path:
    con = duckdb.connect(str(path))
    try:
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        metric_cols = list(METRICS)
        con.execute("create schema marts")
        con.execute(f"""
            create table marts.mart_stage_metrics (
                pool varchar, stage_id integer, stage_key varchar, stage_name_zh varchar,
                window_start timestamptz, window_end timestamptz, window_hours double,
                gpus_provisioned bigint, {", ".join(f"{c} double" for c in metric_cols)},
                allocation_percent double, sm_active_percent double)""")
        con.execute("""
            create table marts.mart_stage_comparison (
                pool varchar, stage_id integer, stage_key varchar, stage_name_zh varchar, metric varchar,
                value double, unit varchar, higher_is_better boolean, baseline_value double,
                previous_value double, ratio_to_baseline double, ratio_to_previous double,
                change_vs_baseline_percent double, value_source varchar, evidence_tier varchar,
                source_ref varchar, days integer, day_min double, day_max double, ratio_low double,
                ratio_high double, measurable_change boolean)""")
        con.execute("""
            create table marts.mart_data_coverage (
                pool varchar, sources varchar, simulated boolean, evidence_tier varchar, first_ts timestamptz,
                last_ts timestamptz, days double, gpus bigint, sample_rows bigint)""")
        for pool_name in (pool, *extra_pools):
            _insert_pool(con, pool_name, sources, start, metric_cols)
        if stage_marts:
            _insert_stage_marts(con, (pool, *extra_pools), start)
        if lab:
            _insert_lab(con)
        insert_benchmarks(con)
    finally:
        con.close()
    return path


DAY_SPREAD = 0.04  # each stage's daily values lie within ±4 % of its value


def day_spread(value: float | None, base: float | None, stage_id: int) -> tuple:
    """(days, day_min, day_max, ratio_low, ratio_high, measurable_change) as mart_stage_comparison has them: the
    min-max of 8 daily values ±DAY_SPREAD around the stage's value, the ratio's interval against the baseline's
    days, and whether it excludes 1 (None for the baseline itself)."""
    if value is None:
        return (0, None, None, None, None, None)
    day_min, day_max = value * (1 - DAY_SPREAD), value * (1 + DAY_SPREAD)
    if stage_id == 0 or not base:
        return (8, day_min, day_max, None, None, None)
    low, high = day_min / (base * (1 + DAY_SPREAD)), day_max / (base * (1 - DAY_SPREAD))
    return (8, day_min, day_max, low, high, not low <= 1 <= high)


def _insert_pool(con: duckdb.DuckDBPyConnection, pool: str, sources: str, start: dt.datetime,
                 metric_cols: list[str]) -> None:
    """The pool's stage rows; what it measured has the tier the dbt project gives its sources (mart_data_coverage):
    仿真 for the simulator's, else 集群实测."""
    simulated = "simulator" in sources.split(",")
    measured_tier = "仿真" if simulated else "集群实测"
    for stage_id, key, name in STAGES:
        w_start = start + dt.timedelta(days=8 * stage_id)
        values = [METRICS[m][2][stage_id] for m in metric_cols]
        con.execute(
            f"insert into marts.mart_stage_metrics values (?, ?, ?, ?, ?, ?, ?, ?, "
            f"{', '.join('?' for _ in metric_cols)}, ?, ?)",
            [pool, stage_id, key, name, w_start, w_start + dt.timedelta(days=8), 192.0, 64, *values,
             ALLOCATION[stage_id], None],
        )
        for metric, (unit, hib, series) in METRICS.items():
            value, base = series[stage_id], series[0]
            prev = series[stage_id - 1] if stage_id else None
            source, tier, ref = NOT_MEASURED.get(
                (metric, stage_id), ("measured", measured_tier, f"mart_stage_metrics.{metric}"))
            ratio = value / base if value is not None and base else None
            con.execute(
                "insert into marts.mart_stage_comparison values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [pool, stage_id, key, name, metric, value, unit, hib, base, prev, ratio,
                 value / prev if value is not None and prev else None,
                 (ratio - 1) * 100 if ratio is not None else None, source, tier, ref,
                 *day_spread(value, base, stage_id)],
            )
    con.execute(
        "insert into marts.mart_data_coverage values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [pool, sources, simulated, measured_tier, start, start + dt.timedelta(days=56), 56.0, 64, 1_234_567],
    )


def _insert_lab(con: duckdb.DuckDBPyConnection) -> None:
    """marts.mart_lab_experiments (the columns the deck reads, and a few more) and mart_lab_comparisons."""
    con.execute("""
        create table marts.mart_lab_experiments (
            experiment_id varchar, pool varchar, phase varchar, factor varchar, variant varchar,
            gpu_uuid varchar, model_name varchar, work_unit varchar, window_s double, power_w double,
            gpu_util_pct double, sm_active_pct double, work_per_s double, work_per_joule double,
            evidence_tier varchar)""")
    sides = ("work_per_s", "reported_rate_per_s", "work_per_joule", "power_w", "gpu_util_pct", "sm_active_pct")
    con.execute(f"""
        create table marts.mart_lab_comparisons (
            experiment_id varchar, pool varchar, factor varchar, treatment_variant varchar,
            baseline_variant varchar, treatment_phase varchar, baseline_phase varchar, work_unit varchar,
            {", ".join(f"treatment_{c} double, baseline_{c} double" for c in sides)},
            throughput_ratio double, reported_rate_ratio double, work_per_joule_ratio double,
            power_ratio double, evidence_tier varchar)""")
    for experiment, rates in ((LAB_EXPERIMENT, {}), (LAB_OLD_EXPERIMENT, LAB_OLD_PHASES)):
        phases = {name: p for name, p in LAB_PHASES.items() if experiment == LAB_EXPERIMENT or name in rates}
        rows = {}
        for name, (factor, variant, unit, per_s, power, util, sm) in phases.items():
            per_s = rates.get(name, per_s)
            rows[name] = {"variant": variant, "unit": unit, "work_per_s": per_s, "reported_rate_per_s": per_s,
                          "work_per_joule": per_s / power, "power_w": power, "gpu_util_pct": util,
                          "sm_active_pct": sm}
            con.execute("insert into marts.mart_lab_experiments values "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [experiment, LAB_POOL, name, factor, variant, *LAB_GPU, unit, 10.0, power, util, sm,
                         per_s, per_s / power, "实验室实测"])
        for factor, (treatment, baseline) in LAB_PAIRS.items():
            if treatment not in rows:
                continue
            t, b = rows[treatment], rows[baseline]
            marks = ", ".join("?" for _ in range(8 + 2 * len(sides) + 5))
            con.execute(
                f"insert into marts.mart_lab_comparisons values ({marks})",
                [experiment, LAB_POOL, factor, t["variant"], b["variant"], treatment, baseline, t["unit"],
                 *[v for c in sides for v in (t[c], b[c])],
                 t["work_per_s"] / b["work_per_s"], t["reported_rate_per_s"] / b["reported_rate_per_s"],
                 t["work_per_joule"] / b["work_per_joule"], t["power_w"] / b["power_w"], "实验室实测"])


def _insert_stage_marts(con: duckdb.DuckDBPyConnection, pools: tuple[str, ...], start: dt.datetime) -> None:
    """The columns the chart slides read (and the grain) of mart_scheduling, mart_data_stalls, mart_inference,
    mart_reliability, mart_hourly_profile, mart_gpu_density and mart_daily_utilization."""
    head = "pool varchar, stage_id integer, stage_key varchar, stage_name_zh varchar"
    con.execute(f"create table marts.mart_scheduling ({head}, allocation_percent double, "
                f"fragmentation_percent double, queue_wait_p50_minutes double, queue_wait_p95_minutes double, "
                f"queue_wait_mean_minutes double, jain_fairness_index double)")
    con.execute(f"create table marts.mart_data_stalls ({head}, data_stall_percent double, "
                f"gpu_weighted_data_stall_percent double)")
    con.execute(f"create table marts.mart_inference ({head}, service varchar, is_total boolean, "
                f"ttft_p50_milliseconds double, ttft_p95_milliseconds double, tbt_p50_milliseconds double, "
                f"tbt_p95_milliseconds double, tokens_per_sec double, training_tokens_per_gpu_hour double)")
    con.execute(f"create table marts.mart_gpu_density ({head}, shared_gpu_minutes_percent double, "
                f"mig_gpu_minutes_percent double, fractional_gpu_minutes_percent double, mean_reserved_gb double, "
                f"mean_used_gb double)")
    con.execute(f"create table marts.mart_reliability ({head}, failures bigint, lost_gpu_hours double, "
                f"mttr_minutes double, effective_training_time_ratio double, training_gpu_hours double)")
    con.execute(f"create table marts.mart_hourly_profile ({head}, hour_of_day integer, local_hour_of_day integer, "
                f"workload_type varchar, mean_allocated_share double, mean_activity_pct double)")
    con.execute("create table marts.mart_daily_utilization (pool varchar, date date, stage_id integer, "
                "stage_key varchar, stage_name_zh varchar, gpu_utilization_percent double, "
                "allocation_percent double)")
    for pool in pools:
        for stage_id, key, name in STAGES:
            row = [pool, stage_id, key, name]
            p50, p95 = QUEUE_WAIT[stage_id]
            con.execute("insert into marts.mart_scheduling values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*row, SCHEDULED_ALLOCATION[stage_id], FRAGMENTATION[stage_id], p50, p95, (p50 + p95) / 3, 0.9])
            con.execute("insert into marts.mart_gpu_density values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*row, *GPU_SHARING[stage_id], *GPU_MEMORY[stage_id]])
            con.execute("insert into marts.mart_data_stalls values (?, ?, ?, ?, ?, ?)",
                        [*row, DATA_STALL[stage_id], DATA_STALL[stage_id] - 0.3])
            con.execute("insert into marts.mart_inference values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*row, "(all)", True, *LATENCY[stage_id], 162.0, TRAINING_TOKENS_PER_GPU_HOUR[stage_id]])
            con.execute("insert into marts.mart_inference values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*row, "chat", False, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            con.execute("insert into marts.mart_reliability values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*row, FAILURES[stage_id], LOST_GPU_HOURS[stage_id], MTTR[stage_id], 0.95,
                         TRAINING_GPU_HOURS[stage_id]])
            for day in range(DAYS_PER_STAGE):
                date = (start + dt.timedelta(days=DAYS_PER_STAGE * stage_id + day)).date()
                con.execute("insert into marts.mart_daily_utilization values (?, ?, ?, ?, ?, ?, ?)",
                            [pool, date, stage_id, key, name, *daily_utilization(stage_id, day)])
            for hour in range(24):
                for wt in (*WORKLOAD_TYPES, "all"):
                    share = sum(hourly_share(w, hour) for w in WORKLOAD_TYPES) if wt == "all" \
                        else hourly_share(wt, hour)
                    con.execute("insert into marts.mart_hourly_profile values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                [*row, hour, hour, wt, share, 50.0])

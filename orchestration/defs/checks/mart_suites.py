"""The Great Expectations suites on the marts, as data: which frame each reads and what it expects.

Each `MartCheck` becomes one Dagster asset check on its mart. A check may validate more than one frame:
the mart itself, and where a mart-level number would hide the culprit (one GPU at 150 % barely moves a
pool mean), the per-GPU or per-request rows under it, so that a failure names the offending GPU or request.
Blocking checks guard numbers the deck prints; a failure stops `deck` in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.defs.checks.gx_runner import Expect, Suite
from orchestration.defs.checks.outcome import ERROR, WARN

# Relative tolerance between a derived metric and its recomputation from the mart's own totals and the prices.
RELATIVE_TOLERANCE = 0.005
# Utilisation is a percentage; MIG instance sums may round a hair above 100.
PERCENT_MAX = 100.0 + 1e-6
# Share of a stage's GPU-minutes without telemetry above which the coverage check warns.
MISSING_MINUTES_WARN_PERCENT = 5.0
# Share of a pool's telemetry readings of a day outside their metric's physical range (metric_catalog's bounds,
# int_gpu_samples_checked) above which the deck is blocked. Such readings are left out of every number; a few
# are a glitch (warned, per GPU), more say that an exporter or a unit is broken and the day's numbers rest on
# what is left.
IMPLAUSIBLE_BLOCK_PERCENT = 1.0
# The suites on per-row data (GPU-minutes, requests) check the run's days, as dbt's tests of daily data do
# (meta.test_days_column): the days before were checked when they landed. Without a window (null), every day.
RUN_DAYS = "($start_date is null or date >= $start_date) and ($end_date is null or date < $end_date)"


@dataclass(frozen=True)
class MartCheck:
    name: str
    asset: str
    description: str
    blocking: bool
    suites: tuple[Suite, ...]
    additional_deps: tuple[str, ...] = ()

    @property
    def severity(self) -> str:
        return ERROR if self.blocking else WARN


def between(column: str, low: float | None, high: float | None, strict_min: bool = False) -> Expect:
    kwargs = {"column": column, "min_value": low, "max_value": high}
    if strict_min:
        kwargs["strict_min"] = True
    return Expect("ExpectColumnValuesToBeBetween", kwargs)


def at_least(column_a: str, column_b: str) -> Expect:
    return Expect("ExpectColumnPairValuesAToBeGreaterThanB",
                  {"column_A": column_a, "column_B": column_b, "or_equal": True,
                   "ignore_row_if": "either_value_is_missing"})


def not_null(column: str) -> Expect:
    return Expect("ExpectColumnValuesToNotBeNull", {"column": column})


def within_tolerance(column: str) -> Expect:
    return between(column, 0, RELATIVE_TOLERANCE)


STAGE_ID = ("pool", "stage_id", "stage_key")

UTILISATION = MartCheck(
    name="gx_utilisation_in_range",
    asset="mart_stage_metrics",
    description="GPU utilisation, its p95, allocation and SM-active % of every pool and stage within 0–100, and "
                "no GPU-minute of int_gpu_minutes outside 0–100 (names the GPU).",
    blocking=True,
    additional_deps=("int_gpu_minutes",),
    suites=(
        Suite(
            "mart_stage_metrics",
            "select pool, stage_id, stage_key, gpu_utilization_percent, gpu_utilization_p95_percent, "
            "allocation_percent, sm_active_percent from marts.mart_stage_metrics order by pool, stage_id",
            STAGE_ID,
            tuple(between(c, 0, PERCENT_MAX) for c in ("gpu_utilization_percent", "gpu_utilization_p95_percent",
                                                       "allocation_percent", "sm_active_percent")),
        ),
        Suite(
            "int_gpu_minutes per GPU and stage",
            f"""
            select pool, stage_id, stage_key, hostname, gpu_uuid,
                   min(activity_pct) as min_activity_pct,
                   max(activity_pct) as max_activity_pct,
                   count(case when activity_pct < 0 or activity_pct > 100 then 1 end) as out_of_range_minutes,
                   min(case when activity_pct < 0 or activity_pct > 100 then minute_ts end) as first_out_of_range
            from intermediate.int_gpu_minutes
            where stage_id is not null and {RUN_DAYS}
            group by pool, stage_id, stage_key, hostname, gpu_uuid
            order by pool, stage_id, hostname, gpu_uuid
            """,
            (*STAGE_ID, "hostname", "gpu_uuid", "out_of_range_minutes", "first_out_of_range"),
            (between("min_activity_pct", 0, PERCENT_MAX), between("max_activity_pct", 0, PERCENT_MAX)),
        ),
    ),
)

LATENCY = MartCheck(
    name="gx_latency_plausible",
    asset="mart_stage_metrics",
    description="TTFT and TBT positive with p95 >= p50 for every pool and stage, and positive for every request "
                "of int_inference_requests (names the request).",
    blocking=True,
    additional_deps=("int_inference_requests",),
    suites=(
        Suite(
            "mart_stage_metrics",
            "select pool, stage_id, stage_key, ttft_milliseconds, ttft_p95_milliseconds, tbt_milliseconds, "
            "tbt_p95_milliseconds from marts.mart_stage_metrics order by pool, stage_id",
            STAGE_ID,
            (between("ttft_milliseconds", 0, None, strict_min=True),
             between("tbt_milliseconds", 0, None, strict_min=True),
             at_least("ttft_p95_milliseconds", "ttft_milliseconds"),
             at_least("tbt_p95_milliseconds", "tbt_milliseconds")),
        ),
        Suite(
            "int_inference_requests",
            "select request_id, pool, stage_id, service, replica, arrival_ts, first_token_ts, end_ts, "
            f"output_tokens, ttft_ms, tbt_ms from intermediate.int_inference_requests where {RUN_DAYS}",
            ("request_id", "pool", "stage_id", "service", "arrival_ts", "first_token_ts", "end_ts"),
            (between("ttft_ms", 0, None, strict_min=True), between("tbt_ms", 0, None, strict_min=True)),
        ),
    ),
)

EFFICIENCY = MartCheck(
    name="gx_efficiency_consistent",
    asset="mart_stage_metrics",
    description=f"Tokens per joule equal throughput / mean power and tokens / energy; tokens per dollar equal "
                f"tokens / (GPU-hours x catalog price + energy x energy price), each within "
                f"{RELATIVE_TOLERANCE:.1%}; every GPU priced.",
    blocking=True,
    additional_deps=("int_gpu_minutes", "int_gpu_catalog_matched", "energy_price"),
    suites=(
        Suite(
            "mart_stage_metrics recomputed from its totals and the prices",
            """
            with grid_prices as (
                select grid.pool, grid.stage_id, sum(catalog.hourly_price) as hourly_price_sum
                from (select distinct pool, stage_id, gpu_uuid, model_name
                      from intermediate.int_gpu_minutes where stage_id is not null) as grid
                left join intermediate.int_gpu_catalog_matched as catalog
                    on grid.model_name = catalog.model_name
                group by grid.pool, grid.stage_id
            ),
            energy as (  -- $energy_per_kwh: the config file's price, when it sets one (null: the seed's)
                select coalesce(cast($energy_per_kwh as double), max(price_per_kwh)) as price_per_kwh, max(pue) as pue
                from reference.energy_price
            ),
            expected as (
                select m.*,
                       m.throughput_tokens_per_sec
                           / nullif(m.inference_energy_joules / (m.window_hours * 3600.0), 0)
                                                                                as expected_throughput_per_watt,
                       (m.inference_output_tokens + m.training_tokens) / nullif(m.energy_joules, 0)
                                                                                as expected_cluster_per_watt,
                       p.hourly_price_sum * m.window_hours                      as expected_gpu_cost_usd,
                       m.energy_joules / 3600000.0 * e.price_per_kwh * e.pue    as expected_energy_cost_usd
                from marts.mart_stage_metrics as m
                left join grid_prices as p on m.pool = p.pool and m.stage_id = p.stage_id
                cross join energy as e
            )
            select pool, stage_id, stage_key, unpriced_gpus,
                   throughput_per_watt, expected_throughput_per_watt,
                   abs(throughput_per_watt - expected_throughput_per_watt)
                       / nullif(abs(expected_throughput_per_watt), 0)          as throughput_per_watt_rel_error,
                   cluster_throughput_per_watt, expected_cluster_per_watt,
                   abs(cluster_throughput_per_watt - expected_cluster_per_watt)
                       / nullif(abs(expected_cluster_per_watt), 0)             as cluster_per_watt_rel_error,
                   gpu_cost_usd, expected_gpu_cost_usd,
                   abs(gpu_cost_usd - expected_gpu_cost_usd) / nullif(expected_gpu_cost_usd, 0)
                                                                                as gpu_cost_rel_error,
                   throughput_per_dollar,
                   (inference_output_tokens + training_tokens)
                       / nullif(expected_gpu_cost_usd + coalesce(expected_energy_cost_usd, 0), 0)
                                                                                as expected_throughput_per_dollar,
                   abs(throughput_per_dollar - (inference_output_tokens + training_tokens)
                       / nullif(expected_gpu_cost_usd + coalesce(expected_energy_cost_usd, 0), 0))
                       / nullif(throughput_per_dollar, 0)                       as throughput_per_dollar_rel_error
            from expected
            order by pool, stage_id
            """,
            STAGE_ID,
            (within_tolerance("throughput_per_watt_rel_error"), within_tolerance("cluster_per_watt_rel_error"),
             within_tolerance("gpu_cost_rel_error"), within_tolerance("throughput_per_dollar_rel_error"),
             between("unpriced_gpus", 0, 0)),
        ),
    ),
)

STAGES = MartCheck(
    name="gx_seven_stages_per_pool",
    asset="mart_stage_metrics",
    description="Every pool with a stage calendar has exactly one row per stage 0–6 in mart_stage_metrics, "
                "each with GPU-minutes.",
    blocking=True,
    additional_deps=("int_stage_windows", "stage_catalog"),
    suites=(
        Suite(
            "pools x stage_catalog",
            """
            with pools as (
                select pool from marts.mart_stage_metrics
                union
                select pool from intermediate.int_stage_windows
            )
            select pools.pool, stages.stage_id, stages.stage_key,
                   count(m.stage_id) as mart_rows, max(m.gpu_minutes) as gpu_minutes
            from pools
            cross join reference.stage_catalog as stages
            left join marts.mart_stage_metrics as m on m.pool = pools.pool and m.stage_id = stages.stage_id
            group by pools.pool, stages.stage_id, stages.stage_key
            order by pools.pool, stages.stage_id
            """,
            STAGE_ID,
            (between("mart_rows", 1, 1), not_null("gpu_minutes"), between("gpu_minutes", 1, None)),
        ),
    ),
)

BENCHMARKS = MartCheck(
    name="gx_benchmark_fallbacks_cited",
    asset="mart_stage_comparison",
    description="Every metric that falls back to an industry benchmark points at a row of "
                "reference.industry_benchmarks (source_ref = its id or 'industry_benchmarks.<id>'), and every "
                "benchmark row has an id, a value and a source.",
    blocking=True,
    additional_deps=("industry_benchmarks",),
    suites=(
        Suite(
            "mart_stage_comparison benchmark fallbacks",
            """
            select c.pool, c.stage_id, c.stage_key, c.metric, c.value, c.value_source, c.evidence_tier,
                   c.source_ref, b.id as benchmark_id, nullif(trim(b.source), '') as benchmark_source
            from marts.mart_stage_comparison as c
            left join reference.industry_benchmarks as b
                on c.source_ref = b.id or c.source_ref = 'industry_benchmarks.' || b.id
            where c.value_source = 'benchmark' or c.evidence_tier = '行业基准'
            order by c.pool, c.stage_id, c.metric
            """,
            ("pool", "stage_id", "stage_key", "metric", "source_ref"),
            (not_null("benchmark_id"), not_null("benchmark_source")),
        ),
        Suite(
            "reference.industry_benchmarks",
            "select id, stage, metric, value, nullif(trim(source), '') as source, url "
            "from reference.industry_benchmarks order by id",
            ("id", "stage", "metric"),
            (not_null("id"), Expect("ExpectColumnValuesToBeUnique", {"column": "id"}), not_null("value"),
             not_null("source")),
        ),
    ),
)

COVERAGE = MartCheck(
    name="gx_telemetry_coverage",
    asset="mart_stage_metrics",
    description=f"At most {MISSING_MINUTES_WARN_PERCENT:g} % of a stage's GPU-minutes without telemetry; "
                "successful requests never exceed requests.",
    blocking=False,
    suites=(
        Suite(
            "mart_stage_metrics",
            "select pool, stage_id, stage_key, missing_gpu_minutes_percent, requests_total, requests_ok "
            "from marts.mart_stage_metrics order by pool, stage_id",
            STAGE_ID,
            (between("missing_gpu_minutes_percent", 0, MISSING_MINUTES_WARN_PERCENT),
             at_least("requests_total", "requests_ok")),
        ),
    ),
)

DAILY = MartCheck(
    name="gx_daily_utilisation_in_range",
    asset="mart_daily_utilization",
    description="Daily utilisation and allocation of every pool within 0–100 (the deck's timeline chart).",
    blocking=False,
    suites=(
        Suite(
            "mart_daily_utilization",
            "select pool, date, stage_id, stage_key, gpu_utilization_percent, allocation_percent, gpu_minutes, "
            "sampled_gpu_minutes from marts.mart_daily_utilization order by pool, date",
            ("pool", "date", "stage_id", "stage_key"),
            (between("gpu_utilization_percent", 0, PERCENT_MAX), between("allocation_percent", 0, PERCENT_MAX),
             at_least("gpu_minutes", "sampled_gpu_minutes")),
        ),
    ),
)

PLAUSIBLE_SHARE = MartCheck(
    name="gx_readings_plausible",
    asset="mart_data_coverage",
    description=f"At most {IMPLAUSIBLE_BLOCK_PERCENT:g} % of a pool's telemetry readings of a day outside their "
                "metric's physical range (int_telemetry_daily.implausible_rows; such readings are left out of "
                "every number).",
    blocking=True,
    additional_deps=("int_telemetry_daily",),
    suites=(
        Suite(
            "int_telemetry_daily per pool and day",
            f"""
            select pool, date, sum(sample_rows) as readings, sum(implausible_rows) as implausible_readings,
                   100.0 * sum(implausible_rows) / sum(sample_rows) as implausible_percent,
                   count(distinct case when implausible_rows > 0 then gpu_uuid end) as gpus_with_implausible
            from intermediate.int_telemetry_daily
            where {RUN_DAYS}
            group by pool, date
            order by pool, date
            """,
            ("pool", "date", "readings", "implausible_readings", "gpus_with_implausible"),
            (between("implausible_percent", 0, IMPLAUSIBLE_BLOCK_PERCENT),),
        ),
    ),
)

IMPLAUSIBLE = MartCheck(
    name="gx_implausible_readings",
    asset="mart_data_coverage",
    description="No telemetry reading outside its metric's physical range; names the GPU, day and metric with the "
                "count and the extreme values (such readings are left out of every number).",
    blocking=False,
    additional_deps=("int_telemetry_daily",),
    suites=(
        Suite(
            "int_telemetry_daily per GPU, day and metric",
            f"""
            select pool, date, gpu_uuid, canonical_metric, sum(sample_rows) as readings,
                   sum(implausible_rows) as implausible_readings,
                   min(implausible_min_value) as lowest_implausible, max(implausible_max_value) as highest_implausible
            from intermediate.int_telemetry_daily
            where canonical_metric is not null and {RUN_DAYS}
            group by pool, date, gpu_uuid, canonical_metric
            order by pool, date, gpu_uuid, canonical_metric
            """,
            ("pool", "date", "gpu_uuid", "canonical_metric", "readings", "lowest_implausible", "highest_implausible"),
            (between("implausible_readings", 0, 0),),
        ),
    ),
)

MART_CHECKS: tuple[MartCheck, ...] = (UTILISATION, LATENCY, EFFICIENCY, STAGES, BENCHMARKS, COVERAGE, DAILY,
                                      PLAUSIBLE_SHARE, IMPLAUSIBLE)

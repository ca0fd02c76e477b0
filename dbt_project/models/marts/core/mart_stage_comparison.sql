-- Long form of the ten dictionary metrics and four companions (SM-active, allocation, tokens per dollar of serving
-- and of training): one row per pool, stage and metric, with the baseline (stage 0 of the same pool) and the
-- previous stage's value for comparison.
-- The day-to-day spread (mart_stage_day_metrics, the same metrics over each UTC day of the stage): `days` with a
-- value, `day_min` / `day_max`, the baseline's, and the ratio to baseline as an interval, min-max and
-- conservative: [day_min / baseline_day_max, day_max / baseline_day_min], null unless the stage's values are
-- >= 0, the baseline's > 0 and both sides have >= 2 days (one day is no spread). `measurable_change` is false when
-- the interval holds 1 (no measurable change), true when it excludes 1, null without an interval and on the
-- baseline rows (stage 0: ratio 1 by definition, nothing to compare).
-- value_source is 'measured' when the pool's telemetry yields a value; its evidence_tier is then the pool's
-- (mart_data_coverage.evidence_tier: 仿真 for a simulated pool, else 集群实测), and 估算 for a missing value.

{%- set metrics = [
    'throughput_tokens_per_sec',
    'ttft_milliseconds',
    'tbt_milliseconds',
    'prefill_efficiency_percent',
    'decoding_parallelism',
    'gpu_utilization_percent',
    'memory_overhead_gb',
    'cluster_throughput_per_watt',
    'throughput_per_watt',
    'throughput_per_dollar',
    'sm_active_percent',
    'allocation_percent',
    'serving_tokens_per_dollar',
    'training_tokens_per_dollar',
] %}

with stage_metrics as (

    select * from {{ ref('mart_stage_metrics') }}

),

day_metrics as (

    select * from {{ ref('mart_stage_day_metrics') }}

),

definitions as (

    select * from {{ ref('metric_definitions') }}

),

coverage as (

    select pool, evidence_tier from {{ ref('mart_data_coverage') }}

),

long as (

    {{ stage_metrics_long('stage_metrics', metrics, ['pool', 'stage_id']) }}

),

day_long as (

    {{ stage_metrics_long('day_metrics', metrics, ['pool', 'stage_id', 'date']) }}

),

-- the spread of each metric's daily values over the stage's days
spread as (

    select
        pool,
        stage_id,
        metric,
        count(value)                                                               as days,
        min(value)                                                                 as day_min,
        max(value)                                                                 as day_max
    from day_long
    group by pool, stage_id, metric

),

compared as (

    select
        long.*,
        baseline.value                                                             as baseline_value,
        lag(long.value) over (partition by long.pool, long.metric order by long.stage_id) as previous_value,
        coalesce(spread.days, 0)                                                   as days,
        spread.day_min,
        spread.day_max,
        coalesce(baseline_spread.days, 0)                                          as baseline_days,
        baseline_spread.day_min                                                    as baseline_day_min,
        baseline_spread.day_max                                                    as baseline_day_max
    from long
    left join long as baseline
        on long.pool = baseline.pool
        and long.metric = baseline.metric
        and baseline.stage_id = 0
    left join spread
        on long.pool = spread.pool
        and long.stage_id = spread.stage_id
        and long.metric = spread.metric
    left join spread as baseline_spread
        on long.pool = baseline_spread.pool
        and long.metric = baseline_spread.metric
        and baseline_spread.stage_id = 0

),

-- the ratio to baseline as an interval: only where both sides have a spread and the ratio has a sign
interval_bounds as (

    select
        *,
        stage_id <> 0 and days >= 2 and baseline_days >= 2
            and day_min >= 0 and baseline_day_min > 0                               as has_interval
    from compared

),

intervals as (

    select
        *,
        case when has_interval then day_min / baseline_day_max end                 as ratio_low,
        case when has_interval then day_max / baseline_day_min end                 as ratio_high
    from interval_bounds

),

final as (

    select
        compared.pool,
        compared.stage_id,
        compared.stage_key,
        compared.stage_name_zh,
        compared.metric,
        compared.value,
        definitions.unit,
        definitions.higher_is_better,
        coalesce(definitions.in_dictionary, false)                                 as in_dictionary,
        compared.baseline_value,
        compared.previous_value,
        {{ safe_divide('compared.value', 'compared.baseline_value') }}              as ratio_to_baseline,
        {{ safe_divide('compared.value', 'compared.previous_value') }}              as ratio_to_previous,
        100.0 * ({{ safe_divide('compared.value', 'compared.baseline_value') }} - 1) as change_vs_baseline_percent,
        case when compared.value is not null then 'measured' else 'missing' end     as value_source,
        case when compared.value is not null then coalesce(coverage.evidence_tier, '集群实测')
             else '估算' end                                                       as evidence_tier,
        'mart_stage_metrics.' || compared.metric                                   as source_ref,
        compared.days,
        compared.day_min,
        compared.day_max,
        compared.baseline_days,
        compared.baseline_day_min,
        compared.baseline_day_max,
        compared.ratio_low,
        compared.ratio_high,
        'min-max of daily values'                                                  as interval_method,
        case
            when compared.ratio_low is null or compared.ratio_high is null then null
            when compared.ratio_low <= 1 and compared.ratio_high >= 1 then false
            else true
        end                                                                        as measurable_change
    from intervals as compared
    left join definitions
        on compared.metric = definitions.metric
    left join coverage
        on compared.pool = coverage.pool

)

select * from final

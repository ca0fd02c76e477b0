-- The ratio-to-baseline interval of mart_stage_comparison is coherent: day_min <= day_max (the baseline's too),
-- ratio_low <= ratio_high, measurable_change false exactly when the interval holds 1, true when it excludes 1,
-- null without an interval, and the baseline (stage 0) has no interval.
{{ config(meta={'dagster': {'ref': {'name': 'mart_stage_comparison'}}}) }}

with checks as (

    select
        case
            when day_min > day_max or baseline_day_min > baseline_day_max
                then 'day_min > day_max'
            when ratio_low > ratio_high
                then 'ratio_low > ratio_high'
            when (ratio_low is null) <> (ratio_high is null)
                then 'an interval with one bound'
            when stage_id = 0 and (ratio_low is not null or measurable_change is not null)
                then 'the baseline has an interval'
            when ratio_low is null and measurable_change is not null
                then 'measurable_change without an interval'
            when ratio_low <= 1 and ratio_high >= 1 and measurable_change is distinct from false
                then 'the interval holds 1 but measurable_change is not false'
            when (ratio_low > 1 or ratio_high < 1) and measurable_change is distinct from true
                then 'the interval excludes 1 but measurable_change is not true'
        end                                                                        as failure,
        pool,
        stage_id,
        metric,
        days,
        day_min,
        day_max,
        baseline_days,
        baseline_day_min,
        baseline_day_max,
        ratio_low,
        ratio_high,
        measurable_change
    from {{ ref('mart_stage_comparison') }}

)

select * from checks
where failure is not null

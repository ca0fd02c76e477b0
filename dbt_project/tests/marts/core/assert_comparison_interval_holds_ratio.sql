-- ratio_to_baseline lies inside its interval [ratio_low, ratio_high] wherever all three have a value (relative
-- 1e-9): a stage's value is a weighted mean (or a median) of its days' values, so it lies between them.
-- Warn, not blocking: a day may fall back to another source than its stage (a day of a real cluster without its
-- request log reads the engines' histograms), and the interval then mixes sources; this test names the metric.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'mart_stage_comparison'}}}) }}

select
    'ratio_to_baseline ' || cast(ratio_to_baseline as {{ dbt.type_string() }}) || ' outside ['
        || cast(ratio_low as {{ dbt.type_string() }}) || ', ' || cast(ratio_high as {{ dbt.type_string() }}) || ']'
                                                                                   as failure,
    pool,
    stage_id,
    metric,
    value,
    baseline_value,
    ratio_to_baseline,
    day_min,
    day_max,
    baseline_day_min,
    baseline_day_max,
    ratio_low,
    ratio_high
from {{ ref('mart_stage_comparison') }}
where ratio_to_baseline < ratio_low - 1e-9 * abs(ratio_low)
    or ratio_to_baseline > ratio_high + 1e-9 * abs(ratio_high)

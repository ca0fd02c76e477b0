-- The days of a stage (mart_stage_day_metrics) tile its window: per pool and stage, the days' window hours,
-- GPU-minutes, requests, ok requests, training tokens and energy add up to mart_stage_metrics' (relative 1e-9).
-- A mismatch means a day window that overlaps another, a gap between days or a row counted on no day (or two),
-- so the day-to-day spread of mart_stage_comparison would not describe the stage's own numbers.
{{ config(meta={'dagster': {'ref': {'name': 'mart_stage_day_metrics'}}}) }}

{%- set additive = ['window_hours', 'gpu_minutes', 'requests_total', 'requests_ok', 'training_tokens',
                    'energy_joules'] %}

with days as (

    select
        pool,
        stage_id,
        {%- for column in additive %}
        sum({{ column }})                                                          as day_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('mart_stage_day_metrics') }}
    group by pool, stage_id

),

checks as (

    select
        stages.pool,
        stages.stage_id,
        {%- for column in additive %}
        stages.{{ column }}                                                        as stage_{{ column }},
        days.day_{{ column }},
        {%- endfor %}
        days.pool is null                                                          as has_no_day
    from {{ ref('mart_stage_metrics') }} as stages
    left join days
        on stages.pool = days.pool and stages.stage_id = days.stage_id
    where stages.window_hours > 0

)

select
    case
        when has_no_day then 'the stage has no day in mart_stage_day_metrics'
        {%- for column in additive %}
        when abs(coalesce(day_{{ column }}, 0) - coalesce(stage_{{ column }}, 0))
            > 1e-9 * greatest(abs(coalesce(stage_{{ column }}, 0)), 1)
            then '{{ column }}: the days add up to ' || coalesce(cast(day_{{ column }} as {{ dbt.type_string() }}), 'null')
                || ', the stage has ' || coalesce(cast(stage_{{ column }} as {{ dbt.type_string() }}), 'null')
        {%- endfor %}
    end                                                                            as failure,
    *
from checks
where has_no_day
    {%- for column in additive %}
    or abs(coalesce(day_{{ column }}, 0) - coalesce(stage_{{ column }}, 0))
        > 1e-9 * greatest(abs(coalesce(stage_{{ column }}, 0)), 1)
    {%- endfor %}

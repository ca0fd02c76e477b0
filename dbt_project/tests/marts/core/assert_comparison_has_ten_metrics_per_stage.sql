-- Every (pool, stage) of mart_stage_metrics has exactly the ten dictionary metrics in the comparison.
{{ config(meta={'dagster': {'ref': {'name': 'mart_stage_comparison'}}}) }}
with stage_metrics as (

    select pool, stage_id from {{ ref('mart_stage_metrics') }}

),

comparison as (

    select pool, stage_id, count(distinct metric) as metrics
    from {{ ref('mart_stage_comparison') }}
    group by pool, stage_id

)

select stage_metrics.pool, stage_metrics.stage_id, comparison.metrics
from stage_metrics
left join comparison
    on stage_metrics.pool = comparison.pool
    and stage_metrics.stage_id = comparison.stage_id
where coalesce(comparison.metrics, 0) <> 10

-- Every (pool, stage) of mart_stage_metrics has exactly the ten dictionary metrics in the comparison
-- (in_dictionary), and the same companion metrics besides them as every other stage: the comparison's metrics
-- (accepted_values lists them) for every stage, none missing. Only marts are read (see tests/README.md).
{{ config(meta={'dagster': {'ref': {'name': 'mart_stage_comparison'}}}) }}
with stage_metrics as (

    select pool, stage_id from {{ ref('mart_stage_metrics') }}

),

all_metrics as (

    select count(distinct metric) as metrics from {{ ref('mart_stage_comparison') }}

),

comparison as (

    select
        pool,
        stage_id,
        count(distinct metric)                                                     as metrics,
        count(distinct case when in_dictionary then metric end)                    as dictionary_metrics
    from {{ ref('mart_stage_comparison') }}
    group by pool, stage_id

)

select
    stage_metrics.pool,
    stage_metrics.stage_id,
    comparison.metrics,
    comparison.dictionary_metrics,
    all_metrics.metrics                                                            as expected_metrics
from stage_metrics
cross join all_metrics
left join comparison
    on stage_metrics.pool = comparison.pool
    and stage_metrics.stage_id = comparison.stage_id
where coalesce(comparison.dictionary_metrics, 0) <> 10
    or coalesce(comparison.metrics, 0) <> all_metrics.metrics

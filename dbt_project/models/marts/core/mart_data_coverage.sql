-- Per pool: what telemetry landed (sources, span, days, GPUs, rows), so the deck can say what
-- its numbers stand on. Only pools with a stage calendar: a lab pool (e.g. lab-h200, whose readings
-- feed mart_lab_experiments) is not part of the staged cluster and must not widen the deck's period.

with samples as (

    select * from {{ ref('stg_landing__gpu_samples') }}
    where pool in (select pool from {{ ref('stg_landing__stage_calendar') }})

),

inventory as (

    select pool, count(distinct gpu_uuid) as inventory_gpus
    from {{ ref('stg_landing__gpu_inventory') }}
    group by pool

),

pool_sources as (

    select distinct pool, telemetry_source
    from samples

),

sources as (

    select
        pool,
        {{ dbt.listagg('telemetry_source', "','", 'order by telemetry_source') }} as sources
    from pool_sources
    group by pool

),

stats as (

    select
        pool,
        min(sample_ts)                                                             as first_ts,
        max(sample_ts)                                                             as last_ts,
        count(distinct landing_date)                                               as days,
        count(distinct gpu_uuid)                                                   as gpus,
        count(*)                                                                   as sample_rows,
        count(case when canonical_metric is null then 1 end)                  as unmapped_metric_rows,
        count(distinct raw_metric)                                                 as distinct_metrics
    from samples
    group by pool

),

final as (

    select
        stats.pool,
        sources.sources,
        stats.first_ts,
        stats.last_ts,
        stats.days,
        stats.gpus,
        inventory.inventory_gpus,
        stats.sample_rows,
        stats.unmapped_metric_rows,
        stats.distinct_metrics
    from stats
    left join sources
        on stats.pool = sources.pool
    left join inventory
        on stats.pool = inventory.pool

)

select * from final

-- Per pool: what telemetry landed (sources, span, days, GPUs, rows), so the deck can say what
-- its numbers stand on. Only pools with a stage calendar: a lab pool (e.g. lab-h200, whose readings
-- feed mart_lab_experiments) is not part of the staged cluster and must not widen the deck's period.
-- Read from the daily volume table (int_telemetry_daily), not the readings: the cost does not grow with them.
-- evidence_tier is the tier of every number measured on the pool: 仿真 when any of its telemetry comes from a
-- simulated source (var simulated_sources), else 集群实测. The deck takes it from here, never from its outline.

with samples as (

    select * from {{ ref('int_telemetry_daily') }}
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
        {{ dbt.listagg('telemetry_source', "','", 'order by telemetry_source') }} as sources,
        bool_or({{ is_simulated_source('telemetry_source') }})                      as simulated
    from pool_sources
    group by pool

),

stats as (

    select
        pool,
        min(first_ts)                                                              as first_ts,
        max(last_ts)                                                               as last_ts,
        count(distinct date)                                                       as days,
        count(distinct gpu_uuid)                                                   as gpus,
        sum(sample_rows)                                                           as sample_rows,
        coalesce(sum(case when unmapped then sample_rows end), 0)                  as unmapped_metric_rows,
        count(distinct raw_metric)                                                 as distinct_metrics
    from samples
    group by pool

),

final as (

    select
        stats.pool,
        sources.sources,
        coalesce(sources.simulated, false)                                         as simulated,
        case when sources.simulated then '仿真' else '集群实测' end                  as evidence_tier,
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

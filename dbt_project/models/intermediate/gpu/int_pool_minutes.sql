-- How each pool's GPUs are packed, minute by minute: provisioned and allocated GPUs, and the
-- fragmented capacity (the unallocated part of hosts that are partly allocated,
-- 0 < allocated < host GPUs). mart_scheduling averages these over each stage's minutes; a daily
-- refresh computes only the new day's minutes.
--
-- Incremental by day like int_gpu_minutes (the run's days, macros/incremental.sql; its days replaced whole).
{{
    config(
        materialized='incremental',
        tags=['daily'],
        incremental_strategy='replace_days',
        partition_by=day_partitions(),
        on_schema_change='sync_all_columns',
    )
}}

with host_minutes as (

    select
        pool,
        stage_id,
        date,
        minute_ts,
        hostname,
        count(*)                                                                   as host_gpus,
        sum(allocated_share)                                                       as host_allocated
    from {{ ref('int_gpu_minutes') }}
    where {{ date_window_filter('date') }}
    group by pool, stage_id, date, minute_ts, hostname

)

select
    pool,
    stage_id,
    date,
    minute_ts,
    sum(host_gpus)                                                                 as pool_gpus,
    sum(host_allocated)                                                            as pool_allocated,
    sum(
        case when host_allocated > 0.000001 and host_allocated < host_gpus - 0.000001
            then host_gpus - host_allocated else 0 end
    )                                                                              as fragmented_gpus
from host_minutes
group by pool, stage_id, date, minute_ts

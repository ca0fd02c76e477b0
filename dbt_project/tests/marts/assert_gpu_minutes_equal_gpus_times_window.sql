-- GPU-minutes in the marts equal GPUs x minutes of the stage window, and the marts agree on them.
--
-- mart_stage_metrics.gpu_minutes (rows of int_gpu_minutes) must equal gpus_provisioned x the
-- window's minutes (int_stage_windows, from the calendar and the landed days); mart_hourly_profile's
-- 'all' rows and mart_daily_utilization (per pool) must count the same GPU-minutes. A mismatch means a
-- GPU-minute grid with holes or duplicates (a GPU reporting on some days only, a day with requests but
-- no telemetry, a minute in two stages), so per-GPU-hour metrics and cost use different denominators.
-- Only marts-group models are read: Dagster runs this test with the marts (see tests/README.md).
{{ config(meta={'dagster': {'ref': {'name': 'mart_stage_metrics'}}}) }}

with windows as (

    select pool, stage_id, window_seconds from {{ ref('int_stage_windows') }}

),

metrics as (

    select pool, stage_id, gpu_minutes, gpus_provisioned from {{ ref('mart_stage_metrics') }}

),

hourly as (

    select pool, stage_id, sum(gpu_minutes) as gpu_minutes
    from {{ ref('mart_hourly_profile') }}
    where workload_type = 'all'
    group by pool, stage_id

),

daily as (

    select pool, sum(gpu_minutes) as gpu_minutes
    from {{ ref('mart_daily_utilization') }}
    group by pool

),

metrics_by_pool as (

    select pool, sum(gpu_minutes) as gpu_minutes
    from metrics
    group by pool

),

checks as (

    select
        metrics.pool,
        metrics.stage_id,
        metrics.gpu_minutes,
        metrics.gpus_provisioned,
        windows.window_seconds / {{ var('bucket_seconds', 60) }}.0           as window_minutes,
        metrics.gpus_provisioned * windows.window_seconds / {{ var('bucket_seconds', 60) }}.0 as expected_gpu_minutes,
        coalesce(hourly.gpu_minutes, 0)                                       as hourly_gpu_minutes,
        coalesce(daily.gpu_minutes, 0)                                        as daily_pool_gpu_minutes,
        metrics_by_pool.gpu_minutes                                           as pool_gpu_minutes
    from metrics
    left join windows
        on metrics.pool = windows.pool and metrics.stage_id = windows.stage_id
    left join hourly
        on metrics.pool = hourly.pool and metrics.stage_id = hourly.stage_id
    left join daily
        on metrics.pool = daily.pool
    left join metrics_by_pool
        on metrics.pool = metrics_by_pool.pool

)

select
    case
        when gpu_minutes <> expected_gpu_minutes or expected_gpu_minutes is null
            then 'gpu_minutes ' || cast(gpu_minutes as {{ dbt.type_string() }}) || ' <> gpus x window minutes '
                || coalesce(cast(expected_gpu_minutes as {{ dbt.type_string() }}), 'null')
        when gpu_minutes <> hourly_gpu_minutes
            then 'mart_hourly_profile counts ' || cast(hourly_gpu_minutes as {{ dbt.type_string() }}) || ' GPU-minutes'
        else 'mart_daily_utilization counts ' || cast(daily_pool_gpu_minutes as {{ dbt.type_string() }})
            || ' GPU-minutes for the pool, the stages ' || cast(pool_gpu_minutes as {{ dbt.type_string() }})
    end                                                                       as failure,
    *
from checks
where expected_gpu_minutes is null
   or gpu_minutes <> expected_gpu_minutes
   or gpu_minutes <> hourly_gpu_minutes
   or daily_pool_gpu_minutes <> pool_gpu_minutes

-- Stage windows clipped to the data that landed for the pool: [window_start, window_end).
-- Decision: the data extent of a pool is whole landed days (first to last landing date of its
-- gpu_samples and inference_requests partitions); a stage window that runs past the data (or is
-- still open) ends with the data, so per-second denominators only count time that was observed.

with calendar as (

    select * from {{ ref('int_stage_calendar') }}

),

landed_days as (

    select distinct pool, date as landing_date from {{ ref('int_telemetry_daily') }}
    union all
    select pool, landing_date from {{ ref('stg_landing__inference_requests') }}
    group by pool, landing_date

),

pool_extent as (

    select
        pool,
        cast(min(landing_date) as {{ dbt.type_timestamp() }})                               as data_start,
        cast({{ dbt.dateadd('day', 1, 'max(landing_date)') }} as {{ dbt.type_timestamp() }}) as data_end
    from landed_days
    group by pool

),

clipped as (

    select
        calendar.pool,
        calendar.stage_id,
        calendar.stage_key,
        calendar.stage_name_zh,
        calendar.stage_name_en,
        calendar.start_ts                                        as calendar_start_ts,
        calendar.end_ts                                          as calendar_end_ts,
        pool_extent.data_start,
        pool_extent.data_end,
        greatest(calendar.start_ts, coalesce(pool_extent.data_start, calendar.start_ts)) as window_start,
        least(calendar.end_ts_open, coalesce(pool_extent.data_end, calendar.end_ts_open)) as window_end
    from calendar
    left join pool_extent
        on calendar.pool = pool_extent.pool

),

final as (

    select
        *,
        greatest(0, {{ seconds_between('window_start', 'window_end') }}) as window_seconds,
        greatest(0, {{ seconds_between('window_start', 'window_end') }}) / 3600.0 as window_hours
    from clipped

)

select * from final

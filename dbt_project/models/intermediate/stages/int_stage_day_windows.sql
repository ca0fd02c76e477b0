-- The stage windows of int_stage_windows split at UTC day boundaries: one row per pool, stage and `date` (the
-- warehouse's naive-UTC day, as the landing partitions and the incremental models' `date`), with the part of
-- the stage window inside that day as [window_start, window_end) and its length. The days of a stage tile its
-- window exactly, so per-day sums add up to the stage's. An empty stage window has no day.

with windows as (

    select * from {{ ref('int_stage_windows') }}
    where window_end > window_start

),

-- each day start from the window's first day to its end (exclusive)
days as (

    select
        windows.*,
        {{ timestamp_series("date_trunc('day', windows.window_start)", 'windows.window_end', "interval '1 day'") }} as day_start
    from windows

),

clipped as (

    select
        pool,
        stage_id,
        cast(day_start as date)                                                    as date,
        stage_key,
        stage_name_zh,
        stage_name_en,
        window_start                                                               as stage_window_start,
        window_end                                                                 as stage_window_end,
        greatest(window_start, day_start)                                          as window_start,
        least(window_end, cast({{ dbt.dateadd('day', 1, 'day_start') }} as {{ dbt.type_timestamp() }}))
                                                                                   as window_end
    from days

),

final as (

    select
        *,
        {{ seconds_between('window_start', 'window_end') }}                         as window_seconds,
        {{ seconds_between('window_start', 'window_end') }} / 3600.0                as window_hours
    from clipped

)

select * from final

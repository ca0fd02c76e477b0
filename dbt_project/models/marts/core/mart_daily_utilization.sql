-- The utilisation timeline: for every pool and UTC day, the mean GPU utilisation (mean activity over
-- GPU-minutes with a sample, as mart_stage_metrics.gpu_utilization_percent) and the allocation
-- (100 * mean allocated share of the pool's GPU-minutes), with the stage in force that day (the stage
-- holding most of the day's GPU-minutes). Minutes outside every stage window are left out.
-- Read from the per-day sums of int_gpu_stage_days.

with gpu_stage_days as (

    select * from {{ ref('int_gpu_stage_days') }}
    where stage_id is not null

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

day_stage as (

    select
        pool,
        date,
        stage_id,
        sum(gpu_minutes)                                                           as gpu_minutes
    from gpu_stage_days
    group by pool, date, stage_id

),

ranked as (

    select
        *,
        row_number() over (partition by pool, date order by gpu_minutes desc, stage_id) as rank_in_day
    from day_stage

),

daily as (

    select
        pool,
        date,
        sum(gpu_minutes)                                                           as gpu_minutes,
        sum(activity_pct_count)                                                    as sampled_gpu_minutes,
        {{ safe_divide('sum(activity_pct_sum)', 'sum(activity_pct_count)') }}      as gpu_utilization_percent,
        100.0 * {{ safe_divide('sum(allocated_share_sum)', 'sum(gpu_minutes)') }}  as allocation_percent
    from gpu_stage_days
    group by pool, date

),

final as (

    select
        daily.pool,
        daily.date,
        ranked.stage_id,
        windows.stage_key,
        windows.stage_name_zh,
        daily.gpu_minutes,
        daily.sampled_gpu_minutes,
        daily.gpu_utilization_percent,
        daily.allocation_percent
    from daily
    inner join ranked
        on daily.pool = ranked.pool and daily.date = ranked.date and ranked.rank_in_day = 1
    inner join windows
        on ranked.pool = windows.pool and ranked.stage_id = windows.stage_id

)

select * from final

-- Stage 6 (strategic load management), for every pool and stage: by hour of day (UTC) and
-- workload type, the mean share of the pool's GPUs allocated to that type and the mean activity
-- of the GPU-minutes it dominates; workload_type 'all' = every GPU-minute. The *_24x7 columns
-- give the same means over all hours of the stage. local_hour_of_day shifts the UTC hour by the
-- var local_utc_offset_hours (default 0), e.g. 8 for users in Asia/Shanghai.

{%- set types = ['training', 'inference', 'development', 'evaluation', 'other'] %}

with hours as (

    select * from {{ ref('int_gpu_hourly') }}

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

-- the days' sums per pool, stage and hour of day
by_hour as (

    select
        pool,
        stage_id,
        hour_of_day,
        sum(gpu_minutes)                                                           as gpu_minutes,
        sum(active_gpu_minutes)                                                    as active_gpu_minutes,
        sum(activity_pct_sum)                                                      as activity_pct_sum,
        sum(allocated_share_sum)                                                   as allocated_share_sum,
        {%- for wt in types %}
        sum({{ wt }}_share_sum)                                                    as {{ wt }}_share_sum,
        sum({{ wt }}_active_gpu_minutes)                                           as {{ wt }}_active_gpu_minutes,
        sum({{ wt }}_activity_pct_sum)                                             as {{ wt }}_activity_pct_sum{% if not loop.last %},{% endif %}
        {%- endfor %}
    from hours
    group by pool, stage_id, hour_of_day

),

-- one row per workload type: its share of every GPU-minute, and the activity of the minutes it dominates
typed as (

    {%- for wt in types %}
    select
        pool, stage_id, hour_of_day, '{{ wt }}' as workload_type, gpu_minutes,
        {{ wt }}_share_sum                                                         as share_sum,
        {{ wt }}_active_gpu_minutes                                                as active_gpu_minutes,
        {{ wt }}_activity_pct_sum                                                  as activity_pct_sum
    from by_hour
    union all
    {%- endfor %}
    select
        pool, stage_id, hour_of_day, 'all' as workload_type, gpu_minutes,
        allocated_share_sum                                                        as share_sum,
        active_gpu_minutes,
        activity_pct_sum
    from by_hour

),

hourly as (

    select
        pool,
        stage_id,
        hour_of_day,
        workload_type,
        gpu_minutes,
        active_gpu_minutes,
        share_sum / nullif(gpu_minutes, 0)                                         as mean_allocated_share,
        activity_pct_sum / nullif(active_gpu_minutes, 0)                           as mean_activity_pct
    from typed

),

all_day as (

    select
        pool,
        stage_id,
        workload_type,
        sum(share_sum) / nullif(sum(gpu_minutes), 0)                               as allocated_share_24x7,
        sum(activity_pct_sum) / nullif(sum(active_gpu_minutes), 0)                 as activity_pct_24x7
    from typed
    group by pool, stage_id, workload_type

),

final as (

    select
        hourly.pool,
        hourly.stage_id,
        windows.stage_key,
        windows.stage_name_zh,
        hourly.hour_of_day,
        cast(mod(hourly.hour_of_day + {{ var('local_utc_offset_hours', 0) }} + 24, 24) as integer) as local_hour_of_day,
        hourly.workload_type,
        hourly.gpu_minutes,
        hourly.active_gpu_minutes,
        hourly.mean_allocated_share,
        hourly.mean_activity_pct,
        all_day.allocated_share_24x7,
        all_day.activity_pct_24x7
    from hourly
    inner join windows
        on hourly.pool = windows.pool and hourly.stage_id = windows.stage_id
    left join all_day
        on hourly.pool = all_day.pool
        and hourly.stage_id = all_day.stage_id
        and hourly.workload_type = all_day.workload_type

)

select * from final

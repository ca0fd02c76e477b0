-- Stage 6 (strategic load management), for every pool and stage: by hour of day (UTC) and
-- workload type, the mean share of the pool's GPUs allocated to that type and the mean activity
-- of the GPU-minutes it dominates; workload_type 'all' = every GPU-minute. The *_24x7 columns
-- give the same means over all hours of the stage. local_hour_of_day shifts the UTC hour by the
-- var local_utc_offset_hours (default 0), e.g. 8 for users in Asia/Shanghai.

{%- set types = ['training', 'inference', 'development', 'evaluation', 'other'] %}

with gpu_minutes as (

    select
        *,
        cast(extract(hour from minute_ts) as integer)                     as hour_of_day
    from {{ ref('int_gpu_minutes') }}

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

typed as (

    {%- for wt in types %}
    select
        pool, stage_id, hour_of_day, '{{ wt }}' as workload_type,
        {{ wt }}_share                                                             as share,
        case when dominant_workload_type = '{{ wt }}' then activity_pct end        as activity_pct
    from gpu_minutes
    union all
    {%- endfor %}
    select
        pool, stage_id, hour_of_day, 'all' as workload_type,
        allocated_share                                                            as share,
        activity_pct
    from gpu_minutes

),

hourly as (

    select
        pool,
        stage_id,
        hour_of_day,
        workload_type,
        count(*)                                                                   as gpu_minutes,
        count(activity_pct)                                                        as active_gpu_minutes,
        avg(share)                                                                 as mean_allocated_share,
        avg(activity_pct)                                                          as mean_activity_pct
    from typed
    group by pool, stage_id, hour_of_day, workload_type

),

all_day as (

    select
        pool,
        stage_id,
        workload_type,
        avg(share)                                                                 as allocated_share_24x7,
        avg(activity_pct)                                                          as activity_pct_24x7
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

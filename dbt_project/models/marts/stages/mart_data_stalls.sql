-- Stage 3 (high-performance data infrastructure), for every pool and stage: the share of
-- training jobs' running time spent waiting for data (data_wait_s attributed pro rata to the
-- time each job ran in the window; jobs without a data_wait_s are left out of the ratio).

with job_overlap as (

    select * from {{ ref('int_job_stage_overlap') }}
    where workload_type = 'training'

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

stats as (

    select
        pool,
        stage_id,
        count(distinct job_id)                                                     as training_jobs,
        sum(overlap_seconds) / 3600.0                                              as running_hours,
        sum(gpu_hours)                                                             as training_gpu_hours,
        sum(attributed_data_wait_s) / 3600.0                                       as data_wait_hours,
        sum(attributed_data_wait_s * gpu_count) / 3600.0                           as stalled_gpu_hours,
        sum(case when data_wait_s is not null then overlap_seconds end)            as observed_seconds,
        sum(case when data_wait_s is not null then overlap_seconds * gpu_count end) as observed_gpu_seconds,
        sum(attributed_data_wait_s)                                                as data_wait_seconds,
        sum(attributed_data_wait_s * gpu_count)                                    as data_wait_gpu_seconds
    from job_overlap
    group by pool, stage_id

),

final as (

    select
        windows.pool,
        windows.stage_id,
        windows.stage_key,
        windows.stage_name_zh,
        coalesce(stats.training_jobs, 0)                                           as training_jobs,
        stats.running_hours,
        stats.training_gpu_hours,
        stats.data_wait_hours,
        stats.stalled_gpu_hours,
        100.0 * {{ safe_divide('stats.data_wait_seconds', 'stats.observed_seconds') }}         as data_stall_percent,
        100.0 * {{ safe_divide('stats.data_wait_gpu_seconds', 'stats.observed_gpu_seconds') }} as gpu_weighted_data_stall_percent
    from windows
    left join stats
        on windows.pool = stats.pool and windows.stage_id = stats.stage_id

)

select * from final

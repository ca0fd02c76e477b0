-- Stage 1 (GPU sharing and virtualisation), computed for every pool and stage: how densely
-- workloads pack onto GPUs and how well memory requests match use.

with gpu_stage_days as (

    select * from {{ ref('int_gpu_stage_days') }}

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

job_overlap as (

    select * from {{ ref('int_job_stage_overlap') }}

),

minute_stats as (

    select
        pool,
        stage_id,
        sum(gpu_minutes)                                                           as gpu_minutes,
        sum(allocated_gpu_minutes)                                                 as allocated_gpu_minutes,
        {{ safe_divide('sum(allocated_job_count_sum)', 'sum(allocated_gpu_minutes)') }}
                                                                                   as concurrent_workloads_per_allocated_gpu,
        {{ safe_divide('sum(allocated_share_sum)', 'sum(allocated_gpu_minutes)') }}
                                                                                   as mean_allocated_share_of_allocated_gpus,
        sum(shared_gpu_minutes)                                                    as shared_gpu_minutes,
        sum(mig_gpu_minutes)                                                       as mig_gpu_minutes,
        sum(fractional_gpu_minutes)                                                as fractional_gpu_minutes,
        {{ safe_divide('sum(reserved_gb_sum)', 'sum(memory_read_gpu_minutes)') }}  as mean_reserved_gb,
        {{ safe_divide('sum(fb_used_gb_sum)', 'sum(memory_read_gpu_minutes)') }}   as mean_used_gb
    from gpu_stage_days
    group by pool, stage_id

),

job_stats as (

    select
        pool,
        stage_id,
        count(distinct job_id)                                                     as jobs,
        avg(share_per_gpu)                                                         as mean_gpu_share_per_job,
        count(case when mig_profile is not null then 1 end)                   as mig_jobs,
        count(case when mig_profile is null and share_per_gpu < 1 then 1 end) as fractional_jobs
    from job_overlap
    group by pool, stage_id

),

final as (

    select
        windows.pool,
        windows.stage_id,
        windows.stage_key,
        windows.stage_name_zh,
        coalesce(minute_stats.gpu_minutes, 0)                                      as gpu_minutes,
        coalesce(minute_stats.allocated_gpu_minutes, 0)                            as allocated_gpu_minutes,
        minute_stats.concurrent_workloads_per_allocated_gpu,
        minute_stats.mean_allocated_share_of_allocated_gpus,
        coalesce(job_stats.jobs, 0)                                                as jobs,
        job_stats.mean_gpu_share_per_job,
        coalesce(job_stats.mig_jobs, 0)                                            as mig_jobs,
        coalesce(job_stats.fractional_jobs, 0)                                     as fractional_jobs,
        100.0 * {{ safe_divide('minute_stats.shared_gpu_minutes', 'minute_stats.allocated_gpu_minutes') }}
                                                                                   as shared_gpu_minutes_percent,
        100.0 * {{ safe_divide('minute_stats.mig_gpu_minutes', 'minute_stats.allocated_gpu_minutes') }}
                                                                                   as mig_gpu_minutes_percent,
        100.0 * {{ safe_divide('minute_stats.fractional_gpu_minutes', 'minute_stats.allocated_gpu_minutes') }}
                                                                                   as fractional_gpu_minutes_percent,
        minute_stats.mean_reserved_gb,
        minute_stats.mean_used_gb,
        100.0 * {{ safe_divide('minute_stats.mean_used_gb', 'minute_stats.mean_reserved_gb') }}
                                                                                   as memory_used_of_reserved_percent
    from windows
    left join minute_stats
        on windows.pool = minute_stats.pool and windows.stage_id = minute_stats.stage_id
    left join job_stats
        on windows.pool = job_stats.pool and windows.stage_id = job_stats.stage_id

)

select * from final

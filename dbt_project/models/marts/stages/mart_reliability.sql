-- Stage 5 (resilience and fault tolerance), for every pool and stage: failures, their share of
-- jobs, mean time to recovery, GPU-hours lost and the effective training time ratio.
--
-- Decisions: a failure belongs to the stage of its `failed` event; jobs_run = jobs that ran in
-- the window; effective_training_time_ratio = 1 - lost training GPU-hours / training GPU-hours.
-- A job derived from a Kubernetes pod has no events: a pod that vanished while running (status preempted,
-- int_pod_jobs) is one preemption at its end_ts.

with windows as (

    select * from {{ ref('int_stage_windows') }}

),

failures as (

    select * from {{ ref('int_job_failures') }}

),

job_overlap as (

    select * from {{ ref('int_job_stage_overlap') }}

),

preemptions as (

    select
        jobs.pool,
        events.event_ts
    from {{ ref('stg_landing__job_events') }} as events
    inner join {{ ref('int_jobs') }} as jobs
        on events.job_id = jobs.job_id
    where events.event = 'preempted'

    union all

    select
        pool,
        end_ts                                                                     as event_ts
    from {{ ref('int_jobs') }}
    where job_source = 'pod_allocations'
      and status = 'preempted'

),

run_stats as (

    select
        pool,
        stage_id,
        count(distinct job_id)                                                     as jobs_run,
        sum(case when workload_type = 'training' then gpu_hours else 0 end)        as training_gpu_hours
    from job_overlap
    group by pool, stage_id

),

failure_stats as (

    select
        pool,
        stage_id,
        count(*)                                                                   as failures,
        count(distinct job_id)                                                     as failed_jobs,
        avg(recovery_minutes)                                                      as mttr_minutes,
        sum(lost_gpu_hours)                                                        as lost_gpu_hours,
        sum(case when workload_type = 'training' then lost_gpu_hours else 0 end)   as lost_training_gpu_hours
    from failures
    where stage_id is not null
    group by pool, stage_id

),

preemption_stats as (

    select
        windows.pool,
        windows.stage_id,
        count(*)                                                                   as preemptions
    from preemptions
    inner join windows
        on preemptions.pool = windows.pool
        and preemptions.event_ts >= windows.window_start
        and preemptions.event_ts < windows.window_end
    group by windows.pool, windows.stage_id

),

final as (

    select
        windows.pool,
        windows.stage_id,
        windows.stage_key,
        windows.stage_name_zh,
        coalesce(run_stats.jobs_run, 0)                                            as jobs_run,
        coalesce(failure_stats.failures, 0)                                        as failures,
        coalesce(failure_stats.failed_jobs, 0)                                     as failed_jobs,
        {{ safe_divide('coalesce(failure_stats.failed_jobs, 0)', 'run_stats.jobs_run') }} as failure_job_share,
        coalesce(preemption_stats.preemptions, 0)                                  as preemptions,
        failure_stats.mttr_minutes,
        coalesce(failure_stats.lost_gpu_hours, 0)                                  as lost_gpu_hours,
        run_stats.training_gpu_hours,
        coalesce(failure_stats.lost_training_gpu_hours, 0)                         as lost_training_gpu_hours,
        1 - {{ safe_divide('coalesce(failure_stats.lost_training_gpu_hours, 0)', 'run_stats.training_gpu_hours') }}
                                                                                   as effective_training_time_ratio
    from windows
    left join run_stats
        on windows.pool = run_stats.pool and windows.stage_id = run_stats.stage_id
    left join failure_stats
        on windows.pool = failure_stats.pool and windows.stage_id = failure_stats.stage_id
    left join preemption_stats
        on windows.pool = preemption_stats.pool and windows.stage_id = preemption_stats.stage_id

)

select * from final

-- One row per job and stage window it ran in: how long it ran there, and the share of its tokens,
-- data wait and GPU-hours attributed to that stage.
--
-- Decisions: a job runs [start_ts, end_ts); end_ts null = until the end of the pool's data.
-- Tokens and data wait of a job are attributed to stages pro rata to its running time in each
-- stage window; GPU-hours = gpu_count x hours in the window.

with jobs as (

    select * from {{ ref('int_jobs') }}
    where start_ts is not null

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

pool_extent as (

    select pool, max(data_end) as data_end
    from windows
    group by pool

),

job_runs as (

    select
        jobs.*,
        coalesce(jobs.end_ts, pool_extent.data_end)                               as run_end_ts
    from jobs
    left join pool_extent
        on jobs.pool = pool_extent.pool

),

job_windows as (

    select
        job_runs.job_id,
        job_runs.pool,
        job_runs.tenant,
        job_runs.queue,
        job_runs.workload_type,
        job_runs.status,
        job_runs.gpu_count,
        job_runs.gpu_slots,
        {{ safe_divide('job_runs.gpu_count', 'job_runs.gpu_slots') }}              as share_per_gpu,
        job_runs.mig_profile,
        job_runs.submit_ts,
        job_runs.start_ts,
        job_runs.end_ts,
        job_runs.run_end_ts,
        job_runs.tokens_processed,
        job_runs.data_wait_s,
        windows.stage_id,
        windows.stage_key,
        {{ seconds_between('job_runs.start_ts', 'job_runs.run_end_ts') }}          as run_seconds,
        {{ overlap_seconds('job_runs.start_ts', 'job_runs.run_end_ts', 'windows.window_start', 'windows.window_end') }}
                                                                                   as overlap_seconds
    from job_runs
    inner join windows
        on job_runs.pool = windows.pool
        and job_runs.start_ts < windows.window_end
        and job_runs.run_end_ts > windows.window_start

),

final as (

    select
        *,
        {{ safe_divide('overlap_seconds', 'run_seconds') }}                         as run_fraction,
        tokens_processed * {{ safe_divide('overlap_seconds', 'run_seconds') }}      as attributed_tokens,
        data_wait_s * {{ safe_divide('overlap_seconds', 'run_seconds') }}           as attributed_data_wait_s,
        gpu_count * overlap_seconds / 3600.0                                       as gpu_hours
    from job_windows
    where overlap_seconds > 0

)

select * from final

-- Stage 2 (intelligent workload orchestration), for every pool and stage: allocation,
-- fragmentation, queue wait and tenant fairness.
--
-- Decisions:
--   * fragmentation_percent: each minute, the unallocated capacity on hosts that are partly
--     allocated (0 < allocated < host GPUs), as % of the pool's GPUs; averaged over minutes.
--   * queue wait: start_ts - submit_ts of the jobs dispatched (start_ts) in the window, the
--     scheduler in force at dispatch being the one that made them wait.
--   * Jain's fairness index over tenants' GPU-hours in the window: (sum x)^2 / (n * sum x^2).

with pool_minutes as (

    select * from {{ ref('int_pool_minutes') }}

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

jobs as (

    select * from {{ ref('int_jobs') }}

),

job_overlap as (

    select * from {{ ref('int_job_stage_overlap') }}

),

allocation_stats as (

    select
        pool,
        stage_id,
        100.0 * sum(pool_allocated) / nullif(sum(pool_gpus), 0)                    as allocation_percent,
        100.0 * avg(fragmented_gpus / nullif(pool_gpus, 0))                        as fragmentation_percent,
        avg(fragmented_gpus)                                                       as mean_fragmented_gpus
    from pool_minutes
    group by pool, stage_id

),

dispatched as (

    select
        windows.pool,
        windows.stage_id,
        {{ seconds_between('jobs.submit_ts', 'jobs.start_ts') }} / 60.0            as queue_wait_minutes
    from jobs
    inner join windows
        on jobs.pool = windows.pool
        and jobs.start_ts >= windows.window_start
        and jobs.start_ts < windows.window_end

),

queue_stats as (

    select
        pool,
        stage_id,
        count(*)                                                                   as jobs_dispatched,
        {{ percentile('queue_wait_minutes', 0.5) }}                                as queue_wait_p50_minutes,
        {{ percentile('queue_wait_minutes', 0.95) }}                               as queue_wait_p95_minutes,
        avg(queue_wait_minutes)                                                    as queue_wait_mean_minutes
    from dispatched
    group by pool, stage_id

),

tenant_hours as (

    select pool, stage_id, tenant, sum(gpu_hours) as gpu_hours
    from job_overlap
    group by pool, stage_id, tenant

),

fairness as (

    select
        pool,
        stage_id,
        count(*)                                                                   as tenants,
        {{ safe_divide('sum(gpu_hours) * sum(gpu_hours)', 'count(*) * sum(gpu_hours * gpu_hours)') }}
                                                                                   as jain_fairness_index
    from tenant_hours
    group by pool, stage_id

),

final as (

    select
        windows.pool,
        windows.stage_id,
        windows.stage_key,
        windows.stage_name_zh,
        allocation_stats.allocation_percent,
        allocation_stats.fragmentation_percent,
        allocation_stats.mean_fragmented_gpus,
        coalesce(queue_stats.jobs_dispatched, 0)                                   as jobs_dispatched,
        queue_stats.queue_wait_p50_minutes,
        queue_stats.queue_wait_p95_minutes,
        queue_stats.queue_wait_mean_minutes,
        coalesce(fairness.tenants, 0)                                              as tenants,
        fairness.jain_fairness_index
    from windows
    left join allocation_stats
        on windows.pool = allocation_stats.pool and windows.stage_id = allocation_stats.stage_id
    left join queue_stats
        on windows.pool = queue_stats.pool and windows.stage_id = queue_stats.stage_id
    left join fairness
        on windows.pool = fairness.pool and windows.stage_id = fairness.stage_id

)

select * from final

-- One row per `failed` job event, with what it cost.
--
-- Decisions: the work lost at a failure is the time since the later of the last checkpoint and
-- the last (re)start before it; the recovery time is until the next `restarted` event (null when
-- the job was not restarted). lost GPU-hours = (lost work + recovery time) x the job's gpu_count.
-- A job derived from a Kubernetes pod (int_pod_jobs) has no events: a pod that ended Failed is one failure at
-- its end_ts that lost its whole run (no checkpoint is known) and was not restarted.

with events as (

    select * from {{ ref('stg_landing__job_events') }}

),

jobs as (

    select * from {{ ref('int_jobs') }}

),

calendar as (

    select * from {{ ref('int_stage_calendar') }}

),

failures as (

    select
        events.job_id,
        events.event_ts                                                            as failed_ts,
        jobs.pool,
        jobs.tenant,
        jobs.workload_type,
        jobs.gpu_count,
        jobs.start_ts                                                              as job_start_ts
    from events
    inner join jobs
        on events.job_id = jobs.job_id
    where events.event = 'failed'

    union all

    select
        job_id,
        end_ts                                                                     as failed_ts,
        pool,
        tenant,
        workload_type,
        gpu_count,
        start_ts                                                                   as job_start_ts
    from jobs
    where job_source = 'pod_allocations'
      and status = 'failed'
      and end_ts is not null

),

with_context as (

    select
        failures.*,
        (
            select max(e.event_ts) from events as e
            where e.job_id = failures.job_id
              and e.event in ('started', 'restarted')
              and e.event_ts <= failures.failed_ts
        )                                                                          as last_start_ts,
        (
            select max(e.event_ts) from events as e
            where e.job_id = failures.job_id
              and e.event = 'checkpoint'
              and e.event_ts <= failures.failed_ts
        )                                                                          as last_checkpoint_ts,
        (
            select min(e.event_ts) from events as e
            where e.job_id = failures.job_id
              and e.event = 'restarted'
              and e.event_ts > failures.failed_ts
        )                                                                          as restarted_ts
    from failures

),

final as (

    select
        with_context.job_id,
        with_context.pool,
        with_context.tenant,
        with_context.workload_type,
        with_context.gpu_count,
        with_context.failed_ts,
        calendar.stage_id,
        calendar.stage_key,
        with_context.last_start_ts,
        with_context.last_checkpoint_ts,
        with_context.restarted_ts,
        greatest(
            coalesce(with_context.last_checkpoint_ts, with_context.last_start_ts, with_context.job_start_ts),
            coalesce(with_context.last_start_ts, with_context.job_start_ts, with_context.last_checkpoint_ts)
        )                                                                          as progress_saved_ts,
        {{ seconds_between('with_context.failed_ts', 'with_context.restarted_ts') }} / 60.0 as recovery_minutes
    from with_context
    left join calendar
        on with_context.pool = calendar.pool
        and with_context.failed_ts >= calendar.start_ts
        and with_context.failed_ts < calendar.end_ts_open

)

select
    *,
    greatest(0, coalesce({{ seconds_between('progress_saved_ts', 'failed_ts') }}, 0)) / 3600.0 as lost_work_hours,
    (
        greatest(0, coalesce({{ seconds_between('progress_saved_ts', 'failed_ts') }}, 0))
        + coalesce(recovery_minutes * 60.0, 0)
    ) / 3600.0 * gpu_count                                                         as lost_gpu_hours
from final

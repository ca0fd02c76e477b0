-- Every job the warehouse knows, with the columns of stg_landing__jobs and where it came from (job_source): a
-- pool's job log (`jobs`) when that pool has any job-log row, else its Kubernetes GPU pods (`pod_allocations`,
-- int_pod_jobs). Every model that reads jobs reads this one, so allocation, fragmentation, queue wait, fairness
-- and the energy attributed to serving work the same on a cluster that only has Prometheus.
--
-- Decision: the choice is per pool, never per job, so a pool whose job log also appears as pods is not counted
-- twice.
{%- set columns = ['job_id', 'pool', 'tenant', 'queue', 'workload_type', 'gpu_model', 'gpu_count',
                   'gpu_mem_request_gb', 'mig_profile', 'hostname', 'gpu_uuids', 'gpu_slots', 'submit_ts', 'start_ts',
                   'end_ts', 'status', 'failure_reason', 'restarts', 'tokens_processed', 'data_wait_s',
                   'landing_date'] %}

with logged_jobs as (

    select * from {{ ref('stg_landing__jobs') }}

),

pod_jobs as (

    select * from {{ ref('int_pod_jobs') }}

),

final as (

    select {{ columns | join(', ') }}, 'jobs' as job_source
    from logged_jobs

    union all

    select {{ columns | join(', ') }}, 'pod_allocations' as job_source
    from pod_jobs
    where pool not in (select pool from logged_jobs where pool is not null)

)

select * from final

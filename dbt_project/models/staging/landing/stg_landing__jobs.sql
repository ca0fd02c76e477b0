-- One row per job; timestamps as naive UTC. gpu_uuids stays a list (expanded in int_job_gpu_allocations).

with source as (

    select * from {{ source('landing', 'jobs') }}

),

renamed as (

    select
        job_id,
        pool,
        tenant,
        queue,
        workload_type,
        gpu_model,
        cast(gpu_count as double)                         as gpu_count,
        gpu_mem_request_gb,
        nullif(trim(mig_profile), '')                     as mig_profile,
        hostname,
        gpu_uuids,
        coalesce({{ array_size('gpu_uuids') }}, 0)         as gpu_slots,
        {{ to_utc('submit_ts') }}                          as submit_ts,
        {{ to_utc('start_ts') }}                           as start_ts,
        {{ to_utc('end_ts') }}                             as end_ts,
        status,
        failure_reason,
        coalesce(restarts, 0)                             as restarts,
        tokens_processed,
        data_wait_s,
        date                                              as landing_date
    from source

)

select * from renamed

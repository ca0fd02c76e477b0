-- One row per job and GPU it occupies, with the job's share of that GPU and the memory it
-- reserves there. A view: the incremental int_gpu_minutes reads it and jobs change after landing
-- (a running job's end_ts is filled in later).
--
-- Decisions:
--   share per GPU    = gpu_count / number of gpu_uuids (fractional for vGPU / time-slicing;
--                      for MIG jobs gpu_count = compute slices / total slices).
--   reserved_gb      = whole GPU memory for an exclusive allocation (share >= 1, no MIG),
--                      the MIG profile's memory under MIG, else the per-GPU memory request (vGPU);
--                      a vGPU job without a request reserves share x GPU memory.
--   running interval = [start_ts, end_ts); end_ts null = still running, open until the data ends.
{{ config(materialized='view') }}

with jobs as (

    select * from {{ ref('int_jobs') }}
    where start_ts is not null
      and gpu_slots > 0

),

inventory as (

    select * from {{ ref('stg_landing__gpu_inventory') }}

),

mig_profiles as (

    select * from {{ ref('mig_profiles') }}

),

job_gpus as (

    select
        job_id,
        pool,
        tenant,
        workload_type,
        status,
        mig_profile,
        gpu_count,
        gpu_mem_request_gb,
        gpu_slots,
        submit_ts,
        start_ts,
        end_ts,
        {{ unnest_array('gpu_uuids') }}                     as gpu_uuid
    from jobs

),

final as (

    select
        job_gpus.job_id,
        job_gpus.pool,
        job_gpus.tenant,
        job_gpus.workload_type,
        job_gpus.status,
        job_gpus.gpu_uuid,
        job_gpus.mig_profile,
        job_gpus.gpu_count,
        job_gpus.gpu_count / job_gpus.gpu_slots             as share,
        job_gpus.mig_profile is not null                    as is_mig,
        job_gpus.mig_profile is null
            and job_gpus.gpu_count / job_gpus.gpu_slots < 1 as is_fractional,
        inventory.memory_gb                                 as gpu_memory_gb,
        case
            when job_gpus.mig_profile is not null
                then coalesce(
                    mig_profiles.memory_gb,
                    cast(regexp_extract(job_gpus.mig_profile, '([0-9]+)gb', 1) as double)
                )
            when job_gpus.gpu_count / job_gpus.gpu_slots >= 1
                then coalesce(inventory.memory_gb, job_gpus.gpu_mem_request_gb)
            else coalesce(
                job_gpus.gpu_mem_request_gb,
                job_gpus.gpu_count / job_gpus.gpu_slots * inventory.memory_gb
            )
        end                                                 as reserved_gb,
        job_gpus.submit_ts,
        job_gpus.start_ts,
        job_gpus.end_ts,
        coalesce(job_gpus.end_ts, {{ open_end() }})          as end_ts_open
    from job_gpus
    left join inventory
        on job_gpus.gpu_uuid = inventory.gpu_uuid
    left join mig_profiles
        on job_gpus.mig_profile = mig_profiles.profile

)

select * from final

-- One row per GPU pod (kube-state-metrics, Kueue's queue label): its latest observation (max observed_ts) per
-- pool and uid, since a pod seen on several days lands once per day. Timestamps in naive UTC.
--
-- mig_profile: the profile of a MIG resource (`nvidia.com/mig-3g.40gb` -> `3g.40gb`), null otherwise.
--
-- A warehouse fed by job logs alone has no pod_allocations file, and DuckDB's read_parquet fails on a glob that
-- matches nothing: at run time this model then selects a typed empty relation (as stg_landing__experiments).

{%- set has_files = landing_has_files('pod_allocations') %}

with

{% if has_files %}

source as (

    select
        uid,
        pod,
        namespace,
        pool,
        node,
        gpu_resource,
        cast(gpu_request as {{ dbt.type_float() }})        as gpu_request,
        cast(gpu_limit as {{ dbt.type_float() }})          as gpu_limit,
        cast(gpu_cores_request as {{ dbt.type_float() }})  as gpu_cores_request,
        cast(gpu_mem_request_mib as {{ dbt.type_float() }}) as gpu_mem_request_mib,
        phase,
        {{ to_utc('created_ts') }}                         as created_ts,
        {{ to_utc('start_ts') }}                           as start_ts,
        {{ to_utc('end_ts') }}                             as end_ts,
        tenant,
        queue,
        workload_type,
        owner_kind,
        labels,
        {{ to_utc('observed_ts') }}                        as observed_ts,
        source                                            as pod_source,
        date                                              as landing_date
    from {{ source('landing', 'pod_allocations') }}

),

{% else %}

source as (

    select
        cast(null as {{ dbt.type_string() }})              as uid,
        cast(null as {{ dbt.type_string() }})              as pod,
        cast(null as {{ dbt.type_string() }})              as namespace,
        cast(null as {{ dbt.type_string() }})              as pool,
        cast(null as {{ dbt.type_string() }})              as node,
        cast(null as {{ dbt.type_string() }})              as gpu_resource,
        cast(null as {{ dbt.type_float() }})               as gpu_request,
        cast(null as {{ dbt.type_float() }})               as gpu_limit,
        cast(null as {{ dbt.type_float() }})               as gpu_cores_request,
        cast(null as {{ dbt.type_float() }})               as gpu_mem_request_mib,
        cast(null as {{ dbt.type_string() }})              as phase,
        cast(null as {{ dbt.type_timestamp() }})           as created_ts,
        cast(null as {{ dbt.type_timestamp() }})           as start_ts,
        cast(null as {{ dbt.type_timestamp() }})           as end_ts,
        cast(null as {{ dbt.type_string() }})              as tenant,
        cast(null as {{ dbt.type_string() }})              as queue,
        cast(null as {{ dbt.type_string() }})              as workload_type,
        cast(null as {{ dbt.type_string() }})              as owner_kind,
        cast(null as {{ dbt.type_string() }})              as labels,
        cast(null as {{ dbt.type_timestamp() }})           as observed_ts,
        cast(null as {{ dbt.type_string() }})              as pod_source,
        cast(null as date)                                as landing_date
    where 1 = 0

),

{% endif %}

ranked as (

    select
        *,
        row_number() over (partition by pool, uid order by observed_ts desc, landing_date desc) as observation_rank
    from source

),

final as (

    select
        uid,
        pod,
        namespace,
        pool,
        node,
        gpu_resource,
        nullif(regexp_extract(gpu_resource, '^nvidia[.]com/mig-(.+)$', 1), '') as mig_profile,
        gpu_request,
        gpu_limit,
        gpu_cores_request,
        gpu_mem_request_mib,
        phase,
        created_ts,
        start_ts,
        end_ts,
        tenant,
        queue,
        workload_type,
        owner_kind,
        labels,
        observed_ts,
        pod_source,
        landing_date
    from ranked
    where observation_rank = 1

)

select * from final

-- One row per experiment phase (controlled A/B runs such as the H200 lab); timestamps as naive UTC.
-- measure_start_ts / measure_end_ts: the span the phase's work was counted over, i.e. the window when
-- the importer set one (the shared window of a time-slicing phase, the timed loop of a training phase),
-- else the whole phase. The telemetry marts join gpu_samples over that span.
--
-- A warehouse without any lab import has no experiments file, and DuckDB's read_parquet fails on a glob
-- that matches nothing: at run time this model checks the glob first and, when it is empty, selects a
-- typed empty relation instead of the source (at parse time it always refers to the source, for lineage).

{%- set has_files = landing_has_files('experiments') %}

{% if has_files %}

with source as (

    select * from {{ source('landing', 'experiments') }}

),

renamed as (

    select
        experiment_id,
        pool,
        phase,
        factor,
        variant,
        hostname,
        gpu_uuid,
        model_name,
        {{ to_utc('start_ts') }}                           as start_ts,
        {{ to_utc('end_ts') }}                             as end_ts,
        {{ to_utc('window_start_ts') }}                    as window_start_ts,
        {{ to_utc('window_end_ts') }}                      as window_end_ts,
        status,
        work_unit,
        cast(work_done as {{ dbt.type_float() }})          as work_done,
        cast(reported_rate_per_s as {{ dbt.type_float() }}) as reported_rate_per_s,
        results_json,
        date                                              as landing_date
    from source

)

{% else %}

with renamed as (

    select
        cast(null as {{ dbt.type_string() }})              as experiment_id,
        cast(null as {{ dbt.type_string() }})              as pool,
        cast(null as {{ dbt.type_string() }})              as phase,
        cast(null as {{ dbt.type_string() }})              as factor,
        cast(null as {{ dbt.type_string() }})              as variant,
        cast(null as {{ dbt.type_string() }})              as hostname,
        cast(null as {{ dbt.type_string() }})              as gpu_uuid,
        cast(null as {{ dbt.type_string() }})              as model_name,
        cast(null as {{ dbt.type_timestamp() }})           as start_ts,
        cast(null as {{ dbt.type_timestamp() }})           as end_ts,
        cast(null as {{ dbt.type_timestamp() }})           as window_start_ts,
        cast(null as {{ dbt.type_timestamp() }})           as window_end_ts,
        cast(null as {{ dbt.type_string() }})              as status,
        cast(null as {{ dbt.type_string() }})              as work_unit,
        cast(null as {{ dbt.type_float() }})               as work_done,
        cast(null as {{ dbt.type_float() }})               as reported_rate_per_s,
        cast(null as {{ dbt.type_string() }})              as results_json,
        cast(null as date)                                as landing_date
    where 1 = 0

)

{% endif %}

select
    *,
    coalesce(window_start_ts, start_ts)                   as measure_start_ts,
    coalesce(window_end_ts, end_ts)                       as measure_end_ts
from renamed

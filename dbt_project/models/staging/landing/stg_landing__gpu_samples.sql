-- One row per telemetry reading, with the raw metric name mapped to a canonical metric and unit
-- through the metric_catalog seed (dcgm-exporter 1.x lowercase names, 4.x names, 4.9 renames).
-- Readings of unknown metrics are kept with a null canonical_metric (see mart_data_coverage).

with source as (

    select * from {{ source('landing', 'gpu_samples') }}

),

metric_catalog as (

    select * from {{ ref('metric_catalog') }}

),

renamed as (

    select
        {{ to_utc('source.ts') }}                          as sample_ts,
        source.date                                       as landing_date,
        source.pool,
        source.hostname,
        source.gpu_index,
        source.gpu_uuid,
        source.model_name,
        nullif(trim(source.mig_profile), '')              as mig_profile,
        source.gpu_instance_id,
        source.namespace,
        source.pod,
        source.container,
        source.source                                     as telemetry_source,
        source.metric                                     as raw_metric,
        source.value                                      as raw_value,
        metric_catalog.canonical_metric,
        metric_catalog.scope                              as metric_scope,
        metric_catalog.kind                               as metric_kind,
        source.value * metric_catalog.scale               as value,
        -- the metric's physical range in the canonical unit (int_gpu_samples_checked applies it)
        metric_catalog.min_value,
        metric_catalog.max_value,
        metric_catalog.max_of_gpu,
        metric_catalog.max_of_gpu_factor
    from source
    left join metric_catalog
        on source.metric = metric_catalog.raw_metric

),

final as (

    select
        *,
        {{ dbt.date_trunc('minute', 'sample_ts') }}       as minute_ts
    from renamed

)

select * from final

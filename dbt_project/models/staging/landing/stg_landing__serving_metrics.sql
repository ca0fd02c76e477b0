-- One row per serving-engine series, pod, engine index and minute, with the family (the name as exposed,
-- without histogram suffixes) mapped to a canonical metric and unit through the serving_metric_names seed
-- (vLLM V0/V1 names and renames, SGLang, TGI, Triton, Dynamo, the trainer's token counter).
--
-- series_part: 'bucket', 'sum' or 'count' for a histogram's series, 'value' for a counter or gauge.
-- Scaling: `le`, a histogram's `_sum` and a counter's or gauge's value are multiplied by the seed's scale
-- (Triton's `_ms` histograms, `_us` counters); bucket and `_count` values are numbers of observations and
-- keep their value. Series of families outside the seed (or mapped to no canonical metric) keep a null
-- canonical_metric: ingestion lands only mapped families, so those are names the seed has since dropped.
--
-- A warehouse without any serving-engine import has no serving_metrics file, and DuckDB's read_parquet
-- fails on a glob that matches nothing: at run time this model then selects a typed empty relation
-- (stg_landing__experiments does the same).

{%- set has_files = landing_has_files('serving_metrics') %}

with

{% if has_files %}

source as (

    select
        {{ to_utc('minute_ts') }}                          as minute_ts,
        date                                              as landing_date,
        pool,
        engine,
        model,
        namespace,
        pod,
        engine_index,
        metric,
        le,
        value,
        value_kind,
        source                                            as serving_source
    from {{ source('landing', 'serving_metrics') }}

),

{% else %}

source as (

    select
        cast(null as {{ dbt.type_timestamp() }})           as minute_ts,
        cast(null as date)                                as landing_date,
        cast(null as {{ dbt.type_string() }})              as pool,
        cast(null as {{ dbt.type_string() }})              as engine,
        cast(null as {{ dbt.type_string() }})              as model,
        cast(null as {{ dbt.type_string() }})              as namespace,
        cast(null as {{ dbt.type_string() }})              as pod,
        cast(null as {{ dbt.type_string() }})              as engine_index,
        cast(null as {{ dbt.type_string() }})              as metric,
        cast(null as {{ dbt.type_float() }})               as le,
        cast(null as {{ dbt.type_float() }})               as value,
        cast(null as {{ dbt.type_string() }})              as value_kind,
        cast(null as {{ dbt.type_string() }})              as serving_source
    where 1 = 0

),

{% endif %}

-- one row per family (unique in the seed); family_rank 0 for a current name, 1 for a renamed or deprecated
-- one (int_serving_minutes keeps the current name where an engine serves both)
names as (

    select
        family,
        type                                              as metric_type,
        canonical_metric,
        cast(scale as {{ dbt.type_float() }})              as scale,
        canonical_unit,
        case when status = 'current' then 0 else 1 end    as family_rank
    from {{ ref('serving_metric_names') }}
    where canonical_metric is not null and canonical_metric <> ''

),

parted as (

    select
        source.*,
        case
            when {{ regex_full_match('source.metric', '.*_bucket') }} then 'bucket'
            when {{ regex_full_match('source.metric', '.*_sum') }} then 'sum'
            when {{ regex_full_match('source.metric', '.*_count') }} then 'count'
        end                                               as histogram_part
    from source

),

mapped as (

    select
        parted.minute_ts,
        parted.landing_date,
        parted.pool,
        parted.engine,
        parted.model,
        parted.namespace,
        parted.pod,
        parted.engine_index,
        parted.serving_source,
        parted.metric                                     as raw_metric,
        coalesce(histograms.family, plain.family)         as family,
        coalesce(histograms.metric_type, plain.metric_type) as metric_type,
        coalesce(histograms.canonical_metric, plain.canonical_metric) as canonical_metric,
        coalesce(histograms.canonical_unit, plain.canonical_unit) as canonical_unit,
        coalesce(histograms.family_rank, plain.family_rank) as family_rank,
        case when histograms.family is not null then parted.histogram_part else 'value' end as series_part,
        parted.le * histograms.scale                      as le,
        case
            when histograms.family is not null and parted.histogram_part = 'sum' then parted.value * histograms.scale
            when histograms.family is not null then parted.value
            else parted.value * plain.scale
        end                                               as value,
        parted.value                                      as raw_value,
        parted.value_kind
    from parted
    left join names as histograms
        on histograms.metric_type = 'histogram'
        and parted.histogram_part is not null
        and parted.metric = histograms.family || '_' || parted.histogram_part
    left join names as plain
        on plain.metric_type <> 'histogram'
        and parted.metric = plain.family

)

select * from mapped

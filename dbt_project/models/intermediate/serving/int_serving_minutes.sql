-- One row per pool, serving pod, minute, canonical serving metric, series part and bucket bound, with its
-- stage: the engines' series summed over vLLM's data-parallel engine indexes (and over the labels ingestion
-- already summed), so each pod is one replica.
-- Incremental by landing day (the run's days, macros/incremental.sql; hive `date` pruned), its days replaced whole
-- (strategy replace_days).
--
-- Decisions:
--   * only value_kind 'increase' (per-minute increase of a counter, bucket, _sum or _count) and 'mean' (a
--     gauge's mean over the minute) are kept. 'total' rows (a counter's since-start value from one saved
--     page) cannot be placed in a stage window: they stay in stg_landing__serving_metrics, out of the marts.
--   * one family per pod, minute and canonical metric: an engine that exposes an old and a new name of the
--     same measurement in one scrape (vLLM 0.10 serves time_per_output_token_seconds beside its successor
--     inter_token_latency_seconds) would count every observation twice. The seed's current name wins,
--     then the first name in alphabetical order.
--   * gauges that are ratios (kv_cache_usage_ratio) are averaged over engine indexes; everything else
--     (counts, increases, running requests) is summed.
{{
    config(
        materialized='incremental',
        tags=['daily'],
        incremental_strategy='replace_days',
        partition_by=day_partitions(),
        on_schema_change='sync_all_columns',
    )
}}

{%- set averaged_metrics = ['kv_cache_usage_ratio'] %}

with series as (

    select *
    from {{ ref('stg_landing__serving_metrics') }}
    where {{ date_window_filter('landing_date') }}
        and canonical_metric is not null
        and value_kind in ('increase', 'mean')

),

calendar as (

    select * from {{ ref('int_stage_calendar') }}

),

ranked_families as (

    select
        pool,
        namespace,
        pod,
        minute_ts,
        canonical_metric,
        family,
        row_number() over (
            partition by pool, namespace, pod, minute_ts, canonical_metric
            order by family_rank, family
        )                                                                          as family_order
    from (
        select distinct pool, namespace, pod, minute_ts, canonical_metric, family, family_rank
        from series
    ) as families

),

chosen as (

    select series.*
    from series
    inner join ranked_families
        on series.pool = ranked_families.pool
        and series.namespace is not distinct from ranked_families.namespace
        and series.pod is not distinct from ranked_families.pod
        and series.minute_ts = ranked_families.minute_ts
        and series.canonical_metric = ranked_families.canonical_metric
        and series.family = ranked_families.family
    where ranked_families.family_order = 1

),

summed as (

    select
        pool,
        namespace,
        pod,
        minute_ts,
        landing_date,
        engine,
        serving_source,
        canonical_metric,
        family,
        series_part,
        le,
        value_kind,
        count(distinct engine_index)                                               as engine_indexes,
        case when canonical_metric in ('{{ averaged_metrics | join("', '") }}')
            then avg(value) else sum(value) end                                    as value
    from chosen
    group by pool, namespace, pod, minute_ts, landing_date, engine, serving_source, canonical_metric, family,
        series_part, le, value_kind

),

final as (

    select
        summed.pool,
        summed.namespace,
        summed.pod,
        summed.minute_ts,
        summed.landing_date                                                        as date,
        calendar.stage_id,
        summed.engine,
        summed.serving_source,
        summed.canonical_metric,
        summed.family,
        case when summed.series_part = 'value' then summed.family
            else summed.family || '_' || summed.series_part end                    as raw_metric,
        summed.series_part,
        summed.le,
        summed.value_kind,
        summed.engine_indexes,
        summed.value
    from summed
    left join calendar
        on summed.pool = calendar.pool
        and summed.minute_ts >= calendar.start_ts
        and summed.minute_ts < calendar.end_ts_open

)

select * from final

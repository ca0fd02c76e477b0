-- Telemetry volume per pool, day, GPU, source and raw metric: what landed, in a table a thousand times
-- smaller than the readings, and how many of those readings were physically impossible (implausible_rows:
-- outside the metric's range, left out of int_gpu_minutes; see int_gpu_samples_checked). The coverage mart and the stage windows read this instead of every reading
-- of the history, so the daily refresh scans only the new day's readings.
--
-- Incremental by day like int_gpu_minutes (the run's days, macros/incremental.sql; its days replaced whole).
{{
    config(
        materialized='incremental',
        tags=['daily'],
        incremental_strategy='replace_days',
        partition_by=day_partitions(),
        on_schema_change='sync_all_columns',
    )
}}

select
    pool,
    landing_date                                       as date,
    gpu_uuid,
    telemetry_source,
    raw_metric,
    canonical_metric,
    canonical_metric is null                           as unmapped,
    count(*)                                           as sample_rows,
    count(*) filter (where is_implausible)             as implausible_rows,
    min(value) filter (where is_implausible)           as implausible_min_value,
    max(value) filter (where is_implausible)           as implausible_max_value,
    min(sample_ts)                                     as first_ts,
    max(sample_ts)                                     as last_ts
from {{ ref('int_gpu_samples_checked') }}
where {{ date_window_filter('landing_date') }}
group by pool, landing_date, gpu_uuid, telemetry_source, raw_metric, canonical_metric

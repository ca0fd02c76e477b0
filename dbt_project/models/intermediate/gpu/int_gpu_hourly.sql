-- GPU-minutes summed per pool, stage, day and UTC hour: counts and sums, per workload type, that the hourly
-- profile divides. A table 60 x GPUs smaller than int_gpu_minutes, so the mart reads the history from here
-- and a daily refresh aggregates only the new day's GPU-minutes.
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

{%- set types = ['training', 'inference', 'development', 'evaluation', 'other'] %}

select
    pool,
    stage_id,
    date,
    cast(extract(hour from minute_ts) as integer)                                  as hour_of_day,
    count(*)                                                                       as gpu_minutes,
    count(activity_pct)                                                            as active_gpu_minutes,
    sum(activity_pct)                                                              as activity_pct_sum,
    sum(allocated_share)                                                           as allocated_share_sum,
    {%- for wt in types %}
    sum({{ wt }}_share)                                                            as {{ wt }}_share_sum,
    count(activity_pct) filter (where dominant_workload_type = '{{ wt }}')         as {{ wt }}_active_gpu_minutes,
    sum(activity_pct) filter (where dominant_workload_type = '{{ wt }}')           as {{ wt }}_activity_pct_sum{% if not loop.last %},{% endif %}
    {%- endfor %}
from {{ ref('int_gpu_minutes') }}
where {{ date_window_filter('date') }}
group by pool, stage_id, date, cast(extract(hour from minute_ts) as integer)

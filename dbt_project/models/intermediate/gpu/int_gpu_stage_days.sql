-- GPU-minutes summed per pool, day, stage and GPU: the counts and sums behind the stage means of
-- mart_stage_metrics, mart_gpu_density and mart_daily_utilization. 1,440 times smaller than
-- int_gpu_minutes, so those marts read the history from here and a daily refresh aggregates only the
-- new day's GPU-minutes. Each mean over GPU-minutes is sum / count of the same expression, so nulls
-- (minutes without a reading) are left out exactly as avg() leaves them out.
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
    date,
    stage_id,
    gpu_uuid,
    model_name,
    count(*)                                                                       as gpu_minutes,
    count(activity_pct)                                                            as activity_pct_count,
    sum(activity_pct)                                                              as activity_pct_sum,
    count(sm_active_pct)                                                           as sm_active_pct_count,
    sum(sm_active_pct)                                                             as sm_active_pct_sum,
    sum(allocated_share)                                                           as allocated_share_sum,
    sum(inference_share)                                                           as inference_share_sum,
    sum(energy_j)                                                                  as energy_j_sum,
    sum(energy_j * {{ safe_divide('inference_share', 'allocated_share') }})        as inference_energy_j_sum,
    -- allocated GPU-minutes and how they are shared (mart_gpu_density)
    count(case when allocated_share > 0 then 1 end)                                as allocated_gpu_minutes,
    sum(case when allocated_share > 0 then job_count end)                          as allocated_job_count_sum,
    count(case when allocated_share > 0 and (has_mig_allocation or has_fractional_allocation)
             then 1 end)                                                           as shared_gpu_minutes,
    count(case when allocated_share > 0 and has_mig_allocation then 1 end)         as mig_gpu_minutes,
    count(case when allocated_share > 0 and has_fractional_allocation then 1 end)  as fractional_gpu_minutes,
    -- allocated GPU-minutes with a memory reading: reserved, used and their gap
    count(case when {{ has_memory_reading() }} then 1 end)                          as memory_read_gpu_minutes,
    sum(case when {{ has_memory_reading() }} then reserved_gb end)                  as reserved_gb_sum,
    sum(case when {{ has_memory_reading() }} then fb_used_gb end)                   as fb_used_gb_sum,
    sum({{ memory_overhead_gb() }})                                                as memory_overhead_gb_sum
from {{ ref('int_gpu_minutes') }}
where {{ date_window_filter('date') }}
group by pool, date, stage_id, gpu_uuid, model_name

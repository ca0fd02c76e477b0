-- Which GPUs each Kubernetes pod ran on, per day: one row per pool, day, namespace/pod and GPU (MIG instance
-- included) whose dcgm-exporter readings carried that pod's labels. int_pod_jobs turns it into a job's
-- gpu_uuids and gpu_model.
--
-- Every pod of a reading counts: on a shared GPU (dcgm-exporter's --kubernetes-virtual-gpus) the same reading
-- lands once per pod, and each of those pods ran there. The readings themselves are counted once elsewhere:
-- int_gpu_minutes takes the mean (or, for the energy counter, the maximum) of a GPU's readings per minute, which
-- repeated copies of one reading leave unchanged.
--
-- Incremental by day (the run's days, macros/incremental.sql; hive `date` pruned), but not tagged `daily`: the
-- allocation models that int_gpu_minutes (daily) reads depend on it, so Dagster builds it with the other inputs of the
-- daily models (warehouse_inputs), before them. Like them, its window's days are replaced whole (replace_days): a day
-- re-landed without pod labels keeps no pod of its former files. It reads one metric, board power, which every source
-- reports for every GPU and MIG instance (the heartbeat of stg_landing__gpu_samples' gap test) and dcgm-exporter
-- labels with the pod like every other field.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_days',
        partition_by=day_partitions(),
        on_schema_change='sync_all_columns',
    )
}}

select
    pool,
    landing_date                                       as date,
    namespace,
    pod,
    gpu_uuid,
    mig_profile,
    gpu_instance_id,
    max(hostname)                                      as hostname,
    max(model_name)                                    as model_name,
    min(sample_ts)                                     as first_ts,
    max(sample_ts)                                     as last_ts
from {{ ref('stg_landing__gpu_samples') }}
where {{ date_window_filter('landing_date') }}
  and canonical_metric = 'power_w'
  and pod is not null
group by pool, landing_date, namespace, pod, gpu_uuid, mig_profile, gpu_instance_id

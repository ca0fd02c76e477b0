-- Jobs derived from Kubernetes GPU pods (stg_landing__pod_allocations), for pools that keep no job log: one row
-- per pod uid, with the columns of stg_landing__jobs. int_jobs takes them for every pool without job-log rows.
--
-- Decisions:
--   * job_id = `namespace/pod`, the names the pod's dcgm-exporter and serving-engine series carry; a name that
--     several pod uids of the pool reused (a StatefulSet's pod recreated) gets `#uid` appended on each of them.
--   * tenant = the landed tenant label, else the namespace; queue = the landed queue label.
--   * workload_type = the landed label value; else `inference` when the pod's serving-engine series
--     (serving_metrics) come from an engine other than the trainer; else `training` when it exported a
--     `training_tokens` counter or its owner is a Job or a Kubeflow / Ray training kind; `development` for a
--     StatefulSet or Notebook owner; else `other`.
--   * gpu_count = nvidia.com/gpu request (x gpu_cores_request / 100 for a HAMi vGPU fraction); a MIG resource
--     nvidia.com/mig-<profile>: request x compute slices of the profile / total slices (seed mig_profiles, else
--     the profile's leading `<n>g` / 7), mig_profile = that profile. gpu_mem_request_gb = HAMi's MiB / 1024.
--   * gpu_uuids = the GPUs whose dcgm-exporter readings carried the pod's namespace/pod labels while it ran
--     (int_pod_gpus, per day); gpu_model from the inventory of those GPUs, else their readings' model name;
--     hostname = the pod's node. A pod no reading was labelled with occupies no GPU in the allocation models.
--   * submit_ts = created, start_ts = started, end_ts = completed or gone (kube-state-metrics).
--   * status: Succeeded -> succeeded, Failed -> failed. A pod whose last phase was Running (or Unknown after it
--     started) and that has an end_ts vanished while running (deleted, evicted, node lost) -> preempted; one still
--     Pending (or Unknown, never started) with an end_ts was withdrawn -> cancelled; without an end_ts -> running /
--     pending. restarts 0 (a container restart keeps the pod; kube-state-metrics counts those apart).
--   * tokens_processed = the pod's summed `training_tokens` increases (serving_metrics, engine `trainer`) over its
--     lifetime; null when it exported none. data_wait_s and failure_reason null (no such signal in Kubernetes).
{%- set training_owner_kinds = ['Job', 'PyTorchJob', 'TFJob', 'MPIJob', 'XGBoostJob', 'PaddleJob', 'JAXJob',
                                'TrainJob', 'RayJob'] %}
{%- set development_owner_kinds = ['StatefulSet', 'Notebook'] %}

with pods as (

    select * from {{ ref('stg_landing__pod_allocations') }}

),

pod_gpus as (

    select * from {{ ref('int_pod_gpus') }}

),

inventory as (

    select * from {{ ref('stg_landing__gpu_inventory') }}

),

mig_profiles as (

    select * from {{ ref('mig_profiles') }}

),

-- per pod and minute: whether a serving engine reported it, and the training tokens it counted
serving_minutes as (

    select
        pool,
        namespace,
        pod,
        minute_ts,
        bool_or(engine <> 'trainer')                                               as is_serving,
        sum(case when canonical_metric = 'training_tokens' and value_kind = 'increase' then value end)
                                                                                   as training_tokens,
        bool_or(canonical_metric = 'training_tokens')                              as has_training_counter
    from {{ ref('stg_landing__serving_metrics') }}
    where pod is not null
    group by pool, namespace, pod, minute_ts

),

lifetimes as (

    select
        *,
        count(*) over (partition by pool, namespace, pod)                          as uids_of_name
    from pods

),

pod_serving as (

    select
        lifetimes.pool,
        lifetimes.uid,
        bool_or(serving_minutes.is_serving)                                        as is_serving,
        bool_or(serving_minutes.has_training_counter)                              as has_training_counter,
        sum(serving_minutes.training_tokens)                                       as training_tokens
    from lifetimes
    inner join serving_minutes
        on lifetimes.pool = serving_minutes.pool
        and lifetimes.namespace = serving_minutes.namespace
        and lifetimes.pod = serving_minutes.pod
        and serving_minutes.minute_ts >= {{ dbt.date_trunc('minute', 'lifetimes.start_ts') }}
        and (lifetimes.end_ts is null or serving_minutes.minute_ts < lifetimes.end_ts)
    group by lifetimes.pool, lifetimes.uid

),

pod_placements as (

    select
        lifetimes.pool,
        lifetimes.uid,
        {{ sorted_distinct_array('pod_gpus.gpu_uuid') }}                          as gpu_uuids,
        min(coalesce(inventory.model_name, pod_gpus.model_name))                   as gpu_model,
        max(pod_gpus.hostname)                                                     as gpu_hostname
    from lifetimes
    inner join pod_gpus
        on lifetimes.pool = pod_gpus.pool
        and lifetimes.namespace = pod_gpus.namespace
        and lifetimes.pod = pod_gpus.pod
        and pod_gpus.last_ts >= lifetimes.start_ts
        and (lifetimes.end_ts is null or pod_gpus.first_ts < lifetimes.end_ts)
    left join inventory
        on pod_gpus.gpu_uuid = inventory.gpu_uuid
    group by lifetimes.pool, lifetimes.uid

),

final as (

    select
        lifetimes.namespace || '/' || lifetimes.pod
            || case when lifetimes.uids_of_name > 1 then '#' || lifetimes.uid else '' end as job_id,
        lifetimes.pool,
        coalesce(lifetimes.tenant, lifetimes.namespace)                            as tenant,
        lifetimes.queue,
        case
            when lifetimes.workload_type is not null then lifetimes.workload_type
            when pod_serving.is_serving then 'inference'
            when pod_serving.has_training_counter
                or lifetimes.owner_kind in ('{{ training_owner_kinds | join("', '") }}') then 'training'
            when lifetimes.owner_kind in ('{{ development_owner_kinds | join("', '") }}') then 'development'
            else 'other'
        end                                                                        as workload_type,
        pod_placements.gpu_model,
        case
            when lifetimes.mig_profile is not null
                then lifetimes.gpu_request * coalesce(
                    cast(mig_profiles.compute_slices as double) / mig_profiles.total_compute_slices,
                    cast(regexp_extract(lifetimes.mig_profile, '^([0-9]+)g', 1) as double) / 7.0
                )
            else lifetimes.gpu_request * coalesce(lifetimes.gpu_cores_request / 100.0, 1.0)
        end                                                                        as gpu_count,
        lifetimes.gpu_mem_request_mib / 1024.0                                     as gpu_mem_request_gb,
        lifetimes.mig_profile,
        coalesce(lifetimes.node, pod_placements.gpu_hostname)                      as hostname,
        pod_placements.gpu_uuids,
        coalesce({{ array_size('pod_placements.gpu_uuids') }}, 0)                  as gpu_slots,
        lifetimes.created_ts                                                       as submit_ts,
        lifetimes.start_ts,
        lifetimes.end_ts,
        case
            when lifetimes.phase = 'Succeeded' then 'succeeded'
            when lifetimes.phase = 'Failed' then 'failed'
            when lifetimes.phase = 'Running' or (lifetimes.phase = 'Unknown' and lifetimes.start_ts is not null)
                then case when lifetimes.end_ts is null then 'running' else 'preempted' end
            else case when lifetimes.end_ts is null then 'pending' else 'cancelled' end
        end                                                                        as status,
        cast(null as {{ dbt.type_string() }})                                      as failure_reason,
        0                                                                          as restarts,
        pod_serving.training_tokens                                                as tokens_processed,
        cast(null as {{ dbt.type_float() }})                                       as data_wait_s,
        lifetimes.landing_date,
        lifetimes.uid                                                              as pod_uid
    from lifetimes
    left join pod_serving
        on lifetimes.pool = pod_serving.pool
        and lifetimes.uid = pod_serving.uid
    left join pod_placements
        on lifetimes.pool = pod_placements.pool
        and lifetimes.uid = pod_placements.uid
    left join mig_profiles
        on lifetimes.mig_profile = mig_profiles.profile

)

select * from final

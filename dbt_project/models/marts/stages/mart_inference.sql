-- Stage 4 (software-defined optimisation), for every pool, stage and service, plus one row per
-- pool and stage with service = '(all)' (is_total = true): request outcomes, latency percentiles,
-- throughput and KV-cache reuse; training tokens per GPU-hour of the pool's training jobs.

with windows as (

    select * from {{ ref('int_stage_windows') }}

),

requests as (

    select requests.*
    from {{ ref('int_inference_requests') }} as requests
    inner join windows
        on requests.pool = windows.pool
        and requests.stage_id = windows.stage_id
        and requests.arrival_ts >= windows.window_start
        and requests.arrival_ts < windows.window_end

),

job_overlap as (

    select * from {{ ref('int_job_stage_overlap') }}

),

{%- set request_stats %}
        count(*)                                                                   as requests,
        count(case when is_ok then 1 end)                                     as requests_ok,
        sum(case when is_ok then coalesce(output_tokens, 0) else 0 end)            as output_tokens_ok,
        {{ percentile('ttft_ms', 0.5) }}                                           as ttft_p50_milliseconds,
        {{ percentile('ttft_ms', 0.95) }}                                          as ttft_p95_milliseconds,
        {{ percentile('tbt_ms', 0.5) }}                                            as tbt_p50_milliseconds,
        {{ percentile('tbt_ms', 0.95) }}                                           as tbt_p95_milliseconds,
        sum(cached_prompt_tokens)                                                  as cached_prompt_tokens,
        sum(prompt_tokens)                                                         as prompt_tokens
{%- endset %}

by_service as (

    select pool, stage_id, service, false as is_total, {{ request_stats }}
    from requests
    group by pool, stage_id, service

    union all

    select pool, stage_id, '(all)' as service, true as is_total, {{ request_stats }}
    from requests
    group by pool, stage_id

),

training as (

    select
        pool,
        stage_id,
        sum(attributed_tokens)                                                     as training_tokens,
        sum(gpu_hours)                                                             as training_gpu_hours
    from job_overlap
    where workload_type = 'training'
    group by pool, stage_id

),

final as (

    select
        by_service.pool,
        by_service.stage_id,
        windows.stage_key,
        windows.stage_name_zh,
        by_service.service,
        by_service.is_total,
        by_service.requests,
        by_service.requests_ok,
        {{ safe_divide('by_service.requests_ok', 'by_service.requests') }}          as ok_share,
        by_service.ttft_p50_milliseconds,
        by_service.ttft_p95_milliseconds,
        by_service.tbt_p50_milliseconds,
        by_service.tbt_p95_milliseconds,
        by_service.output_tokens_ok,
        {{ safe_divide('by_service.output_tokens_ok', 'windows.window_seconds') }}  as tokens_per_sec,
        by_service.prompt_tokens,
        by_service.cached_prompt_tokens,
        {{ safe_divide('by_service.cached_prompt_tokens', 'by_service.prompt_tokens') }} as kv_cache_hit_ratio,
        training.training_tokens,
        training.training_gpu_hours,
        {{ safe_divide('training.training_tokens', 'training.training_gpu_hours') }} as training_tokens_per_gpu_hour
    from by_service
    inner join windows
        on by_service.pool = windows.pool and by_service.stage_id = windows.stage_id
    left join training
        on by_service.pool = training.pool and by_service.stage_id = training.stage_id

)

select * from final

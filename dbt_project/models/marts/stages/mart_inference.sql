-- Stage 4 (software-defined optimisation), for every pool, stage and service, plus one row per
-- pool and stage with service = '(all)' (is_total = true): request outcomes, latency percentiles,
-- throughput and KV-cache reuse; training tokens per GPU-hour of the pool's training jobs.
--
-- The '(all)' row takes requests, tokens and latencies from the request log when the stage has one
-- (basis = 'inference_requests'), else from the serving engines' counters and histograms (basis =
-- 'serving_metrics', no per-service rows: engines do not know services; percentiles from buckets with their
-- `_bound`). Beside them, from the engines where present: KV-cache use (mean of kv_cache_usage_ratio over
-- pod-minutes) and the prefix-cache hit rate (hit / queried prompt tokens), next to the request log's
-- kv_cache_hit_ratio (cached / prompt tokens).

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

serving as (

    select * from {{ ref('int_serving_stage_metrics') }}

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

request_totals as (

    select pool, stage_id, {{ request_stats }}
    from requests
    group by pool, stage_id

),

totals as (

    select
        coalesce(request_totals.pool, serving.pool)                                as pool,
        coalesce(request_totals.stage_id, serving.stage_id)                        as stage_id,
        '(all)'                                                                    as service,
        true                                                                       as is_total,
        case when request_totals.pool is not null
            then 'inference_requests' else 'serving_metrics' end                   as basis,
        coalesce(request_totals.requests, 0)                                       as requests,
        coalesce(request_totals.requests_ok, 0)                                    as requests_ok,
        case when request_totals.pool is not null
            then request_totals.output_tokens_ok
            else coalesce(serving.generation_tokens, 0) end                        as output_tokens_ok,
        case when request_totals.pool is not null
            then request_totals.ttft_p50_milliseconds
            else 1000.0 * serving.ttft_p50_seconds end                             as ttft_p50_milliseconds,
        case when request_totals.pool is not null
            then request_totals.ttft_p95_milliseconds
            else 1000.0 * serving.ttft_p95_seconds end                             as ttft_p95_milliseconds,
        case when request_totals.pool is not null
            then request_totals.tbt_p50_milliseconds
            else 1000.0 * serving.tbt_p50_seconds end                              as tbt_p50_milliseconds,
        case when request_totals.pool is not null
            then request_totals.tbt_p95_milliseconds
            else 1000.0 * serving.tbt_p95_seconds end                              as tbt_p95_milliseconds,
        case when request_totals.pool is null
            then 1000.0 * serving.ttft_p50_bound_seconds end                       as ttft_p50_milliseconds_bound,
        case when request_totals.pool is null
            then 1000.0 * serving.tbt_p50_bound_seconds end                        as tbt_p50_milliseconds_bound,
        request_totals.cached_prompt_tokens,
        request_totals.prompt_tokens,
        serving.kv_cache_usage_ratio,
        {{ safe_divide('serving.prefix_cache_hits', 'serving.prefix_cache_queries') }} as prefix_cache_hit_ratio
    from request_totals
    full outer join serving
        on request_totals.pool = serving.pool and request_totals.stage_id = serving.stage_id

),

by_service as (

    select
        pool,
        stage_id,
        service,
        false                                                                      as is_total,
        'inference_requests'                                                       as basis,
        requests,
        requests_ok,
        output_tokens_ok,
        ttft_p50_milliseconds,
        ttft_p95_milliseconds,
        tbt_p50_milliseconds,
        tbt_p95_milliseconds,
        cast(null as {{ dbt.type_float() }})                                       as ttft_p50_milliseconds_bound,
        cast(null as {{ dbt.type_float() }})                                       as tbt_p50_milliseconds_bound,
        cached_prompt_tokens,
        prompt_tokens,
        cast(null as {{ dbt.type_float() }})                                       as kv_cache_usage_ratio,
        cast(null as {{ dbt.type_float() }})                                       as prefix_cache_hit_ratio
    from (
        select pool, stage_id, service, {{ request_stats }}
        from requests
        group by pool, stage_id, service
    ) as services

    union all

    select * from totals

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
        by_service.basis,
        by_service.requests,
        by_service.requests_ok,
        {{ safe_divide('by_service.requests_ok', 'by_service.requests') }}          as ok_share,
        by_service.ttft_p50_milliseconds,
        by_service.ttft_p95_milliseconds,
        by_service.tbt_p50_milliseconds,
        by_service.tbt_p95_milliseconds,
        by_service.ttft_p50_milliseconds_bound,
        by_service.tbt_p50_milliseconds_bound,
        by_service.output_tokens_ok,
        {{ safe_divide('by_service.output_tokens_ok', 'windows.window_seconds') }}  as tokens_per_sec,
        by_service.prompt_tokens,
        by_service.cached_prompt_tokens,
        {{ safe_divide('by_service.cached_prompt_tokens', 'by_service.prompt_tokens') }} as kv_cache_hit_ratio,
        by_service.kv_cache_usage_ratio,
        by_service.prefix_cache_hit_ratio,
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

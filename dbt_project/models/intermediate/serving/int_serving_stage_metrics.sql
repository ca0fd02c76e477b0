-- One row per pool and stage window with serving-engine metrics: what mart_stage_metrics and mart_inference
-- take when a stage has no request log (and what the agreement test compares with the request log when it
-- has one). Read from int_serving_minutes (per pod, minute and canonical metric) inside the stage window.
--
-- Decisions:
--   * percentiles from histogram buckets: bucket increases summed over the window per bound, then PromQL's
--     histogram_quantile (macros/histogram.sql), with the bucket-edge bound beside each value.
--   * TBT from tpot_request_seconds (one observation per request, its mean time per output token: the
--     dictionary's definition) when the stage has it, else itl_seconds (one observation per generated token:
--     long requests weigh more). tbt_metric says which.
--   * serving replica-seconds: pod-minutes with any serving series x 60 s (a pod that reports is a replica).
--   * running requests and KV-cache use: means over those pod-minutes; prefix-cache hit rate from the hit
--     and query counters' increases.

{%- set histogram_metrics = ['ttft_seconds', 'tpot_request_seconds', 'itl_seconds'] %}

with windows as (

    select * from {{ ref('int_stage_windows') }}

),

minutes as (

    select serving.*
    from {{ ref('int_serving_minutes') }} as serving
    inner join windows
        on serving.pool = windows.pool
        and serving.stage_id = windows.stage_id
        and serving.minute_ts >= windows.window_start
        and serving.minute_ts < windows.window_end
    where serving.canonical_metric <> 'training_tokens'  -- a training pod's token counter: not a serving replica

),

buckets as (

    select pool, stage_id, canonical_metric, le, sum(value) as observations
    from minutes
    where series_part = 'bucket'
        and canonical_metric in ('{{ histogram_metrics | join("', '") }}')
    group by pool, stage_id, canonical_metric, le

),

p50 as (

    {{ histogram_quantile('buckets', ['pool', 'stage_id', 'canonical_metric'], 0.5) }}

),

p95 as (

    {{ histogram_quantile('buckets', ['pool', 'stage_id', 'canonical_metric'], 0.95) }}

),

quantiles as (

    select
        p50.pool,
        p50.stage_id,
        p50.canonical_metric,
        p50.observations,
        p50.quantile_value                                                         as p50_seconds,
        p50.bound                                                                  as p50_bound_seconds,
        p95.quantile_value                                                         as p95_seconds,
        p95.bound                                                                  as p95_bound_seconds
    from p50
    left join p95
        on p50.pool = p95.pool
        and p50.stage_id = p95.stage_id
        and p50.canonical_metric = p95.canonical_metric

),

-- the TBT histogram of each stage: per-request time per output token when present, else per-token latency
tbt_choice as (

    select
        pool,
        stage_id,
        case when count(case when canonical_metric = 'tpot_request_seconds' then 1 end) > 0
            then 'tpot_request_seconds' else 'itl_seconds' end                     as tbt_metric
    from quantiles
    where canonical_metric in ('tpot_request_seconds', 'itl_seconds')
    group by pool, stage_id

),

stage_sums as (

    select
        pool,
        stage_id,
        count(distinct {{ dbt.concat(["coalesce(namespace, '')", "'/'", "coalesce(pod, '')",
                                      "'/'", "cast(minute_ts as " ~ dbt.type_string() ~ ")"]) }}) as serving_pod_minutes,
        sum(case when canonical_metric = 'generation_tokens' then value end)      as generation_tokens,
        sum(case when canonical_metric = 'ttft_seconds' and series_part = 'sum' then value end) as ttft_sum_seconds,
        sum(case when canonical_metric = 'prefill_time_seconds' and series_part = 'sum' then value end)
                                                                                   as prefill_time_sum_seconds,
        sum(case when canonical_metric = 'queue_time_seconds' and series_part = 'sum' then value end)
                                                                                   as queue_time_sum_seconds,
        sum(case when canonical_metric = 'decode_time_seconds' and series_part = 'sum' then value end)
                                                                                   as decode_time_sum_seconds,
        avg(case when canonical_metric = 'running_requests' then value end)       as running_requests_per_replica,
        avg(case when canonical_metric = 'kv_cache_usage_ratio' then value end)   as kv_cache_usage_ratio,
        sum(case when canonical_metric = 'prefix_cache_hits' then value end)      as prefix_cache_hits,
        sum(case when canonical_metric = 'prefix_cache_queries' then value end)   as prefix_cache_queries
    from minutes
    group by pool, stage_id

),

-- what each canonical metric and series part came from, as `<landing source>: <series name>`
series_names as (

    select
        pool,
        stage_id,
        canonical_metric,
        series_part,
        {{ dbt.listagg('series_name', "', '", 'order by series_name') }}           as series
    from (
        select distinct
            pool,
            stage_id,
            canonical_metric,
            series_part,
            serving_source || ': ' || raw_metric                                   as series_name
        from minutes
    ) as distinct_series
    group by pool, stage_id, canonical_metric, series_part

),

{%- set series_columns = {
    'generation_tokens_series': ('generation_tokens', 'value'),
    'ttft_bucket_series': ('ttft_seconds', 'bucket'),
    'ttft_sum_series': ('ttft_seconds', 'sum'),
    'tpot_bucket_series': ('tpot_request_seconds', 'bucket'),
    'itl_bucket_series': ('itl_seconds', 'bucket'),
    'prefill_sum_series': ('prefill_time_seconds', 'sum'),
    'queue_sum_series': ('queue_time_seconds', 'sum'),
    'decode_sum_series': ('decode_time_seconds', 'sum'),
    'running_requests_series': ('running_requests', 'value'),
    'kv_cache_series': ('kv_cache_usage_ratio', 'value'),
    'prefix_cache_hits_series': ('prefix_cache_hits', 'value'),
    'prefix_cache_queries_series': ('prefix_cache_queries', 'value'),
} %}

stage_series as (

    select
        pool,
        stage_id,
        {%- for column, (metric, part) in series_columns.items() %}
        max(case when canonical_metric = '{{ metric }}' and series_part = '{{ part }}' then series end)
                                                                                   as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from series_names
    group by pool, stage_id

),

final as (

    select
        stage_sums.pool,
        stage_sums.stage_id,
        stage_sums.serving_pod_minutes,
        stage_sums.serving_pod_minutes * 60.0                                      as serving_replica_seconds,
        stage_sums.generation_tokens,
        ttft.observations                                                          as ttft_observations,
        ttft.p50_seconds                                                           as ttft_p50_seconds,
        ttft.p50_bound_seconds                                                     as ttft_p50_bound_seconds,
        ttft.p95_seconds                                                           as ttft_p95_seconds,
        ttft.p95_bound_seconds                                                     as ttft_p95_bound_seconds,
        tbt_choice.tbt_metric,
        tbt.observations                                                           as tbt_observations,
        tbt.p50_seconds                                                            as tbt_p50_seconds,
        tbt.p50_bound_seconds                                                      as tbt_p50_bound_seconds,
        tbt.p95_seconds                                                            as tbt_p95_seconds,
        tbt.p95_bound_seconds                                                      as tbt_p95_bound_seconds,
        stage_sums.ttft_sum_seconds,
        stage_sums.prefill_time_sum_seconds,
        stage_sums.queue_time_sum_seconds,
        stage_sums.decode_time_sum_seconds,
        stage_sums.running_requests_per_replica,
        stage_sums.kv_cache_usage_ratio,
        stage_sums.prefix_cache_hits,
        stage_sums.prefix_cache_queries,
        {%- for column in series_columns %}
        stage_series.{{ column }},
        {%- endfor %}
        case tbt_choice.tbt_metric
            when 'tpot_request_seconds' then stage_series.tpot_bucket_series
            when 'itl_seconds' then stage_series.itl_bucket_series
        end                                                                        as tbt_bucket_series
    from stage_sums
    left join quantiles as ttft
        on stage_sums.pool = ttft.pool
        and stage_sums.stage_id = ttft.stage_id
        and ttft.canonical_metric = 'ttft_seconds'
    left join tbt_choice
        on stage_sums.pool = tbt_choice.pool and stage_sums.stage_id = tbt_choice.stage_id
    left join quantiles as tbt
        on tbt_choice.pool = tbt.pool
        and tbt_choice.stage_id = tbt.stage_id
        and tbt_choice.tbt_metric = tbt.canonical_metric
    left join stage_series
        on stage_sums.pool = stage_series.pool and stage_sums.stage_id = stage_series.stage_id

)

select * from final

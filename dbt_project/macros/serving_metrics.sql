{#- The serving engines' metrics over a set of windows, one definition for every grain: int_serving_stage_metrics
    (int_stage_windows, grain pool x stage) and int_serving_stage_day_metrics (int_stage_day_windows, grain
    pool x stage x date). `windows_relation` has the `grain` keys, window_start and window_end (exclusive);
    int_serving_minutes is read once per grain.

    One row per grain key with serving-engine metrics: what mart_stage_metrics (mart_stage_day_metrics) and
    mart_inference take when a window has no request log (and what the agreement test compares with the request
    log when it has one). Read from int_serving_minutes (per pod, minute and canonical metric) inside the window.

    Decisions:
      * percentiles from histogram buckets: bucket increases summed over the window per bound, then PromQL's
        histogram_quantile (macros/histogram.sql), with the bucket-edge bound beside each value.
      * TBT from tpot_request_seconds (one observation per request, its mean time per output token: the
        dictionary's definition) when the window has it, else itl_seconds (one observation per generated token:
        long requests weigh more). tbt_metric says which.
      * serving replica-seconds: pod-minutes with any serving series x 60 s (a pod that reports is a replica).
      * running requests and KV-cache use: means over those pod-minutes; prefix-cache hit rate from the hit
        and query counters' increases. -#}
{% macro serving_window_metrics(windows_relation, grain) -%}
{%- set histogram_metrics = var('serving_quantile_metrics') %}

with windows as (

    select * from {{ windows_relation }}

),

minutes as (

    select {{ star_except(ref('int_serving_minutes'), grain, 'serving') }}, {{ grain_columns(grain, 'windows') }}
    from {{ ref('int_serving_minutes') }} as serving
    inner join windows
        on serving.pool = windows.pool
        and serving.stage_id = windows.stage_id
        and serving.minute_ts >= windows.window_start
        and serving.minute_ts < windows.window_end
    where serving.canonical_metric <> 'training_tokens'  -- a training pod's token counter: not a serving replica

),

buckets as (

    select {{ grain_columns(grain) }}, canonical_metric, le, sum(value) as observations
    from minutes
    where series_part = 'bucket'
        and canonical_metric in ('{{ histogram_metrics | join("', '") }}')
    group by {{ grain_columns(grain) }}, canonical_metric, le

),

p50 as (

    {{ histogram_quantile('buckets', grain + ['canonical_metric'], 0.5) }}

),

p95 as (

    {{ histogram_quantile('buckets', grain + ['canonical_metric'], 0.95) }}

),

quantiles as (

    select
        {{ grain_columns(grain, 'p50') }},
        p50.canonical_metric,
        p50.observations,
        p50.quantile_value                                                         as p50_seconds,
        p50.bound                                                                  as p50_bound_seconds,
        p95.quantile_value                                                         as p95_seconds,
        p95.bound                                                                  as p95_bound_seconds
    from p50
    left join p95
        on {{ grain_join('p50', 'p95', grain) }}
        and p50.canonical_metric = p95.canonical_metric

),

-- the TBT histogram of each stage: per-request time per output token when present, else per-token latency
tbt_choice as (

    select
        {{ grain_columns(grain) }},
        case when count(case when canonical_metric = 'tpot_request_seconds' then 1 end) > 0
            then 'tpot_request_seconds' else 'itl_seconds' end                     as tbt_metric
    from quantiles
    where canonical_metric in ('tpot_request_seconds', 'itl_seconds')
    group by {{ grain_columns(grain) }}

),

stage_sums as (

    select
        {{ grain_columns(grain) }},
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
    group by {{ grain_columns(grain) }}

),

-- what each canonical metric and series part came from, as `<landing source>: <series name>`
series_names as (

    select
        {{ grain_columns(grain) }},
        canonical_metric,
        series_part,
        {{ dbt.listagg('series_name', "', '", 'order by series_name') }}           as series
    from (
        select distinct
            {{ grain_columns(grain) }},
            canonical_metric,
            series_part,
            serving_source || ': ' || raw_metric                                   as series_name
        from minutes
    ) as distinct_series
    group by {{ grain_columns(grain) }}, canonical_metric, series_part

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
        {{ grain_columns(grain) }},
        {%- for column, (metric, part) in series_columns.items() %}
        max(case when canonical_metric = '{{ metric }}' and series_part = '{{ part }}' then series end)
                                                                                   as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from series_names
    group by {{ grain_columns(grain) }}

),

final as (

    select
        {{ grain_columns(grain, 'stage_sums') }},
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
        on {{ grain_join('stage_sums', 'ttft', grain) }}
        and ttft.canonical_metric = 'ttft_seconds'
    left join tbt_choice
        on {{ grain_join('stage_sums', 'tbt_choice', grain) }}
    left join quantiles as tbt
        on {{ grain_join('tbt_choice', 'tbt', grain) }}
        and tbt_choice.tbt_metric = tbt.canonical_metric
    left join stage_series
        on {{ grain_join('stage_sums', 'stage_series', grain) }}

)

select * from final
{%- endmacro %}

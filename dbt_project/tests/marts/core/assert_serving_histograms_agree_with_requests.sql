-- Where a pool and stage have both a request log and serving-engine histograms, the exact p50 from the
-- requests (mart_stage_metrics, basis inference_requests) lies within the histogram p50's bucket bound
-- (int_serving_stage_metrics): |p50 from requests - p50 from buckets| <= bound, for TTFT and for TBT when
-- the TBT histogram has one observation per request (tpot_request_seconds; inter-token latency counts
-- tokens, a different distribution). When the histogram p50 falls in the +Inf bucket (no bound), the
-- request p50 must be at least the highest finite bound. A failure means the engines and the log disagree
-- about the same traffic: a wrong stage calendar, a mislabelled pool, or an importer bug.
{{ config(meta={'dagster': {'ref': {'name': 'mart_stage_metrics'}}}) }}

with metrics as (

    select * from {{ ref('mart_stage_metrics') }}

),

serving as (

    select * from {{ ref('int_serving_stage_metrics') }}

),

pairs as (

    select
        metrics.pool,
        metrics.stage_id,
        'ttft_milliseconds'                                                        as metric,
        metrics.ttft_milliseconds                                                  as requests_p50,
        1000.0 * serving.ttft_p50_seconds                                          as histogram_p50,
        1000.0 * serving.ttft_p50_bound_seconds                                    as bound
    from metrics
    inner join serving
        on metrics.pool = serving.pool and metrics.stage_id = serving.stage_id
    where metrics.ttft_basis = 'inference_requests'
        and serving.ttft_p50_seconds is not null

    union all

    select
        metrics.pool,
        metrics.stage_id,
        'tbt_milliseconds',
        metrics.tbt_milliseconds,
        1000.0 * serving.tbt_p50_seconds,
        1000.0 * serving.tbt_p50_bound_seconds
    from metrics
    inner join serving
        on metrics.pool = serving.pool and metrics.stage_id = serving.stage_id
    where metrics.tbt_basis = 'inference_requests'
        and serving.tbt_metric = 'tpot_request_seconds'
        and serving.tbt_p50_seconds is not null

)

select
    metric || ' p50 from requests ' || cast(requests_p50 as {{ dbt.type_string() }})
        || ' ms is not within the histogram p50 ' || cast(histogram_p50 as {{ dbt.type_string() }})
        || ' ms +/- ' || coalesce(cast(bound as {{ dbt.type_string() }}), 'unbounded (+Inf bucket)') || ' ms'
                                                                                   as failure,
    *
from pairs
where (bound is not null and abs(requests_p50 - histogram_p50) > bound + 1e-9)
   or (bound is null and requests_p50 < histogram_p50)

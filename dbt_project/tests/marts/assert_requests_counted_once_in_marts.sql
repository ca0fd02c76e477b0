-- The marts count each request once: per pool and stage, mart_inference's '(all)' row, the sum of
-- its per-service rows and mart_stage_metrics.requests_total agree (requests and ok requests, and
-- output tokens of ok requests). A request in two services or dropped from the total would make the
-- stage slides disagree with each other. Only marts-group models are read (see tests/README.md).
{{ config(meta={'dagster': {'ref': {'name': 'mart_inference'}}}) }}

with services as (

    select
        pool,
        stage_id,
        sum(requests)                                                        as requests,
        sum(requests_ok)                                                     as requests_ok,
        sum(output_tokens_ok)                                                as output_tokens_ok
    from {{ ref('mart_inference') }}
    where not is_total
    group by pool, stage_id

),

totals as (

    select pool, stage_id, requests, requests_ok, output_tokens_ok
    from {{ ref('mart_inference') }}
    where is_total

),

metrics as (

    select pool, stage_id, requests_total, requests_ok, inference_output_tokens
    from {{ ref('mart_stage_metrics') }}

),

checks as (

    select
        metrics.pool,
        metrics.stage_id,
        metrics.requests_total                                               as stage_metrics_requests,
        coalesce(totals.requests, 0)                                         as inference_all_requests,
        coalesce(services.requests, 0)                                       as inference_service_requests,
        metrics.requests_ok                                                  as stage_metrics_requests_ok,
        coalesce(totals.requests_ok, 0)                                      as inference_all_requests_ok,
        coalesce(services.requests_ok, 0)                                    as inference_service_requests_ok,
        coalesce(metrics.inference_output_tokens, 0)                         as stage_metrics_output_tokens,
        coalesce(totals.output_tokens_ok, 0)                                 as inference_all_output_tokens
    from metrics
    left join totals
        on metrics.pool = totals.pool and metrics.stage_id = totals.stage_id
    left join services
        on metrics.pool = services.pool and metrics.stage_id = services.stage_id

)

select
    'requests disagree: mart_stage_metrics ' || cast(stage_metrics_requests as {{ dbt.type_string() }})
        || ', mart_inference (all) ' || cast(inference_all_requests as {{ dbt.type_string() }})
        || ', sum of services ' || cast(inference_service_requests as {{ dbt.type_string() }}) as failure,
    *
from checks
where stage_metrics_requests <> inference_all_requests
   or inference_all_requests <> inference_service_requests
   or stage_metrics_requests_ok <> inference_all_requests_ok
   or inference_all_requests_ok <> inference_service_requests_ok
   or stage_metrics_output_tokens <> inference_all_output_tokens

-- One row per inference request with its stage and latency components.
-- Incremental by arrival day (the run's days, macros/incremental.sql; hive `date` pruned), its days replaced whole
-- (strategy replace_days).
--
-- Decisions: latencies (ttft, tbt, prefill, decode) are kept for every request that produced a
-- first token, whatever its final status, so slow requests that later time out still count;
-- throughput only counts output tokens of status 'ok'. tbt needs >= 2 output tokens.
{{
    config(
        materialized='incremental',
        tags=['daily'],
        incremental_strategy='replace_days',
        partition_by=day_partitions(),
        on_schema_change='sync_all_columns',
    )
}}

with requests as (

    select *
    from {{ ref('stg_landing__inference_requests') }}
    where {{ date_window_filter('landing_date') }}

),

calendar as (

    select * from {{ ref('int_stage_calendar') }}

),

final as (

    select
        requests.request_id,
        requests.pool,
        requests.service,
        requests.replica,
        requests.gpu_uuid,
        requests.landing_date                                                      as date,
        calendar.stage_id,
        calendar.stage_key,
        requests.arrival_ts,
        requests.scheduled_ts,
        requests.first_token_ts,
        requests.end_ts,
        requests.status,
        requests.status = 'ok'                                                     as is_ok,
        requests.prompt_tokens,
        requests.cached_prompt_tokens,
        requests.output_tokens,
        1000.0 * {{ seconds_between('requests.arrival_ts', 'requests.first_token_ts') }}   as ttft_ms,
        case
            when requests.output_tokens >= 2
                then 1000.0 * {{ seconds_between('requests.first_token_ts', 'requests.end_ts') }}
                    / (requests.output_tokens - 1)
        end                                                                        as tbt_ms,
        1000.0 * {{ seconds_between('requests.arrival_ts', 'requests.scheduled_ts') }}     as queue_ms,
        1000.0 * {{ seconds_between('requests.scheduled_ts', 'requests.first_token_ts') }} as prefill_ms,
        {{ seconds_between('requests.first_token_ts', 'requests.end_ts') }}               as decode_seconds
    from requests
    left join calendar
        on requests.pool = calendar.pool
        and requests.arrival_ts >= calendar.start_ts
        and requests.arrival_ts < calendar.end_ts_open

)

select * from final

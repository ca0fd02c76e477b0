-- Where each of the ten dictionary metrics of mart_stage_metrics came from: one row per pool, stage and
-- metric with `basis` (the datasets behind the value: inference_requests | serving_metrics | gpu_samples |
-- jobs, joined with ' + ' when a ratio takes its parts from several; 'missing' when the value is null),
-- `series` (what was read, as `<landing source or dataset>: <names>`, e.g.
-- `prometheus: vllm:time_to_first_token_seconds_bucket`), `bound` (a percentile read from histogram buckets:
-- the true value lies within value +/- bound, in the metric's unit) and `note` (how the value was computed).
-- The deck's evidence file cites it.

with metrics as (

    select * from {{ ref('mart_stage_metrics') }}

),

serving as (

    select * from {{ ref('int_serving_stage_metrics') }}

),

windows as (

    select * from {{ ref('int_stage_windows') }}

),

-- the DCGM fields read per pool and stage (days of the window), as `<telemetry source>: <field>`
telemetry_fields as (

    select distinct
        telemetry.pool,
        windows.stage_id,
        case
            when telemetry.canonical_metric in ('gr_engine_active_pct', 'gpu_util_pct') then 'utilization'
            when telemetry.canonical_metric in ('fb_used_gb', 'fb_free_gb', 'fb_reserved_gb') then 'memory'
            when telemetry.canonical_metric in ('energy_j', 'power_w') then 'energy'
        end                                                                        as field_group,
        telemetry.telemetry_source || ': ' || telemetry.raw_metric                 as series_name
    from {{ ref('int_telemetry_daily') }} as telemetry
    inner join windows
        on telemetry.pool = windows.pool
        and telemetry.date >= cast(windows.window_start as date)
        and telemetry.date < windows.window_end
    where telemetry.canonical_metric in
        ('gr_engine_active_pct', 'gpu_util_pct', 'fb_used_gb', 'fb_free_gb', 'fb_reserved_gb', 'energy_j', 'power_w')

),

telemetry_series as (

    select
        pool,
        stage_id,
        max(case when field_group = 'utilization' then series end)                 as utilization_series,
        max(case when field_group = 'memory' then series end)                      as memory_series,
        max(case when field_group = 'energy' then series end)                      as energy_series
    from (
        select pool, stage_id, field_group, {{ dbt.listagg('series_name', "', '", 'order by series_name') }} as series
        from telemetry_fields
        group by pool, stage_id, field_group
    ) as grouped
    group by pool, stage_id

),

joined as (

    select
        metrics.*,
        serving.generation_tokens_series,
        serving.ttft_bucket_series,
        serving.ttft_sum_series,
        serving.prefill_sum_series,
        serving.queue_sum_series,
        serving.decode_sum_series,
        serving.running_requests_series,
        serving.tbt_bucket_series,
        serving.tbt_metric,
        telemetry_series.utilization_series,
        telemetry_series.memory_series,
        telemetry_series.energy_series,
        -- the datasets behind all tokens (inference and training)
        case
            when metrics.throughput_basis is not null and metrics.training_tokens > 0
                then metrics.throughput_basis || ' + jobs'
            when metrics.training_tokens > 0 then 'jobs'
            else metrics.throughput_basis
        end                                                                        as tokens_basis
    from metrics
    left join serving
        on metrics.pool = serving.pool and metrics.stage_id = serving.stage_id
    left join telemetry_series
        on metrics.pool = telemetry_series.pool and metrics.stage_id = telemetry_series.stage_id

),

{%- set request_series = {
    'throughput_tokens_per_sec': 'inference_requests: output_tokens of ok requests',
    'ttft_milliseconds': 'inference_requests: first_token_ts - arrival_ts',
    'tbt_milliseconds': 'inference_requests: (end_ts - first_token_ts) / (output_tokens - 1)',
    'prefill_efficiency_percent': 'inference_requests: first_token_ts - scheduled_ts, first_token_ts - arrival_ts',
    'decoding_parallelism': 'inference_requests: end_ts - first_token_ts',
} %}

long as (

    select
        pool, stage_id, stage_key, 'throughput_tokens_per_sec' as metric,
        cast(throughput_tokens_per_sec as {{ dbt.type_float() }}) as value,
        throughput_basis                                                           as basis,
        case throughput_basis
            when 'inference_requests' then '{{ request_series["throughput_tokens_per_sec"] }}'
            when 'serving_metrics' then generation_tokens_series
        end                                                                        as series,
        cast(null as {{ dbt.type_float() }})                                       as bound,
        case throughput_basis
            when 'inference_requests' then 'output tokens of successful requests / window seconds'
            when 'serving_metrics' then 'generation-token counter increases / window seconds (counts the tokens of every request, failed ones included)'
        end                                                                        as note
    from joined

    union all

    select
        pool, stage_id, stage_key, 'ttft_milliseconds', ttft_milliseconds, ttft_basis,
        case ttft_basis
            when 'inference_requests' then '{{ request_series["ttft_milliseconds"] }}'
            when 'serving_metrics' then ttft_bucket_series
        end,
        ttft_milliseconds_bound,
        case
            when ttft_basis = 'inference_requests' then 'p50 over requests (exact)'
            when ttft_basis = 'serving_metrics' and ttft_milliseconds_bound is null
                then 'p50 from histogram buckets falls in the +Inf bucket: at least the highest finite bound shown'
            when ttft_basis = 'serving_metrics'
                then 'p50 from histogram buckets, linear interpolation, true value within ±bound ms'
        end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'tbt_milliseconds', tbt_milliseconds, tbt_basis,
        case tbt_basis
            when 'inference_requests' then '{{ request_series["tbt_milliseconds"] }}'
            when 'serving_metrics' then tbt_bucket_series
        end,
        tbt_milliseconds_bound,
        case
            when tbt_basis = 'inference_requests' then 'p50 over requests with >= 2 output tokens (exact)'
            when tbt_basis = 'serving_metrics' and tbt_milliseconds_bound is null
                then 'p50 from histogram buckets falls in the +Inf bucket: at least the highest finite bound shown'
            when tbt_basis = 'serving_metrics' and tbt_metric = 'tpot_request_seconds'
                then 'p50 from histogram buckets of each request''s mean time per output token, linear interpolation, true value within ±bound ms'
            when tbt_basis = 'serving_metrics'
                then 'p50 from histogram buckets of inter-token latency (one observation per generated token, so long requests weigh more than in the per-request definition), linear interpolation, true value within ±bound ms'
        end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'prefill_efficiency_percent', prefill_efficiency_percent,
        prefill_efficiency_basis,
        case prefill_efficiency_basis
            when 'inference_requests' then '{{ request_series["prefill_efficiency_percent"] }}'
            when 'serving_metrics' then prefill_sum_series || ', ' || coalesce(queue_sum_series, ttft_sum_series)
        end,
        cast(null as {{ dbt.type_float() }}),
        case prefill_efficiency_basis
            when 'inference_requests' then '100 x sum(first_token - scheduled) / sum(first_token - arrival) over requests'
            when 'serving_metrics' then case when queue_sum_series is not null
                then '100 x sum of prefill times / sum of (prefill + queue) times, from the histograms'' _sum series'
                else '100 x sum of prefill times / sum of TTFTs, from the histograms'' _sum series' end
        end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'decoding_parallelism', decoding_parallelism, decoding_parallelism_basis,
        case
            when decoding_parallelism_basis = 'inference_requests' then '{{ request_series["decoding_parallelism"] }}'
            when decoding_parallelism_basis = 'serving_metrics' and decode_sum_series is not null
                then decode_sum_series
            when decoding_parallelism_basis = 'serving_metrics' then running_requests_series
        end,
        cast(null as {{ dbt.type_float() }}),
        case
            when decoding_parallelism_basis = 'inference_requests'
                then 'sum of request decode times / serving replica-seconds (Little''s law)'
            when decoding_parallelism_basis = 'serving_metrics' and decode_sum_series is not null
                then 'sum of decode times from the histogram''s _sum series / serving replica-seconds (Little''s law)'
            when decoding_parallelism_basis = 'serving_metrics'
                then 'mean running requests per replica-minute (gauge)'
        end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'gpu_utilization_percent', gpu_utilization_percent,
        case when gpu_utilization_percent is not null then 'gpu_samples' end,
        case when gpu_utilization_percent is not null then utilization_series end,
        cast(null as {{ dbt.type_float() }}),
        case when gpu_utilization_percent is not null
            then 'mean over GPU-minutes of every GPU of the pool: GR_ENGINE_ACTIVE x 100 where present, else GPU_UTIL' end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'memory_overhead_gb', memory_overhead_gb,
        case when memory_overhead_gb is not null then 'gpu_samples + jobs' end,
        case when memory_overhead_gb is not null then memory_series end,
        cast(null as {{ dbt.type_float() }}),
        case when memory_overhead_gb is not null
            then 'mean over allocated GPU-minutes of memory reserved for the workload minus memory used' end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'cluster_throughput_per_watt', cluster_throughput_per_watt,
        case when cluster_throughput_per_watt is not null
            then coalesce(tokens_basis || ' + ', '') || 'gpu_samples' end,
        case when cluster_throughput_per_watt is not null then energy_series end,
        cast(null as {{ dbt.type_float() }}),
        case when cluster_throughput_per_watt is not null
            then '(inference output tokens + training tokens) / energy of every GPU of the pool, J' end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'throughput_per_watt', throughput_per_watt,
        case when throughput_per_watt is not null then throughput_basis || ' + gpu_samples' end,
        case when throughput_per_watt is not null then energy_series end,
        cast(null as {{ dbt.type_float() }}),
        case when throughput_per_watt is not null
            then 'inference output tokens / energy of the GPUs that served them, J' end
    from joined

    union all

    select
        pool, stage_id, stage_key, 'throughput_per_dollar', throughput_per_dollar,
        case when throughput_per_dollar is not null
            then coalesce(tokens_basis || ' + ', '') || 'gpu_samples' end,
        case when throughput_per_dollar is not null then energy_series end,
        cast(null as {{ dbt.type_float() }}),
        case when throughput_per_dollar is not null
            then 'all tokens / (provisioned GPU-hours x hourly price + energy x price)' end
    from joined

),

final as (

    select
        pool,
        stage_id,
        stage_key,
        metric,
        value,
        coalesce(basis, 'missing')                                                 as basis,
        series,
        bound,
        coalesce(note, 'no source for this metric in the stage window')           as note
    from long

)

select * from final

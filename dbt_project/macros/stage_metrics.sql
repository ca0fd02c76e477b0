{#- The metrics of mart_stage_metrics over a set of windows: one definition for every grain.

    `windows_relation` has one row per `grain` key (pool, stage_id[, date]) with stage_key, stage_name_zh,
    stage_name_en, window_start, window_end (exclusive), window_seconds and window_hours: int_stage_windows
    (a stage) or int_stage_day_windows (a stage's UTC day, the `date` the pipeline partitions by).
    `serving_relation` holds the serving engines' metrics at the same grain (int_serving_stage_metrics,
    int_serving_stage_day_metrics). Each minute table is read once per grain.

    One row per grain key: the ten metrics of DESIGN.md's metric dictionary, exactly named, with their p95
    companions, SM-active and allocation, the two parts of throughput per dollar and the raw totals.

    Decisions (see README.md):
      * the window is the calendar window clipped to the pool's landed days (int_stage_windows);
        requests count by arrival_ts in the window, training tokens pro rata to running time.
      * gpu_utilization_percent: mean activity over provisioned GPU-minutes that have a sample;
        GPU-minutes without one are missing (missing_gpu_minutes_percent), not zero.
      * memory_overhead_gb: mean over allocated GPU-minutes with a memory reading of
        max(reserved_gb - fb_used_gb, 0).
      * decoding_parallelism: decode seconds of requests / replica-seconds of inference jobs in the window.
      * throughput_per_watt: energy of each GPU-minute x the inference share of its allocation.
      * cost: provisioned GPUs x window hours x hourly price (gpu_catalog) + energy x energy_price.
      * throughput_per_dollar = serving_tokens_per_dollar + training_tokens_per_dollar, each over the same
        cost; serving_tokens_per_dollar is null without a serving source (as throughput_tokens_per_sec).
      * serving metrics come from the best source present, per metric: the request log (exact) first, else
        the serving engines' own histograms and counters (int_serving_stage_metrics). `<metric>_basis` says
        which (inference_requests | serving_metrics), mart_metric_basis the series behind it. From engines:
        throughput = generation-token counter increases / window seconds; TTFT and TBT p50/p95 from histogram
        buckets (PromQL's histogram_quantile) with `_bound` companions (the true value within +/- bound);
        prefill efficiency = 100 x sum(prefill time) / sum(prefill + queue time) from the histograms' _sum
        series (both observed when a request finishes; sum(TTFT) in the denominator without a queue series); decoding
        parallelism = sum(decode time) / serving replica-seconds, else the mean running requests per replica.
        Serving replica-seconds: the inference jobs' (as for the request log), else the pod-minutes that
        reported serving series. Inference output tokens (throughput per watt and per dollar) follow the
        throughput's basis. A metric with neither source is null (missing).

    The window is the one of the grain: a day's requests are those arriving that day, its training tokens the
    jobs' tokens pro rata to their running time that day, its cost the GPUs of that day's grid x its hours. -#}
{% macro stage_window_metrics(windows_relation, serving_relation, grain) -%}
{%- set job_seconds = overlap_seconds('jobs.start_ts', 'jobs.run_end_ts', 'windows.window_start', 'windows.window_end') %}

with windows as (

    select * from {{ windows_relation }}

),

gpu_minutes as (

    select * from {{ ref('int_gpu_minutes') }}

),

gpu_stage_days as (

    select * from {{ ref('int_gpu_stage_days') }}

),

requests as (

    select
        {{ grain_columns(grain, 'windows') }},
        requests.is_ok,
        requests.output_tokens,
        requests.ttft_ms,
        requests.tbt_ms,
        requests.prefill_ms,
        requests.decode_seconds
    from {{ ref('int_inference_requests') }} as requests
    inner join windows
        on requests.pool = windows.pool
        and requests.stage_id = windows.stage_id
        and requests.arrival_ts >= windows.window_start
        and requests.arrival_ts < windows.window_end

),

-- each job's running time in the window, and its tokens pro rata to it (as int_job_stage_overlap for a stage)
job_overlap as (

    select
        {{ grain_columns(grain, 'windows') }},
        jobs.workload_type,
        jobs.tokens_processed * {{ safe_divide(job_seconds, 'jobs.run_seconds') }} as attributed_tokens,
        {{ job_seconds }}                                                          as overlap_seconds
    from {{ ref('int_job_stage_overlap') }} as jobs
    inner join windows
        on jobs.pool = windows.pool
        and jobs.stage_id = windows.stage_id
        and jobs.start_ts < windows.window_end
        and jobs.run_end_ts > windows.window_start

),

serving as (

    select * from {{ serving_relation }}

),

inventory as (

    select * from {{ ref('stg_landing__gpu_inventory') }}

),

gpu_catalog as (

    select * from {{ ref('int_gpu_catalog_matched') }}

),

energy_price as (

    {%- set energy_per_kwh = (var('prices', {}) or {}).get('energy_per_kwh') %}
    select
        {% if energy_per_kwh is not none -%}
        cast({{ energy_per_kwh | float }} as double)                               as price_per_kwh,  -- the config's
        {%- else -%}
        max(price_per_kwh)                                                         as price_per_kwh,
        {%- endif %}
        max(pue)                                                                   as pue
    from {{ ref('energy_price') }}

),

inventory_counts as (

    select pool, count(distinct gpu_uuid) as inventory_gpus
    from inventory
    group by pool

),

inventory_prices as (

    select
        inventory.pool,
        sum(gpu_catalog.hourly_price)                                              as hourly_price_sum,
        count(case when gpu_catalog.hourly_price is null then 1 end)          as unpriced_gpus
    from inventory
    left join gpu_catalog
        on inventory.model_name = gpu_catalog.model_name
    group by inventory.pool

),

-- GPUs present in the stage's grid (inventory plus any GPU that reported without being in it)
stage_gpus as (

    select distinct {{ grain_columns(grain) }}, gpu_uuid, model_name
    from gpu_stage_days

),

stage_gpu_prices as (

    select
        {{ grain_columns(grain, 'stage_gpus') }},
        count(*)                                                                   as grid_gpus,
        sum(gpu_catalog.hourly_price)                                              as hourly_price_sum,
        count(case when gpu_catalog.hourly_price is null then 1 end)          as unpriced_gpus
    from stage_gpus
    left join gpu_catalog
        on stage_gpus.model_name = gpu_catalog.model_name
    group by {{ grain_columns(grain, 'stage_gpus') }}

),

-- the means from the per-day sums; the p95s need every GPU-minute of the stage
gpu_sums as (

    select
        {{ grain_columns(grain) }},
        sum(gpu_minutes)                                                           as gpu_minutes,
        sum(gpu_minutes) - sum(activity_pct_count)                                 as missing_gpu_minutes,
        {{ safe_divide('sum(activity_pct_sum)', 'sum(activity_pct_count)') }}      as gpu_utilization_percent,
        100.0 * {{ safe_divide('sum(allocated_share_sum)', 'sum(gpu_minutes)') }}  as allocation_percent,
        {{ safe_divide('sum(sm_active_pct_sum)', 'sum(sm_active_pct_count)') }}    as sm_active_percent,
        {{ safe_divide('sum(memory_overhead_gb_sum)', 'sum(memory_read_gpu_minutes)') }} as memory_overhead_gb,
        sum(energy_j_sum)                                                          as energy_joules,
        sum(inference_energy_j_sum)                                                as inference_energy_joules,
        sum(inference_share_sum) * {{ var('bucket_seconds', 60) }} / 3600.0       as inference_gpu_hours
    from gpu_stage_days
    group by {{ grain_columns(grain) }}

),

gpu_percentiles as (

    select
        {{ grain_columns(grain) }},
        {{ percentile('activity_pct', 0.95) }}                                     as gpu_utilization_p95_percent,
        {{ percentile(memory_overhead_gb(), 0.95) }}                               as memory_overhead_p95_gb
    from gpu_minutes
    group by {{ grain_columns(grain) }}

),

gpu_stats as (

    select
        gpu_sums.*,
        gpu_percentiles.gpu_utilization_p95_percent,
        gpu_percentiles.memory_overhead_p95_gb
    from gpu_sums
    left join gpu_percentiles
        on {{ grain_join('gpu_sums', 'gpu_percentiles', grain) }}

),

request_stats as (

    select
        {{ grain_columns(grain) }},
        count(*)                                                                   as requests_total,
        count(case when is_ok then 1 end)                                     as requests_ok,
        sum(case when is_ok then coalesce(output_tokens, 0) else 0 end)            as inference_output_tokens,
        {{ percentile('ttft_ms', 0.5) }}                                           as ttft_milliseconds,
        {{ percentile('ttft_ms', 0.95) }}                                          as ttft_p95_milliseconds,
        {{ percentile('tbt_ms', 0.5) }}                                            as tbt_milliseconds,
        {{ percentile('tbt_ms', 0.95) }}                                           as tbt_p95_milliseconds,
        sum(case when prefill_ms is not null and ttft_ms is not null then prefill_ms end) as prefill_ms_sum,
        sum(case when prefill_ms is not null and ttft_ms is not null then ttft_ms end)    as ttft_ms_sum,
        sum(decode_seconds)                                                        as decode_seconds
    from requests
    group by {{ grain_columns(grain) }}

),

job_stats as (

    select
        {{ grain_columns(grain) }},
        sum(case when workload_type = 'training' then attributed_tokens end)       as training_tokens,
        sum(case when workload_type = 'inference' then overlap_seconds else 0 end) as serving_replica_seconds
    from job_overlap
    group by {{ grain_columns(grain) }}

),

joined as (

    select
        {{ grain_columns(grain, 'windows') }},
        windows.stage_key,
        windows.stage_name_zh,
        windows.stage_name_en,
        windows.window_start,
        windows.window_end,
        windows.window_seconds,
        windows.window_hours,
        coalesce(nullif(stage_gpu_prices.grid_gpus, 0), inventory_counts.inventory_gpus, 0) as gpus_provisioned,
        coalesce(gpu_stats.gpu_minutes, 0)                                         as gpu_minutes,
        gpu_stats.missing_gpu_minutes,
        gpu_stats.gpu_utilization_percent,
        gpu_stats.gpu_utilization_p95_percent,
        gpu_stats.allocation_percent,
        gpu_stats.sm_active_percent,
        gpu_stats.memory_overhead_gb,
        gpu_stats.memory_overhead_p95_gb,
        gpu_stats.energy_joules,
        gpu_stats.inference_energy_joules,
        coalesce(gpu_stats.inference_gpu_hours, 0)                                 as inference_gpu_hours,
        coalesce(request_stats.requests_total, 0)                                  as requests_total,
        coalesce(request_stats.requests_ok, 0)                                     as requests_ok,
        coalesce(request_stats.inference_output_tokens, 0)                         as request_output_tokens,
        request_stats.ttft_milliseconds                                            as request_ttft_milliseconds,
        request_stats.ttft_p95_milliseconds                                        as request_ttft_p95_milliseconds,
        request_stats.tbt_milliseconds                                             as request_tbt_milliseconds,
        request_stats.tbt_p95_milliseconds                                         as request_tbt_p95_milliseconds,
        request_stats.prefill_ms_sum,
        request_stats.ttft_ms_sum,
        request_stats.decode_seconds,
        serving.generation_tokens                                                  as serving_generation_tokens,
        1000.0 * serving.ttft_p50_seconds                                          as serving_ttft_milliseconds,
        1000.0 * serving.ttft_p50_bound_seconds                                    as serving_ttft_milliseconds_bound,
        1000.0 * serving.ttft_p95_seconds                                          as serving_ttft_p95_milliseconds,
        1000.0 * serving.ttft_p95_bound_seconds                                    as serving_ttft_p95_milliseconds_bound,
        1000.0 * serving.tbt_p50_seconds                                           as serving_tbt_milliseconds,
        1000.0 * serving.tbt_p50_bound_seconds                                     as serving_tbt_milliseconds_bound,
        1000.0 * serving.tbt_p95_seconds                                           as serving_tbt_p95_milliseconds,
        1000.0 * serving.tbt_p95_bound_seconds                                     as serving_tbt_p95_milliseconds_bound,
        -- prefill and queue times are observed together when a request finishes (vLLM), TTFT at its first
        -- token: prefill / (prefill + queue) sums one population; TTFT's sum is the fallback without a queue series
        100.0 * case when serving.queue_time_sum_seconds is not null
            then {{ safe_divide('serving.prefill_time_sum_seconds',
                                'serving.prefill_time_sum_seconds + serving.queue_time_sum_seconds') }}
            else {{ safe_divide('serving.prefill_time_sum_seconds', 'serving.ttft_sum_seconds') }}
        end                                                                        as serving_prefill_efficiency_percent,
        serving.decode_time_sum_seconds                                            as serving_decode_seconds,
        serving.running_requests_per_replica                                       as serving_running_requests_per_replica,
        coalesce(job_stats.training_tokens, 0)                                     as training_tokens,
        coalesce(nullif(job_stats.serving_replica_seconds, 0), serving.serving_replica_seconds, 0)
                                                                                   as serving_replica_seconds,
        coalesce(stage_gpu_prices.hourly_price_sum, inventory_prices.hourly_price_sum) as provisioned_hourly_price,
        coalesce(stage_gpu_prices.unpriced_gpus, inventory_prices.unpriced_gpus, 0) as unpriced_gpus,
        energy_price.price_per_kwh,
        energy_price.pue
    from windows
    left join gpu_stats
        on {{ grain_join('windows', 'gpu_stats', grain) }}
    left join request_stats
        on {{ grain_join('windows', 'request_stats', grain) }}
    left join job_stats
        on {{ grain_join('windows', 'job_stats', grain) }}
    left join serving
        on {{ grain_join('windows', 'serving', grain) }}
    left join stage_gpu_prices
        on {{ grain_join('windows', 'stage_gpu_prices', grain) }}
    left join inventory_counts
        on windows.pool = inventory_counts.pool
    left join inventory_prices
        on windows.pool = inventory_prices.pool
    cross join energy_price

),

-- each serving metric from the request log when it yields one, else from the engines
chosen as (

    select
        *,
        case
            when requests_total > 0 then 'inference_requests'
            when serving_generation_tokens is not null then 'serving_metrics'
        end                                                                        as throughput_basis,
        case
            when requests_total > 0 then request_output_tokens
            else coalesce(serving_generation_tokens, 0)
        end                                                                        as inference_output_tokens,
        case
            when request_ttft_milliseconds is not null then 'inference_requests'
            when serving_ttft_milliseconds is not null then 'serving_metrics'
        end                                                                        as ttft_basis,
        case
            when request_tbt_milliseconds is not null then 'inference_requests'
            when serving_tbt_milliseconds is not null then 'serving_metrics'
        end                                                                        as tbt_basis,
        case
            when ttft_ms_sum > 0 then 'inference_requests'
            when serving_prefill_efficiency_percent is not null then 'serving_metrics'
        end                                                                        as prefill_efficiency_basis,
        case
            when decode_seconds is not null and serving_replica_seconds > 0 then 'inference_requests'
            when coalesce(serving_decode_seconds, serving_running_requests_per_replica) is not null
                then 'serving_metrics'
        end                                                                        as decoding_parallelism_basis
    from joined

),

costed as (

    select
        *,
        gpus_provisioned * window_hours                                            as provisioned_gpu_hours,
        provisioned_hourly_price * window_hours                                    as gpu_cost_usd,
        energy_joules / 3600000.0 * price_per_kwh * pue                            as energy_cost_usd,
        provisioned_hourly_price * window_hours
            + coalesce(energy_joules / 3600000.0 * price_per_kwh * pue, 0)         as cost_usd,
        inference_output_tokens + training_tokens                                  as total_tokens
    from chosen

),

final as (

    select
        {{ grain_columns(grain) }},
        stage_key,
        stage_name_zh,
        stage_name_en,
        window_start,
        window_end,
        window_hours,
        gpus_provisioned,
        gpu_minutes,

        -- the ten metrics of the dictionary
        case when throughput_basis is not null
            then {{ safe_divide('inference_output_tokens', 'window_seconds') }} end as throughput_tokens_per_sec,
        case ttft_basis
            when 'inference_requests' then request_ttft_milliseconds
            when 'serving_metrics' then serving_ttft_milliseconds
        end                                                                        as ttft_milliseconds,
        case tbt_basis
            when 'inference_requests' then request_tbt_milliseconds
            when 'serving_metrics' then serving_tbt_milliseconds
        end                                                                        as tbt_milliseconds,
        case prefill_efficiency_basis
            when 'inference_requests' then 100.0 * {{ safe_divide('prefill_ms_sum', 'ttft_ms_sum') }}
            when 'serving_metrics' then serving_prefill_efficiency_percent
        end                                                                        as prefill_efficiency_percent,
        case decoding_parallelism_basis
            when 'inference_requests' then {{ safe_divide('decode_seconds', 'serving_replica_seconds') }}
            when 'serving_metrics' then coalesce(
                {{ safe_divide('serving_decode_seconds', 'serving_replica_seconds') }},
                serving_running_requests_per_replica)
        end                                                                        as decoding_parallelism,
        gpu_utilization_percent,
        memory_overhead_gb,
        {{ safe_divide('total_tokens', 'energy_joules') }}                          as cluster_throughput_per_watt,
        case when throughput_basis is not null
            then {{ safe_divide('inference_output_tokens', 'inference_energy_joules') }} end as throughput_per_watt,
        {{ safe_divide('total_tokens', 'cost_usd') }}                               as throughput_per_dollar,
        -- its two parts (they add up to it): serving tokens (null without a serving source) and training tokens
        case when throughput_basis is not null
            then {{ safe_divide('inference_output_tokens', 'cost_usd') }} end       as serving_tokens_per_dollar,
        {{ safe_divide('training_tokens', 'cost_usd') }}                            as training_tokens_per_dollar,

        -- companions: p95s and, for percentiles read from histogram buckets, the bound of each value
        case ttft_basis
            when 'inference_requests' then request_ttft_p95_milliseconds
            when 'serving_metrics' then serving_ttft_p95_milliseconds
        end                                                                        as ttft_p95_milliseconds,
        case tbt_basis
            when 'inference_requests' then request_tbt_p95_milliseconds
            when 'serving_metrics' then serving_tbt_p95_milliseconds
        end                                                                        as tbt_p95_milliseconds,
        case when ttft_basis = 'serving_metrics' then serving_ttft_milliseconds_bound end as ttft_milliseconds_bound,
        case when ttft_basis = 'serving_metrics' then serving_ttft_p95_milliseconds_bound end
                                                                                   as ttft_p95_milliseconds_bound,
        case when tbt_basis = 'serving_metrics' then serving_tbt_milliseconds_bound end as tbt_milliseconds_bound,
        case when tbt_basis = 'serving_metrics' then serving_tbt_p95_milliseconds_bound end
                                                                                   as tbt_p95_milliseconds_bound,
        throughput_basis,
        ttft_basis,
        tbt_basis,
        prefill_efficiency_basis,
        decoding_parallelism_basis,
        gpu_utilization_p95_percent,
        memory_overhead_p95_gb,
        allocation_percent,
        sm_active_percent,
        100.0 * {{ safe_divide('missing_gpu_minutes', 'gpu_minutes') }}             as missing_gpu_minutes_percent,
        requests_total,
        requests_ok,
        inference_output_tokens,
        training_tokens,
        energy_joules,
        inference_energy_joules,
        serving_replica_seconds,
        inference_gpu_hours,
        -- served tokens depend on demand; per GPU-second of inference allocation shows efficiency
        case when throughput_basis is not null
            then {{ safe_divide('inference_output_tokens', 'inference_gpu_hours * 3600.0') }} end
                                                                                   as tokens_per_inference_gpu_second,
        provisioned_gpu_hours,
        gpu_cost_usd,
        energy_cost_usd,
        cost_usd,
        unpriced_gpus
    from costed

)

select * from final
{%- endmacro %}


{#- The metrics of a stage_window_metrics relation in long form: one row per grain key and metric, the value as a
    double (`value`), with the stage's key and name. -#}
{% macro stage_metrics_long(relation, metrics, grain) -%}
    {%- for metric in metrics %}
    select
        {{ grain_columns(grain) }},
        stage_key,
        stage_name_zh,
        '{{ metric }}'                                                             as metric,
        cast({{ metric }} as double)                                               as value
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

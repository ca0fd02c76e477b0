-- Long form of the ten dictionary metrics: one row per pool, stage and metric, with the
-- baseline (stage 0 of the same pool) and the previous stage's value for comparison.
-- value_source / evidence_tier are 'measured' / 集群实测 when the pool's telemetry yields a value;
-- later work fills missing values from lab runs or benchmarks with their own tier.

{%- set metrics = [
    'throughput_tokens_per_sec',
    'ttft_milliseconds',
    'tbt_milliseconds',
    'prefill_efficiency_percent',
    'decoding_parallelism',
    'gpu_utilization_percent',
    'memory_overhead_gb',
    'cluster_throughput_per_watt',
    'throughput_per_watt',
    'throughput_per_dollar',
] %}

with stage_metrics as (

    select * from {{ ref('mart_stage_metrics') }}

),

definitions as (

    select * from {{ ref('metric_definitions') }}

),

long as (

    {%- for metric in metrics %}
    select
        pool,
        stage_id,
        stage_key,
        stage_name_zh,
        '{{ metric }}'                                                             as metric,
        cast({{ metric }} as double)                                               as value
    from stage_metrics
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

compared as (

    select
        long.*,
        baseline.value                                                             as baseline_value,
        lag(long.value) over (partition by long.pool, long.metric order by long.stage_id) as previous_value
    from long
    left join long as baseline
        on long.pool = baseline.pool
        and long.metric = baseline.metric
        and baseline.stage_id = 0

),

final as (

    select
        compared.pool,
        compared.stage_id,
        compared.stage_key,
        compared.stage_name_zh,
        compared.metric,
        compared.value,
        definitions.unit,
        definitions.higher_is_better,
        compared.baseline_value,
        compared.previous_value,
        {{ safe_divide('compared.value', 'compared.baseline_value') }}              as ratio_to_baseline,
        {{ safe_divide('compared.value', 'compared.previous_value') }}              as ratio_to_previous,
        100.0 * ({{ safe_divide('compared.value', 'compared.baseline_value') }} - 1) as change_vs_baseline_percent,
        case when compared.value is not null then 'measured' else 'missing' end     as value_source,
        case when compared.value is not null then '集群实测' else '估算' end          as evidence_tier,
        'mart_stage_metrics.' || compared.metric                                   as source_ref
    from compared
    left join definitions
        on compared.metric = definitions.metric

)

select * from final

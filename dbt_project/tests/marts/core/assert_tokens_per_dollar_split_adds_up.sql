-- Throughput per dollar splits into its serving and training parts: serving_tokens_per_dollar +
-- training_tokens_per_dollar = throughput_per_dollar (relative 1e-9) wherever the serving part has a value, in
-- mart_stage_metrics and mart_stage_day_metrics alike; without a serving source the training part is all of it.
{{ config(meta={'dagster': {'ref': {'name': 'mart_stage_metrics'}}}) }}

with both_grains as (

    select 'mart_stage_metrics' as mart, pool, stage_id, cast(null as date) as date,
           throughput_per_dollar, serving_tokens_per_dollar, training_tokens_per_dollar
    from {{ ref('mart_stage_metrics') }}
    union all
    select 'mart_stage_day_metrics' as mart, pool, stage_id, date,
           throughput_per_dollar, serving_tokens_per_dollar, training_tokens_per_dollar
    from {{ ref('mart_stage_day_metrics') }}

),

checks as (

    select
        *,
        coalesce(serving_tokens_per_dollar, 0) + training_tokens_per_dollar       as parts_sum
    from both_grains
    where throughput_per_dollar is not null

)

select
    'serving ' || coalesce(cast(serving_tokens_per_dollar as {{ dbt.type_string() }}), 'null')
        || ' + training ' || coalesce(cast(training_tokens_per_dollar as {{ dbt.type_string() }}), 'null')
        || ' <> throughput_per_dollar ' || cast(throughput_per_dollar as {{ dbt.type_string() }}) as failure,
    *
from checks
where parts_sum is null
    or abs(parts_sum - throughput_per_dollar) > 1e-9 * greatest(abs(throughput_per_dollar), 1e-12)

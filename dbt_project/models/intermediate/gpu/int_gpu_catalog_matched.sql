-- GPU model names as reported (inventory, job requests) matched to the gpu_catalog seed:
-- the exact model_name first, else the most specific (longest) match_pattern (case-insensitive).
-- A table (a few rows), built with the inventory and the jobs it reads: the expectations read it beside the marts,
-- on Spark too, whose views DuckDB cannot read (orchestration/spark_warehouse.py).
-- var `prices.gpu_hourly` ({model name: price per GPU-hour}, from the config file) overrides the seed's price
-- for a reported or catalog model name.
{%- set gpu_hourly = (var('prices', {}) or {}).get('gpu_hourly') or {} %}

with reported as (

    select model_name from {{ ref('stg_landing__gpu_inventory') }}
    union
    select gpu_model from {{ ref('int_jobs') }}
    union
    select model_name from {{ ref('gpu_catalog') }}

),

gpu_catalog as (

    select * from {{ ref('gpu_catalog') }}

),

candidates as (

    select
        reported.model_name,
        gpu_catalog.model_name                                   as catalog_model_name,
        gpu_catalog.memory_gb,
        gpu_catalog.tdp_w,
        gpu_catalog.hourly_price,
        gpu_catalog.currency,
        row_number() over (
            partition by reported.model_name
            order by
                case when reported.model_name = gpu_catalog.model_name then 0 else 1 end,
                length(gpu_catalog.match_pattern) desc,
                gpu_catalog.model_name
        )                                                        as match_rank
    from reported
    inner join gpu_catalog
        on reported.model_name = gpu_catalog.model_name
        or lower(reported.model_name) like lower(gpu_catalog.match_pattern)
    where reported.model_name is not null

),

final as (

    select
        model_name,
        catalog_model_name,
        memory_gb,
        tdp_w,
        {%- if gpu_hourly %}
        case
            {%- for model, price in gpu_hourly.items() %}
            {%- set quoted = "'" ~ (model | replace("'", "''")) ~ "'" %}
            when model_name = {{ quoted }} or catalog_model_name = {{ quoted }} then cast({{ price | float }} as double)
            {%- endfor %}
            else hourly_price
        end                                                      as hourly_price,
        {%- else %}
        hourly_price,
        {%- endif %}
        currency
    from candidates
    where match_rank = 1

)

select * from final

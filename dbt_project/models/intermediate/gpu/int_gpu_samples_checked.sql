-- Every telemetry reading of stg_landing__gpu_samples with whether it is physically possible: a reading outside
-- its metric's range (metric_catalog: min_value, max_value, and max_of_gpu x max_of_gpu_factor of the GPU's
-- model in gpu_catalog where the model is known, e.g. power above 1.5 x TDP, memory above capacity) is
-- implausible. int_gpu_minutes leaves implausible readings out of every number (a 150 % reading averaged with a
-- real 40 % one gives 95 %, in range and wrong); int_telemetry_daily counts them per GPU, day and metric, and the
-- GX check gx_readings_plausible (orchestration/defs/checks/mart_suites.py) reports them and blocks the deck
-- when they pass a share of a pool's readings.
-- A view: the incremental models filter the landing date through it, so DuckDB still opens only the run's files.
{{ config(materialized='view') }}

with samples as (

    select * from {{ ref('stg_landing__gpu_samples') }}

),

gpu_catalog as (

    select model_name, tdp_w, memory_gb from {{ ref('int_gpu_catalog_matched') }}

),

bounded as (

    select
        samples.*,
        case samples.max_of_gpu
            when 'tdp_w' then gpu_catalog.tdp_w
            when 'memory_gb' then gpu_catalog.memory_gb
        end * samples.max_of_gpu_factor                   as gpu_max_value
    from samples
    left join gpu_catalog
        on samples.model_name = gpu_catalog.model_name

),

final as (

    select
        *,
        -- an absent bound (null) never makes a reading implausible
        coalesce(value < min_value or value > max_value or value > gpu_max_value, false) as is_implausible
    from bounded

)

select * from final

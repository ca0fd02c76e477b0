-- One row per provisioned GPU per minute of a stage window, on every day that landed:
-- telemetry pivoted to canonical metrics, energy from the counter, and the jobs' allocation.
--
-- Incremental by day: the run's days (macros/incremental.sql; ISO, end exclusive) are built; the hive
-- `date` partition of gpu_samples is filtered so DuckDB opens only those files, and the model's
-- rows for those days are replaced whole (strategy replace_days, macros/incremental.sql). No window: every landed
-- day.
--
-- Decisions (documented in README.md):
--   * grid: GPUs of the inventory (plus any GPU that reported that day without being in it) x
--     the minutes of the day that fall in a stage window of the pool. A GPU-minute without a
--     sample stays in the grid with null telemetry: missing, not zero.
--   * readings outside their metric's physical range (int_gpu_samples_checked) are left out before any
--     mean; the grid and the GPUs seen still count them as landed.
--   * device-scope metrics (power, energy, temperature, clocks, GPU_UTIL) are repeated on every
--     MIG instance row by dcgm-exporter: deduplicated per (gpu_uuid, minute).
--   * activity_pct = GR_ENGINE_ACTIVE x 100 where present, else GPU_UTIL. Under MIG it is the sum
--     over instances of instance GR_ENGINE_ACTIVE x compute_slices / total_slices; memory (FB) is
--     summed over instances.
--   * energy_j = counter delta since the previous reading of the same day, scaled to one minute;
--     the first reading of a day, a counter reset (negative delta) or a GPU without a counter
--     fall back to power x 60 s. Partitioning the lag by day makes a re-run of one day give the
--     same rows as a full build.
--   * a job occupies a minute in proportion to the part of the minute it ran; allocated_share is
--     the sum of job shares capped at 1 (per-workload shares are scaled down the same way).
--
-- Its query runs on every core (DuckDB's default threads: `reset threads`), the rest of the warehouse on one
-- (dbt_project.yml, on-run-start): a day of 1,024 GPUs pivots ~40 % faster on two cores, while the marts' exact
-- p95s need the memory one thread leaves them. DuckDB's thread count is the process's: the post-hook sets it back.
{{
    config(
        materialized='incremental',
        tags=['daily'],
        incremental_strategy='replace_days',
        partition_by=day_partitions(),
        on_schema_change='sync_all_columns',
        pre_hook="{{ engine_threads('all') }}",
        post_hook="{{ engine_threads(1) }}",
    )
}}

{%- set bucket = var('bucket_seconds', 60) %}
{%- set shares = ['training', 'inference', 'development', 'evaluation', 'other'] %}
{%- set metrics = ['gr_engine_active_pct', 'gpu_util_pct', 'sm_active_pct', 'sm_occupancy_pct', 'tensor_active_pct',
                   'dram_active_pct', 'mem_copy_util_pct', 'power_w', 'gpu_temp_c', 'sm_clock_mhz', 'fb_used_gb',
                   'fb_free_gb', 'fb_reserved_gb', 'fb_total_gb'] %}

with samples as {{ cte_inlined() }} (

    select *
    from {{ ref('stg_landing__gpu_samples') }}
    where {{ date_window_filter('landing_date') }}

),

-- the same readings with their plausibility (a join on the GPU model): only the pivot needs it
checked_samples as {{ cte_inlined() }} (

    select *
    from {{ ref('int_gpu_samples_checked') }}
    where {{ date_window_filter('landing_date') }}

),

calendar as (

    select * from {{ ref('int_stage_calendar') }}

),

inventory as (

    select * from {{ ref('stg_landing__gpu_inventory') }}

),

allocations as (

    select * from {{ ref('int_job_gpu_allocations') }}

),

mig_profiles as (

    select * from {{ ref('mig_profiles') }}

),

-- one row: whether each metric is per MIG instance (summed over instances) or per device (averaged)
metric_is_per_instance as (

    select
        {%- for metric in metrics %}
        coalesce(bool_or(scope = 'instance') filter (where canonical_metric = '{{ metric }}'), false) as {{ metric }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('metric_catalog') }}

),

gpu_catalog as (

    select * from {{ ref('int_gpu_catalog_matched') }}

),

-- days (per pool) whose telemetry landed in this run's window
landed_days as (

    select distinct pool, landing_date as day
    from samples

),

run_bounds as (

    select
        cast(min(day) as {{ dbt.type_timestamp() }})                               as run_start,
        cast({{ dbt.dateadd('day', 1, 'max(day)') }} as {{ dbt.type_timestamp() }}) as run_end
    from landed_days

),

-- every minute of every landed day
day_minutes as (

    select
        pool,
        day,
        {{ timestamp_series('cast(day as ' ~ dbt.type_timestamp() ~ ')',
                            'cast(' ~ dbt.dateadd('day', 1, 'day') ~ ' as ' ~ dbt.type_timestamp() ~ ')',
                            "interval '" ~ bucket ~ " seconds'") }}                  as minute_ts
    from landed_days

),

stage_minutes as (

    select
        day_minutes.pool,
        day_minutes.day,
        day_minutes.minute_ts,
        calendar.stage_id,
        calendar.stage_key
    from day_minutes
    inner join calendar
        on day_minutes.pool = calendar.pool
        and day_minutes.minute_ts >= calendar.start_ts
        and day_minutes.minute_ts < calendar.end_ts_open

),

-- GPUs that reported on a day but are missing from the inventory still count that day
seen_gpus as (

    select
        pool,
        landing_date                                                             as day,
        gpu_uuid,
        max(hostname)                                                            as hostname,
        max(gpu_index)                                                           as gpu_index,
        max(model_name)                                                          as model_name
    from samples
    where gpu_uuid not in (select gpu_uuid from inventory)
    group by pool, landing_date, gpu_uuid

),

grid as (

    select
        inventory.pool,
        inventory.hostname,
        inventory.gpu_index,
        inventory.gpu_uuid,
        inventory.model_name,
        inventory.memory_gb,
        true                                                                     as in_inventory,
        stage_minutes.minute_ts,
        stage_minutes.stage_id,
        stage_minutes.stage_key
    from inventory
    inner join stage_minutes
        on inventory.pool = stage_minutes.pool

    union all

    select
        seen_gpus.pool,
        seen_gpus.hostname,
        seen_gpus.gpu_index,
        seen_gpus.gpu_uuid,
        seen_gpus.model_name,
        cast(null as double)                                                     as memory_gb,
        false                                                                    as in_inventory,
        stage_minutes.minute_ts,
        stage_minutes.stage_id,
        stage_minutes.stage_key
    from seen_gpus
    inner join stage_minutes
        on seen_gpus.pool = stage_minutes.pool
        and seen_gpus.day = stage_minutes.day

),

-- Readings pivoted once per GPU, minute and (MIG) instance: one scan of the readings, grouped by four keys,
-- one mean per metric (a five-key group-by of the long readings cost twice as much).
instance_minute as (

    select
        gpu_uuid,
        minute_ts,
        mig_profile,
        gpu_instance_id,
        bool_or(metric_scope = 'instance')                                       as has_instance_metric,
        {%- for metric in metrics %}
        avg(value) filter (where canonical_metric = '{{ metric }}')              as {{ metric }},
        {%- endfor %}
        max(value) filter (where canonical_metric = 'energy_j')                  as energy_counter_j
    from checked_samples
    where metric_scope in ('device', 'instance')
      and is_implausible is not true  -- a physically impossible reading enters no number (int_gpu_samples_checked)
    group by gpu_uuid, minute_ts, mig_profile, gpu_instance_id

),

instance_weighted as (

    select
        *,
        case
            when instance_minute.mig_profile is null then 1.0
            else coalesce(
                cast(mig_profiles.compute_slices as double) / mig_profiles.total_compute_slices,
                cast(regexp_extract(instance_minute.mig_profile, '^([0-9]+)g', 1) as double) / 7.0
            )
        end                                                                      as compute_weight
    from instance_minute
    left join mig_profiles
        on instance_minute.mig_profile = mig_profiles.profile

),

-- One row per GPU-minute. Device-scope metrics (repeated on every MIG instance row by dcgm-exporter) are
-- averaged over the instance rows; instance-scope metrics are summed over the instances, activities
-- weighted by the instance's compute slices.
pivoted as (

    select
        instance_weighted.gpu_uuid,
        instance_weighted.minute_ts,
        {%- for metric in metrics %}
        case
            when any_value(metric_is_per_instance.{{ metric }})
                then sum(instance_weighted.{{ metric }}{% if metric.endswith('_pct') %} * instance_weighted.compute_weight{% endif %})
            else avg(instance_weighted.{{ metric }})
        end                                                                      as {{ metric }},
        {%- endfor %}
        max(instance_weighted.energy_counter_j)                                  as energy_counter_j,
        bool_or(instance_weighted.has_instance_metric and instance_weighted.mig_profile is not null) as is_mig
    from instance_weighted
    cross join metric_is_per_instance
    group by instance_weighted.gpu_uuid, instance_weighted.minute_ts

),

counter_readings as (

    select
        gpu_uuid,
        minute_ts,
        energy_counter_j,
        lag(energy_counter_j) over (
            partition by gpu_uuid, cast(minute_ts as date) order by minute_ts
        )                                                                        as prev_counter_j,
        lag(minute_ts) over (
            partition by gpu_uuid, cast(minute_ts as date) order by minute_ts
        )                                                                        as prev_minute_ts
    from pivoted
    where energy_counter_j is not null

),

energy as (

    select
        pivoted.gpu_uuid,
        pivoted.minute_ts,
        case
            when counter_readings.energy_counter_j is null then 'power_no_counter'
            when counter_readings.prev_counter_j is null then 'power_first_reading'
            when counter_readings.energy_counter_j < counter_readings.prev_counter_j then 'power_counter_reset'
            else 'counter'
        end                                                                      as energy_method,
        case
            when counter_readings.prev_counter_j is null
                or counter_readings.energy_counter_j < counter_readings.prev_counter_j
                then pivoted.power_w * {{ bucket }}
            else (counter_readings.energy_counter_j - counter_readings.prev_counter_j)
                * {{ bucket }}
                / {{ seconds_between('counter_readings.prev_minute_ts', 'counter_readings.minute_ts') }}
        end                                                                      as energy_j
    from pivoted
    left join counter_readings
        on pivoted.gpu_uuid = counter_readings.gpu_uuid
        and pivoted.minute_ts = counter_readings.minute_ts

),

-- each job expanded to the minutes it ran within this run's days
job_minutes as (

    select
        allocations.job_id,
        allocations.gpu_uuid,
        allocations.workload_type,
        allocations.share,
        allocations.reserved_gb,
        allocations.is_mig,
        allocations.is_fractional,
        allocations.start_ts,
        allocations.end_ts_open,
        {{ timestamp_series(dbt.date_trunc('minute', 'greatest(allocations.start_ts, run_bounds.run_start)'),
                            'least(allocations.end_ts_open, run_bounds.run_end)',
                            "interval '" ~ bucket ~ " seconds'") }}                  as minute_ts
    from allocations
    cross join run_bounds
    where allocations.start_ts < run_bounds.run_end
      and allocations.end_ts_open > run_bounds.run_start

),

job_minutes_weighted as (

    select
        *,
        {{ overlap_seconds(
            'minute_ts',
            dbt.dateadd('second', bucket, 'minute_ts'),
            'start_ts',
            'end_ts_open'
        ) }} / {{ bucket }}.0                                                    as minute_fraction
    from job_minutes

),

minute_allocation as (

    select
        gpu_uuid,
        minute_ts,
        sum(share * minute_fraction)                                             as allocated_share_raw,
        {%- for wt in shares %}
        sum(case when {% if wt == 'other' %}workload_type not in ('training', 'inference', 'development', 'evaluation') or workload_type is null{% else %}workload_type = '{{ wt }}'{% endif %}
                 then share * minute_fraction else 0 end)                        as {{ wt }}_share_raw,
        {%- endfor %}
        sum(reserved_gb * minute_fraction)                                       as reserved_gb_raw,
        -- a job has one allocation row per GPU (tested: unique job_id, gpu_uuid) and each row one row per minute, so
        -- count(*) counts distinct jobs; count(distinct) cost a second grouping of every job-minute (~15 % of the model)
        count(*)                                                                 as job_count,
        max(case when is_mig then 1 else 0 end) = 1                              as has_mig_allocation,
        max(case when is_fractional then 1 else 0 end) = 1                       as has_fractional_allocation
    from job_minutes_weighted
    where minute_fraction > 0
    group by gpu_uuid, minute_ts

),

joined as (

    select
        grid.pool,
        grid.hostname,
        grid.gpu_index,
        grid.gpu_uuid,
        grid.model_name,
        grid.in_inventory,
        grid.minute_ts,
        cast(grid.minute_ts as date)                                             as date,
        grid.stage_id,
        grid.stage_key,
        pivoted.gpu_uuid is not null                                             as has_sample,
        coalesce(pivoted.is_mig, false) or coalesce(minute_allocation.has_mig_allocation, false) as is_mig,
        coalesce(pivoted.gr_engine_active_pct, pivoted.gpu_util_pct)             as activity_pct,
        case
            when pivoted.gr_engine_active_pct is not null then 'gr_engine_active'
            when pivoted.gpu_util_pct is not null then 'gpu_util'
        end                                                                      as activity_source,
        pivoted.gpu_util_pct,
        pivoted.gr_engine_active_pct,
        pivoted.sm_active_pct,
        pivoted.sm_occupancy_pct,
        pivoted.tensor_active_pct,
        pivoted.dram_active_pct,
        pivoted.mem_copy_util_pct,
        pivoted.power_w,
        energy.energy_j,
        energy.energy_method,
        pivoted.gpu_temp_c,
        pivoted.sm_clock_mhz,
        pivoted.fb_used_gb,
        pivoted.fb_free_gb,
        coalesce(
            grid.memory_gb,
            pivoted.fb_total_gb,
            gpu_catalog.memory_gb,
            pivoted.fb_used_gb + pivoted.fb_free_gb + coalesce(pivoted.fb_reserved_gb, 0)
        )                                                                        as fb_total_gb,
        coalesce(minute_allocation.allocated_share_raw, 0)                       as allocated_share_raw,
        {%- for wt in shares %}
        coalesce(minute_allocation.{{ wt }}_share_raw, 0)                        as {{ wt }}_share_raw,
        {%- endfor %}
        coalesce(minute_allocation.reserved_gb_raw, 0)                           as reserved_gb_raw,
        coalesce(minute_allocation.job_count, 0)                                 as job_count,
        coalesce(minute_allocation.has_mig_allocation, false)                    as has_mig_allocation,
        coalesce(minute_allocation.has_fractional_allocation, false)             as has_fractional_allocation
    from grid
    left join pivoted
        on grid.gpu_uuid = pivoted.gpu_uuid
        and grid.minute_ts = pivoted.minute_ts
    left join energy
        on grid.gpu_uuid = energy.gpu_uuid
        and grid.minute_ts = energy.minute_ts
    left join minute_allocation
        on grid.gpu_uuid = minute_allocation.gpu_uuid
        and grid.minute_ts = minute_allocation.minute_ts
    left join gpu_catalog
        on grid.model_name = gpu_catalog.model_name

),

final as (

    select
        pool,
        hostname,
        gpu_index,
        gpu_uuid,
        model_name,
        in_inventory,
        minute_ts,
        date,
        stage_id,
        stage_key,
        has_sample,
        is_mig,
        activity_pct,
        activity_source,
        gpu_util_pct,
        gr_engine_active_pct,
        sm_active_pct,
        sm_occupancy_pct,
        tensor_active_pct,
        dram_active_pct,
        mem_copy_util_pct,
        power_w,
        energy_j,
        energy_method,
        gpu_temp_c,
        sm_clock_mhz,
        fb_used_gb,
        fb_free_gb,
        fb_total_gb,
        least(allocated_share_raw, 1.0)                                          as allocated_share,
        allocated_share_raw,
        {%- for wt in shares %}
        {{ wt }}_share_raw / greatest(allocated_share_raw, 1.0)                  as {{ wt }}_share,
        {%- endfor %}
        least(reserved_gb_raw, coalesce(fb_total_gb, reserved_gb_raw))           as reserved_gb,
        job_count,
        has_mig_allocation,
        has_fractional_allocation,
        case
            when allocated_share_raw <= 0 then null
            {%- for wt in shares %}
            when {{ wt }}_share_raw = greatest({% for w in shares %}{{ w }}_share_raw{% if not loop.last %}, {% endif %}{% endfor %}) then '{{ wt }}'
            {%- endfor %}
        end                                                                      as dominant_workload_type
    from joined

)

select * from final

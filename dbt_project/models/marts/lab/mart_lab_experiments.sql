-- One row per experiment phase (the H200 lab and any other controlled run), with the telemetry of its
-- GPU recomputed from the raw gpu_samples over the phase's measured span (window when set, else the
-- whole phase), not taken from the log's own energy/power fields:
--   energy_j       energy counter (canonical J) over the span, linearly interpolated between the
--                  readings around each end: every pair of consecutive counter readings contributes its
--                  delta x the share of the pair's interval inside the span. A negative delta (counter
--                  reset) contributes nothing; energy_counter_coverage = covered seconds / span seconds.
--   power_w, gpu_util_pct, sm_active_pct, gr_engine_active_pct, tensor_active_pct:
--                  means of the readings with measure_start_ts <= ts < measure_end_ts.
--   work_per_s     work_done / span seconds; work_per_joule = work_done / energy_j.
--   phase_energy_j / phase_power_w: the same counter over the whole phase [start_ts, end_ts), to
--                  compare with what the log recorded.
-- Only the experiments' pools and days are read: the day range is inlined as constants so that DuckDB
-- prunes the hive partitions of gpu_samples (one day either side, for the readings around the ends).

{%- set day_filter = "1 = 0" -%}
{%- if execute -%}
    {%- set bounds = run_query(
        "select cast(min(start_ts) as date) - 1, cast(max(end_ts) as date) + 1 from "
        ~ ref('stg_landing__experiments')) -%}
    {%- set first_day = bounds.columns[0].values()[0] -%}
    {%- set last_day = bounds.columns[1].values()[0] -%}
    {%- if first_day is not none -%}
        {%- set day_filter = "landing_date between cast('" ~ first_day ~ "' as date) and cast('"
                             ~ last_day ~ "' as date)" -%}
    {%- endif -%}
{%- endif %}

with experiments as (

    select * from {{ ref('stg_landing__experiments') }}

),

samples as (

    select
        pool,
        gpu_uuid,
        sample_ts,
        canonical_metric,
        -- device metrics repeat on every MIG instance row: one value per GPU, metric and reading
        max(value)                                                   as value,
        bool_or({{ is_simulated_source('telemetry_source') }})       as simulated
    from {{ ref('stg_landing__gpu_samples') }}
    where {{ day_filter }}
      and pool in (select distinct pool from experiments)
      and canonical_metric in ('energy_j', 'power_w', 'gpu_util_pct', 'sm_active_pct',
                               'gr_engine_active_pct', 'tensor_active_pct')
    group by pool, gpu_uuid, sample_ts, canonical_metric

),

-- The tier of the lab's numbers: 实验室实测 from a real GPU, 仿真 when its readings come from a simulated source.
pool_tiers as (

    select
        pool,
        case when bool_or(simulated) then '仿真' else '实验室实测' end  as evidence_tier
    from samples
    group by pool

),

counter_pairs as (

    select
        pool,
        gpu_uuid,
        sample_ts                                                    as pair_start,
        lead(sample_ts) over (partition by pool, gpu_uuid order by sample_ts) as pair_end,
        value                                                        as energy_start,
        lead(value) over (partition by pool, gpu_uuid order by sample_ts)     as energy_end
    from samples
    where canonical_metric = 'energy_j'

),

spans as (

    select experiment_id, phase, pool, gpu_uuid, 'measure' as span,
           measure_start_ts as span_start, measure_end_ts as span_end
    from experiments
    union all
    select experiment_id, phase, pool, gpu_uuid, 'phase' as span,
           start_ts as span_start, end_ts as span_end
    from experiments

),

span_energy as (

    select
        spans.experiment_id,
        spans.phase,
        spans.span,
        sum(case when counter_pairs.energy_end >= counter_pairs.energy_start
                 then (counter_pairs.energy_end - counter_pairs.energy_start)
                      * {{ overlap_seconds('counter_pairs.pair_start', 'counter_pairs.pair_end',
                                           'spans.span_start', 'spans.span_end') }}
                      / nullif({{ seconds_between('counter_pairs.pair_start', 'counter_pairs.pair_end') }}, 0)
            end)                                                     as energy_j,
        sum({{ overlap_seconds('counter_pairs.pair_start', 'counter_pairs.pair_end',
                               'spans.span_start', 'spans.span_end') }}) as covered_s
    from spans
    inner join counter_pairs
        on spans.pool = counter_pairs.pool
       and spans.gpu_uuid = counter_pairs.gpu_uuid
       and counter_pairs.pair_end > spans.span_start
       and counter_pairs.pair_start < spans.span_end
    group by spans.experiment_id, spans.phase, spans.span

),

gauges as (

    select
        experiments.experiment_id,
        experiments.phase,
        count(case when samples.canonical_metric = 'power_w' then 1 end)                  as power_readings,
        avg(case when samples.canonical_metric = 'power_w' then samples.value end)        as power_w,
        avg(case when samples.canonical_metric = 'gpu_util_pct' then samples.value end)   as gpu_util_pct,
        avg(case when samples.canonical_metric = 'sm_active_pct' then samples.value end)  as sm_active_pct,
        avg(case when samples.canonical_metric = 'gr_engine_active_pct' then samples.value end)
                                                                                          as gr_engine_active_pct,
        avg(case when samples.canonical_metric = 'tensor_active_pct' then samples.value end)
                                                                                          as tensor_active_pct
    from experiments
    inner join samples
        on experiments.pool = samples.pool
       and experiments.gpu_uuid = samples.gpu_uuid
       and samples.sample_ts >= experiments.measure_start_ts
       and samples.sample_ts < experiments.measure_end_ts
    where samples.canonical_metric <> 'energy_j'
    group by experiments.experiment_id, experiments.phase

),

final as (

    select
        experiments.experiment_id,
        experiments.pool,
        experiments.phase,
        experiments.factor,
        experiments.variant,
        experiments.hostname,
        experiments.gpu_uuid,
        experiments.model_name,
        experiments.status,
        experiments.start_ts,
        experiments.end_ts,
        experiments.measure_start_ts,
        experiments.measure_end_ts,
        experiments.window_start_ts is not null                                     as has_window,
        {{ seconds_between('experiments.start_ts', 'experiments.end_ts') }}          as duration_s,
        {{ seconds_between('experiments.measure_start_ts', 'experiments.measure_end_ts') }} as window_s,
        experiments.work_unit,
        experiments.work_done,
        experiments.reported_rate_per_s,
        gauges.power_readings,
        measure_energy.energy_j,
        {{ safe_divide('measure_energy.covered_s',
                       seconds_between('experiments.measure_start_ts', 'experiments.measure_end_ts')) }}
                                                                                     as energy_counter_coverage,
        gauges.power_w,
        {{ safe_divide('measure_energy.energy_j',
                       seconds_between('experiments.measure_start_ts', 'experiments.measure_end_ts')) }}
                                                                                     as energy_power_w,
        gauges.gpu_util_pct,
        gauges.sm_active_pct,
        gauges.gr_engine_active_pct,
        gauges.tensor_active_pct,
        {{ safe_divide('experiments.work_done',
                       seconds_between('experiments.measure_start_ts', 'experiments.measure_end_ts')) }}
                                                                                     as work_per_s,
        {{ safe_divide('experiments.work_done', 'measure_energy.energy_j') }}        as work_per_joule,
        coalesce(pool_tiers.evidence_tier, '实验室实测')                             as evidence_tier,
        phase_energy.energy_j                                                        as phase_energy_j,
        {{ safe_divide('phase_energy.energy_j',
                       seconds_between('experiments.start_ts', 'experiments.end_ts')) }} as phase_power_w
    from experiments
    left join gauges
        on experiments.experiment_id = gauges.experiment_id
       and experiments.phase = gauges.phase
    left join pool_tiers
        on experiments.pool = pool_tiers.pool
    left join span_energy as measure_energy
        on experiments.experiment_id = measure_energy.experiment_id
       and experiments.phase = measure_energy.phase
       and measure_energy.span = 'measure'
    left join span_energy as phase_energy
        on experiments.experiment_id = phase_energy.experiment_id
       and experiments.phase = phase_energy.phase
       and phase_energy.span = 'phase'

)

select * from final

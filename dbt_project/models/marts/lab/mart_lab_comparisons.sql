-- One row per experiment and lab comparison (treatment vs baseline phase of the same factor), numeric
-- only: throughput, work per joule and power ratios (treatment / baseline) and each side's activity.
-- throughput_ratio uses work_per_s (work over the measured window, mart_lab_experiments);
-- reported_rate_ratio uses the rates the workloads reported themselves, for comparison.
-- A comparison whose two phases are not both present for an experiment yields no row.

with experiments as (

    select * from {{ ref('mart_lab_experiments') }}

),

comparisons as (

    select 'batching' as factor, 'batch=128' as treatment_variant, 'batch=1' as baseline_variant
    union all
    select 'precision', 'bf16', 'fp32'
    union all
    select 'time_slicing', 'processes=4', 'processes=1'
    union all
    select 'data_loading', 'staged', 'slow_loader'

),

final as (

    select
        treatment.experiment_id,
        treatment.pool,
        comparisons.factor,
        comparisons.treatment_variant,
        comparisons.baseline_variant,
        treatment.phase                                                          as treatment_phase,
        baseline.phase                                                           as baseline_phase,
        treatment.work_unit,
        treatment.evidence_tier,
        treatment.work_per_s                                                     as treatment_work_per_s,
        baseline.work_per_s                                                      as baseline_work_per_s,
        {{ safe_divide('treatment.work_per_s', 'baseline.work_per_s') }}          as throughput_ratio,
        treatment.reported_rate_per_s                                            as treatment_reported_rate_per_s,
        baseline.reported_rate_per_s                                             as baseline_reported_rate_per_s,
        {{ safe_divide('treatment.reported_rate_per_s', 'baseline.reported_rate_per_s') }} as reported_rate_ratio,
        treatment.work_per_joule                                                 as treatment_work_per_joule,
        baseline.work_per_joule                                                  as baseline_work_per_joule,
        {{ safe_divide('treatment.work_per_joule', 'baseline.work_per_joule') }}  as work_per_joule_ratio,
        treatment.power_w                                                        as treatment_power_w,
        baseline.power_w                                                         as baseline_power_w,
        {{ safe_divide('treatment.power_w', 'baseline.power_w') }}                as power_ratio,
        treatment.gpu_util_pct                                                   as treatment_gpu_util_pct,
        baseline.gpu_util_pct                                                    as baseline_gpu_util_pct,
        treatment.sm_active_pct                                                  as treatment_sm_active_pct,
        baseline.sm_active_pct                                                   as baseline_sm_active_pct,
        treatment.tensor_active_pct                                              as treatment_tensor_active_pct,
        baseline.tensor_active_pct                                               as baseline_tensor_active_pct
    from comparisons
    inner join experiments as treatment
        on treatment.factor = comparisons.factor
       and treatment.variant = comparisons.treatment_variant
    inner join experiments as baseline
        on baseline.experiment_id = treatment.experiment_id
       and baseline.factor = comparisons.factor
       and baseline.variant = comparisons.baseline_variant

)

select * from final

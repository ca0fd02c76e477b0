-- One row per pool and stage: the ten metrics of DESIGN.md's metric dictionary, exactly named, with their p95
-- companions, SM-active, allocation, throughput per dollar split into serving and training tokens, the cost and
-- GPUs it is counted over, and the raw totals they are built from. The computation (and its decisions) is the
-- macro stage_window_metrics (macros/stage_metrics.sql), shared with mart_stage_day_metrics (one row per day).

{{ stage_window_metrics(
    windows_relation=ref('int_stage_windows'),
    serving_relation=ref('int_serving_stage_metrics'),
    grain=['pool', 'stage_id'],
) }}

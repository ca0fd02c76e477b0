-- One row per pool, stage and UTC day (`date`) with serving-engine metrics over that day of the stage window:
-- int_serving_stage_metrics at the day grain (the same macro, serving_window_metrics), for mart_stage_day_metrics.

{{ serving_window_metrics(windows_relation=ref('int_stage_day_windows'), grain=['pool', 'stage_id', 'date']) }}

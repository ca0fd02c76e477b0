-- One row per pool and stage window with serving-engine metrics: what mart_stage_metrics and mart_inference
-- take when a stage has no request log (and what the agreement test compares with the request log when it
-- has one). The computation and its decisions: the macro serving_window_metrics (macros/serving_metrics.sql),
-- shared with int_serving_stage_day_metrics (one row per day of a stage).

{{ serving_window_metrics(windows_relation=ref('int_stage_windows'), grain=['pool', 'stage_id']) }}

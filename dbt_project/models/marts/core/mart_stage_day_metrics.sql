-- One row per pool, stage and UTC day of the stage window (`date`, the day the pipeline partitions by): the
-- metrics of mart_stage_metrics computed over that day alone, by the same macro (stage_window_metrics,
-- macros/stage_metrics.sql) over int_stage_day_windows. mart_stage_comparison reads the day-to-day spread of
-- each metric from here. A day's window is the part of the stage window inside that day.

{{ stage_window_metrics(
    windows_relation=ref('int_stage_day_windows'),
    serving_relation=ref('int_serving_stage_day_metrics'),
    grain=['pool', 'stage_id', 'date'],
) }}

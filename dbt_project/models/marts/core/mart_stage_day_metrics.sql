-- One row per pool, stage and UTC day of the stage window (`date`, the day the pipeline partitions by): the
-- metrics of mart_stage_metrics computed over that day alone, by the same macro (stage_window_metrics,
-- macros/stage_metrics.sql) over int_stage_day_windows. mart_stage_comparison reads the day-to-day spread of
-- each metric from here. A day's window is the part of the stage window inside that day.
--
-- Built after mart_stage_metrics, never beside it (dbt runs two nodes at a time): each holds every GPU-minute of
-- its windows in memory for its exact p95s, and the two together ran out of the 3 GB DuckDB bound on the large
-- scenario's refresh of day 30 (`make bench`).
-- depends_on: {{ ref('mart_stage_metrics') }}

{{ stage_window_metrics(
    windows_relation=ref('int_stage_day_windows'),
    serving_relation=ref('int_serving_stage_day_metrics'),
    grain=['pool', 'stage_id', 'date'],
) }}

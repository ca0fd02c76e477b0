{#- The run's days (ISO dates, end exclusive): environment variables GPU_EFF_RUN_START / GPU_EFF_RUN_END when set
    (Dagster sets them for each dbt command of a run), else vars start_date / end_date (a dbt command by hand). An
    absent bound is open, so neither means "every day that landed". The pipeline passes the days as environment
    variables, not vars, because changed vars void dbt's partial parsing (a full parse, ~12 s, in every daily
    run) and a changed environment variable re-parses only what reads it. -#}
{% macro run_start_date() -%}
    {{ return(env_var('GPU_EFF_RUN_START', '') or var('start_date', none)) }}
{%- endmacro %}

{% macro run_end_date() -%}
    {{ return(env_var('GPU_EFF_RUN_END', '') or var('end_date', none)) }}
{%- endmacro %}


{#- The days an incremental model builds: environment variables GPU_EFF_BUILD_START / GPU_EFF_BUILD_END when set (a
    rebuild of many days builds them a few at a time, each within the run's memory bound), else the run's days.
    Apply it to the hive `date` partition column of a landing source so DuckDB prunes files. -#}
{% macro date_window_filter(date_column) -%}
    {{ days_filter(date_column, build_start_date(), build_end_date()) }}
{%- endmacro %}

{% macro build_start_date() -%}
    {{ return(env_var('GPU_EFF_BUILD_START', '') or run_start_date()) }}
{%- endmacro %}

{% macro build_end_date() -%}
    {{ return(env_var('GPU_EFF_BUILD_END', '') or run_end_date()) }}
{%- endmacro %}


{#- The run's days (every day without them): what the tests of daily data check. -#}
{% macro run_days_filter(date_column) -%}
    {{ days_filter(date_column, run_start_date(), run_end_date()) }}
{%- endmacro %}


{% macro days_filter(date_column, start_date, end_date) -%}
    {%- if start_date is none and end_date is none -%}
        (1 = 1)
    {%- else -%}
        ({%- if start_date is not none -%}{{ date_column }} >= cast('{{ start_date }}' as date){%- else -%}(1 = 1){%- endif %}
         and {% if end_date is not none -%}{{ date_column }} < cast('{{ end_date }}' as date){%- else -%}(1 = 1){%- endif -%})
    {%- endif -%}
{%- endmacro %}


{#- Incremental strategy `replace_days` (incremental_strategy='replace_days') of the models incremental by day: the days
    being built (the window of date_window_filter) are deleted, then the new rows inserted, so they replace those days
    whole. `delete+insert` on `date` deletes only the days the new rows have: a day re-landed with no row left
    (telemetry withdrawn, pods without labels) kept its old rows. -#}
{% macro get_incremental_replace_days_sql(arg_dict) -%}
    delete from {{ arg_dict['target_relation'] }} where {{ date_window_filter('date') }};
    {{ get_insert_into_sql(arg_dict['target_relation'], arg_dict['temp_relation'], arg_dict['dest_columns']) }}
{%- endmacro %}


{#- replace_days on Spark, whose Parquet tables have no DELETE: the partitions (`partition_by='date'`) of the window are
    dropped, then the new rows appended. (insert_overwrite would keep a day of the window that has no new row.)
    dbt-spark's incremental materialization calls these two by name; other strategies go to dbt-spark's own. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy == 'replace_days' -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt_spark.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{% endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy != 'replace_days' -%}
        {{ return(dbt_spark.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key,
                                                          incremental_predicates)) }}
    {%- endif -%}
    {%- set start = build_start_date() -%}
    {%- set end = build_end_date() -%}
    {%- for row in run_query('show partitions ' ~ target) -%}
        {%- set day = row[0].split('=', 1)[1] -%}
        {%- if (start is none or day >= start | string) and (end is none or day < end | string) -%}
            {%- do run_query("alter table " ~ target ~ " drop if exists partition (date = '" ~ day ~ "')") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ get_insert_into_sql(source, target) }}
{% endmacro %}


{#- The partitioning (partition_by) of the models incremental by day: their `date` on Spark, whose replace_days works
    on partitions; none on DuckDB, which deletes the days' rows (and warns of a partition_by outside DuckLake). -#}
{% macro day_partitions() -%}
    {{ return(adapter.dispatch('day_partitions')()) }}
{%- endmacro %}

{% macro default__day_partitions() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__day_partitions() -%}
    {{ return(['date']) }}
{%- endmacro %}

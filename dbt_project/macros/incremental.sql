{#- The days an incremental model builds: environment variables GPU_EFF_BUILD_START / GPU_EFF_BUILD_END when set (a
    rebuild of many days builds them a few at a time, each within the run's memory bound), else the run's days, vars
    start_date / end_date (ISO dates, end exclusive). An absent bound is open, so no vars means "every day that
    landed". The chunk's bounds are environment variables, not vars, because changed vars void dbt's partial
    parsing (a full parse per chunk) and a changed environment variable does not.
    Apply it to the hive `date` partition column of a landing source so DuckDB prunes files. -#}

{% macro date_window_filter(date_column) -%}
    {{ days_filter(date_column, env_var('GPU_EFF_BUILD_START', '') or var('start_date', none),
                   env_var('GPU_EFF_BUILD_END', '') or var('end_date', none)) }}
{%- endmacro %}


{#- The run's days (vars start_date / end_date; every day without them): what the tests of daily data check. -#}
{% macro run_days_filter(date_column) -%}
    {{ days_filter(date_column, var('start_date', none), var('end_date', none)) }}
{%- endmacro %}


{% macro days_filter(date_column, start_date, end_date) -%}
    {%- if start_date is none and end_date is none -%}
        (1 = 1)
    {%- else -%}
        ({%- if start_date is not none -%}{{ date_column }} >= cast('{{ start_date }}' as date){%- else -%}(1 = 1){%- endif %}
         and {% if end_date is not none -%}{{ date_column }} < cast('{{ end_date }}' as date){%- else -%}(1 = 1){%- endif -%})
    {%- endif -%}
{%- endmacro %}


{#- Same window as timestamps, for filtering event time columns (e.g. stage windows) to the run. -#}
{% macro window_start_ts() -%}
    {%- set start_date = var('start_date', none) -%}
    {%- if start_date is none -%}cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }})
    {%- else -%}cast('{{ start_date }} 00:00:00' as {{ dbt.type_timestamp() }}){%- endif -%}
{%- endmacro %}

{% macro window_end_ts() -%}
    {%- set end_date = var('end_date', none) -%}
    {%- if end_date is none -%}{{ open_end() }}
    {%- else -%}cast('{{ end_date }} 00:00:00' as {{ dbt.type_timestamp() }}){%- endif -%}
{%- endmacro %}

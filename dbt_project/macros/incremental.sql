{#- The day window of an incremental run, from vars start_date / end_date (ISO dates, end exclusive).
    Either may be absent: an absent bound is open, so no vars means "every day that landed".
    Apply it to the hive `date` partition column of a landing source so DuckDB prunes files. -#}

{% macro date_window_filter(date_column) -%}
    {%- set start_date = var('start_date', none) -%}
    {%- set end_date = var('end_date', none) -%}
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

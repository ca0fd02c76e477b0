{#- Where DuckDB's SQL and Spark SQL differ. The models call these macros, never an engine's own syntax
    (tests/dbt/test_engine_portability.py lints for it): DuckDB's SQL is the default, Spark's the `spark__` variant. -#}


{#- One row per timestamp in [start, stop) stepping by `step` (an interval literal): a set-returning expression in a
    select list. None when start >= stop. -#}
{% macro timestamp_series(start, stop, step) -%}
    {{ return(adapter.dispatch('timestamp_series')(start, stop, step)) }}
{%- endmacro %}

{% macro default__timestamp_series(start, stop, step) -%}
    unnest(range({{ start }}, {{ stop }}, {{ step }}))
{%- endmacro %}

{#- sequence() includes its end and raises when start > stop: the last step is dropped, and an empty range yields
    no array (explode of null: no row). -#}
{% macro spark__timestamp_series(start, stop, step) -%}
    explode(case when ({{ start }}) < ({{ stop }})
                 then filter(sequence({{ start }}, {{ stop }}, {{ step }}), series_ts -> series_ts < ({{ stop }})) end)
{%- endmacro %}


{#- One row per element of an array column, in a select list. -#}
{% macro unnest_array(column) -%}
    {{ return(adapter.dispatch('unnest_array')(column)) }}
{%- endmacro %}

{% macro default__unnest_array(column) -%}
    unnest({{ column }})
{%- endmacro %}

{% macro spark__unnest_array(column) -%}
    explode({{ column }})
{%- endmacro %}


{#- The distinct values of an aggregate's column (never null) as a sorted array. -#}
{% macro sorted_distinct_array(column) -%}
    {{ return(adapter.dispatch('sorted_distinct_array')(column)) }}
{%- endmacro %}

{% macro default__sorted_distinct_array(column) -%}
    list(distinct {{ column }} order by {{ column }})
{%- endmacro %}

{% macro spark__sorted_distinct_array(column) -%}
    array_sort(collect_set({{ column }}))
{%- endmacro %}


{#- `not materialized` after a CTE's `as`: DuckDB then inlines the CTE into each reference, so each reads only the
    columns and days it needs (other engines inline CTEs by default and have no such keyword). -#}
{% macro cte_inlined() -%}
    {{ return(adapter.dispatch('cte_inlined')()) }}
{%- endmacro %}

{% macro default__cte_inlined() -%}{%- endmacro %}

{% macro duckdb__cte_inlined() -%}
    not materialized
{%- endmacro %}


{#- DuckDB's threads for the queries that follow (a hook's SQL): `all` for every core. Other engines size their
    own work: no statement. -#}
{% macro engine_threads(count) -%}
    {{ return(adapter.dispatch('engine_threads')(count)) }}
{%- endmacro %}

{% macro default__engine_threads(count) -%}{%- endmacro %}

{% macro duckdb__engine_threads(count) -%}
    {%- if count == 'all' -%} reset threads {%- else -%} set threads = {{ count }} {%- endif -%}
{%- endmacro %}


{#- dbt.listagg with its order_by_clause kept: dbt-spark's ignores it. Sorts the aggregated values, so on Spark the
    clause may only order by the measure itself (as every model does). -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause and order_by_clause | replace('order by', '') | trim != measure | trim -%}
        {%- do exceptions.raise_compiler_error("listagg on Spark orders by its measure only, not: " ~ order_by_clause) -%}
    {%- endif -%}
    concat_ws({{ delimiter_text }}, array_sort(collect_list({{ measure }})))
{%- endmacro %}


{#- The columns of `relation` but `except`, each prefixed with `alias`: `alias.* exclude (...)` in portable SQL
    (as dbt_utils.star, which `dbt deps` cannot fetch here). -#}
{% macro star_except(relation, except, alias) -%}
    {%- if not execute -%}{{ return(alias ~ '.*') }}{%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower')
                    | reject('in', except | map('lower') | list) | list -%}
    {%- for name in names %}{{ alias }}.{{ name }}{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}


{#- The number of elements of an array (null for a null array). -#}
{% macro array_size(column) -%}
    {{ return(adapter.dispatch('array_size')(column)) }}
{%- endmacro %}

{% macro default__array_size(column) -%}
    array_length({{ column }})
{%- endmacro %}

{% macro spark__array_size(column) -%}
    array_size({{ column }})
{%- endmacro %}


{#- dbt.dateadd on Spark: dbt-spark's goes through unix seconds and a string cast, which fails on TIMESTAMP_NTZ. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}


{#- dbt.type_float(): `float` is double precision on most warehouses (Postgres, Snowflake, BigQuery's FLOAT64) but
    single precision on DuckDB and Spark, where a ratio of two then differs by ~1e-7 between the engines (DuckDB
    divides floats in single precision, Spark in double) and a mart's value keeps only ~7 digits. -#}
{% macro duckdb__type_float() -%}
    {{ return('double') }}
{%- endmacro %}

{% macro spark__type_float() -%}
    {{ return('double') }}
{%- endmacro %}

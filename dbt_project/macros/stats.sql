{#- Continuous percentile as an ordered-set aggregate (ANSI; DuckDB, Postgres, Trino via dispatch). -#}
{% macro percentile(expr, p) -%}
    {{ return(adapter.dispatch('percentile')(expr, p)) }}
{%- endmacro %}

{% macro default__percentile(expr, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expr }})
{%- endmacro %}


{#- a / b, null when b is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    (({{ numerator }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

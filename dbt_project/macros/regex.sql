{#- true when the whole of `column` matches the regular expression `pattern`. -#}
{% macro regex_full_match(column, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match')(column, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(column, pattern) -%}
    regexp_like({{ column }}, '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__regex_full_match(column, pattern) -%}
    regexp_full_match({{ column }}, '{{ pattern }}')
{%- endmacro %}

{#- Spark unescapes backslashes in string literals: a pattern's own backslashes are doubled to reach the regex. -#}
{% macro spark__regex_full_match(column, pattern) -%}
    regexp_like({{ column }}, '^(?:{{ pattern | replace("\\", "\\\\") }})$')
{%- endmacro %}

{#- Whether a landing `source` value is simulated (var simulated_sources): such data has the evidence tier 仿真,
    never a measured tier. -#}
{% macro is_simulated_source(column) -%}
    {{ column }} in ('{{ var("simulated_sources") | join("', '") }}')
{%- endmacro %}

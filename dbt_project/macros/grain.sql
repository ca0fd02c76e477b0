{#- Helpers for models computed at more than one grain (a stage, a day of a stage): `grain` is the list of key
    columns, e.g. ['pool', 'stage_id'] or ['pool', 'stage_id', 'date']. -#}

{#- `left.k = right.k and ...` over the grain's keys. -#}
{% macro grain_join(left, right, grain) -%}
    {%- for key in grain %}{{ left }}.{{ key }} = {{ right }}.{{ key }}{% if not loop.last %} and {% endif %}{% endfor -%}
{%- endmacro %}


{#- The grain's keys as a select or group-by list, each prefixed with `relation.` when one is given. -#}
{% macro grain_columns(grain, relation=none) -%}
    {%- for key in grain %}{% if relation %}{{ relation }}.{% endif %}{{ key }}{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}


{#- The keys of the grain below (pool, stage): `date` for the day grain; none for the stage grain. -#}
{% macro grain_extra_keys(grain) -%}
    {{ return(grain | reject('in', ['pool', 'stage_id']) | list) }}
{%- endmacro %}

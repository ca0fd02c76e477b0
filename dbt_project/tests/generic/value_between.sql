{#- Fails with every row whose value lies outside [min_value, max_value] (nulls pass; use not_null).
    Either bound may be omitted. A small tolerance absorbs floating-point noise.
    Each failing row says what is wrong (`failure`) and carries the model's own columns (gpu_uuid,
    minute_ts, pool, ...) so the stored failures name where. -#}
{% test value_between(model, column_name, min_value=none, max_value=none, tolerance=0.000001) %}
    select
        '{{ column_name }} = ' || cast({{ column_name }} as {{ dbt.type_string() }})
            || ' outside [{{ min_value }}, {{ max_value }}]'                  as failure,
        {{ column_name }}                                                     as failing_value,
        *
    from {{ model }}
    where {{ column_name }} is not null
      and (
        {%- if min_value is not none %} {{ column_name }} < {{ min_value }} - {{ tolerance }}{% else %} false{% endif %}
        or
        {%- if max_value is not none %} {{ column_name }} > {{ max_value }} + {{ tolerance }}{% else %} false{% endif %}
      )
{% endtest %}

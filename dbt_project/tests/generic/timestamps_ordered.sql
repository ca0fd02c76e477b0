{#- column_name must not come after later_column on any row (start <= end; strictly before when
    allow_equal is false). Rows where either is null pass. Failing rows say which two timestamps are
    out of order and carry the model's own columns (ids) to name the row. -#}
{% test timestamps_ordered(model, column_name, later_column, allow_equal=true) %}
    select
        '{{ column_name }} ' || cast({{ column_name }} as {{ dbt.type_string() }})
            || ' is after {{ later_column }} ' || cast({{ later_column }} as {{ dbt.type_string() }}) as failure,
        *
    from {{ model }}
    where {{ column_name }} is not null
      and {{ later_column }} is not null
      and {{ column_name }} {{ '>' if allow_equal else '>=' }} {{ later_column }}
{% endtest %}

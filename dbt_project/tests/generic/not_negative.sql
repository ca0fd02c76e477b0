{#- Fails with every row where the column is below zero (nulls pass), with what is wrong (`failure`)
    and the model's own columns, so the stored failures name the offending rows. -#}
{% test not_negative(model, column_name) %}
    select
        '{{ column_name }} = ' || cast({{ column_name }} as {{ dbt.type_string() }}) || ' is negative' as failure,
        {{ column_name }}                                                     as failing_value,
        *
    from {{ model }}
    where {{ column_name }} < 0
{% endtest %}

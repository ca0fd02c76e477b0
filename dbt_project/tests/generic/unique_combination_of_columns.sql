{#- Fails with one row per duplicated key: the columns together identify a row. The failing row
    names the key and how many rows share it (n_records). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') %}
    select
        'key ({{ columns_csv }}) appears ' || cast(count(*) as {{ dbt.type_string() }}) || ' times' as failure,
        {{ columns_csv }},
        count(*) as n_records
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}

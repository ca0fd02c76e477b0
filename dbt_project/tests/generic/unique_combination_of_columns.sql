{#- Fails with one row per duplicated key: the columns together identify a row. The failing row
    names the key and how many rows share it (n_records).
    The keys are hashed first (DuckDB's hash) and only the hashes seen twice are grouped by their
    columns: grouping 20 M readings a day by five columns at once needs several times the memory. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') %}
    with repeated_hashes as (
        select hash({{ columns_csv }}) as key_hash
        from {{ model }}
        group by key_hash
        having count(*) > 1
    )
    select
        'key ({{ columns_csv }}) appears ' || cast(count(*) as {{ dbt.type_string() }}) || ' times' as failure,
        {{ columns_csv }},
        count(*) as n_records
    from {{ model }}
    where hash({{ columns_csv }}) in (select key_hash from repeated_hashes)
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}

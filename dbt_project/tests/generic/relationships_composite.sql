{#- Every key (columns, non-null) of the model exists in `to` (same column names there): a
    composite-key relationships test, e.g. (pool, stage_id) of a mart in int_stage_windows.
    Fails with one row per missing key and the number of rows that carry it. -#}
{% test relationships_composite(model, to, columns) %}
    {%- set columns_csv = columns | join(', ') %}
    select
        'key ({{ columns_csv }}) has no row in {{ to.identifier }}'           as failure,
        {% for c in columns %}child.{{ c }}, {% endfor %}
        count(*)                                                              as n_records
    from (select * from {{ model }}) as child  -- the model may come filtered: (select ...) dbt_subquery
    where {% for c in columns %}child.{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
      and not exists (
        select 1 from {{ to }} as parent
        where {% for c in columns %}parent.{{ c }} = child.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
      )
    group by {% for c in columns %}child.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
{% endtest %}

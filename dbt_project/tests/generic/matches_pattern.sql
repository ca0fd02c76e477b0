{#- Accepted values as a grammar, for open sets that dbt's accepted_values cannot list, e.g. MIG
    profiles ("3g.40gb", "1g.10gb+me"): the models read compute slices and memory from the name when
    the mig_profiles seed lacks it, so a name that does not parse would silently give nulls.
    Fails with every non-null value that does not match the whole pattern (a regular expression). -#}
{% test matches_pattern(model, column_name, pattern) %}
    select
        '{{ column_name }} ''' || {{ column_name }} || ''' does not match {{ pattern }}' as failure,
        *
    from {{ model }}
    where {{ column_name }} is not null
      and not {{ regex_full_match(column_name, pattern) }}
{% endtest %}

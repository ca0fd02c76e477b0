{#- A cumulative counter (e.g. DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, canonical J) must never go down
    within a partition (one GPU of one source), except at a reset.

    Reset marker: a counter that restarts (driver reload, GPU reset, node reboot) starts again from
    zero, so right after a reset it holds at most what the device can have accumulated since the
    previous reading:

        reading < previous reading  and  reading <= max_rate_per_second x seconds since the previous reading

    is a reset (the models then fall back to power x time for that interval). Any other decrease is
    the counter running backwards (a wrong reading, two GPUs mixed up, two sources interleaved) and
    fails, one row per offending reading, naming the partition, both readings and their timestamps.
    For an energy counter in J, max_rate_per_second is a board-power bound in W.
    Readings are ordered by (order_by, value), so duplicate timestamps never look like a decrease. -#}
{% test monotonic_counter(model, column_name, partition_by, order_by, max_rate_per_second) %}
    {%- set partition_csv = partition_by | join(', ') %}
    with readings as (

        select
            {{ partition_csv }},
            {{ order_by }}                                                     as reading_ts,
            {{ column_name }}                                                  as reading,
            lag({{ column_name }}) over (
                partition by {{ partition_csv }} order by {{ order_by }}, {{ column_name }}
            )                                                                  as previous_reading,
            lag({{ order_by }}) over (
                partition by {{ partition_csv }} order by {{ order_by }}, {{ column_name }}
            )                                                                  as previous_ts
        from {{ model }}
        where {{ column_name }} is not null

    )

    select
        '{{ column_name }} went down from ' || cast(previous_reading as {{ dbt.type_string() }})
            || ' to ' || cast(reading as {{ dbt.type_string() }})
            || ' without a reset (a reset restarts near zero)'                as failure,
        *,
        {{ max_rate_per_second }} * {{ seconds_between('previous_ts', 'reading_ts') }} as reset_bound
    from readings
    where reading < previous_reading
      and reading > {{ max_rate_per_second }} * {{ seconds_between('previous_ts', 'reading_ts') }}
{% endtest %}

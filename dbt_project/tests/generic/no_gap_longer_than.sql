{#- Telemetry must not stop for longer than max_gap_minutes within a partition's observed span
    (e.g. one GPU on one landed day: from its first to its last reading). One failing row per gap,
    naming the partition, the last reading before the gap, the first after it and the gap's length.
    Gaps before the first or after the last reading are not gaps (the GPU was not observed);
    missing GPU-minutes are reported separately (mart_stage_metrics.missing_gpu_minutes_percent). -#}
{% test no_gap_longer_than(model, column_name, partition_by, max_gap_minutes) %}
    {%- set partition_csv = partition_by | join(', ') %}
    with readings as (

        select distinct {{ partition_csv }}, {{ column_name }} as reading_ts
        from {{ model }}
        where {{ column_name }} is not null

    ),

    gaps as (

        select
            {{ partition_csv }},
            lag(reading_ts) over (partition by {{ partition_csv }} order by reading_ts) as gap_start,
            reading_ts                                                                  as gap_end
        from readings

    )

    select
        'no {{ column_name }} for ' || cast({{ seconds_between('gap_start', 'gap_end') }} / 60.0 as {{ dbt.type_string() }})
            || ' minutes (more than {{ max_gap_minutes }})'                            as failure,
        *,
        {{ seconds_between('gap_start', 'gap_end') }} / 60.0                          as gap_minutes
    from gaps
    where {{ seconds_between('gap_start', 'gap_end') }} > {{ max_gap_minutes }} * 60
{% endtest %}

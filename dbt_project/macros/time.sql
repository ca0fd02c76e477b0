{#- Time helpers. Landing timestamps are tz-aware UTC; the warehouse works in naive UTC timestamps
    so that date_trunc / casts never depend on a session time zone. -#}

{% macro to_utc(column) -%}
    {{ return(adapter.dispatch('to_utc')(column)) }}
{%- endmacro %}

{% macro default__to_utc(column) -%}
    cast({{ column }} at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- Seconds since the epoch as a double (fractional seconds kept). -#}
{% macro epoch_seconds(ts) -%}
    {{ return(adapter.dispatch('epoch_seconds')(ts)) }}
{%- endmacro %}

{% macro default__epoch_seconds(ts) -%}
    extract(epoch from {{ ts }})
{%- endmacro %}

{% macro duckdb__epoch_seconds(ts) -%}
    epoch({{ ts }})
{%- endmacro %}


{#- Fractional seconds from start_ts to end_ts (null when either is null), taken from the interval
    so that microseconds survive (two epochs near 1.7e9 s would lose them in a double). -#}
{% macro seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('seconds_between')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
    extract(epoch from ({{ end_ts }} - {{ start_ts }}))
{%- endmacro %}

{% macro duckdb__seconds_between(start_ts, end_ts) -%}
    epoch(({{ end_ts }}) - ({{ start_ts }}))
{%- endmacro %}


{#- Overlap in seconds of [a_start, a_end) with [b_start, b_end); 0 when disjoint. -#}
{% macro overlap_seconds(a_start, a_end, b_start, b_end) -%}
    greatest(
        0,
        {{ epoch_seconds('least(' ~ a_end ~ ', ' ~ b_end ~ ')') }}
        - {{ epoch_seconds('greatest(' ~ a_start ~ ', ' ~ b_start ~ ')') }}
    )
{%- endmacro %}


{#- A far-future timestamp standing in for "still open" (null end_ts). -#}
{% macro open_end() -%}
    cast('2999-12-31 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The q-quantile of a Prometheus histogram, as PromQL's histogram_quantile computes it, with its error bound.

    `buckets` names a relation (a CTE) with the columns `keys` (one histogram per key), `le` (a bucket's upper
    bound, +inf for the last) and `observations` (the observations <= le: Prometheus buckets are cumulative,
    so bucket increases summed over a window are already cumulative counts).

    Returns a select of `keys`, `quantile_value`, `lower_edge`, `upper_edge`, `bound` and `observations`
    (the histogram's total), one row per key that has an +Inf bucket and at least one observation:
      * counts are made monotonic in le first (a running max), as Prometheus does;
      * the rank q x total falls in the first bucket whose count reaches it; the value is interpolated
        linearly inside that bucket, from the previous bound (0 for the first bucket when its bound is above
        0, else the bound itself) to its own bound; in the +Inf bucket it is the highest finite bound;
      * the edges are the bucket bounds around the observations a quantile can be read from: the holding
        bucket, widened to the neighbouring bucket when the rank sits on its edge, so that the interval also
        holds the continuous percentile of the raw observations (percentile_cont interpolates between the
        order statistics floor(h) and ceil(h), h = (total - 1) x q + 1);
      * bound = max(value - lower edge, upper edge - value): the true quantile lies within value +/- bound
        whatever the spread of the observations inside their buckets. Null when the upper edge is +Inf
        (nothing bounds the quantile from above). -#}
{% macro histogram_quantile(buckets, keys, q) -%}
    {%- set key_list = keys | join(', ') -%}
    {%- set infinity = "cast('inf' as " ~ dbt.type_float() ~ ")" -%}
    select
        {{ key_list }},
        quantile_value,
        lower_edge,
        upper_edge,
        case when upper_edge < {{ infinity }}
            then greatest(quantile_value - lower_edge, upper_edge - quantile_value) end as bound,
        observations
    from (
        select
            {{ key_list }},
            max(total_observations)                                                as observations,
            max(case
                when le <> holding_le then null
                when le = {{ infinity }} then previous_le
                when previous_le is null and le <= 0 then le
                else coalesce(previous_le, 0)
                    + (le - coalesce(previous_le, 0))
                    * (rank_in_histogram - coalesce(previous_count, 0))
                    / (running_count - coalesce(previous_count, 0))
            end)                                                                   as quantile_value,
            coalesce(max(case when running_count < floor(continuous_rank) then le end),
                     least(min(le), 0))                                            as lower_edge,
            min(case when running_count >= ceil(continuous_rank) then le end)      as upper_edge
        from (
            select
                *,
                min(case when running_count >= rank_in_histogram then le end)
                    over (partition by {{ key_list }})                             as holding_le
            from (
                select
                    *,
                    lag(le) over (partition by {{ key_list }} order by le)         as previous_le,
                    lag(running_count) over (partition by {{ key_list }} order by le) as previous_count,
                    {{ q }} * total_observations                                   as rank_in_histogram,
                    (total_observations - 1) * {{ q }} + 1                         as continuous_rank
                from (
                    select
                        {{ key_list }},
                        le,
                        max(observations) over (
                            partition by {{ key_list }} order by le rows between unbounded preceding and current row
                        )                                                          as running_count,
                        max(case when le = {{ infinity }} then observations end)
                            over (partition by {{ key_list }})                     as total_observations
                    from {{ buckets }}
                ) as monotonic
            ) as edged
        ) as located
        where total_observations > 0
        group by {{ key_list }}
    ) as quantiles
    where quantile_value is not null
{%- endmacro %}

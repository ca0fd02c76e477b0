-- Every request is counted once: one row per request_id in int_inference_requests, so in one stage.
-- A request landed twice (two files, two days, a re-import that did not replace) or matched by two
-- overlapping stage windows would count its tokens twice in throughput and in the percentiles.
-- One failing row per request_id with how often and where (days, stages) it was counted.
-- The requests of the run's days are checked against every day (a refresh does not group the whole history).
select
    'request ' || request_id || ' counted ' || cast(count(*) as {{ dbt.type_string() }}) || ' times' as failure,
    request_id,
    min(pool)                                                            as pool,
    count(*)                                                             as n_records,
    count(distinct stage_id)                                             as n_stages,
    min(date)                                                            as first_date,
    max(date)                                                            as last_date,
    min(arrival_ts)                                                      as first_arrival_ts,
    max(arrival_ts)                                                      as last_arrival_ts
from {{ ref('int_inference_requests') }}
where request_id in (
    select request_id from {{ ref('int_inference_requests') }} where {{ run_days_filter('date') }}
)
group by request_id
having count(*) > 1

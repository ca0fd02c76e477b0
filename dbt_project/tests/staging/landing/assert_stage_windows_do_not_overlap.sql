-- Two stage windows of one pool must not overlap: a minute belongs to at most one stage.
with calendar as (

    select * from {{ ref('int_stage_calendar') }}

)

select a.pool, a.stage_id, b.stage_id as overlapping_stage_id
from calendar as a
inner join calendar as b
    on a.pool = b.pool
    and a.stage_id < b.stage_id
    and a.start_ts < b.end_ts_open
    and b.start_ts < a.end_ts_open

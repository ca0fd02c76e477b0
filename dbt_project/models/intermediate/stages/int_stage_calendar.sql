-- Stage windows per pool as declared in the calendar, with the stage names of the deck.
-- A view: incremental models read it, so it must never be stale.
{{ config(materialized='view') }}

with calendar as (

    select * from {{ ref('stg_landing__stage_calendar') }}

),

stage_catalog as (

    select * from {{ ref('stage_catalog') }}

),

final as (

    select
        calendar.pool,
        calendar.stage_id,
        coalesce(calendar.stage_key, stage_catalog.stage_key)   as stage_key,
        stage_catalog.name_zh                                  as stage_name_zh,
        stage_catalog.name_en                                  as stage_name_en,
        calendar.start_ts,
        -- end exclusive; null = still in force, open until the end of the data
        calendar.end_ts,
        coalesce(calendar.end_ts, {{ open_end() }})            as end_ts_open,
        calendar.note
    from calendar
    left join stage_catalog
        on calendar.stage_id = stage_catalog.stage_id

)

select * from final

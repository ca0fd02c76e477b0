-- Stage windows per pool: [start_ts, end_ts), end_ts null = still in force.

with source as (

    select * from {{ source('landing', 'stage_calendar') }}

),

renamed as (

    select
        pool,
        cast(stage_id as integer)                         as stage_id,
        stage_key,
        {{ to_utc('start_ts') }}                           as start_ts,
        {{ to_utc('end_ts') }}                             as end_ts,
        note
    from source

)

select * from renamed

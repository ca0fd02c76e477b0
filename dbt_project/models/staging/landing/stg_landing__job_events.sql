with source as (

    select * from {{ source('landing', 'job_events') }}

),

renamed as (

    select
        job_id,
        {{ to_utc('ts') }}                                 as event_ts,
        event,
        detail,
        date                                              as landing_date
    from source

)

select * from renamed

with source as (

    select * from {{ source('landing', 'inference_requests') }}

),

renamed as (

    select
        request_id,
        pool,
        service,
        replica,
        gpu_uuid,
        {{ to_utc('arrival_ts') }}                         as arrival_ts,
        {{ to_utc('scheduled_ts') }}                       as scheduled_ts,
        {{ to_utc('first_token_ts') }}                     as first_token_ts,
        {{ to_utc('end_ts') }}                             as end_ts,
        prompt_tokens,
        cached_prompt_tokens,
        output_tokens,
        status,
        date                                              as landing_date
    from source

)

select * from renamed

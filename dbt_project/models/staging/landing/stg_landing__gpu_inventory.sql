-- Provisioned GPUs per pool: the denominator of pool-wide metrics.

with source as (

    select * from {{ source('landing', 'gpu_inventory') }}

),

renamed as (

    select
        pool,
        hostname,
        gpu_index,
        gpu_uuid,
        model_name,
        memory_gb
    from source

)

select * from renamed

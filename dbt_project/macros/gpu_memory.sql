{#- Memory a GPU-minute's jobs reserved but did not use (GB, never negative), on allocated GPU-minutes with a memory
    reading; null elsewhere. int_gpu_stage_days sums it for the stage mean, mart_stage_metrics takes its p95: one
    definition for both. -#}
{% macro memory_overhead_gb() -%}
    case when {{ has_memory_reading() }} then greatest(reserved_gb - fb_used_gb, 0) end
{%- endmacro %}

{% macro has_memory_reading() -%}
    allocated_share > 0 and fb_used_gb is not null
{%- endmacro %}

{#
  Whether any Parquet file of a landing dataset exists. DuckDB's read_parquet fails on a glob that matches
  nothing, so a staging model of a dataset that may never have landed (no lab import, no serving engine, no
  Kubernetes pods) selects a typed empty relation instead of its source when this is false. At parse time it
  is true, so the model always refers to its source (for lineage).
#}
{% macro landing_has_files(dataset) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set glob = env_var('GPU_EFF_DATA_DIR', '../data') ~ '/landing/' ~ dataset ~ '/*/*.parquet' -%}
    {%- set found = run_query("select count(*) from glob('" ~ glob ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{% endmacro %}

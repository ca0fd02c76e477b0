{#- The landing zone's files. DuckDB reads them through the sources' `external_location` (read_parquet); Spark reads a
    dataset's folder as a Parquet table (`parquet.`<folder>``), discovering the hive `date` partitions, with
    `spark.sql.parquet.mergeSchema` (profiles.yml) for files written before a column was added. -#}

{% macro landing_folder(dataset) -%}
    {{ return(env_var('GPU_EFF_DATA_DIR', '../data') ~ '/landing/' ~ dataset) }}
{%- endmacro %}


{#- `source()` as dbt's, but a landing table on Spark is its folder. -#}
{% macro source(source_name, table_name) %}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {{ return(adapter.dispatch('landing_relation')(relation, source_name, table_name)) }}
{% endmacro %}

{% macro default__landing_relation(relation, source_name, table_name) %}
    {{ return(relation) }}
{% endmacro %}

{% macro spark__landing_relation(relation, source_name, table_name) %}
    {%- if source_name != 'landing' -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(api.Relation.create(schema='parquet', identifier='`' ~ landing_folder(table_name) ~ '`',
                                  quote_policy={'schema': false, 'identifier': false})) }}
{% endmacro %}


{#-
  Whether any Parquet file of a landing dataset exists. Reading a dataset that never landed fails (DuckDB's
  read_parquet on a glob that matches nothing, Spark on a missing folder), so a staging model of a dataset that may
  never have landed (no lab import, no serving engine, no Kubernetes pods) selects a typed empty relation instead of
  its source when this is false. At parse time it is true, so the model always refers to its source (for lineage).
#}
{% macro landing_has_files(dataset) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(adapter.dispatch('landing_has_files')(dataset)) }}
{% endmacro %}

{% macro default__landing_has_files(dataset) %}
    {%- set found = run_query("select count(*) from glob('" ~ landing_folder(dataset) ~ "/*/*.parquet')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{% endmacro %}

{#- Spark SQL has no glob(): the landing zone's file listing (binaryFile, which reads a file's bytes only when its
    `content` column is selected). -#}
{% macro spark__landing_has_files(dataset) %}
    {%- set landing = env_var('GPU_EFF_DATA_DIR', '../data') ~ '/landing' -%}
    {%- do run_query("create or replace temporary view landing_parquet_files using binaryFile options (path '"
                     ~ landing ~ "', recursiveFileLookup 'true', pathGlobFilter '*.parquet')") -%}
    {%- set found = run_query("select count(*) from landing_parquet_files where path like '%/landing/" ~ dataset ~ "/%'") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{% endmacro %}

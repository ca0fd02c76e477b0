{#- Overrides dbt's get_where_subquery (what a generic test reads: the model, filtered by the test's
    `where`) so that the tests of daily data check the run's days only: a model whose config sets
    meta `test_days_column` (a model, or a source table) has its tests filtered on that column to the run's day window
    (run_days_filter: the run's days; every day without them). A daily refresh
    then checks the new day, not the whole history again; a rebuild checks every day. (dbt renders no
    custom macro inside a test's `where` in YAML, hence the override.) -#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- if config.get('where') -%}
        {%- do filters.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {#- the tested model (attached_node), or the source table of a source test (its one dependency) -#}
    {#- (the graph is empty while dbt parses) -#}
    {%- set tested = graph.get('nodes', {}).get(model.attached_node) if model.attached_node
                     else graph.get('sources', {}).get((model.depends_on.nodes or [none])[0]) -%}
    {%- set days_column = tested.config.meta.get('test_days_column') if tested else none -%}
    {%- if days_column -%}
        {%- do filters.append(run_days_filter(days_column)) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ filters | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The rules of the tested model's columns (`model` here is the test node, as in get_where_subquery): each a
    condition that holds on a breaking row (`broken`) and an SQL expression saying what is wrong (`message`). -#}
{% macro column_value_rules() %}
    {%- if not execute -%}
        {%- do return([{'broken': 'false', 'message': "''"}]) -%}
    {%- endif -%}
    {%- set tested = graph.nodes[model.attached_node] -%}
    {%- set rules = [] -%}
    {%- for column in tested.columns.values() -%}
        {%- set c = adapter.quote(column.name) if column.quote else column.name -%}
        {%- set value = "cast(" ~ c ~ " as " ~ dbt.type_string() ~ ")" -%}
        {#- a column's config.meta.expect: dbt copies config.meta into the column's meta -#}
        {%- for rule in column.meta.get('expect', []) -%}
            {%- set kind, arg = (rule, none) if rule is string else (rule | list | first, rule.values() | list | first) -%}
            {%- if kind == 'not_null' -%}
                {%- do rules.append({'broken': c ~ ' is null', 'message': "'" ~ column.name ~ " is null'"}) -%}
            {%- elif kind == 'not_negative' -%}
                {%- do rules.append({'broken': c ~ ' < 0',
                                     'message': "'" ~ column.name ~ " = ' || " ~ value ~ " || ' is negative'"}) -%}
            {%- elif kind == 'between' -%}
                {%- do rules.append({'broken': c ~ ' < ' ~ arg[0] ~ ' - 0.000001 or ' ~ c ~ ' > ' ~ arg[1] ~ ' + 0.000001',
                                     'message': "'" ~ column.name ~ " = ' || " ~ value ~ " || ' outside ["
                                                ~ arg[0] ~ ", " ~ arg[1] ~ "]'"}) -%}
            {%- elif kind == 'accepted_values' -%}
                {%- set listed = [] -%}
                {%- for v in arg -%}{%- do listed.append("'" ~ v ~ "'") -%}{%- endfor -%}
                {%- do rules.append({'broken': c ~ ' not in (' ~ listed | join(', ') ~ ')',
                                     'message': "'" ~ column.name ~ " = ''' || " ~ value ~ " || ''' is not one of "
                                                ~ arg | join(', ') ~ "'"}) -%}
            {%- else -%}
                {%- do exceptions.raise_compiler_error("column_values on " ~ tested.name ~ "." ~ column.name
                                                       ~ ": unknown rule " ~ rule) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not rules -%}
        {%- do exceptions.raise_compiler_error("column_values on " ~ tested.name ~ ": no column sets meta.expect") -%}
    {%- endif -%}
    {%- do return(rules) -%}
{% endmacro %}
